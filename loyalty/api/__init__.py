"""The OrderingStack-compatible JSON API (seed 002, ../shared/spec/orderingstack-loyalty.md).

Doors: `api` (the operations, under /loyalty-api/api), `oauth.oauth` (tokens and one-time
codes, under /auth-oauth2) and `docs` (the OpenAPI document and its reference page). Each
operation module declares its operations with `operations.operation`; views are thin: they
call the same services as the dashboard and the Deliverect webhooks.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from ..errors import register_json_errors
from ..validation import FieldErrors
from .errors import ApiError, error_response, from_field_errors, render_http_error

PREFIX = "/loyalty-api/api"
api = Blueprint("api", __name__, url_prefix=PREFIX)


@api.before_request
def bound_body() -> Response | None:
    """Read the body, at most MAX_CONTENT_LENGTH bytes, before any view runs (see webhooks)."""
    try:
        request.get_data(cache=True)
    except RequestEntityTooLarge:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return error_response(
            413, "payload_too_large", f"request body is larger than {limit} bytes"
        )
    return None


@api.errorhandler(ApiError)
def api_error(problem: ApiError) -> Response:
    return problem.response()


@api.errorhandler(FieldErrors)
def field_errors(problem: FieldErrors) -> Response:
    return from_field_errors(problem).response()


def register_api(app: Flask) -> None:
    from ..extensions import csrf
    from . import accounts, campaigns, coupons, events, my, pushes, stats  # noqa: F401 (operations)
    from .cors import register_cors
    from .docs import docs
    from .oauth import oauth

    for blueprint in (api, oauth, docs):
        csrf.exempt(blueprint)  # bearer tokens, never cookies: nothing for a forged form to ride
        app.register_blueprint(blueprint)
    register_json_errors(PREFIX + "/", render_http_error)
    register_json_errors("/loyalty-api/", render_http_error)
    register_cors(app)
