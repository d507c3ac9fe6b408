"""The Alembic migrations build exactly the schema the models describe, on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from loyalty.extensions import db
from tests.support.app import make_app


@pytest.fixture()
def fresh_database_url(database_url, tmp_path):
    """An empty database beside the shared test one."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS loyalty_migrations"))
        connection.execute(text("CREATE DATABASE loyalty_migrations"))
    yield database_url.rsplit("/", 1)[0] + "/loyalty_migrations"
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS loyalty_migrations WITH (FORCE)"))
    admin.dispose()


def test_migrations_match_the_models_and_downgrade_cleanly(fresh_database_url):
    app = make_app(fresh_database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        downgrade(revision="base")
        remaining = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        db.engine.dispose()


def test_upgrading_keeps_each_deliverect_account_with_the_tenant_that_registered_it_first(
    fresh_database_url,
):
    """Links squatted before 0002 (tenant B on tenant A's Deliverect account) are dropped; the
    owner's links, and an account used by one tenant only, stay."""
    app = make_app(fresh_database_url)
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as connection:
            for number, slug in ((1, "trattoria"), (2, "burgerbar")):
                connection.execute(
                    text(
                        "INSERT INTO tenants (id, slug, name, currency, decimal_digits,"
                        " points_per_unit, created_at, updated_at) VALUES"
                        " (:id, :slug, :slug, 'EUR', 2, 1, :at, :at)"
                    ),
                    {"id": number, "slug": slug, "at": "2026-01-01 00:00:00+00:00"},
                )
            for tenant_id, account, profile, at in (
                (1, "acctA2", "profile-a1", "2026-02-01 00:00:00+00:00"),
                (2, "acctA2", "profile-b1", "2026-03-01 00:00:00+00:00"),
                (1, "acctA2", "profile-a2", "2026-04-01 00:00:00+00:00"),
                (2, "acctB1", "profile-b2", "2026-05-01 00:00:00+00:00"),
            ):
                connection.execute(
                    text(
                        "INSERT INTO deliverect_links (tenant_id, deliverect_account_id,"
                        " loyalty_profile_id, registration_count, created_at, updated_at)"
                        " VALUES (:tenant, :account, :profile, 1, :at, :at)"
                    ),
                    {"tenant": tenant_id, "account": account, "profile": profile, "at": at},
                )
        upgrade()
        with db.engine.connect() as connection:
            links = connection.execute(
                text(
                    "SELECT tenant_id, deliverect_account_id, loyalty_profile_id"
                    " FROM deliverect_links ORDER BY loyalty_profile_id"
                )
            ).all()
            owners = connection.execute(
                text(
                    "SELECT tenant_id, deliverect_account_id FROM deliverect_accounts"
                    " ORDER BY deliverect_account_id"
                )
            ).all()
        assert [tuple(row) for row in links] == [
            (1, "acctA2", "profile-a1"),
            (1, "acctA2", "profile-a2"),
            (2, "acctB1", "profile-b2"),
        ]
        assert [tuple(row) for row in owners] == [(1, "acctA2"), (2, "acctB1")]
        db.engine.dispose()
