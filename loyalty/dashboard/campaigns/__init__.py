"""Campaigns: the list, starters, the editor with its live preview, and the campaign page."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

from . import views  # noqa: E402,F401
