"""Settings: the restaurant's currency and time zone, its earning rules, and Deliverect
credentials."""

from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from . import earning, guest_pages, sso, views  # noqa: E402,F401
