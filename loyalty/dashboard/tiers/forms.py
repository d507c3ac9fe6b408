"""The tier form: parses the typed multiplier ("1.5") into hundredths; rules live in the service."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField

from ...models import Tier
from ...rules.money import AmountError, format_percent, parse_percent
from ...services.setup.tiers import TierDetails


class TierForm(FlaskForm):
    name = StringField("Name", description="e.g. Silver, Gold.")
    description = TextAreaField("Description", description="Optional; customers may see it.")
    threshold_points = IntegerField(
        "Reached at (lifetime points)",
        description="Customers are in this tier once their lifetime points reach this number.",
        invalid_value_message="enter a whole number of points",
    )
    multiplier = StringField(
        "Earning multiplier",
        default="1",
        description="Points earned on each order are multiplied by this: 1.5 earns half as much "
        "again.",
    )

    media_url = StringField(
        "Badge picture address",
        description="Optional, https://…; Deliverect may show it with the tier.",
    )

    def details(self) -> TierDetails | None:
        """What was typed, in stored units; None (with inline errors) when it cannot be parsed."""
        multiplier = None
        try:
            # Hundredths, exactly like a percentage: "1.5" -> 150.
            multiplier = parse_percent(self.multiplier.data or "", example="1.5")
        except AmountError as error:
            self.multiplier.errors = [*self.multiplier.errors, str(error)]
        if self.errors:
            return None
        return TierDetails(
            name=self.name.data or "",
            threshold_points=self.threshold_points.data,
            multiplier_percent=multiplier,
            description=self.description.data or "",
            media_url=self.media_url.data,
        )

    @staticmethod
    def initial_data(tier: Tier) -> dict:
        return {
            "name": tier.name,
            "description": tier.description,
            "threshold_points": tier.threshold_points,
            "multiplier": format_percent(tier.multiplier_percent),
            "media_url": tier.media_url or "",
        }
