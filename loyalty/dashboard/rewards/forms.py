"""The reward form: parses what the team typed into stored units; the rules live in the service."""

from __future__ import annotations

from datetime import UTC

from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from ...models import Reward
from ...rules.money import AmountError, format_money, format_percent, parse_money, parse_percent
from ...rules.programs import ITEM_TYPES, REWARD_TYPES
from ...rules.tiers import TierLevel
from ...services.setup.rewards import RewardDetails, value_kind
from ..forms import NO_CHOICE, optional_id

# In the restaurant's words, in the order of the spec.
TYPE_LABELS = {
    "discount_amount": "Amount off the order",
    "discount_percentage": "Percentage off the order",
    "item_discount_amount": "Amount off an item",
    "item_discount_percentage": "Percentage off an item",
    "item_fixed_price": "Item at a fixed price",
    "buy_one_get_one_free": "Buy one, get one free",
    "free_item": "Free item",
}
assert tuple(TYPE_LABELS) == REWARD_TYPES

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _optional_utc_time(label: str, description: str) -> DateTimeLocalField:
    return DateTimeLocalField(
        label, format=DATETIME_FORMAT, tz=UTC, validators=[Optional()], description=description
    )


class RewardForm(FlaskForm):
    title = StringField("Title", description="What customers see in the app, e.g. “€5 off”.")
    description = TextAreaField("Description", description="Optional; shown under the title.")
    type = SelectField(
        "Reward type",
        choices=[SelectChoice(value, label) for value, label in TYPE_LABELS.items()],
        default=REWARD_TYPES[0],
    )
    # The type the type-specific fields were drawn for: when it changes between money and
    # percent, the typed value no longer means the same thing and is cleared.
    fields_for = StringField()
    value = StringField("Discount")
    item_plu = StringField("Item PLU", description="The item's PLU exactly as in your POS menu.")
    quantity = IntegerField(
        "Items covered",
        validators=[Optional()],
        invalid_value_message="enter a whole number",
    )
    cost = IntegerField(
        "Cost in points",
        description="Points the customer spends. 0 makes it free for everyone eligible.",
        invalid_value_message="enter a whole number of points",
    )
    min_order_value = StringField("Minimum order value")
    min_tier_id = SelectField("Only for tier and above", choices=[], coerce=optional_id)
    active_from = _optional_utc_time("Available from", "UTC. Empty: from now on.")
    active_to = _optional_utc_time(
        "Available until", "UTC; sent to Deliverect as expiresAt. Empty: no end."
    )
    media_url = StringField("Image or video address", description="Optional, https://…")
    media_type = SelectField(
        "Media type",
        choices=[SelectChoice("image", "Image"), SelectChoice("video", "Video")],
        default="image",
    )

    def __init__(self, tiers: list[TierLevel], currency: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.min_tier_id.choices = [SelectChoice(NO_CHOICE, "Everyone")] + [
            SelectChoice(tier.tier_id, f"{tier.name} ({tier.threshold_points:,} points)")
            for tier in tiers
        ]
        if self.fields_for.data and value_kind(self.fields_for.data) != self.value_kind:
            self.value.data = ""
        self.fields_for.data = self.reward_type
        self.min_order_value.description = f"In {currency}, e.g. 20.00. Empty: no minimum."
        self._label_for_type()

    @property
    def reward_type(self) -> str:
        return self.type.data if self.type.data in TYPE_LABELS else REWARD_TYPES[0]

    @property
    def value_kind(self) -> str:
        return value_kind(self.reward_type)

    @property
    def is_item_type(self) -> bool:
        return self.reward_type in ITEM_TYPES

    def details(self, decimal_digits: int) -> RewardDetails | None:
        """What was typed, in stored units; None (with inline errors) when it cannot be parsed."""
        kind = self.value_kind
        value = 0
        if kind == "money":
            value = self._parsed(self.value, lambda text: parse_money(text, decimal_digits))
        elif kind == "percent":
            value = self._parsed(self.value, parse_percent)
        if self.reward_type == "item_fixed_price" and value is None and not self.value.errors:
            self.value.errors = [*self.value.errors, "enter the new price (0 makes the item free)"]
        min_order = None
        if (self.min_order_value.data or "").strip():
            min_order = self._parsed(
                self.min_order_value, lambda text: parse_money(text, decimal_digits)
            )
        if self.errors:
            return None
        return RewardDetails(
            title=self.title.data or "",
            type=self.type.data,
            cost=self.cost.data,
            value=value or 0,
            description=self.description.data or "",
            item_plu=self.item_plu.data if self.is_item_type else None,
            quantity=self.quantity.data if self.is_item_type else None,
            min_order_value=min_order,
            active_from=self.active_from.data,
            active_to=self.active_to.data,
            media_url=self.media_url.data,
            media_type=self.media_type.data,
            min_tier_id=self.min_tier_id.data,
        )

    @staticmethod
    def initial_data(reward: Reward, decimal_digits: int) -> dict:
        """The stored reward as the team typed it: money as "2.50", percentages as "50"."""
        kind = value_kind(reward.type)
        if kind == "money":
            value = format_money(reward.value, decimal_digits)
        elif kind == "percent":
            value = format_percent(reward.value)
        else:
            value = ""
        min_order = reward.min_order_value
        return {
            "title": reward.title,
            "description": reward.description,
            "type": reward.type,
            "value": value,
            "item_plu": reward.item_plu or "",
            "quantity": reward.quantity,
            "cost": reward.cost,
            "min_order_value": format_money(min_order, decimal_digits) if min_order else "",
            "min_tier_id": reward.min_tier_id or NO_CHOICE,
            "active_from": reward.active_from,
            "active_to": reward.active_to,
            "media_url": reward.media_url or "",
            "media_type": reward.media_type or "image",
        }

    def _parsed(self, field, parse) -> int | None:
        text = (field.data or "").strip()
        if not text:
            return None
        try:
            return parse(text)
        except AmountError as error:
            field.errors = [*field.errors, str(error)]
            return None

    def _label_for_type(self) -> None:
        kind, reward_type = self.value_kind, self.reward_type
        if reward_type == "item_fixed_price":
            self.value.label.text = f"New price ({self.currency})"
            self.value.description = "What the customer pays for each item covered."
        elif kind == "money":
            per = " per item" if self.is_item_type else ""
            self.value.label.text = f"Discount{per} ({self.currency})"
            self.value.description = "An amount such as 2.50."
        elif kind == "percent":
            self.value.label.text = "Discount (%)"
            self.value.description = "A percentage such as 50 or 12.5."
        if reward_type == "buy_one_get_one_free":
            self.quantity.label.text = "Free items at most"
            self.quantity.description = (
                "For every two in the basket one is free, up to this many. Empty: 1."
            )
        elif reward_type == "free_item":
            self.quantity.label.text = "Free items"
            self.quantity.description = "Added by the POS if not in the basket. Empty: 1."
        else:
            self.quantity.label.text = "Items covered"
            self.quantity.description = "How many of the item get the discount. Empty: 1."
