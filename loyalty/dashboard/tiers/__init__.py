"""Tiers editor: levels reached by lifetime points, each with an earning multiplier."""

from flask import Blueprint

bp = Blueprint("tiers", __name__, url_prefix="/tiers")

from . import views  # noqa: E402,F401
