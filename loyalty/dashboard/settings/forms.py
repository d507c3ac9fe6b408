"""The settings form; the rules live in services.tenant_settings."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import Optional

from ...models import Tenant
from ...services.tenant_settings import TenantSettings


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

    def settings(self) -> TenantSettings:
        return TenantSettings(
            name=self.name.data or "",
            currency=self.currency.data or "",
            decimal_digits=self.decimal_digits.data,
            points_per_unit=self.points_per_unit.data,
            points_validity_days=self.points_validity_days.data,
        )

    def add_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            field = self._fields.get(name, self.name)
            field.errors = [*field.errors, message]

    @staticmethod
    def initial_data(tenant: Tenant) -> dict:
        return {
            "name": tenant.name,
            "currency": tenant.currency,
            "decimal_digits": tenant.decimal_digits,
            "points_per_unit": tenant.points_per_unit,
            "points_validity_days": tenant.points_validity_days,
        }
