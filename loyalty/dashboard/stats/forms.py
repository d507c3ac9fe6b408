"""The stats range, read from the query string: a preset or custom days, and a location."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from ...rules.periods import PRESETS, Period, PeriodError, chosen_period

# What the range select offers, in its order.
PRESET_LABELS = (
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("year", "This year"),
    ("custom", "Custom days"),
)
# Deliverect location ids are short; anything longer is not one of ours.
LOCATION_MAX = 64


@dataclass(frozen=True)
class StatsRange:
    preset: str  # as asked for, shown back in the select
    first: str  # the custom days as typed (or the period's, to start from)
    last: str
    location: str | None  # None: all locations
    period: Period | None  # None when `errors`
    errors: dict[str, str] = field(default_factory=dict)

    def args(self) -> dict[str, str]:
        """The query that asks for this range again: for the address, the tabs and the CSVs."""
        args = {"range": self.preset}
        if self.preset == "custom" and self.period:
            args |= {
                "from": self.period.first_day.isoformat(),
                "to": self.period.last_day.isoformat(),
            }
        if self.location:
            args["location"] = self.location
        return args


def parse_range(args: Mapping[str, str], today: date, time_zone: str) -> StatsRange:
    """A preset wins over typed days (the form always sends both); custom days must be dates."""
    errors: dict[str, str] = {}
    first_text = (args.get("from") or "").strip()
    last_text = (args.get("to") or "").strip()
    preset = (args.get("range") or "").strip() or ("custom" if first_text or last_text else "30d")
    location = (args.get("location") or "").strip() or None
    if preset not in PRESETS:
        errors["range"] = f"choose one of {', '.join(label for _key, label in PRESET_LABELS)}"
    if location and len(location) > LOCATION_MAX:
        errors["location"] = "that is not a location id"
        location = None  # not echoed back into the page, the tabs and the links
    days = {}
    if preset == "custom":
        for name, text in (("from", first_text), ("to", last_text)):
            try:
                days[name] = date.fromisoformat(text) if text else None
            except ValueError:
                errors[name] = "enter a day as YYYY-MM-DD"
    period = None
    if not errors:
        try:
            period = chosen_period(preset, days.get("from"), days.get("to"), today, time_zone)
        except PeriodError as refused:
            errors[refused.field] = str(refused)
    if period and not (first_text and last_text and preset == "custom"):
        first_text, last_text = period.first_day.isoformat(), period.last_day.isoformat()
    return StatsRange(preset, first_text, last_text, location, period, errors)
