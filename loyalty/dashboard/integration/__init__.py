"""Integration: how Deliverect reaches us, what it has sent lately, and a live test."""

from flask import Blueprint

bp = Blueprint("integration", __name__, url_prefix="/integration")

from . import views  # noqa: E402,F401
