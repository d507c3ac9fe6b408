"""The stats' daily rollups: built set-based from orders, the ledger and the accounts, refreshed
by `loyalty tick`, rebuilt on demand; the days they cannot answer are read live.

`day_figures` and `reward_figures` are the one definition of what a day counts: the rebuild
inserts what they select for each local day, and services.reporting.overview selects the same
for the days read live, so a rollup read and a live read always agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)

from ...extensions import db
from ...models import (
    Account,
    LedgerEntry,
    Order,
    StatsCohortMonth,
    StatsDay,
    StatsRewardDay,
    StatsRollupState,
    Tenant,
)
from ...models.base import UTCDateTime
from ...models.stats import NO_LOCATION
from ...rules.periods import day_start, local_day
from ..campaigns.effects import insert_ignoring_duplicates

# About a month of days per transaction: a big rebuild never holds one huge transaction.
CHUNK_DAYS = 31
# pg_advisory_xact_lock(class, tenant): one rebuild of a tenant at a time on PostgreSQL (SQLite
# writers are serialised by the database itself).
REBUILD_LOCK = 9_000_001
# Before anything any restaurant recorded: where a span "from the beginning" starts.
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

# What StatsDay counts, in its column order after (tenant, day, location).
DAY_COLUMNS = (
    "orders",
    "member_orders",
    "member_sales",
    "guest_sales",
    "points_earned",
    "points_redeemed",
    "points_expired",
    "points_net",
    "members_joined",
    "members_left",
)


@dataclass(frozen=True)
class Span:
    """A run of local days keyed by `key` (the day itself, or a bucket's number), with the UTC
    moments it starts (None: from the beginning) and ends (exclusive)."""

    key: date | int
    start: datetime | None
    end: datetime


def span_table(spans: Sequence[Span]) -> Subquery:
    """The spans as rows (key, start, end), to join facts to by their UTC moment."""
    key_type = Date() if isinstance(spans[0].key, date) else Integer()
    return union_all(
        *(
            select(
                literal(span.key, key_type).label("key"),
                literal(span.start or BEGINNING, UTCDateTime()).label("start"),
                literal(span.end, UTCDateTime()).label("end"),
            )
            for span in spans
        )
    ).subquery("spans")


def _bounds(spans: Sequence[Span]) -> tuple[datetime, datetime]:
    """Where the spans start and end together: repeated as plain range conditions beside the
    join to the span table, so the planner sees how few rows each source gives (it cannot
    tell from the join, and would hash every order of the tenant instead)."""
    return min(span.start or BEGINNING for span in spans), max(span.end for span in spans)


def day_figures(tenant_id: int, span_list: Sequence[Span]) -> Select:
    """(key, location_id, *DAY_COLUMNS) per span and location: placed orders by `ordered_at`,
    points entries by `created_at` (at the location of their order), members joining by
    `created_at` and leaving by `merged_at`, else `erased_at`."""
    spans = span_table(span_list)
    first, last = _bounds(span_list)

    def within(moment) -> ColumnElement[bool]:
        return and_(
            moment >= spans.c.start,
            moment < spans.c.end,
            moment >= literal(first, UTCDateTime()),
            moment < literal(last, UTCDateTime()),
        )

    member = Order.account_id.is_not(None)
    location = func.coalesce(Order.location_id, NO_LOCATION)
    orders = _part(
        spans,
        location,
        orders=func.count(),
        member_orders=func.sum(case((member, 1), else_=0)),
        member_sales=func.sum(case((member, Order.payment_amount), else_=0)),
        guest_sales=func.sum(case((member, 0), else_=Order.payment_amount)),
    ).join(
        Order,
        and_(
            Order.tenant_id == tenant_id,
            Order.status == "placed",
            within(Order.ordered_at),
        ),
    )
    kind, amount = LedgerEntry.kind, LedgerEntry.amount
    # A cancel's reversal of an earn (negative) takes earned points back; of a redeem
    # (positive) gives spent points back.
    # A debt repayment (negative) takes back points a cancel could not: earned, net.
    earned = case(
        (kind.in_(("earn", "campaign_credit", "debt_repayment")), amount),
        (and_(kind == "reversal", amount < 0), amount),
        else_=0,
    )
    redeemed = case(
        (kind == "redeem", -amount), (and_(kind == "reversal", amount > 0), -amount), else_=0
    )
    points = (
        _part(
            spans,
            location,
            points_earned=func.sum(earned),
            points_redeemed=func.sum(redeemed),
            points_expired=func.sum(case((kind == "expire", -amount), else_=0)),
            points_net=func.sum(amount),
        )
        .join(
            LedgerEntry,
            and_(
                LedgerEntry.tenant_id == tenant_id,
                LedgerEntry.unit == "points",
                within(LedgerEntry.created_at),
            ),
        )
        .outerjoin(Order, Order.id == LedgerEntry.order_id)
    )
    no_location = literal(NO_LOCATION, String())

    def members(moment, column: str, *also) -> Select:
        return _part(spans, no_location, **{column: func.count()}).join(
            Account,
            and_(Account.tenant_id == tenant_id, within(moment), *also),
        )

    # Leaving is merged_at, else erased_at: two range conditions, each on its own small
    # partial index (a coalesce could use none and would read every account per day).
    parts = union_all(
        orders,
        points,
        members(Account.created_at, "members_joined"),
        members(Account.merged_at, "members_left"),
        members(Account.erased_at, "members_left", Account.merged_at.is_(None)),
    ).subquery("parts")
    return select(
        parts.c.key,
        parts.c.location_id,
        *(func.sum(parts.c[name]).label(name) for name in DAY_COLUMNS),
    ).group_by(parts.c.key, parts.c.location_id)


def _part(spans: Subquery, location, **counted) -> Select:
    """One source's share of `day_figures`: its columns, zero for the others, per span and
    location (the caller joins the source)."""
    return (
        select(
            spans.c.key,
            location.label("location_id"),
            *(counted.get(name, literal(0)).label(name) for name in DAY_COLUMNS),
        )
        .select_from(spans)
        .group_by(spans.c.key, location)
    )


def reward_figures(tenant_id: int, span_list: Sequence[Span]) -> Select:
    """(key, location_id, reward_id, redemptions, points) per span, location and reward: redeem
    entries of a reward less the reversals of them (a cancel giving the points back)."""
    spans = span_table(span_list)
    first, last = _bounds(span_list)
    location = func.coalesce(Order.location_id, NO_LOCATION)
    return (
        select(
            spans.c.key,
            location.label("location_id"),
            LedgerEntry.reward_id,
            func.sum(case((LedgerEntry.kind == "redeem", 1), else_=-1)).label("redemptions"),
            func.sum(-LedgerEntry.amount).label("points"),
        )
        .select_from(spans)
        .join(
            LedgerEntry,
            and_(
                LedgerEntry.tenant_id == tenant_id,
                LedgerEntry.unit == "points",
                LedgerEntry.kind.in_(("redeem", "reversal")),
                LedgerEntry.reward_id.is_not(None),
                LedgerEntry.created_at >= spans.c.start,
                LedgerEntry.created_at < spans.c.end,
                LedgerEntry.created_at >= literal(first, UTCDateTime()),
                LedgerEntry.created_at < literal(last, UTCDateTime()),
            ),
        )
        .outerjoin(Order, Order.id == LedgerEntry.order_id)
        .group_by(spans.c.key, location, LedgerEntry.reward_id)
    )


def live_from(tenant_id: int, today: date) -> date:
    """The first local day the rollups cannot answer: days from it on are read live. Yesterday
    is always live (an order placed late yesterday may be reported today), so are days nobody
    has built yet and days a late write touched since the last build."""
    state = db.session.get(StatsRollupState, tenant_id)
    yesterday = today - timedelta(days=1)
    if state is None or state.complete_before is None:
        return date.min
    first = min(state.complete_before, yesterday)
    return min(first, state.stale_from) if state.stale_from is not None else first


def rebuild(
    tenant_id: int,
    now: datetime,
    first_day: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Recompute the tenant's rollups from `first_day` (default: its first day of any activity)
    up to local yesterday, a month of days per transaction; returns the days rebuilt.

    Days a previous build did not cover, or a late write marked stale, are rebuilt too whatever
    `first_day` says. The build state is written last, so a crash half-way leaves the old state
    (the days not built are read live); `stale_from` is cleared only if no late write marked a
    day while this ran.
    """
    time_zone = db.session.scalar(select(Tenant.time_zone).where(Tenant.id == tenant_id))
    today = local_day(now, time_zone)
    yesterday = today - timedelta(days=1)
    db.session.execute(
        insert_ignoring_duplicates(StatsRollupState.__table__).values(tenant_id=tenant_id)
    )
    state = db.session.get(StatsRollupState, tenant_id, populate_existing=True)
    seen_version = state.stale_version
    first = _first_to_rebuild(tenant_id, time_zone, state, first_day)
    cohorts_first = min(first or date.max, state.cohorts_stale_from or date.max)
    db.session.commit()

    rebuilt = 0
    chunk_first = first
    while chunk_first is not None and chunk_first <= yesterday:
        chunk_last = min(chunk_first + timedelta(days=CHUNK_DAYS - 1), yesterday)
        _rebuild_days(tenant_id, time_zone, chunk_first, chunk_last)
        db.session.commit()
        days = (chunk_last - chunk_first).days + 1
        rebuilt += days
        if progress is not None:
            progress(days)
        chunk_first = chunk_last + timedelta(days=1)

    # Imported here: cohorts reads `live_from` from this module.
    from .cohorts import rebuild_cohorts

    _lock_rebuild(tenant_id)
    if cohorts_first <= yesterday:
        rebuild_cohorts(tenant_id, time_zone, cohorts_first, yesterday)
    state = db.session.scalar(
        select(StatsRollupState)
        .where(StatsRollupState.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if state is not None:  # None: forgotten meanwhile (time zone changed), read live again
        state.complete_before = today
        if state.stale_version == seen_version:
            state.stale_from = state.cohorts_stale_from = None
        state.built_at = now
    db.session.commit()
    return rebuilt


def days_to_rebuild(tenant_id: int, now: datetime, first_day: date | None = None) -> int:
    """How many days `rebuild` with these arguments would rebuild now (for a progress bar)."""
    time_zone = db.session.scalar(select(Tenant.time_zone).where(Tenant.id == tenant_id))
    state = db.session.get(StatsRollupState, tenant_id)
    first = _first_to_rebuild(tenant_id, time_zone, state, first_day)
    yesterday = local_day(now, time_zone) - timedelta(days=1)
    return max(0, (yesterday - first).days + 1) if first is not None else 0


def _first_to_rebuild(
    tenant_id: int, time_zone: str, state: StatsRollupState | None, first_day: date | None
) -> date | None:
    """`first_day` (default: the first day of any activity), or earlier where the previous
    build left days unbuilt or a late write marked them stale."""
    if first_day is None:
        first_day = _first_active_day(tenant_id, time_zone)
    if state is None or state.complete_before is None or first_day is None:
        return first_day
    return min(first_day, state.complete_before, state.stale_from or date.max)


def refresh_all(now: datetime) -> int:
    """`loyalty tick`: rebuild every tenant whose rollups are behind (never built, marked
    stale, cohorts a merge changed, or last built before today) from the first day that needs
    it; returns days rebuilt."""
    behind = db.session.execute(
        select(
            Tenant.id,
            Tenant.time_zone,
            StatsRollupState.complete_before,
            StatsRollupState.stale_from,
            StatsRollupState.cohorts_stale_from,
        )
        .outerjoin(StatsRollupState, StatsRollupState.tenant_id == Tenant.id)
        .order_by(Tenant.id)
    ).all()
    db.session.rollback()
    rebuilt = 0
    for tenant_id, time_zone, complete_before, stale_from, cohorts_stale_from in behind:
        today = local_day(now, time_zone)
        if complete_before is None:
            rebuilt += rebuild(tenant_id, now)
        elif stale_from or cohorts_stale_from or complete_before < today:
            # The day before `complete_before` was "yesterday" then: late orders may have come.
            first = complete_before - timedelta(days=1)
            rebuilt += rebuild(tenant_id, now, min(first, stale_from or first))
    return rebuilt


def note_late_order(tenant_id: int, time_zone: str, ordered_at: datetime, now: datetime) -> None:
    """An order (or its cancel) written now for a day the rollups may already count: mark that
    day stale, in the caller's transaction. One UPDATE; a tenant never built has no state row
    and reads everything live anyway."""
    day = local_day(ordered_at, time_zone)
    db.session.execute(
        update(StatsRollupState)
        .where(StatsRollupState.tenant_id == tenant_id)
        .values(
            stale_from=case(
                (StatsRollupState.stale_from.is_(None), day),
                (StatsRollupState.stale_from > day, day),
                else_=StatsRollupState.stale_from,
            ),
            stale_version=StatsRollupState.stale_version + 1,
        )
        .execution_options(synchronize_session=False)
    )


def is_late(ordered_at: datetime | None, now: datetime, time_zone: str) -> bool:
    """Whether an order written now falls on a local day before today, which a build since
    that day ended may already count (pure: no query)."""
    return ordered_at is not None and local_day(ordered_at, time_zone) < local_day(now, time_zone)


def note_cohorts_changed(tenant_id: int, time_zone: str, since: datetime) -> None:
    """Orders from `since` on moved between accounts (a merge): the cohorts of their months are
    stale; the daily figures are not (they do not depend on whose order it is). One UPDATE in
    the caller's transaction."""
    month = local_day(since, time_zone).replace(day=1)
    column = StatsRollupState.cohorts_stale_from
    db.session.execute(
        update(StatsRollupState)
        .where(StatsRollupState.tenant_id == tenant_id)
        .values(
            cohorts_stale_from=case(
                (column.is_(None), month), (column > month, month), else_=column
            ),
            stale_version=StatsRollupState.stale_version + 1,
        )
        .execution_options(synchronize_session=False)
    )


def cohorts_live_from(tenant_id: int, today: date) -> date:
    """Like `live_from`, for the cohort months: also live from a merge's first moved order."""
    first = live_from(tenant_id, today)
    state = db.session.get(StatsRollupState, tenant_id)
    if state is not None and state.cohorts_stale_from is not None:
        return min(first, state.cohorts_stale_from)
    return first


def forget(tenant_id: int) -> None:
    """The tenant's days changed meaning (its time zone changed): drop its rollups and their
    state, in the caller's transaction, so everything is read live until the next build."""
    _lock_rebuild(tenant_id)  # a rebuild running now would write the old days back
    for model in (StatsDay, StatsRewardDay, StatsCohortMonth, StatsRollupState):
        db.session.execute(
            delete(model)
            .where(model.tenant_id == tenant_id)
            .execution_options(synchronize_session=False)
        )


def _rebuild_days(tenant_id: int, time_zone: str, first: date, last: date) -> None:
    """Replace the rows of the local days `first`..`last`: one INSERT ... SELECT per table."""
    _lock_rebuild(tenant_id)
    for model in (StatsDay, StatsRewardDay):
        db.session.execute(
            delete(model)
            .where(model.tenant_id == tenant_id, model.day >= first, model.day <= last)
            .execution_options(synchronize_session=False)
        )
    spans = [
        Span(day, day_start(day, time_zone), day_start(day + timedelta(days=1), time_zone))
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]
    days = day_figures(tenant_id, spans).subquery("days")
    db.session.execute(
        insert(StatsDay).from_select(
            ["tenant_id", "day", "location_id", *DAY_COLUMNS],
            select(literal(tenant_id), *days.c),
        )
    )
    rewards = reward_figures(tenant_id, spans).subquery("rewards")
    db.session.execute(
        insert(StatsRewardDay).from_select(
            ["tenant_id", "day", "location_id", "reward_id", "redemptions", "points"],
            select(literal(tenant_id), *rewards.c),
        )
    )


def _lock_rebuild(tenant_id: int) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(REBUILD_LOCK, tenant_id)))


def _first_active_day(tenant_id: int, time_zone: str) -> date | None:
    """The local day of the tenant's first account, order or ledger entry (None: nothing yet)."""
    moments = [
        db.session.scalar(select(func.min(column)).where(table_tenant == tenant_id))
        for column, table_tenant in (
            (Account.created_at, Account.tenant_id),
            (Order.ordered_at, Order.tenant_id),
            (LedgerEntry.created_at, LedgerEntry.tenant_id),
        )
    ]
    found = [moment for moment in moments if moment is not None]
    return min(local_day(moment, time_zone) for moment in found) if found else None
