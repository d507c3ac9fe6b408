"""Each connection is set up for its database: SQLite for concurrent use, PostgreSQL for short
reports (no JIT compilation, which cost seconds before each stats query)."""

from __future__ import annotations

from sqlalchemy import text

from loyalty.extensions import db


def test_connections_are_set_up_for_their_database(app):
    if db.engine.dialect.name == "postgresql":
        assert db.session.scalar(text("SHOW jit")) == "off"
        db.session.rollback()  # a later transaction keeps it: it was committed on connect
        assert db.session.scalar(text("SHOW jit")) == "off"
    else:
        assert db.session.scalar(text("PRAGMA journal_mode")) == "wal"
        assert db.session.scalar(text("PRAGMA foreign_keys")) == 1
