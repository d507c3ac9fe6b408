"""The app as the tests build it, the team's test password, emptying the database, and running
work on parallel workers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import text

from loyalty import create_app
from loyalty.extensions import db

PASSWORD = "correct horse battery"
Result = TypeVar("Result")


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


def at_once(app, work: Callable[[int], Result], workers: int = 2) -> list[Result]:
    """`work(number)` for each number below `workers`, all released at the same moment, each on
    its own thread, app context and database connection, as parallel workers would; their
    results in order."""
    barrier = threading.Barrier(workers)

    def run(number: int) -> Result:
        with app.app_context():
            barrier.wait()
            try:
                return work(number)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, range(workers)))
