"""Rewards seen as Deliverect loyalty programs: the rules' view and the wire listing.

One place builds the program JSON, so the dashboard preview, the CLI export and the webhook
answer can never disagree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import Reward, Tier
from ..rules.programs import Program
from ..rules.tiers import TierLevel


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
        "expiresAt": _iso(reward.active_to),
        "media": (
            {"url": reward.media_url, "mediaType": reward.media_type or "image"}
            if reward.media_url
            else None
        ),
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


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
