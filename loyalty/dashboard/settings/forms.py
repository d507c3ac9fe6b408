"""The settings form; the rules live in services.setup.settings."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import Optional

from ...models import Tenant
from ...services.setup.settings import TenantSettings


class SettingsForm(FlaskForm):
    name = StringField("Restaurant name")
    currency = StringField("Currency", description="Three-letter code, e.g. EUR, GBP, USD.")
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
        return TenantSettings(
            name=self.name.data or "",
            currency=self.currency.data or "",
            decimal_digits=self.decimal_digits.data,
            points_per_unit=self.points_per_unit.data,
            points_validity_days=self.points_validity_days.data,
            max_points_per_order=self.max_points_per_order.data,
            max_order_amount=self.max_order_amount.data,
            adjustment_owner_limit=self.adjustment_owner_limit.data,
        )

    @staticmethod
    def initial_data(tenant: Tenant) -> dict:
        return {
            "name": tenant.name,
            "currency": tenant.currency,
            "decimal_digits": tenant.decimal_digits,
            "points_per_unit": tenant.points_per_unit,
            "points_validity_days": tenant.points_validity_days,
            "max_points_per_order": tenant.max_points_per_order,
            "max_order_amount": tenant.max_order_amount,
            "adjustment_owner_limit": tenant.adjustment_owner_limit,
        }
