"""Deliverect loyalty-provider webhooks, and the channel-compatible endpoints for web shops."""

from flask import Blueprint, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from .responses import error_response, render_http_error

webhooks = Blueprint("webhooks", __name__)


@webhooks.before_request
def bound_body() -> Response | None:
    """Read the body, at most MAX_CONTENT_LENGTH bytes, before any view runs.

    Werkzeug refuses an announced Content-Length over the limit at once and stops a chunked body
    at the limit, but only when the body is read: inside a view that would be an internal error
    after work was done. Here it is a 413 in the contract's shape, and the views read the cache.
    """
    try:
        request.get_data(cache=True)
    except RequestEntityTooLarge:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return error_response(
            413, "payload_too_large", f"request body is larger than {limit} bytes"
        )
    return None


from ..errors import register_json_errors  # noqa: E402
from . import channel, sso, views  # noqa: E402,F401

# Routing 404/405s and unexpected errors under our prefixes answer in the contract's shape.
register_json_errors("/webhooks/", render_http_error)
register_json_errors("/loyalty/", render_http_error)
