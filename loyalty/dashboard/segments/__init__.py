"""Segments: saved account searches and how many accounts each holds."""

from flask import Blueprint

bp = Blueprint("segments", __name__, url_prefix="/segments")

from . import views  # noqa: E402,F401
