"""Rewards editor: what points buy, listed to Deliverect as loyalty programs."""

from flask import Blueprint

bp = Blueprint("rewards", __name__, url_prefix="/rewards")

from . import views  # noqa: E402,F401
