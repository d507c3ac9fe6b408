"""Fixtures: every test that uses `app` runs on SQLite and on a real PostgreSQL server.

The schema is built once per database from the models and emptied between tests;
tests/integration/test_migrations.py proves the Alembic migrations build the same schema.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from loyalty.extensions import db
from loyalty.services.setup.team import create_user
from loyalty.services.setup.tenants import create_tenant
from tests.support.app import PASSWORD, empty_all_tables, make_app
from tests.support.deliverect import Deliverect
from tests.support.postgres import TemporaryPostgres


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL URL: LOYALTY_TEST_POSTGRES_URL if set, else a server started for the session."""
    given = os.environ.get("LOYALTY_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    server = TemporaryPostgres()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'loyalty.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def schema_app(database_url):
    app = make_app(database_url)
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture()
def app(schema_app):
    """The app on an empty database, inside an application context."""
    with schema_app.app_context():
        empty_all_tables()
        yield schema_app
        db.session.remove()


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, as in production.

    The `app` fixture keeps a context pushed for the test's own database work; without this,
    requests would share its `g`, so Flask-Login's cached user would leak from one client (or
    one login) to the next.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # The test's own session must see what the request committed.
        db.session.expire_all()
        return response


@pytest.fixture()
def client(app):
    app.test_client_class = FreshContextClient
    return app.test_client()


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


@pytest.fixture()
def tenant(app):
    tenant, credentials = create_tenant("trattoria", "Trattoria Roma")
    tenant.issued = credentials  # the one-time API key and secret, for tests that need them
    return tenant


@pytest.fixture()
def other_tenant(app):
    tenant, credentials = create_tenant("burgerbar", "Burger Bar")
    tenant.issued = credentials
    return tenant


@pytest.fixture()
def deliverect(client, tenant) -> Deliverect:
    """Deliverect with the tenant's channel registered, as after a restaurant's set-up."""
    channel = Deliverect(client, tenant)
    channel.register()
    return channel


@pytest.fixture()
def owner(tenant):
    return create_user(
        tenant.id, "owner@trattoria.test", PASSWORD, role="owner", name="Olivia Owner"
    )


@pytest.fixture()
def staff(tenant):
    return create_user(tenant.id, "staff@trattoria.test", PASSWORD, role="staff", name="Sam Staff")


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = PASSWORD):
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture()
def auth(client):
    return AuthActions(client)


@pytest.fixture()
def owner_client(client, owner, auth):
    auth.login(owner.email)
    return client


@pytest.fixture()
def staff_client(client, staff, auth):
    auth.login(staff.email)
    return client


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture()
def scratch_dir():
    with tempfile.TemporaryDirectory() as path:
        yield Path(path)
