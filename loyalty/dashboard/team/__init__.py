"""Team: the owner adds members, changes their role and deactivates them."""

from flask import Blueprint

bp = Blueprint("team", __name__, url_prefix="/team")

from . import views  # noqa: E402,F401
