"""loyalty: a self-hostable loyalty platform for restaurants."""

from __future__ import annotations

import logging
import os

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import PROJECT_ROOT, load_settings
from .extensions import csrf, db, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    load_settings(app, config)
    register_extensions(app)
    register_security_headers(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    configure_logger(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    if app.config["PROXY_FIX_HOPS"]:
        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    from . import models  # noqa: F401  (registers the mappers)


def register_security_headers(app: Flask) -> None:
    from . import security

    security.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .api import register_api
    from .dashboard import register_dashboard
    from .members import bp as members
    from .webhooks import webhooks

    register_dashboard(app)
    register_api(app)
    csrf.exempt(webhooks)  # authenticated by HMAC signature instead
    app.register_blueprint(webhooks)
    app.register_blueprint(members)  # guest pages, /m/<tenant>/


def register_errorhandlers(app: Flask) -> None:
    from .errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import loyalty_cli

    app.cli.add_command(loyalty_cli)


def configure_logger(app: Flask) -> None:
    logging.getLogger("authlib").setLevel(logging.INFO)  # its DEBUG lines print secrets, tokens
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )


@event.listens_for(Engine, "connect")
def _connection_settings(dbapi_connection, _record) -> None:
    """SQLite: WAL for concurrent readers, a busy timeout instead of 'database is locked', real
    FKs. PostgreSQL: no JIT, which compiles for seconds before short reports and never pays
    back on these queries (measured in bench/stats.py).

    The database file is made 0600 before WAL mode starts (SQLite gives its -wal and -shm
    files the database's mode): it holds webhook secrets.
    """
    if type(dbapi_connection).__module__.startswith("psycopg"):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()  # a SET inside a rolled-back transaction would be undone
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        for _seq, name, path in cursor.execute("PRAGMA database_list").fetchall():
            if name == "main" and path:
                _make_private(path)
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _make_private(database: str) -> None:
    for path in (database, f"{database}-wal", f"{database}-shm", f"{database}-journal"):
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except FileNotFoundError:
            pass
