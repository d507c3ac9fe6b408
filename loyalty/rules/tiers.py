"""Tiers reached by lifetime points: which one a customer is in and what the next one needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TierLevel:
    tier_id: int
    name: str
    threshold_points: int  # lifetime points needed to reach the tier
    multiplier_percent: int  # earning multiplier in hundredths: 150 = x1.5


def _lowest_first(tiers: Sequence[TierLevel]) -> list[TierLevel]:
    # tier_id breaks ties so equal thresholds still give one stable order.
    return sorted(tiers, key=lambda tier: (tier.threshold_points, tier.tier_id))


def tier_for(lifetime_points: int, tiers: Sequence[TierLevel]) -> TierLevel | None:
    """The highest tier whose threshold the points reach; None below every threshold."""
    reached = [tier for tier in _lowest_first(tiers) if tier.threshold_points <= lifetime_points]
    return reached[-1] if reached else None


def next_tier(lifetime_points: int, tiers: Sequence[TierLevel]) -> tuple[TierLevel, int] | None:
    """The next tier up and the lifetime points still needed; None at the top.

    Of tiers that start at the same threshold it is the one tier_for gives there."""
    above = [tier for tier in _lowest_first(tiers) if tier.threshold_points > lifetime_points]
    if not above:
        return None
    threshold = above[0].threshold_points
    nearest = [tier for tier in above if tier.threshold_points == threshold]
    return nearest[-1], threshold - lifetime_points


def rank_of(tier_id: int | None, tiers: Sequence[TierLevel]) -> int | None:
    """0 for the lowest tier; None for no tier or an id not among `tiers`."""
    for rank, tier in enumerate(_lowest_first(tiers)):
        if tier.tier_id == tier_id:
            return rank
    return None


def requirements(tiers: Sequence[TierLevel]) -> list[tuple[TierLevel, int, int | None]]:
    """(tier, min, max lifetime points) lowest first; the top tier has no max."""
    ordered = _lowest_first(tiers)
    above: list[TierLevel | None] = [*ordered[1:], None]
    return [
        (tier, tier.threshold_points, higher.threshold_points - 1 if higher else None)
        for tier, higher in zip(ordered, above, strict=False)
    ]
