"""Error responses: friendly pages for the dashboard, each contract's own JSON shape elsewhere."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, g, render_template, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from .extensions import db

# URL prefix -> function(status, title, description) building that contract's error response.
JsonErrorRenderer = Callable[[int, str, str], Response]
_json_renderers: dict[str, JsonErrorRenderer] = {}

# How long a client should wait before trying again while the database is unreachable: about
# what a PostgreSQL restart or a fail-over takes.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "The service is briefly unavailable; nothing was saved half-way. Try again shortly."
# SQLSTATEs that mean "no usable connection" rather than "this statement failed": connection
# exceptions (class 08), and the server shutting down, crashed or still starting.
_UNAVAILABLE_SQLSTATES = ("57P01", "57P02", "57P03")

log = logging.getLogger(__name__)


def register_json_errors(prefix: str, renderer: JsonErrorRenderer) -> None:
    """Make every error under `prefix` (404s from routing included) use `renderer`."""
    _json_renderers[prefix] = renderer


def _renderer_for_path(path: str) -> JsonErrorRenderer | None:
    for prefix, renderer in sorted(_json_renderers.items(), key=lambda kv: -len(kv[0])):
        if path.startswith(prefix):
            return renderer
    return None


def database_unavailable(error: BaseException) -> bool:
    """True when `error` says the database cannot be reached (down, restarting, connection
    lost), which a retry a little later may fix; False for a statement the database refused
    (a bug, a constraint, a timeout), which a retry would not.

    SQLAlchemy flags a connection it saw die (`connection_invalidated`); a connection that could
    not be opened is an OperationalError the driver raised without a SQLSTATE, or with one of
    the connection classes (PostgreSQL's "the database system is starting up" is 57P03).
    """
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    if not type(error.orig).__module__.startswith("psycopg"):
        return False  # SQLite's OperationalErrors are about the statement or the file
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


def _forget_failed_transaction() -> None:
    """Roll back, keeping what the request had loaded readable: an error page may show the
    restaurant it already knows, and must not ask the unreachable database again."""
    db.session.expunge_all()
    db.session.rollback()


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        renderer = _renderer_for_path(request.path)
        if renderer is not None:
            response = renderer(error.code or 500, error.name, error.description or error.name)
            if isinstance(error, MethodNotAllowed) and error.valid_methods:
                response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
            return response
        if error.code in (400, 401, 403, 404, 405, 413, 429):
            return render_template("errors/error.html", error=error), error.code
        return error

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if database_unavailable(error):
            return _unavailable(error)
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        renderer = _renderer_for_path(request.path)
        if renderer is not None:
            return renderer(500, "internal_error", "The server could not process the request")
        return render_template("errors/error.html", error=InternalServerError()), 500


def _unavailable(error: DBAPIError) -> Response:
    """503 in the door's own shape, with Retry-After. One line in the log, without the
    statement or its parameters (SQLAlchemy's message carries both)."""
    orig = error.orig
    log.warning(
        "database unavailable on %s %s: %s (SQLSTATE %s)",
        request.method,
        request.path,
        type(orig).__name__,
        getattr(orig, "sqlstate", None) or "none",
    )
    _forget_failed_transaction()
    # Every template asks Flask-Login who is signed in, which reads the database: the answer
    # is "nobody" for this page (g._login_user is where Flask-Login keeps the request's user).
    g._login_user = current_app.login_manager.anonymous_user()
    renderer = _renderer_for_path(request.path)
    if renderer is not None:
        response = renderer(503, "Service Unavailable", UNAVAILABLE)
    else:
        # A page of its own: the dashboard's layout would show the signed-in user's restaurant.
        response = Response(render_template("errors/unavailable.html"), 503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
