"""Rewards (and campaign coupons) seen as Deliverect loyalty programs: the rules' view and the
wire listing.

One place builds the program JSON, so the dashboard preview, the CLI export and the webhook
answer can never disagree.

The webhooks read a tenant's catalogue (live rewards as rules Programs with their listings, the
tier levels and the earning rules) from a per-process cache keyed by the tenant's
`catalog_version`. Any flush that adds, changes or deletes a Reward, a Tier or an EarningRule
bumps that version in the same transaction (an ORM hook below, so no writer can forget it),
and every webhook reads the version in the query that finds its tenant: a change made through
any worker is seen by all workers on their next call.
Only data is cached; every verdict (active window, points, tier) is still computed per call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from ...extensions import db
from ...models import EarningRule, Reward, Tenant, Tier
from ...rules import earning
from ...rules.programs import COUPON_PROGRAM_TYPES, Program
from ...rules.tiers import TierLevel
from ...time import to_iso_or_none
from ..campaigns.checkout_coupons import CheckoutCoupon


def tier_levels(tenant_id: int) -> list[TierLevel]:
    """The tenant's tiers, lowest first."""
    tiers = db.session.scalars(
        select(Tier).where(Tier.tenant_id == tenant_id).order_by(Tier.threshold_points, Tier.id)
    )
    return [TierLevel(t.id, t.name, t.threshold_points, t.multiplier_percent) for t in tiers]


def as_program(reward: Reward, levels: list[TierLevel]) -> Program:
    ranks = {level.tier_id: rank for rank, level in enumerate(levels)}
    return Program(
        program_id=reward.program_id,
        title=reward.title,
        type=reward.type,
        cost=reward.cost,
        value=reward.value,
        item_plu=reward.item_plu,
        quantity=reward.quantity,
        min_order_value=reward.min_order_value,
        active_from=reward.active_from,
        active_to=reward.active_to,
        min_tier_rank=ranks.get(reward.min_tier_id) if reward.min_tier_id else None,
    )


def listing(reward: Reward, applicable: bool = True) -> dict:
    """The program as Deliverect lists it: current fields plus the deprecated legacy ones."""
    return {
        "programId": reward.program_id,
        "title": reward.title,
        "description": reward.description or "",
        "type": reward.type,
        "applicable": applicable,
        "cost": reward.cost,
        "discount": reward.value,
        "itemPLU": reward.item_plu,
        "quantity": reward.quantity,
        "minOrderValue": reward.min_order_value,
        "expiresAt": to_iso_or_none(reward.active_to),
        "media": (
            {"url": reward.media_url, "mediaType": reward.media_type or "image"}
            if reward.media_url
            else None
        ),
    }


def coupon_listing(coupon: CheckoutCoupon, applicable: bool = True) -> dict:
    """A campaign coupon as Deliverect lists a program: its code as programId, free (cost 0),
    the same fields as a reward's listing."""
    kind = COUPON_PROGRAM_TYPES.get(coupon.coupon_type, "unknown")
    free_item = kind == "free_item"
    return {
        "programId": coupon.code,
        "title": coupon.title or coupon.code,
        "description": coupon.description or "",
        "type": kind,
        "applicable": applicable,
        "cost": 0,
        "discount": 0 if free_item else coupon.value,
        "itemPLU": coupon.product if free_item else None,
        "quantity": None,
        "minOrderValue": None,
        "expiresAt": to_iso_or_none(coupon.valid_to),
        "media": {"url": coupon.image, "mediaType": "image"} if coupon.image else None,
    }


def live_rewards(tenant_id: int) -> list[Reward]:
    """Rewards not archived, in the order the team arranged them (oldest first)."""
    return list(
        db.session.scalars(
            select(Reward)
            .where(Reward.tenant_id == tenant_id, Reward.archived_at.is_(None))
            .order_by(Reward.id)
        )
    )


# --- the webhooks' cached catalogue ------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueReward:
    """A live reward as the webhooks use it, detached from any database session."""

    id: int
    program_id: str
    title: str
    cost: int
    program: Program
    listing: dict[str, Any]  # `listing(reward)`; ProgramOffer.listed() sets `applicable`


@dataclass(frozen=True)
class Catalogue:
    levels: list[TierLevel]  # lowest first
    rewards: tuple[CatalogueReward, ...]  # live ones, in the team's order
    by_program_id: dict[str, CatalogueReward]
    by_id: dict[int, CatalogueReward]
    earning_rules: tuple[earning.EarningRule, ...]  # in the team's order


class VersionedTenant(Protocol):
    id: int
    catalog_version: int
    created_at: datetime


# tenant id -> ((catalog_version, created_at), catalogue). created_at tells apart a tenant
# deleted and created again under the same id (SQLite may reuse the highest id).
_catalogues: dict[int, tuple[tuple[int, datetime], Catalogue]] = {}


def catalogue(tenant: VersionedTenant) -> Catalogue:
    """The tenant's live rewards, tier levels and earning rules, loaded once per catalogue
    version.

    The version is read before the data, so the data is never older than the version it is
    cached under: any later change bumps the version past it and the next call reloads.
    """
    key = (tenant.catalog_version, tenant.created_at)
    cached = _catalogues.get(tenant.id)
    if cached is not None and cached[0] == key:
        return cached[1]
    loaded = load_catalogue(tenant.id)
    _catalogues[tenant.id] = (key, loaded)
    return loaded


def load_catalogue(tenant_id: int) -> Catalogue:
    from ..setup.earning import earning_rules  # that module imports this one

    levels = tier_levels(tenant_id)
    rewards = tuple(
        CatalogueReward(
            id=reward.id,
            program_id=reward.program_id,
            title=reward.title,
            cost=reward.cost,
            program=as_program(reward, levels),
            listing=listing(reward),
        )
        for reward in live_rewards(tenant_id)
    )
    return Catalogue(
        levels=levels,
        rewards=rewards,
        by_program_id={entry.program_id: entry for entry in rewards},
        by_id={entry.id: entry for entry in rewards},
        earning_rules=earning_rules(tenant_id),
    )


def _catalogue_tenants(objects: Iterable[object]) -> set[int]:
    return {
        obj.tenant_id
        for obj in objects
        if isinstance(obj, Reward | Tier | EarningRule) and obj.tenant_id is not None
    }


@event.listens_for(Session, "before_flush")
def _bump_catalogue_versions(session: Session, _context, _instances) -> None:
    """Rewards, tiers or earning rules about to be written: their tenants' catalogue version
    moves on, in the same transaction, so no webhook worker keeps serving the old catalogue."""
    changed = _catalogue_tenants(session.new) | _catalogue_tenants(session.deleted)
    changed |= _catalogue_tenants(
        obj for obj in session.dirty if session.is_modified(obj, include_collections=False)
    )
    if changed:
        session.connection().execute(
            update(Tenant.__table__)
            .where(Tenant.__table__.c.id.in_(sorted(changed)))
            .values(catalog_version=Tenant.__table__.c.catalog_version + 1)
        )
