"""The app as the tests build it, the team's test password, and emptying the database."""

from __future__ import annotations

from sqlalchemy import text

from loyalty import create_app
from loyalty.extensions import db

PASSWORD = "correct horse battery"


def make_app(database_url: str, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "LOGIN_THROTTLE_MAX_FAILURES": 5,
        "PUBLIC_BASE_URL": "https://loyalty.example.com",
    }
    config.update(overrides)
    return create_app(config)


def empty_all_tables() -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for name in reversed(tables):
            db.session.execute(text(f"DELETE FROM {name}"))
    db.session.commit()
