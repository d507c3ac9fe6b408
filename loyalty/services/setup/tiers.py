"""Tiers: create, change and delete them, with every rule checked in one place.

Customers are never stored in a tier (rules.tiers derives it from lifetime points), so changing a
threshold moves customers between tiers at once and deleting a tier moves nobody's points.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Account, Reward, Tier
from ...rules.tiers import TierLevel, requirements, tier_for
from ...validation import CONFLICT, FieldErrors, text_problem
from ..checkout.catalogue import tier_levels
from ..scoping import get_for_tenant
from .rewards import media_url_problem

NAME_MAX = 64
# ×1.00 to ×10.00: a tier never earns less than no tier, and "15" meant as ×1.5 is caught.
MIN_MULTIPLIER = 100
MAX_MULTIPLIER = 1000
MAX_THRESHOLD = 1_000_000_000  # keeps within the 32-bit column


@dataclass(frozen=True)
class TierDetails:
    name: str
    threshold_points: int  # lifetime points needed
    multiplier_percent: int = 100  # earning multiplier in hundredths: 150 = ×1.5
    description: str = ""
    media_url: str | None = None  # a badge picture the ordering apps may show


@dataclass(frozen=True)
class TierRange:
    tier: Tier
    min_points: int
    max_points: int | None  # None for the top tier


def tiers_lowest_first(tenant_id: int) -> list[TierRange]:
    """The tenant's tiers with the lifetime points each one spans, lowest first."""
    tiers = {
        tier.id: tier
        for tier in db.session.scalars(select(Tier).where(Tier.tenant_id == tenant_id))
    }
    levels = [
        TierLevel(t.id, t.name, t.threshold_points, t.multiplier_percent) for t in tiers.values()
    ]
    return [TierRange(tiers[level.tier_id], low, high) for level, low, high in requirements(levels)]


def create_tier(tenant_id: int, details: TierDetails) -> Tier:
    details = _checked(tenant_id, details, None)
    tier = Tier(tenant_id=tenant_id)
    _apply(tier, details)
    db.session.add(tier)
    _commit_unique_name(details.name)
    return tier


def update_tier(tenant_id: int, tier_id: int, details: TierDetails) -> Tier:
    tier = get_for_tenant(Tier, tier_id, tenant_id)
    details = _checked(tenant_id, details, tier)
    _apply(tier, details)
    _commit_unique_name(details.name)
    return tier


def delete_tier(tenant_id: int, tier_id: int) -> None:
    """Refused while a reward requires the tier: silently opening it to everyone would surprise."""
    tier = get_for_tenant(Tier, tier_id, tenant_id)
    titles = list(
        db.session.scalars(
            select(Reward.title)
            .where(Reward.tenant_id == tenant_id, Reward.min_tier_id == tier.id)
            .order_by(Reward.id)
        )
    )
    if titles:
        raise FieldErrors(
            {"tier": f"rewards require this tier: {', '.join(titles)}. Change them first."}
        )
    db.session.delete(tier)
    db.session.commit()


def _checked(tenant_id: int, details: TierDetails, current: Tier | None) -> TierDetails:
    errors: dict[str, str] = {}
    name = (details.name or "").strip()
    others = select(Tier).where(Tier.tenant_id == tenant_id)
    if current is not None:
        others = others.where(Tier.id != current.id)
    if problem := text_problem(name, NAME_MAX, "give the tier a name, such as Gold"):
        errors["name"] = problem
    elif db.session.scalar(others.where(func.lower(Tier.name) == name.lower())) is not None:
        errors["name"] = f"there is already a tier called {name}"

    threshold = details.threshold_points
    if threshold is None or not 0 <= threshold <= MAX_THRESHOLD:
        errors["threshold_points"] = f"enter a number of points from 0 to {MAX_THRESHOLD:,}"
    else:
        same = db.session.scalar(others.where(Tier.threshold_points == threshold))
        if same is not None:
            errors["threshold_points"] = f"{same.name} already starts at {threshold} points"

    multiplier = details.multiplier_percent
    if multiplier is None or not MIN_MULTIPLIER <= multiplier <= MAX_MULTIPLIER:
        errors["multiplier_percent"] = "enter a multiplier from 1 to 10, such as 1.5"

    media_url = (details.media_url or "").strip() or None
    if media_url is not None:
        problem = media_url_problem(media_url)
        if problem:
            errors["media_url"] = problem

    if errors:
        raise FieldErrors(errors)
    return TierDetails(name, threshold, multiplier, (details.description or "").strip(), media_url)


def _commit_unique_name(name: str) -> None:
    try:
        db.session.commit()
    except IntegrityError:
        # Another request saved a tier of the same name between our check and the write.
        db.session.rollback()
        raise FieldErrors({"name": f"there is already a tier called {name}"}, CONFLICT) from None


def _apply(tier: Tier, details: TierDetails) -> None:
    tier.name = details.name
    tier.threshold_points = details.threshold_points
    tier.multiplier_percent = details.multiplier_percent
    tier.description = details.description
    tier.media_url = details.media_url


@dataclass(frozen=True)
class TierInfo:
    """A tier as the ordering channels show it: with the lifetime points that reach and leave it."""

    name: str
    description: str
    media_url: str | None
    min_lifetime_points: int
    max_lifetime_points: int | None


def tier_ladder(tenant_id: int) -> list[TierInfo]:
    """The tenant's tiers, lowest first."""
    levels = tier_levels(tenant_id)
    rows = {
        tier.id: tier
        for tier in db.session.scalars(select(Tier).where(Tier.tenant_id == tenant_id))
    }
    return [_tier_info(rows[level.tier_id], low, high) for level, low, high in requirements(levels)]


def customer_tier(account: Account, levels: list[TierLevel] | None = None) -> TierInfo | None:
    levels = tier_levels(account.tenant_id) if levels is None else levels
    reached = tier_for(account.lifetime_points, levels)
    if reached is None:
        return None
    for level, low, high in requirements(levels):
        if level.tier_id == reached.tier_id:
            return _tier_info(db.session.get(Tier, level.tier_id), low, high)
    return None


def _tier_info(tier: Tier, low: int, high: int | None) -> TierInfo:
    return TierInfo(tier.name, tier.description or "", tier.media_url, low, high)
