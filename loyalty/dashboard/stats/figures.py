"""How the stats pages word a figure: a ratio as a percent, a change against the period before."""

from __future__ import annotations

from dataclasses import dataclass

# Changes smaller than this (in percent or points) read as "no change".
NEGLIGIBLE = 0.05


@dataclass(frozen=True)
class Change:
    direction: str  # "up" | "down" | "same" | "new" (from nothing) | "unknown" (no figure)
    text: str  # "12%", "3.5 points", "" when there is nothing to say


def change_of(current: float | None, previous: float | None, points: bool = False) -> Change:
    """Counts and amounts change by a percent of the previous value; ratios (`points`) by their
    difference in percentage points, since a percent of a percent misleads."""
    if current is None or previous is None:
        return Change("unknown", "")
    if points:
        difference = (current - previous) * 100
        if abs(difference) < NEGLIGIBLE:
            return Change("same", "")
        return Change("up" if difference > 0 else "down", f"{abs(difference):.1f} points")
    if previous == 0:
        return Change("same", "") if current == 0 else Change("new", "")
    percent = (current - previous) * 100 / abs(previous)
    if abs(percent) < NEGLIGIBLE:
        return Change("same", "")
    shown = f"{abs(percent):.0f}" if abs(percent) >= 10 else f"{abs(percent):.1f}"
    return Change("up" if percent > 0 else "down", f"{shown}%")


def as_percent(ratio: float | None, digits: int = 1) -> str:
    """0.425 -> '42.5%'; a ratio that divides by nothing has no value: '–'."""
    if ratio is None:
        return "–"
    return f"{ratio * 100:.{digits}f}%"


# The cohort table's colour scale: (highest share in the band, its legend).
SHARE_BANDS = (
    (0.0, "none"),
    (0.1, "up to 10%"),
    (0.2, "10–20%"),
    (0.35, "20–35%"),
    (0.5, "35–50%"),
    (1.0, "over 50%"),
)


def share_band(share: float) -> int:
    """Which band of SHARE_BANDS a share falls in (0 for none, the last for the highest)."""
    for band, (highest, _legend) in enumerate(SHARE_BANDS):
        if share <= highest:
            return band
    return len(SHARE_BANDS) - 1
