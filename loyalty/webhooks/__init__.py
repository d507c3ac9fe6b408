"""Deliverect loyalty-provider webhooks, and the channel-compatible endpoints for web shops."""

from flask import Blueprint

webhooks = Blueprint("webhooks", __name__)

from ..errors import register_json_errors  # noqa: E402
from . import channel, views  # noqa: E402,F401
from .responses import render_http_error  # noqa: E402

# Routing 404/405s and unexpected errors under our prefixes answer in the contract's shape.
register_json_errors("/webhooks/", render_http_error)
register_json_errors("/loyalty/", render_http_error)
