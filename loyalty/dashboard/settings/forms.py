"""The settings forms (general, and the earning rules with their preview); the rules live in
services.setup.settings and services.setup.earning."""

from __future__ import annotations

from dataclasses import fields
from datetime import time

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ...models import EarningRule, Tenant
from ...rules.earning import MINUTES_PER_DAY
from ...rules.money import AmountError, format_money, format_percent, parse_money, parse_percent
from ...services.setup.earning import RuleDetails
from ...services.setup.settings import MAX_ALLOWED_ORIGINS, TenantSettings
from ..forms import NO_CHOICE, optional_id

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
    time_zone = StringField(
        "Time zone",
        description="Where the restaurant is, as an IANA name such as Europe/Brussels: bonus "
        "hours, one visit a day and quiet hours follow its clock.",
        filters=[_text],
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
    brand_colour = StringField(
        "Brand colour",
        description="For the guest pages' header and buttons, as # and six hex digits (e.g. "
        "#1f5f8b); the text on it is made white or black, whichever reads better.",
        filters=[_text],
    )
    logo_url = StringField(
        "Logo address", description="An https:// address of your logo image.", filters=[_text]
    )
    terms_url = StringField(
        "Terms and conditions address",
        description="An https:// address of your programme's terms; guests accept them to join.",
        filters=[_text],
    )

    def settings(self) -> TenantSettings:
        return TenantSettings(**{name: self[name].data for name in SETTING_NAMES})

    @staticmethod
    def initial_data(tenant: Tenant) -> dict:
        return {name: getattr(tenant, name) for name in SETTING_NAMES}


class AllowedOriginsForm(FlaskForm):
    """The web origins whose pages may call the JSON API from a browser (CORS)."""

    api_allowed_origins = TextAreaField(
        "Allowed web origins",
        filters=[_text],
        description="One per line, scheme and host with an optional port and no path, e.g. "
        f"https://admin.example.com or http://localhost:5173; at most {MAX_ALLOWED_ORIGINS}. "
        "Empty: no web page on another address may call the API (apps and servers still can).",
    )

    def lines(self) -> list[str]:
        return self.api_allowed_origins.data.splitlines()

    @staticmethod
    def initial_data(tenant: Tenant) -> dict:
        return {"api_allowed_origins": "\n".join(tenant.api_allowed_origins or ())}


# --- Settings → Earning ----------------------------------------------------------------------

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
KIND_CHOICES = [
    SelectChoice("spend", "Per spend: points for each amount spent"),
    SelectChoice("visit", "Per visit: points for an order of at least an amount"),
    SelectChoice("item", "Per item: stamps for each unit of chosen PLUs"),
    SelectChoice("bonus", "Bonus: a multiplier on days, hours or items"),
]


class EarningPreviewForm(FlaskForm):
    """A basket to try the rules on: typed, pasted, or one of the recent orders."""

    basket = TextAreaField(
        "Basket",
        filters=[_text],
        description='One line per item: PLU, quantity, price ("COFFEE 2 2.50"); a line starting '
        'with "+" is a modifier of the line above. Or paste a Deliverect order (JSON).',
    )
    order = SelectField("Or a recent order", coerce=optional_id, validate_choice=False)
    when = DateTimeLocalField(
        "Ordered at (the restaurant's time)",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
        description="For bonus days and hours; empty: now.",
    )
    tier = SelectField("Customer's tier", coerce=optional_id, validate_choice=False)

    def fill_choices(self, orders: list, tiers: list) -> None:
        self.order.choices = [SelectChoice(NO_CHOICE, "None: use the basket above")] + [
            SelectChoice(order.id, order.label) for order in orders
        ]
        self.tier.choices = [SelectChoice(NO_CHOICE, "No tier")] + [
            SelectChoice(tier.tier_id, tier.name) for tier in tiers
        ]


class EarningRuleForm(EarningPreviewForm):
    kind = SelectField("The rule rewards", choices=KIND_CHOICES)
    name = StringField(
        "Name",
        filters=[_text],
        description='How the account page names its points ("12 = 10 spend + 2 stamps"). '
        "Empty: spend, visit, stamps or bonus.",
    )
    points = IntegerField(
        "Points",
        validators=[Optional()],
        description="Per spend: for each amount below. Per visit: for the visit. Per item: for "
        "each unit.",
        invalid_value_message="enter a whole number of points",
    )
    per_amount = StringField(
        "For each (amount spent)",
        filters=[_text],
        description='Per spend: "1.00" gives the points for each whole unit paid, "2.50" for '
        "each 2.50. Counted on the whole order, tips and fees excluded.",
    )
    min_amount = StringField(
        "Smallest order that counts as a visit",
        filters=[_text],
        description="Per visit: e.g. 5.00; empty: any order.",
    )
    per_day = IntegerField(
        "Visits paid per customer and day",
        validators=[Optional()],
        default=1,
        description="Per visit: 1 stops a split bill paying twice. Empty: every order.",
        invalid_value_message="enter a whole number, or leave empty",
    )
    plus = TextAreaField(
        "PLUs",
        filters=[_text],
        description="Per item: the items that earn (their modifiers too, when listed). Bonus: "
        "only these lines are multiplied; empty: the whole order. Separate with commas or "
        "spaces.",
    )
    multiplier = StringField(
        "Multiplier",
        filters=[_text],
        description="Bonus: 2 doubles the spend points. Added to a tier's: ×1.5 tier on a ×2 "
        "bonus earns ×2.5.",
    )
    weekdays = SelectMultipleField(  # as checkboxes
        "On these days",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        choices=[SelectChoice(number, day) for number, day in enumerate(WEEKDAYS)],
        coerce=int,
        validate_choice=False,
    )
    starts_at = TimeField("From", validators=[Optional()], description="Bonus: empty, all day.")
    ends_at = TimeField("Until", validators=[Optional()], description="Bonus: not included.")
    cap = IntegerField(
        "Most extra points per order",
        validators=[Optional()],
        description="Bonus: empty for no cap.",
        invalid_value_message="enter a whole number, or leave empty",
    )

    def details(self, decimal_digits: int) -> RuleDetails | None:
        """What was typed, in stored units; None (with inline errors) when it cannot be read."""
        amounts: dict[str, int | None] = {}
        for name in ("per_amount", "min_amount"):
            typed = self[name].data.strip()
            try:
                amounts[name] = parse_money(typed, decimal_digits) if typed else None
            except AmountError as error:
                self[name].errors = [*self[name].errors, str(error)]
        multiplier = None
        if self.multiplier.data.strip():
            try:
                multiplier = parse_percent(self.multiplier.data, example="2")
            except AmountError as error:
                self.multiplier.errors = [*self.multiplier.errors, str(error)]
        if any(self[name].errors for name in ("per_amount", "min_amount", "multiplier")):
            return None
        return RuleDetails(
            kind=self.kind.data,
            name=self.name.data,
            points=self.points.data,
            per_amount=amounts["per_amount"],
            min_amount=amounts["min_amount"],
            per_day=self.per_day.data,
            plus=self.plus.data,
            multiplier_percent=multiplier,
            weekdays=tuple(self.weekdays.data or ()),
            starts_at=_minutes(self.starts_at.data),
            ends_at=_until(self.ends_at.data),
            cap=self.cap.data,
        )

    @staticmethod
    def initial_data(rule: EarningRule, decimal_digits: int) -> dict:
        return {
            "kind": rule.kind,
            "name": rule.name,
            "points": rule.points or None,
            "per_amount": format_money(rule.per_amount, decimal_digits) if rule.per_amount else "",
            "min_amount": format_money(rule.min_amount, decimal_digits) if rule.min_amount else "",
            "per_day": rule.per_day,
            "plus": ", ".join(rule.plus or ()),
            "multiplier": format_percent(rule.multiplier_percent) if rule.kind == "bonus" else "",
            "weekdays": list(rule.weekdays or ()),
            "starts_at": _time(rule.starts_at),
            "ends_at": _time(rule.ends_at),
            "cap": rule.cap,
        }


def _minutes(moment: time | None) -> int | None:
    return moment.hour * 60 + moment.minute if moment is not None else None


def _until(moment: time | None) -> int | None:
    """An end at 00:00 is midnight, the end of the day."""
    minutes = _minutes(moment)
    return MINUTES_PER_DAY if minutes == 0 else minutes


def _time(minutes: int | None) -> time | None:
    if minutes is None:
        return None
    return time(minutes // 60 % 24, minutes % 60)  # midnight, the end, shows as 00:00


# --- Settings → Single sign-on ---------------------------------------------------------------


class SsoSettingsForm(FlaskForm):
    """Deliverect single sign-on on or off, and which Deliverect guests are sent to."""

    enabled = BooleanField("Guests may order online already signed in (single sign-on)")
    environment = SelectField(
        "Deliverect environment",
        choices=[
            SelectChoice("production", "Production (api.deliverect.com)"),
            SelectChoice("staging", "Staging, for tests (api.staging.deliverect.com)"),
        ],
        description="Where the member pages send guests to sign in to your shops.",
    )

    @staticmethod
    def initial_data(tenant: Tenant) -> dict:
        return {"enabled": tenant.sso_enabled, "environment": tenant.sso_environment}


class WebShopForm(FlaskForm):
    """A Deliverect web shop the member pages offer under "Order online"."""

    name = StringField(
        "Shop name", filters=[_text], description="As guests know it, e.g. Trattoria delivery."
    )
    channel_link_id = StringField(
        "Channel link id",
        filters=[_text],
        description="The web shop's channel link id in Deliverect.",
    )
    shop_url = StringField(
        "Shop address",
        filters=[_text],
        description="Where guests land once signed in, e.g. https://order.example.com.",
    )
