"""Campaigns as the API lists and upserts them: a filtered, sorted page with its total (each
page's figures read with grouped queries, not per campaign), upserts that say whether they
created, and who a caller is for `initializedBy`."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_, select

from ...extensions import db
from ...models import ApiClient, Campaign, Membership, MembershipEvent, User
from ...rules import campaigns as definitions
from ...validation import CONFLICT, FieldErrors
from .store import CAPS, TAKEN, create_campaign, rules_campaign, save_campaign

SORTABLE = {
    "id": Campaign.key,
    "name": Campaign.name,
    "type": Campaign.type,
    "activeFrom": Campaign.active_from,
    "activeTo": Campaign.active_to,
}
NEW_ID_ATTEMPTS = 3
MAX_SLUG_LENGTH = 40
MAX_ACTOR_LENGTH = 128  # campaigns.initialized_by


@dataclass(frozen=True)
class CampaignCriteria:
    """getCampaigns' filters (spec §3.8); None leaves a filter out."""

    name_contains: str | None = None
    keys: Sequence[str] | None = None
    type: str | None = None
    active: bool | None = None  # now within activeFrom..activeTo


@dataclass(frozen=True)
class CampaignPage:
    items: list[dict]  # the wire shape, as campaign_json gives it
    total: int


def find_campaigns(
    tenant_id: int,
    where: CampaignCriteria,
    now: datetime,
    *,
    sort: str = "id",
    descending: bool = False,
    offset: int = 0,
    limit: int = 25,
) -> CampaignPage:
    """One page of the tenant's campaigns matching `where`, in the wire shape, and how many
    match in all. Empty activeFrom/activeTo sort last either way; the row id breaks ties."""
    conditions = _conditions(tenant_id, where, now)
    total = db.session.scalar(select(func.count()).select_from(Campaign).where(*conditions))
    column = SORTABLE[sort]
    ordered = column.desc() if descending else column.asc()
    tie = Campaign.id.desc() if descending else Campaign.id.asc()
    rows = db.session.scalars(
        select(Campaign)
        .where(*conditions)
        .order_by(ordered.nulls_last(), tie)
        .offset(offset)
        .limit(limit)
    ).all()
    return CampaignPage(campaigns_json(rows), int(total or 0))


def _conditions(tenant_id: int, where: CampaignCriteria, now: datetime) -> list:
    conditions: list[ColumnElement[bool]] = [Campaign.tenant_id == tenant_id]
    if where.name_contains:
        needle = where.name_contains.lower()
        conditions.append(func.lower(Campaign.name).contains(needle, autoescape=True))
    if where.keys is not None:
        conditions.append(Campaign.key.in_(list(where.keys)))
    if where.type is not None:
        conditions.append(Campaign.type == where.type)
    if where.active is not None:
        within = and_(
            or_(Campaign.active_from.is_(None), Campaign.active_from <= now),
            or_(Campaign.active_to.is_(None), Campaign.active_to > now),
        )
        conditions.append(within if where.active else not_(within))
    return conditions


def campaigns_json(rows: Sequence[Campaign]) -> list[dict]:
    """store.campaign_json of each row, the state counts of all of them read at once."""
    reached, finished = _state_counts([row.id for row in rows])
    out = []
    for row in rows:
        status = definitions.CampaignStatus(
            initialized=row.status == "running",
            initialized_at=row.initialized_at,
            initialized_by=row.initialized_by,
            finalized_at=row.finalized_at,
            cnt=row.cnt,
            state_stats=finished.get(row.id, {}),
            state_reached=reached.get(row.id, {}),
            previewed_at=row.previewed_at,
            samples=tuple(row.samples or ()),
        )
        wire = definitions.campaign_to_json(rules_campaign(row), status)
        for name, column in CAPS.items():
            wire[name] = getattr(row, column)
        out.append(wire)
    return out


def _state_counts(
    campaign_ids: list[int],
) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]]:
    """Per campaign and state: members that reached it, and members that left it onwards."""
    if not campaign_ids:
        return {}, {}
    events = (
        select(Membership.campaign_id, MembershipEvent.from_state, MembershipEvent.to_state)
        .join(Membership, Membership.id == MembershipEvent.membership_id)
        .where(Membership.campaign_id.in_(campaign_ids), MembershipEvent.reason != "reversed")
        .subquery()
    )
    counts: list[dict[int, dict[str, int]]] = []
    for state in (events.c.to_state, events.c.from_state):
        found: dict[int, dict[str, int]] = {}
        for campaign_id, state_id, count in db.session.execute(
            select(events.c.campaign_id, state, func.count())
            .where(state.is_not(None))
            .group_by(events.c.campaign_id, state)
        ):
            found.setdefault(campaign_id, {})[state_id] = count
        counts.append(found)
    return counts[0], counts[1]


def upsert_campaign(
    tenant_id: int, data: dict[str, Any], now: datetime, campaign_key: str | None = None
) -> tuple[Campaign, bool]:
    """store.save_campaign, and whether it created the campaign: it tries to create it first
    (store.create_campaign, which never changes an existing one) and updates it when the id is
    taken, so of several requests creating one id at once exactly one says it created it."""
    body_key = data.get("id") or None
    if campaign_key is None or body_key in (None, campaign_key):
        try:
            key = body_key or campaign_key
            return create_campaign(tenant_id, {**data, "id": key}, now), True
        except FieldErrors as refused:
            if refused.code != CONFLICT or refused.errors.get("id") != TAKEN:
                raise
    return save_campaign(tenant_id, data, now, campaign_key), False


def create_with_new_id(tenant_id: int, data: dict[str, Any], now: datetime) -> Campaign:
    """A new campaign under a fresh id made from its name (`summer-deal-3f9a1c`)."""
    for _ in range(NEW_ID_ATTEMPTS):
        try:
            return create_campaign(tenant_id, {**data, "id": new_campaign_id(data)}, now)
        except FieldErrors as refused:
            if refused.code != CONFLICT or "id" not in refused.errors:
                raise
    raise FieldErrors({"id": TAKEN}, CONFLICT)


def new_campaign_id(data: dict[str, Any]) -> str:
    name = data.get("name") if isinstance(data.get("name"), str) else ""
    words = "".join(c if c.isascii() and c.isalnum() else " " for c in name.lower()).split()
    slug = "-".join(words)[:MAX_SLUG_LENGTH].strip("-") or "campaign"
    return f"{slug}-{secrets.token_hex(3)}"


def actor_name(tenant_id: int, user_id: int | None, client_row_id: int | None) -> str | None:
    """Who did it, as `initializedBy` says: the team member's e-mail, else the API client's
    name."""
    name = None
    if user_id is not None:
        name = db.session.scalar(
            select(User.email).where(User.id == user_id, User.tenant_id == tenant_id)
        )
    if name is None and client_row_id is not None:
        name = db.session.scalar(
            select(ApiClient.name).where(
                ApiClient.id == client_row_id, ApiClient.tenant_id == tenant_id
            )
        )
    return name[:MAX_ACTOR_LENGTH] if name else None
