"""The Alembic migrations build exactly the schema the models describe, on both databases."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from loyalty.extensions import db

from ..conftest import make_app


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
