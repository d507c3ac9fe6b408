"""Coupons at the till: look a code up, see whose it is and what it gives, lock, unlock, redeem."""

from flask import Blueprint

bp = Blueprint("coupons", __name__, url_prefix="/coupons")

from . import views  # noqa: E402,F401
