"""The new-client form; create_client checks the name, kind and roles."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

KIND_CHOICES = [
    SelectChoice(
        "service", "Service: a till, kiosk or server signing in as itself, with its roles"
    ),
    SelectChoice("admin-app", "Admin app: a back office your team signs in to with their e-mail"),
    SelectChoice("customer-app", "Customer app: an app where guests sign in with a one-time code"),
]
ROLE_CHOICES = [
    SelectChoice("ROLE_LOYALTY", "ROLE_LOYALTY: accounts, coupons, events, campaigns, statistics"),
    SelectChoice("ROLE_LOYALTY_CAMPAIGN", "ROLE_LOYALTY_CAMPAIGN: campaigns only"),
    SelectChoice("ROLE_LOYALTY_STATS", "ROLE_LOYALTY_STATS: statistics only"),
    SelectChoice("ROLE_SU", "ROLE_SU: superuser, every operation"),
]


def _text(typed: str | None) -> str:
    return typed or ""


class ApiClientForm(FlaskForm):
    name = StringField(
        "Name",
        filters=[_text],
        description="Who uses it, e.g. “Till at the bar” or “Back office”.",
    )
    # The service says what is wrong with a kind or a role, in the same words as the CLI.
    kind = RadioField("Kind", choices=KIND_CHOICES, default="service", validate_choice=False)
    roles = SelectMultipleField(  # as checkboxes
        "Roles",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        choices=ROLE_CHOICES,
        default=["ROLE_LOYALTY"],
        validate_choice=False,
        description="For service clients only: an admin app's tokens carry the signed-in "
        "member's roles (owner: all, staff: ROLE_LOYALTY), a customer app's none.",
    )
