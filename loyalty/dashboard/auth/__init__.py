"""Login, logout and the member's own account page (password, sign out everywhere)."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views  # noqa: E402,F401
