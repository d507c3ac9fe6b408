"""Notifications (owners only, under Settings): how messages reach customers, and the outbox."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/settings/notifications")

from . import views  # noqa: E402,F401
