"""What a guest's card shows: the rewards their points buy now and the next one within reach,
and how far they are through their tier towards the next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .tiers import TierLevel, next_tier, tier_for


@dataclass(frozen=True)
class RewardPrice:
    """A reward the guest may have (live, their tier allows it), with its cost in points."""

    reward_id: int
    title: str
    cost: int


@dataclass(frozen=True)
class RewardStanding:
    affordable: list[RewardPrice]  # cheapest first
    next_reward: RewardPrice | None  # the cheapest one still out of reach
    points_to_next: int | None  # points still needed for it


def reward_standing(points: int, rewards: Sequence[RewardPrice]) -> RewardStanding:
    """Rewards costing at most `points` (spendable points; never negative), cheapest first,
    and the cheapest that costs more with how many points it still needs. Equal costs keep
    the given order."""
    points = max(0, points)
    ordered = sorted(rewards, key=lambda reward: reward.cost)
    affordable = [reward for reward in ordered if reward.cost <= points]
    beyond = [reward for reward in ordered if reward.cost > points]
    if not beyond:
        return RewardStanding(affordable, None, None)
    return RewardStanding(affordable, beyond[0], beyond[0].cost - points)


@dataclass(frozen=True)
class TierProgress:
    current: TierLevel | None  # None below the first tier
    next_tier: TierLevel | None  # None at the top, or when there are no tiers
    points_to_next: int | None
    percent: int  # 0-100 of the way from the current tier's threshold (or 0) to the next


def tier_progress(lifetime_points: int, tiers: Sequence[TierLevel]) -> TierProgress:
    """Where `lifetime_points` stand on the tier ladder. At the top (or with no tiers at all)
    progress is 100: nothing is left to reach."""
    current = tier_for(lifetime_points, tiers)
    upcoming = next_tier(lifetime_points, tiers)
    if upcoming is None:
        return TierProgress(current, None, None, 100)
    target, needed = upcoming
    start = current.threshold_points if current is not None else 0
    span = target.threshold_points - start
    done = lifetime_points - start
    percent = min(99, max(0, done * 100 // span)) if span > 0 else 0
    return TierProgress(current, target, needed, percent)
