"""Push messages sent for a campaign and the customers who opened them (spec §3.6).

A push is known by its pushId within its campaign. Registering it records it as sent, once:
registering it again changes nothing but a title given anew (registerPushV2). A click counts
once per account and push. Both are single INSERT ... ON CONFLICT DO NOTHING statements, so
concurrent calls cannot double them. `push_totals` gives the `pushes: {sent, clicked}` of the
campaign stats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from ...extensions import db
from ...models import CampaignPush, CampaignPushClick
from .effects import insert_ignoring_duplicates
from .store import get_campaign

UNKNOWN_PUSH = "no push of this campaign has this pushId: register it first"


@dataclass(frozen=True)
class PushTotals:
    sent: int  # pushes registered
    clicked: int  # clicks on them, one per account and push


def register_push(
    tenant_id: int, campaign_key: str, push_key: str, now: datetime, title: str | None = None
) -> CampaignPush:
    """registerPush / registerPushV2: the push recorded as sent (committed); 404 for an
    unknown campaign. Idempotent: the first registration's time stays; a title replaces the
    one kept, no title keeps it."""
    campaign = get_campaign(tenant_id, campaign_key)
    db.session.execute(
        insert_ignoring_duplicates(CampaignPush.__table__).values(
            tenant_id=tenant_id,
            campaign_id=campaign.id,
            push_key=push_key,
            title=title,
            sent_at=now,
        )
    )
    push = _push(campaign.id, push_key, lock=title is not None)
    if title is not None:
        push.title = title
    db.session.commit()
    return push


def record_click(
    tenant_id: int, account_id: int, campaign_key: str, push_key: str, now: datetime
) -> CampaignPushClick:
    """pushClick: the account opened the push (committed); the first click is the one kept.
    404 for an unknown campaign or a pushId the campaign has not registered."""
    campaign = get_campaign(tenant_id, campaign_key)
    push = _push(campaign.id, push_key)
    if push is None:
        raise NotFound(UNKNOWN_PUSH)
    db.session.execute(
        insert_ignoring_duplicates(CampaignPushClick.__table__).values(
            tenant_id=tenant_id, push_id=push.id, account_id=account_id, clicked_at=now
        )
    )
    click = db.session.scalars(
        select(CampaignPushClick)
        .where(CampaignPushClick.push_id == push.id, CampaignPushClick.account_id == account_id)
        .execution_options(populate_existing=True)
    ).one()
    db.session.commit()
    return click


def push_totals(tenant_id: int, campaign_ids: Sequence[int]) -> dict[int, PushTotals]:
    """Pushes sent and clicked per campaign (every id asked for is answered, 0 when none)."""
    ids = list(campaign_ids)
    sent = dict(
        db.session.execute(
            select(CampaignPush.campaign_id, func.count())
            .where(CampaignPush.tenant_id == tenant_id, CampaignPush.campaign_id.in_(ids))
            .group_by(CampaignPush.campaign_id)
        ).all()
    )
    clicked = dict(
        db.session.execute(
            select(CampaignPush.campaign_id, func.count())
            .join(CampaignPushClick, CampaignPushClick.push_id == CampaignPush.id)
            .where(CampaignPush.tenant_id == tenant_id, CampaignPush.campaign_id.in_(ids))
            .group_by(CampaignPush.campaign_id)
        ).all()
    )
    return {i: PushTotals(sent.get(i, 0), clicked.get(i, 0)) for i in ids}


def campaign_push_totals(tenant_id: int, campaign_key: str) -> PushTotals:
    """One campaign's pushes sent and clicked; 404 for an unknown campaign."""
    campaign = get_campaign(tenant_id, campaign_key)
    return push_totals(tenant_id, [campaign.id])[campaign.id]


def _push(campaign_id: int, push_key: str, *, lock: bool = False) -> CampaignPush | None:
    query = select(CampaignPush).where(
        CampaignPush.campaign_id == campaign_id, CampaignPush.push_key == push_key
    )
    if lock:
        query = query.with_for_update()
    return db.session.scalars(query.execution_options(populate_existing=True)).one_or_none()
