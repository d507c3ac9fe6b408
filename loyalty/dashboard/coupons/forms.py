"""The till's code lookup: a GET form, so a looked-up coupon has an address to come back to."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField


class LookupForm(FlaskForm):
    code = StringField(
        "Coupon code",
        description="Type or scan it; capitals, spaces and dashes do not matter.",
    )

    @property
    def typed(self) -> str:
        return (self.code.data or "").strip()
