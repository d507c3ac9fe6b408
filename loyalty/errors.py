"""Error responses: friendly pages for the dashboard, each contract's own JSON shape elsewhere."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

# URL prefix -> function(status, title, description) building that contract's error response.
JsonErrorRenderer = Callable[[int, str, str], Response]
_json_renderers: dict[str, JsonErrorRenderer] = {}

log = logging.getLogger(__name__)


def register_json_errors(prefix: str, renderer: JsonErrorRenderer) -> None:
    """Make every error under `prefix` (404s from routing included) use `renderer`."""
    _json_renderers[prefix] = renderer


def _renderer_for_path(path: str) -> JsonErrorRenderer | None:
    for prefix, renderer in sorted(_json_renderers.items(), key=lambda kv: -len(kv[0])):
        if path.startswith(prefix):
            return renderer
    return None


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
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        renderer = _renderer_for_path(request.path)
        if renderer is not None:
            return renderer(500, "internal_error", "The server could not process the request")
        return render_template("errors/error.html", error=InternalServerError()), 500
