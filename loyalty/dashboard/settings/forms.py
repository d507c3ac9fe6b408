"""The settings form; the rules live in services.setup.settings."""

from __future__ import annotations

from dataclasses import fields

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import Optional

from ...models import Tenant
from ...services.setup.settings import TenantSettings

# Each field of the form is named as the tenant's column and the TenantSettings field it edits.
SETTING_NAMES = tuple(setting.name for setting in fields(TenantSettings))


def _text(typed: str | None) -> str:
    """A text field left out of the POST reads as empty, not None."""
    return typed or ""


class SettingsForm(FlaskForm):
    name = StringField("Restaurant name", filters=[_text])
    currency = StringField(
        "Currency", description="Three-letter code, e.g. EUR, GBP, USD.", filters=[_text]
    )
    decimal_digits = IntegerField(
        "Decimal digits",
        description="Digits after the decimal point in prices: 2 for 4.50, 0 for 450.",
        invalid_value_message="enter a whole number from 0 to 4",
    )
    points_per_unit = IntegerField(
        "Points per whole currency unit paid",
        description="Customers earn this for each whole unit they pay, tips excluded (9.99 counts "
        "as 9). 0 pauses earning.",
        invalid_value_message="enter a whole number",
    )
    points_validity_days = IntegerField(
        "Points expire after (days)",
        validators=[Optional()],
        description="Applies to points earned from now on. Empty: points never expire.",
        invalid_value_message="enter a whole number of days, or leave empty",
    )
    max_points_per_order = IntegerField(
        "Most points one order may earn",
        description="An order that would earn more is recorded but credits nothing: it is held "
        "for review on the customer's page, where an owner can credit it anyway.",
        invalid_value_message="enter a whole number",
    )
    max_order_amount = IntegerField(
        "Largest plausible order amount (minor units)",
        description="In cents (or your currency's smallest unit): 1000000 is 10,000.00 with two "
        "decimal digits. Orders paying more are held for review too.",
        invalid_value_message="enter a whole number",
    )
    adjustment_owner_limit = IntegerField(
        "Staff may adjust up to (points)",
        description="Adjustments of more points, added or removed, need an owner.",
        invalid_value_message="enter a whole number",
    )

    def settings(self) -> TenantSettings:
        return TenantSettings(**{name: self[name].data for name in SETTING_NAMES})

    @staticmethod
    def initial_data(tenant: Tenant) -> dict:
        return {name: getattr(tenant, name) for name in SETTING_NAMES}
