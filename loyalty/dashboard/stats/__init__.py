"""Stats: what the programme brings back, costs and owes, as charts over a chosen range."""

from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/stats")

from . import views  # noqa: E402,F401
