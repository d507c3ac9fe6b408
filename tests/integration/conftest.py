"""Fixtures shared by the integration tests."""

import pytest

from loyalty.extensions import db
from tests.support.app import empty_all_tables, make_app


@pytest.fixture()
def pg_app(postgres_url):
    """An app of its own on the session's PostgreSQL server, with a pool large enough for the
    threads of a concurrency test (each talks through its own test client, like a worker)."""
    app = make_app(postgres_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 25, "max_overflow": 5})
    with app.app_context():
        db.create_all()
        empty_all_tables()
        yield app
        db.session.remove()
        db.engine.dispose()
