"""Fixtures of the API tests: a customer to sign in, and an app of its own on PostgreSQL for
the concurrency tests."""

from __future__ import annotations

import pytest

from loyalty.extensions import db
from tests.support.accounts import customer
from tests.support.app import empty_all_tables, make_app


@pytest.fixture()
def ann(tenant):
    """A customer who can receive sign-in codes by e-mail and on her phone."""
    return customer(tenant, email="ann@example.com", phone="+32470123456", first_name="Ann")


@pytest.fixture()
def pg_api_app(postgres_url):
    """An app of its own on the session's PostgreSQL server, with a pool large enough for the
    threads of a concurrency test (as tests/integration's pg_app)."""
    app = make_app(postgres_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 10, "max_overflow": 5})
    with app.app_context():
        db.create_all()
        empty_all_tables()
        yield app
        db.session.remove()
        db.engine.dispose()
