"""Campaign figures: one campaign's since it started (its page), every campaign's side by side,
one campaign's within a period and all-time (the stats API); each a few grouped queries.

The members per state are read from the append-only history, not from the memberships: a member
is in the state its latest transition at or before a moment led to (None: it had finished), so a
cancelled order's "reversed" move and a birthday's new entry count as they happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, String, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import InstrumentedAttribute

from ...extensions import db
from ...models import (
    Campaign,
    CampaignPush,
    CampaignPushClick,
    Coupon,
    Membership,
    MembershipEvent,
    Order,
    OutboxMessage,
)
from .pushes import PushTotals, push_totals
from .store import campaign_json, campaign_summary, get_campaign, list_campaigns, rules_campaign

# Up to this many days the members are counted day by day, after it week by week; a campaign
# older than MAX_BUCKETS weeks shows its latest MAX_BUCKETS.
DAILY_UP_TO = 60
MAX_BUCKETS = 104
# rules.flow's reason for the move a MessageAcknowledged makes out of a MESSAGE state.
ACKNOWLEDGED = "message"


@dataclass(frozen=True)
class StateCounts:
    """How many members were in each state at the end of `day` (or of the week to `day`)."""

    day: date
    members: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.members.values())


@dataclass(frozen=True)
class MessageCounts:
    sent: int
    acknowledged: int
    failed: int
    waiting: int  # queued, or held for quiet hours or the daily limit


@dataclass(frozen=True)
class CampaignStats:
    since: datetime  # when its members entered (or it was initialised)
    period: str  # day | week
    history: list[StateCounts]  # oldest first
    messages: MessageCounts
    orders: int  # placed (not cancelled) by its members since `since`
    revenue: int  # their payment amounts, in minor units

    @property
    def most_members(self) -> int:
        """The longest bar of the history."""
        return max((counts.total for counts in self.history), default=0)


def campaign_stats(tenant_id: int, campaign_key: str, now: datetime) -> CampaignStats | None:
    """The campaign's figures from its start (its snapshot, else its initialisation) until it was
    finalised or `now`; None for a draft. 404 as get_campaign."""
    row = get_campaign(tenant_id, campaign_key)
    since = row.started_at or row.initialized_at
    if since is None:
        return None
    until = max(since, min(row.finalized_at or now, now))
    period, ends = _bucket_ends(since, until)
    orders, revenue = _member_orders_by_campaign(tenant_id, [row], now).get(row.id, (0, 0))
    return CampaignStats(
        since,
        period,
        _members_per_state(tenant_id, row, ends),
        _messages(tenant_id, row),
        orders,
        revenue,
    )


def _bucket_ends(since: datetime, until: datetime) -> tuple[str, list[tuple[date, datetime]]]:
    """The period and, for each day (or week) from `since` to `until`, its last UTC day and the
    moment it is counted at: the end of that day, or `until` for the last one."""
    first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
    step = 1 if (last - first).days + 1 <= DAILY_UP_TO else 7
    ends = []
    start = first
    while start <= last:
        final = min(start + timedelta(days=step - 1), last)
        midnight = datetime.combine(final + timedelta(days=1), time.min, UTC)
        ends.append((final, min(midnight, until)))
        start += timedelta(days=step)
    return ("day" if step == 1 else "week"), ends[-MAX_BUCKETS:]


def _members_per_state(
    tenant_id: int, row: Campaign, ends: list[tuple[date, datetime]]
) -> list[StateCounts]:
    """One grouped count over the history: each transition holds from its moment until the
    member's next one, and is counted at every bucket end inside that span."""
    at_type = MembershipEvent.at.type
    buckets = union_all(
        *(
            select(literal(number).label("bucket"), literal(moment, at_type).label("ends"))
            for number, (_day, moment) in enumerate(ends)
        )
    ).subquery("buckets")
    spans = (
        select(
            MembershipEvent.to_state,
            MembershipEvent.at.label("since"),
            func.lead(MembershipEvent.at)
            .over(partition_by=MembershipEvent.membership_id, order_by=MembershipEvent.seq)
            .label("until"),
        )
        .join(Membership, Membership.id == MembershipEvent.membership_id)
        .where(
            MembershipEvent.tenant_id == tenant_id,
            Membership.campaign_id == row.id,
            # Moves after the last bucket end cannot change any count: never read them.
            MembershipEvent.at <= ends[-1][1],
        )
        .subquery("spans")
    )
    counts: dict[int, dict[str, int]] = {}
    for bucket, state_id, members in db.session.execute(
        select(buckets.c.bucket, spans.c.to_state, func.count())
        .join(
            spans,
            and_(
                spans.c.since <= buckets.c.ends,
                or_(spans.c.until.is_(None), spans.c.until > buckets.c.ends),
            ),
        )
        .where(spans.c.to_state.is_not(None))
        .group_by(buckets.c.bucket, spans.c.to_state)
    ):
        counts.setdefault(bucket, {})[state_id] = members
    return [StateCounts(day, counts.get(number, {})) for number, (day, _end) in enumerate(ends)]


def _messages(tenant_id: int, row: Campaign) -> MessageCounts:
    """The campaign's outbox rows by status, and its members' acknowledgements, in one query."""
    by_status = (
        select(OutboxMessage.status.label("outcome"), func.count().label("messages"))
        .where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.campaign_key == row.key)
        .group_by(OutboxMessage.status)
    )
    acknowledged = (
        select(literal("acknowledged", String(12)).label("outcome"), func.count())
        .select_from(MembershipEvent)
        .join(Membership, Membership.id == MembershipEvent.membership_id)
        .where(
            MembershipEvent.tenant_id == tenant_id,
            Membership.campaign_id == row.id,
            MembershipEvent.reason == ACKNOWLEDGED,
        )
    )
    counts = dict(db.session.execute(union_all(by_status, acknowledged)).all())
    return MessageCounts(
        sent=counts.get("sent", 0),
        acknowledged=counts.get("acknowledged", 0),
        failed=counts.get("failed", 0),
        waiting=counts.get("queued", 0) + counts.get("held", 0),
    )


# --- every campaign side by side


@dataclass(frozen=True)
class CampaignSummary:
    """One campaign's line of the side-by-side table, its figures since its start."""

    key: str
    name: str
    type: str
    status: str  # draft | running | finalised
    members: int  # in its flow now
    coupons_issued: int
    coupons_redeemed: int
    coupons_expired: int
    messages_sent: int
    messages_acknowledged: int
    orders: int  # placed (not cancelled) by its members since its start
    revenue: int  # their payment amounts, in minor units


def campaigns_side_by_side(tenant_id: int, now: datetime) -> list[CampaignSummary]:
    """Every campaign of the tenant, newest first, as the campaigns page lists them, with its
    messages and its members' orders from its start until `now`: the same five queries for
    any number of campaigns."""
    summaries = list_campaigns(tenant_id)  # the page's member and coupon counts, three queries
    rows = [summary.campaign for summary in summaries]
    messages = _messages_by_campaign(tenant_id, rows)
    orders = _member_orders_by_campaign(tenant_id, rows, now)
    return [
        CampaignSummary(
            key=summary.campaign.key,
            name=summary.campaign.name,
            type=summary.campaign.type,
            status=summary.status,
            members=sum(summary.members_per_state.values()),
            coupons_issued=summary.coupons_issued,
            coupons_redeemed=summary.coupons_redeemed,
            coupons_expired=summary.coupons_expired,
            messages_sent=messages.get(("sent", summary.campaign.key), 0),
            messages_acknowledged=messages.get(("acknowledged", summary.campaign.key), 0),
            orders=orders.get(summary.campaign.id, (0, 0))[0],
            revenue=orders.get(summary.campaign.id, (0, 0))[1],
        )
        for summary in summaries
    ]


def _messages_by_campaign(tenant_id: int, rows: list[Campaign]) -> dict[tuple[str, str], int]:
    """(outcome, campaign key) -> messages sent, and acknowledgements, as _messages counts
    them for one campaign, for all of `rows` in one query."""
    keys = [row.key for row in rows]
    sent = (
        select(
            literal("sent", String(12)).label("outcome"),
            OutboxMessage.campaign_key.label("campaign"),
            func.count().label("messages"),
        )
        .where(
            OutboxMessage.tenant_id == tenant_id,
            OutboxMessage.campaign_key.in_(keys),
            OutboxMessage.status == "sent",
        )
        .group_by(OutboxMessage.campaign_key)
    )
    acknowledged = (
        select(literal("acknowledged", String(12)), Campaign.key, func.count())
        .select_from(MembershipEvent)
        .join(Membership, Membership.id == MembershipEvent.membership_id)
        .join(Campaign, Campaign.id == Membership.campaign_id)
        .where(
            MembershipEvent.tenant_id == tenant_id,
            Campaign.key.in_(keys),
            Campaign.tenant_id == tenant_id,
            MembershipEvent.reason == ACKNOWLEDGED,
        )
        .group_by(Campaign.key)
    )
    return {
        (outcome, key): count
        for outcome, key, count in db.session.execute(union_all(sent, acknowledged))
    }


def _member_orders_by_campaign(
    tenant_id: int, rows: list[Campaign], now: datetime
) -> dict[int, tuple[int, int]]:
    """Campaign id -> (orders, paid): placed orders of its members from its start until it was
    finalised (or `now`); a membership is one per account and campaign, so no order counts
    twice. The campaign page and the side-by-side table both read it."""
    since = func.coalesce(Campaign.started_at, Campaign.initialized_at)
    return {
        campaign_id: (count, paid)
        for campaign_id, count, paid in db.session.execute(
            select(
                Membership.campaign_id,
                func.count(Order.id),
                func.coalesce(func.sum(Order.payment_amount), 0),
            )
            .join(Campaign, Campaign.id == Membership.campaign_id)
            .join(
                Order,
                and_(
                    Order.tenant_id == tenant_id,
                    Order.account_id == Membership.account_id,
                    Order.status == "placed",
                    Order.ordered_at >= since,
                    # A finalised campaign stops collecting its former members' orders.
                    Order.ordered_at
                    <= func.coalesce(
                        Campaign.finalized_at, literal(now, Campaign.finalized_at.type)
                    ),
                ),
            )
            .where(
                Membership.tenant_id == tenant_id,
                Membership.campaign_id.in_([row.id for row in rows]),
            )
            .group_by(Membership.campaign_id)
        )
    }


# --- one campaign within a period, and all-time (the stats API)


@dataclass(frozen=True)
class StatePeriodCounts:
    state: str
    type: str  # ACCOUNT | COUPON | MESSAGE | ORDER | WALLET
    entered: int  # transitions into it within the period
    left: int  # transitions out of it within the period
    current: int  # members in it at the period's end


@dataclass(frozen=True)
class CampaignPeriodStats:
    campaign: str
    start: datetime
    end: datetime  # exclusive
    states: tuple[StatePeriodCounts, ...]  # in the definition's order
    coupons_issued: int  # created within the period
    coupons_used: int  # used by an order placed within it
    coupons_expired: int  # expired, their validity having ended within it
    pushes: PushTotals  # registered, and clicked, within it


def campaign_period_stats(
    tenant_id: int, campaign_key: str, start: datetime, end: datetime
) -> CampaignPeriodStats:
    """campaignStats: what happened in the campaign from `start` to `end` (exclusive); 404 as
    get_campaign.

    Every transition counts, a cancelled order's move back too, so for a running campaign
    current at the end = current at the start + entered - left. `current` is the state each
    member's latest transition before `end` led to; finalising ends every flow without a
    transition, so after it nobody is in a state. A coupon redeemed at a till has no order and
    no moment of use: it counts as used only in the all-time figures.
    """
    row = get_campaign(tenant_id, campaign_key)
    counts = _state_moves(tenant_id, row, start, end)
    states = tuple(
        StatePeriodCounts(
            state.id,
            state.type,
            counts.get(("entered", state.id), 0),
            counts.get(("left", state.id), 0),
            counts.get(("current", state.id), 0),
        )
        for state in rules_campaign(row).states
    )
    issued, used, expired = _period_coupons(tenant_id, row, start, end)
    return CampaignPeriodStats(
        campaign=row.key,
        start=start,
        end=end,
        states=states,
        coupons_issued=issued,
        coupons_used=used,
        coupons_expired=expired,
        pushes=_period_pushes(tenant_id, row, start, end),
    )


def _state_moves(
    tenant_id: int, row: Campaign, start: datetime, end: datetime
) -> dict[tuple[str, str], int]:
    """(entered | left | current, state id) -> members, in one query over the history: the
    moves within [start, end), and the spans (as _members_per_state reads them) holding just
    before `end`."""
    history = (
        select(
            MembershipEvent.from_state,
            MembershipEvent.to_state,
            MembershipEvent.at.label("since"),
            func.lead(MembershipEvent.at)
            .over(partition_by=MembershipEvent.membership_id, order_by=MembershipEvent.seq)
            .label("until"),
        )
        .join(Membership, Membership.id == MembershipEvent.membership_id)
        .where(
            MembershipEvent.tenant_id == tenant_id,
            Membership.campaign_id == row.id,
            # A move from `end` on belongs to later periods: without it, the move before holds
            # at `end` (its `until` is None), which is what `current` counts.
            MembershipEvent.at < end,
        )
        .subquery("history")
    )
    within = and_(history.c.since >= start, history.c.since < end)
    entered = (
        select(literal("entered", String(8)).label("kind"), history.c.to_state, func.count())
        .where(within, history.c.to_state.is_not(None))
        .group_by(history.c.to_state)
    )
    left = (
        select(literal("left", String(8)), history.c.from_state, func.count())
        .where(within, history.c.from_state.is_not(None))
        .group_by(history.c.from_state)
    )
    parts = [entered, left]
    if row.finalized_at is None or row.finalized_at >= end:
        parts.append(
            select(literal("current", String(8)), history.c.to_state, func.count())
            .where(
                history.c.since < end,
                or_(history.c.until.is_(None), history.c.until >= end),
                history.c.to_state.is_not(None),
            )
            .group_by(history.c.to_state)
        )
    return {(kind, state): count for kind, state, count in db.session.execute(union_all(*parts))}


def _period_coupons(
    tenant_id: int, row: Campaign, start: datetime, end: datetime
) -> tuple[int, int, int]:
    """The campaign's coupons issued, used and expired within [start, end), in one query."""

    def within(moment: InstrumentedAttribute[datetime]) -> ColumnElement[bool]:
        return and_(moment >= start, moment < end)

    def counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    used = and_(Coupon.status == "USED", within(Order.ordered_at))
    expired = and_(Coupon.status == "EXPIRED", within(Coupon.valid_to))
    issued, used_count, expired_count = db.session.execute(
        select(counted(within(Coupon.created_at)), counted(used), counted(expired))
        .select_from(Coupon)
        .outerjoin(Order, Order.id == Coupon.used_order_id)
        .where(Coupon.tenant_id == tenant_id, Coupon.campaign_id == row.id)
    ).one()
    return int(issued), int(used_count), int(expired_count)


def _period_pushes(tenant_id: int, row: Campaign, start: datetime, end: datetime) -> PushTotals:
    """push_totals within [start, end): pushes registered in it, and clicks made in it (on any
    of the campaign's pushes), in one query."""
    sent = select(func.count()).where(
        CampaignPush.tenant_id == tenant_id,
        CampaignPush.campaign_id == row.id,
        CampaignPush.sent_at >= start,
        CampaignPush.sent_at < end,
    )
    clicked = (
        select(func.count())
        .select_from(CampaignPushClick)
        .join(CampaignPush, CampaignPush.id == CampaignPushClick.push_id)
        .where(
            CampaignPush.tenant_id == tenant_id,
            CampaignPush.campaign_id == row.id,
            CampaignPushClick.clicked_at >= start,
            CampaignPushClick.clicked_at < end,
        )
    )
    sent_count, clicked_count = db.session.execute(
        select(sent.scalar_subquery(), clicked.scalar_subquery())
    ).one()
    return PushTotals(sent_count, clicked_count)


@dataclass(frozen=True)
class GlobalCampaignStats:
    campaign: str
    name: str
    initialized: bool  # initialised and running, as the Campaign JSON says
    cnt: int
    state_stats: dict[str, int]  # the Campaign JSON's stateStats
    coupons_issued: int
    coupons_used: int
    coupons_expired: int
    pushes: PushTotals


def global_campaign_stats(tenant_id: int, campaign_key: str) -> GlobalCampaignStats:
    """globalCampaignStats: the campaign's all-time figures, each read as the campaign's JSON and
    the campaigns page read it; 404 as get_campaign."""
    summary = campaign_summary(tenant_id, campaign_key)
    row = summary.campaign
    wire = campaign_json(row)
    return GlobalCampaignStats(
        campaign=row.key,
        name=row.name,
        initialized=wire["initialized"],
        cnt=wire["cnt"],
        state_stats=dict(wire["stateStats"]),
        coupons_issued=summary.coupons_issued,
        coupons_used=summary.coupons_redeemed,
        coupons_expired=summary.coupons_expired,
        pushes=push_totals(tenant_id, [row.id])[row.id],
    )
