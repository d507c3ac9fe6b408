"""A campaign's figures since it started, for its page: members per state at the end of
each day (or week), its messages by outcome, and its members' orders; each one grouped query.

The members per state are read from the append-only history, not from the memberships: a member
is in the state its latest transition at or before a moment led to (None: it had finished), so a
cancelled order's "reversed" move and a birthday's new entry count as they happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import String, and_, func, literal, or_, select, union_all

from ...extensions import db
from ...models import Campaign, Membership, MembershipEvent, Order, OutboxMessage
from .store import get_campaign

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
    orders, revenue = _member_orders(tenant_id, row, since)
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
        .where(MembershipEvent.tenant_id == tenant_id, Membership.campaign_id == row.id)
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


def _member_orders(tenant_id: int, row: Campaign, since: datetime) -> tuple[int, int]:
    """Orders placed (and not cancelled) since the start by accounts that are its members, and
    what they paid."""
    members = select(Membership.account_id).where(
        Membership.tenant_id == tenant_id, Membership.campaign_id == row.id
    )
    count, paid = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Order.payment_amount), 0)).where(
            Order.tenant_id == tenant_id,
            Order.status == "placed",
            Order.ordered_at >= since,
            Order.account_id.in_(members),
        )
    ).one()
    return count, paid
