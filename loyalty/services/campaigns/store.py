"""Campaigns as the team and the API keep them: list, get, save (upsert by id), delete, export.

A campaign row keeps its constraints, states and notifications in `definition` in the wire shape
(rules.campaigns.campaign_to_json of what parse_campaign read), so export gives back what was
imported. Caps are our extension of the wire shape [I]: `maxCoupons`, `maxRedemptions` and
`maxPoints` (whole numbers, or null for no cap) beside the campaign's own fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from ...extensions import db
from ...models import Campaign, Coupon, Membership, MembershipEvent
from ...rules import campaigns as definitions
from ...time import to_iso
from ...validation import CONFLICT, FieldErrors
from ..pagination import Page, paginate
from ..scoping import get_for_tenant

CAPS = {"maxCoupons": "max_coupons", "maxRedemptions": "max_redemptions", "maxPoints": "max_points"}
MAX_CAP = 2**31 - 1
MEMBERS_PER_PAGE = 25
TAKEN = "another campaign already has this id"
UNKNOWN_CAMPAIGN = "no campaign of this restaurant has this id"


def get_campaign(tenant_id: int, campaign_key: str, *, lock: bool = False) -> Campaign:
    """The tenant's campaign with this wire id; 404 when it has none (another tenant's is none).
    `lock` takes the row lock (PostgreSQL) for a change that must not interleave."""
    row_id = db.session.scalar(
        select(Campaign.id).where(Campaign.tenant_id == tenant_id, Campaign.key == campaign_key)
    )
    if row_id is None:
        raise NotFound(UNKNOWN_CAMPAIGN)
    row = get_for_tenant(Campaign, row_id, tenant_id)
    if lock:
        db.session.refresh(row, with_for_update=True)
    return row


def rules_campaign(row: Campaign) -> definitions.Campaign:
    """The stored campaign as rules.campaigns reads it."""
    return definitions.parse_campaign(campaign_wire(row), draft=True)


@dataclass(frozen=True)
class CampaignSummary:
    """One line of the campaigns page."""

    campaign: Campaign
    status: str  # draft | running | finalised
    members_per_state: Mapping[str, int]
    coupons_issued: int
    coupons_redeemed: int
    caps_reached: tuple[str, ...] = field(default_factory=tuple)
    coupons_expired: int = 0


def list_campaigns(tenant_id: int) -> list[CampaignSummary]:
    """Every campaign of the tenant, newest first, with its member and coupon counts."""
    rows = db.session.scalars(
        select(Campaign)
        .where(Campaign.tenant_id == tenant_id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    ).all()
    return _summaries(tenant_id, rows)


def campaign_summary(tenant_id: int, campaign_key: str) -> CampaignSummary:
    """One campaign's line of the campaigns page (the campaign page's figures); 404 as
    get_campaign."""
    [summary] = _summaries(tenant_id, [get_campaign(tenant_id, campaign_key)])
    return summary


def campaign_members(
    tenant_id: int, campaign_key: str, state_id: str, page: int, per_page: int = MEMBERS_PER_PAGE
) -> Page[Membership]:
    """The members waiting in one state now, longest waiting first, with their accounts."""
    row = get_campaign(tenant_id, campaign_key)
    return paginate(
        Membership,
        [
            Membership.tenant_id == tenant_id,
            Membership.campaign_id == row.id,
            Membership.status == "active",
            Membership.state_id == state_id,
        ],
        [Membership.entered_at, Membership.id],
        page,
        per_page,
        options=[selectinload(Membership.account)],
    )


def _summaries(tenant_id: int, rows: Sequence[Campaign]) -> list[CampaignSummary]:
    """The summaries of `rows` (the tenant's campaigns): two grouped counts for all of them."""
    ids = [row.id for row in rows]
    members: dict[int, dict[str, int]] = {}
    for campaign_id, state_id, count in db.session.execute(
        select(Membership.campaign_id, Membership.state_id, func.count())
        .where(
            Membership.tenant_id == tenant_id,
            Membership.campaign_id.in_(ids),
            Membership.status == "active",
        )
        .group_by(Membership.campaign_id, Membership.state_id)
    ):
        members.setdefault(campaign_id, {})[state_id] = count
    coupons: dict[int, dict[str, int]] = {}
    for campaign_id, status, count in db.session.execute(
        select(Coupon.campaign_id, Coupon.status, func.count())
        .where(Coupon.tenant_id == tenant_id, Coupon.campaign_id.in_(ids))
        .group_by(Coupon.campaign_id, Coupon.status)
    ):
        coupons.setdefault(campaign_id, {})[status] = count
    return [
        CampaignSummary(
            row,
            row.status,
            members.get(row.id, {}),
            sum(coupons.get(row.id, {}).values()),
            coupons.get(row.id, {}).get("USED", 0),
            caps_reached(row),
            coupons.get(row.id, {}).get("EXPIRED", 0),
        )
        for row in rows
    ]


def caps_reached(row: Campaign) -> tuple[str, ...]:
    """Which caps are spent (wire names), so the campaign page can say so."""
    spent = {
        "maxCoupons": (row.max_coupons, row.coupons_issued),
        "maxRedemptions": (row.max_redemptions, row.coupons_redeemed),
        "maxPoints": (row.max_points, row.points_credited),
    }
    return tuple(name for name, (cap, used) in spent.items() if cap is not None and used >= cap)


def campaign_json(row: Campaign) -> dict:
    """The wire shape of §3.1 with the read-only fields the server keeps, and the caps."""
    reached, finished = _state_counts(row.id)
    status = definitions.CampaignStatus(
        initialized=row.status == "running",
        initialized_at=row.initialized_at,
        initialized_by=row.initialized_by,
        finalized_at=row.finalized_at,
        cnt=row.cnt,
        state_stats=finished,
        state_reached=reached,
        previewed_at=row.previewed_at,
        samples=tuple(row.samples or ()),
    )
    out = definitions.campaign_to_json(rules_campaign(row), status)
    for wire, column in CAPS.items():
        out[wire] = getattr(row, column)
    return out


def export_campaigns(tenant_id: int, campaign_key: str | None = None) -> list[dict]:
    """Every campaign of the tenant (or one) in the wire shape, oldest first."""
    if campaign_key is not None:
        return [campaign_json(get_campaign(tenant_id, campaign_key))]
    rows = db.session.scalars(
        select(Campaign).where(Campaign.tenant_id == tenant_id).order_by(Campaign.id)
    )
    return [campaign_json(row) for row in rows]


def save_campaign(
    tenant_id: int, data: Any, now: datetime, campaign_key: str | None = None
) -> Campaign:
    """putCampaign / postCampaign: create or update by `id` (the path's id when given).

    A draft saves incomplete (parse_campaign(draft=True)); a running campaign must stay
    complete and keep its states' ids; a finalised one no longer changes. FieldErrors by JSON
    path, nothing saved.
    """
    row = stage_campaign(tenant_id, data, now, campaign_key)
    db.session.commit()
    return row


def create_campaign(tenant_id: int, data: Any, now: datetime) -> Campaign:
    """A new campaign (a draft may be incomplete), committed; never changes an existing one:
    FieldErrors (CONFLICT) on `id` when the tenant has a campaign with that id, also when a
    concurrent create took it first (the unique (tenant, id) constraint decides)."""
    try:
        row = stage_campaign(tenant_id, data, now, create=True)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise FieldErrors({"id": TAKEN}, CONFLICT) from None
    return row


def stage_campaign(
    tenant_id: int,
    data: Any,
    now: datetime,
    campaign_key: str | None = None,
    *,
    create: bool = False,
) -> Campaign:
    """save_campaign without the commit, for callers that save several at once (imports);
    `create` refuses an id already taken instead of updating that campaign."""
    parsed = definitions.parse_campaign(data, draft=True)
    errors: dict[str, str] = {}
    key = parsed.id or campaign_key or ""
    if campaign_key is not None and parsed.id and parsed.id != campaign_key:
        errors["id"] = "must be the campaign named in the path"
    try:
        definitions.check_campaign_id(key, "id")
    except FieldErrors as refused:
        errors.update(refused.errors)
    caps = _caps(data, errors)
    if errors:
        raise FieldErrors(errors)
    row = db.session.scalar(
        select(Campaign)
        .where(Campaign.tenant_id == tenant_id, Campaign.key == key)
        .with_for_update()
    )
    if row is not None and create:
        raise FieldErrors({"id": TAKEN}, CONFLICT)
    if row is not None and row.status != "draft":
        _check_running_change(row, data)
    if row is None:
        row = Campaign(tenant_id=tenant_id, key=key, created_at=now, samples=[], cnt=0)
        db.session.add(row)
    wire = definitions.campaign_to_json(parsed)
    row.type = parsed.type
    row.name = parsed.name or ""
    row.active_from = parsed.active_from
    row.active_to = parsed.active_to
    row.dynamic = parsed.dynamic
    row.definition = {
        "constraints": wire["constraints"],
        "states": wire["states"],
        "notifications": wire["notifications"],
    }
    for column, value in caps.items():
        setattr(row, column, value)
    row.updated_at = now
    db.session.flush()
    return row


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


def import_campaigns(tenant_id: int, document: Any, now: datetime) -> ImportResult:
    """One campaign object or a list, upserted by id, all or nothing (committed): FieldErrors
    with every problem keyed by its JSON path (`[1].states[0].id` in a list)."""
    items = document if isinstance(document, list) else [document]
    prefix = "[{}]" if isinstance(document, list) else ""
    errors: dict[str, str] = {}
    created = updated = 0
    for index, item in enumerate(items):
        key = item.get("id") if isinstance(item, dict) else None
        known = (
            isinstance(key, str)
            and db.session.scalar(
                select(Campaign.id).where(Campaign.tenant_id == tenant_id, Campaign.key == key)
            )
            is not None
        )
        try:
            stage_campaign(tenant_id, item, now)
        except FieldErrors as refused:
            where = prefix.format(index)
            for path, message in refused.errors.items():
                joined = path if not where else f"{where}.{path}" if path != "campaign" else where
                errors[joined or "campaign"] = message
            continue
        updated += known
        created += not known
    if errors:
        db.session.rollback()
        raise FieldErrors(errors)
    db.session.commit()
    return ImportResult(created, updated)


def delete_campaign(tenant_id: int, campaign_key: str) -> None:
    """deleteCampaign: only a draft (a campaign that ran keeps its members and coupons)."""
    row = get_campaign(tenant_id, campaign_key, lock=True)
    if row.status != "draft":
        raise FieldErrors(
            {"campaign": "only a draft can be deleted; finalise it instead"}, CONFLICT
        )
    db.session.delete(row)
    db.session.commit()


def state_ids(campaign: definitions.Campaign) -> Sequence[str]:
    return [state.id for state in campaign.states]


def _check_running_change(row: Campaign, data: Any) -> None:
    if row.status == "finalised":
        raise FieldErrors({"campaign": "is finalised and can no longer change"}, CONFLICT)
    complete = definitions.parse_campaign(data, draft=False)
    if sorted(state_ids(complete)) != sorted(state_ids(rules_campaign(row))):
        raise FieldErrors(
            {"states": "a running campaign keeps its states' ids: add or rename none"}
        )


def _caps(data: Any, errors: dict[str, str]) -> dict[str, int | None]:
    caps: dict[str, int | None] = {}
    if not isinstance(data, dict):
        return caps
    for wire, column in CAPS.items():
        if wire not in data:
            continue
        value = data[wire]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CAP
        ):
            errors[wire] = "must be a whole number of at least 0, or null for no cap"
            continue
        caps[column] = value
    return caps


def campaign_wire(row: Campaign) -> dict:
    """The stored campaign in the wire shape, without the read-only fields."""
    data: dict[str, Any] = {"id": row.key, "type": row.type, "dynamic": row.dynamic}
    if row.name:
        data["name"] = row.name
    if row.active_from is not None:
        data["activeFrom"] = to_iso(row.active_from)
    if row.active_to is not None:
        data["activeTo"] = to_iso(row.active_to)
    data.update(row.definition or {})
    return data


def _state_counts(campaign_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """Per state: members that reached it, and members that finished it (left it onwards)."""
    events = (
        select(MembershipEvent.from_state, MembershipEvent.to_state)
        .join(Membership, Membership.id == MembershipEvent.membership_id)
        .where(Membership.campaign_id == campaign_id, MembershipEvent.reason != "reversed")
        .subquery()
    )
    reached = dict(
        db.session.execute(
            select(events.c.to_state, func.count())
            .where(events.c.to_state.is_not(None))
            .group_by(events.c.to_state)
        ).all()
    )
    finished = dict(
        db.session.execute(
            select(events.c.from_state, func.count())
            .where(events.c.from_state.is_not(None))
            .group_by(events.c.from_state)
        ).all()
    )
    return reached, finished
