"""The stats' daily rollups: built set-based from orders, the ledger and the accounts, refreshed
by `loyalty tick`, rebuilt on demand; what they cannot answer is read live.

`day_figures` and `reward_figures` are the one definition of what a day counts: the rebuild
inserts what they select for each local day, and services.reporting.overview selects the same
for what it reads live, so a rollup read and a live read always agree. `visit_figures` counts
each member's first order of a day with the day of their order before it, from which the
overview sums distinct active members exactly.

A build covers everything up to `SETTLE` twice before it ran (today's day rows up to that moment
only): a write committed later than that either happened after it or is marked late
(`is_late`), so the rollups never miss a write nobody marked. Reads take the rollups up to
that moment (`read_cut`) and the minutes since live.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Interval,
    Select,
    String,
    Subquery,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
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
from ...models.stats import (
    NO_EARLIER_VISIT,
    NO_LOCATION,
    StatsCalendarDay,
    StatsFirstOrderDay,
    StatsLocationVisitDay,
    StatsVisitDay,
)
from ...rules.periods import day_start, local_day
from ..campaigns.effects import insert_ignoring_duplicates

# About a month of days per transaction: a big rebuild never holds one huge transaction.
CHUNK_DAYS = 31
# pg_advisory_xact_lock(class, tenant): one rebuild of a tenant at a time on PostgreSQL (SQLite
# writers are serialised by the database itself).
REBUILD_LOCK = 9_000_001
# Before anything any restaurant recorded: where a span "from the beginning" starts.
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
# Longer than any write transaction takes from reading the clock to committing: a build counts
# facts up to twice this before it started, and a write dated more than this before its own
# clock is late (see is_late), so every write is either in the build or marks its day stale.
SETTLE = timedelta(minutes=5)
# A first-time member "returned" if they ordered again within this long of their first order.
RETURN_WINDOW = timedelta(days=30)
# A late write changes whether members whose first order was up to this many local days before
# it came back (the window, a DST day's hour included).
RETURN_DAYS = RETURN_WINDOW.days + 1

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


def visit_figures(
    tenant_id: int,
    first: datetime,
    end: datetime,
    by_location: bool,
    look_back: bool = True,
) -> Select:
    """(key, [location_id,] previous_day, members) per local day from `first` to `end` (UTC
    moments; the days come from StatsCalendarDay): the members with a placed order in it, each
    once, by the local day of their latest placed order before it (NO_EARLIER_VISIT: none);
    `by_location` counts per location the orders there only.

    Within the run a member's previous day is the one before in order (LAG); before it, the
    day of their latest earlier order, one look-up each on ix_orders_account_ordered, made only
    for a member's first day here, and not at all without `look_back` (nothing before `first`)."""
    calendar = StatsCalendarDay
    location = func.coalesce(Order.location_id, NO_LOCATION)
    visits = (
        select(
            calendar.day.label("day"),
            Order.account_id.label("account_id"),
            *([location.label("location_id")] if by_location else []),
        )
        .select_from(calendar)
        .join(
            Order,
            and_(
                Order.tenant_id == tenant_id,
                # Constants, so both planners see the partial ix_orders_member_activity applies.
                Order.status == literal_column("'placed'"),
                Order.account_id.is_not(None),
                Order.ordered_at >= calendar.starts,
                Order.ordered_at < calendar.ends,
                Order.ordered_at >= literal(first, UTCDateTime()),
                Order.ordered_at < literal(end, UTCDateTime()),
            ),
        )
        .where(
            calendar.tenant_id == tenant_id,
            calendar.ends > literal(first, UTCDateTime()),
            calendar.starts < literal(end, UTCDateTime()),
        )
        .distinct()
        .subquery("visits")
    )
    place = [visits.c.location_id] if by_location else []
    lagged = select(
        visits,
        func.lag(visits.c.day)
        .over(partition_by=[visits.c.account_id, *place], order_by=visits.c.day)
        .label("previous"),
    ).subquery("lagged")
    earlier = Order.__table__.alias("earlier")
    at_place = (
        [func.coalesce(earlier.c.location_id, NO_LOCATION) == lagged.c.location_id]
        if by_location
        else []
    )
    latest_before = (
        select(func.max(earlier.c.ordered_at))
        .where(
            earlier.c.account_id == lagged.c.account_id,
            earlier.c.status == "placed",
            earlier.c.ordered_at < literal(first, UTCDateTime()),
            *at_place,
        )
        .correlate_except(earlier)  # to `lagged`, two levels out
        .scalar_subquery()
    )
    # The day starting last at or before it: one step back on the calendar's primary key.
    day_of_latest = (
        select(StatsCalendarDay.day)
        .where(StatsCalendarDay.tenant_id == tenant_id, StatsCalendarDay.starts <= latest_before)
        .order_by(StatsCalendarDay.starts.desc())
        .limit(1)
        .scalar_subquery()
    )
    none_before = literal(NO_EARLIER_VISIT, Date())
    # CASE: the look-ups run only where LAG found nothing.
    previous = case(
        (lagged.c.previous.is_not(None), lagged.c.previous),
        else_=func.coalesce(day_of_latest, none_before) if look_back else none_before,
    )
    placed = [lagged.c.location_id] if by_location else []
    paired = select(lagged.c.day, *placed, previous.label("previous_day")).subquery("paired")
    keys = [paired.c.day.label("key"), *([paired.c.location_id] if by_location else [])]
    return select(*keys, paired.c.previous_day, func.count().label("members")).group_by(
        paired.c.day, *([paired.c.location_id] if by_location else []), paired.c.previous_day
    )


@dataclass(frozen=True)
class Cut:
    """Where a read leaves the rollups: facts before `moment` are read from them, the rest
    live. `last_day` is the last local day with rows to read (None: none); its rows count only
    up to `moment` when `moment` falls inside it."""

    moment: datetime
    last_day: date | None


def read_cut(tenant_id: int, time_zone: str, now: datetime) -> Cut:
    """Up to where the rollups answer at `now`: what the last build covered, short of the first
    day a late write touched since; nothing for a tenant never built. Read as of a moment
    before the build ended (a rehearsal, a test), only the days before that moment's day."""
    state = db.session.get(StatsRollupState, tenant_id)
    if state is None or state.built_through is None:
        return Cut(BEGINNING, None)
    moment = state.built_through
    if state.stale_from is not None:
        moment = min(moment, day_start(state.stale_from, time_zone))
    if moment > now:
        moment = day_start(local_day(now, time_zone), time_zone)
    return Cut(moment, _last_day_before(moment, time_zone))


def ordered_again(first: ColumnElement) -> ColumnElement[bool]:
    """Whether the account (Account, correlated) placed another order within RETURN_WINDOW of
    `first` (its first order's moment): one probe of ix_orders_account_ordered."""
    if db.session.get_bind().dialect.name == "postgresql":
        within = Order.ordered_at <= first + literal(RETURN_WINDOW, Interval())
    else:  # SQLite has no interval type: compare day numbers
        within = func.julianday(Order.ordered_at) <= func.julianday(first) + RETURN_WINDOW.days
    return (
        select(literal(1))
        .where(
            Order.account_id == Account.id,
            Order.status == "placed",
            Order.ordered_at > first,
            within,
        )
        .correlate(Account)
        .exists()
    )


def first_orders_final_through(tenant_id: int, time_zone: str, now: datetime) -> date | None:
    """The last local day whose StatsFirstOrderDay row holds at `now`: its members' return
    windows over by then and when it was built, and before any day a late write since could
    change (None: no day)."""
    state = db.session.get(StatsRollupState, tenant_id)
    if state is None or state.built_through is None:
        return None
    last = _last_settled_day(min(state.built_through, now), time_zone)
    if state.stale_from is not None:
        last = min(last, state.stale_from - timedelta(days=RETURN_DAYS + 1))
    return last


def _last_settled_day(through: datetime, time_zone: str) -> date:
    """The last local day whose first-time members' windows all end by `through`."""
    return local_day(through - RETURN_WINDOW, time_zone) - timedelta(days=1)


def live_from(tenant_id: int, time_zone: str, now: datetime) -> date:
    """The first local day the rollups do not answer whole at `now` (date.min: none)."""
    cut = read_cut(tenant_id, time_zone, now)
    return date.min if cut.last_day is None else local_day(cut.moment, time_zone)


def rebuild(
    tenant_id: int,
    now: datetime,
    first_day: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Recompute the tenant's rollups from `first_day` (default: its first day of any activity)
    up to `built_through(now)` (the day it falls on up to that moment), a month of days per
    transaction; returns the days rebuilt, that last one included.

    Days a previous build did not cover, or a late write marked stale, are rebuilt too whatever
    `first_day` says. The build state is written last, so a crash half-way leaves the old state
    (the days not built are read live); `stale_from` is cleared only if no late write marked a
    day while this ran.
    """
    time_zone = db.session.scalar(select(Tenant.time_zone).where(Tenant.id == tenant_id))
    through = built_through(now)
    through_day = local_day(through, time_zone)
    last_whole = through_day - timedelta(days=1)  # through_day is built up to `through` only
    last = _last_day_before(through, time_zone)
    db.session.execute(
        insert_ignoring_duplicates(StatsRollupState.__table__).values(tenant_id=tenant_id)
    )
    state = db.session.get(StatsRollupState, tenant_id, populate_existing=True)
    seen_version = state.stale_version
    # From the day the last build ended on, rows change as the state does: written with it, in
    # the last transaction, so a reader takes the old rows with the old state or the new ones.
    held = local_day(state.built_through, time_zone) if state.built_through else None
    first = _first_to_rebuild(tenant_id, time_zone, state, first_day)
    cohorts_first = min(first or date.max, state.cohorts_stale_from or date.max)
    if first is not None and first <= last:
        _write_calendar(tenant_id, time_zone, last)
    db.session.commit()

    rebuilt = 0
    chunk_first = first
    early_last = last if held is None else min(last, held - timedelta(days=1))
    while chunk_first is not None and chunk_first <= early_last:
        chunk_last = min(chunk_first + timedelta(days=CHUNK_DAYS - 1), early_last)
        _rebuild_days(tenant_id, time_zone, chunk_first, chunk_last, through)
        db.session.commit()
        days = (chunk_last - chunk_first).days + 1
        rebuilt += days
        if progress is not None:
            progress(days)
        chunk_first = chunk_last + timedelta(days=1)
    held_days = 0
    if chunk_first is not None and chunk_first <= last:
        _rebuild_days(tenant_id, time_zone, chunk_first, last, through)
        held_days = (last - chunk_first).days + 1
    if first is not None and first <= last:
        _rebuild_visits(tenant_id, time_zone, first, last, through)
        # A late write changed the return of first orders up to RETURN_DAYS before it.
        first_orders = first - timedelta(days=RETURN_DAYS + 1)
        _rebuild_first_orders(tenant_id, first_orders, _last_settled_day(through, time_zone))

    # Imported here: cohorts reads `live_from` from this module.
    from .cohorts import rebuild_cohorts

    _lock_rebuild(tenant_id)
    if cohorts_first <= last_whole:  # a month is read from them only once it is over
        rebuild_cohorts(tenant_id, time_zone, cohorts_first, last_whole)
    state = db.session.scalar(
        select(StatsRollupState)
        .where(StatsRollupState.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if state is not None:  # None: forgotten meanwhile (time zone changed), read live again
        state.complete_before = through_day
        state.built_through = through
        if state.stale_version == seen_version:
            state.stale_from = state.cohorts_stale_from = None
        state.built_at = now
    db.session.commit()
    if progress is not None and held_days:
        progress(held_days)
    return rebuilt + held_days


def built_through(now: datetime) -> datetime:
    """Where a build started at `now` ends: every write before it has committed or is marked."""
    return now - 2 * SETTLE


def days_to_rebuild(tenant_id: int, now: datetime, first_day: date | None = None) -> int:
    """How many days `rebuild` with these arguments would rebuild now (for a progress bar)."""
    time_zone = db.session.scalar(select(Tenant.time_zone).where(Tenant.id == tenant_id))
    state = db.session.get(StatsRollupState, tenant_id)
    first = _first_to_rebuild(tenant_id, time_zone, state, first_day)
    last = _last_day_before(built_through(now), time_zone)
    return max(0, (last - first).days + 1) if first is not None else 0


def _last_day_before(moment: datetime, time_zone: str) -> date:
    """The last local day with any of its time before `moment`."""
    day = local_day(moment, time_zone)
    return day if day_start(day, time_zone) < moment else day - timedelta(days=1)


def _first_to_rebuild(
    tenant_id: int, time_zone: str, state: StatsRollupState | None, first_day: date | None
) -> date | None:
    """`first_day` (default: the first day of any activity), or earlier where the previous
    build left days unbuilt or a late write marked them stale."""
    if first_day is None:
        first_day = _first_active_day(tenant_id, time_zone)
    if state is None or state.built_through is None or first_day is None:
        return first_day
    built_day = local_day(state.built_through, time_zone)
    return min(first_day, built_day, state.stale_from or date.max)


def refresh_all(now: datetime) -> int:
    """`loyalty tick`: bring every tenant's rollups up to `built_through(now)` where they are
    behind (never built, marked stale, cohorts a merge changed, or built through an earlier
    moment), from the day the last build ended on; returns days rebuilt. Run every few minutes,
    it keeps what pages read live to the last quarter of an hour or so."""
    behind = db.session.execute(
        select(
            Tenant.id,
            Tenant.time_zone,
            StatsRollupState.built_through,
            StatsRollupState.stale_from,
            StatsRollupState.cohorts_stale_from,
        )
        .outerjoin(StatsRollupState, StatsRollupState.tenant_id == Tenant.id)
        .order_by(Tenant.id)
    ).all()
    db.session.rollback()
    rebuilt = 0
    for tenant_id, time_zone, through, stale_from, cohorts_stale_from in behind:
        if through is None:
            rebuilt += rebuild(tenant_id, now)
        elif stale_from or cohorts_stale_from or through < built_through(now):
            # The day the last build ended on was built up to then only.
            rebuilt += rebuild(tenant_id, now, local_day(through, time_zone))
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
    """Whether an order written now is dated more than SETTLE before now, or on an earlier
    local day: a build may already count its moment (pure: no query). One written sooner
    commits before any build that counts its moment starts (see SETTLE)."""
    if ordered_at is None:
        return False
    return ordered_at < now - SETTLE or local_day(ordered_at, time_zone) < local_day(now, time_zone)


def note_cohorts_changed(tenant_id: int, time_zone: str, since: datetime) -> None:
    """Orders from `since` on moved between accounts (a merge): the cohorts of their months are
    stale, and so are the visits from their first day (whose previous visit, and whether two
    visits are one member's, changed); the other daily figures do not depend on whose order it
    is, but are rebuilt with them. One UPDATE in the caller's transaction."""
    day = local_day(since, time_zone)
    month = day.replace(day=1)
    cohorts, stale = StatsRollupState.cohorts_stale_from, StatsRollupState.stale_from
    db.session.execute(
        update(StatsRollupState)
        .where(StatsRollupState.tenant_id == tenant_id)
        .values(
            cohorts_stale_from=case(
                (cohorts.is_(None), month), (cohorts > month, month), else_=cohorts
            ),
            stale_from=case((stale.is_(None), day), (stale > day, day), else_=stale),
            stale_version=StatsRollupState.stale_version + 1,
        )
        .execution_options(synchronize_session=False)
    )


def cohorts_live_from(tenant_id: int, time_zone: str, now: datetime) -> date:
    """Like `live_from`, for the cohort months: also live from a merge's first moved order."""
    first = live_from(tenant_id, time_zone, now)
    state = db.session.get(StatsRollupState, tenant_id)
    if state is not None and state.cohorts_stale_from is not None:
        return min(first, state.cohorts_stale_from)
    return first


def forget(tenant_id: int) -> None:
    """The tenant's days changed meaning (its time zone changed): drop its rollups and their
    state, in the caller's transaction, so everything is read live until the next build."""
    _lock_rebuild(tenant_id)  # a rebuild running now would write the old days back
    for model in (
        StatsDay,
        StatsRewardDay,
        StatsVisitDay,
        StatsLocationVisitDay,
        StatsFirstOrderDay,
        StatsCalendarDay,
        StatsCohortMonth,
        StatsRollupState,
    ):
        db.session.execute(
            delete(model)
            .where(model.tenant_id == tenant_id)
            .execution_options(synchronize_session=False)
        )


def _rebuild_days(
    tenant_id: int, time_zone: str, first: date, last: date, through: datetime
) -> None:
    """Replace the rows of the local days `first`..`last` (counting up to `through`, which may
    fall inside the last): one INSERT ... SELECT per table."""
    _lock_rebuild(tenant_id)
    _delete_days(tenant_id, (StatsDay, StatsRewardDay), first, last)
    spans = _day_spans(time_zone, first, last, through)
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


def _rebuild_visits(
    tenant_id: int, time_zone: str, first: date, last: date, through: datetime
) -> None:
    """Replace the visit rows of `first`..`last` (up to `through`) in one INSERT ... SELECT per
    table: a member's previous visit inside the run is a LAG, so the run is not cut into months
    (each month would look back once per member). Needs the calendar written up to `last`."""
    _lock_rebuild(tenant_id)
    _delete_days(tenant_id, (StatsVisitDay, StatsLocationVisitDay), first, last)
    start = day_start(first, time_zone)
    end = min(day_start(last + timedelta(days=1), time_zone), through)
    look_back = first > (_first_active_day(tenant_id, time_zone) or first)
    for model, by_location in ((StatsVisitDay, False), (StatsLocationVisitDay, True)):
        visits = visit_figures(tenant_id, start, end, by_location, look_back).subquery("visits")
        place = ["location_id"] if by_location else []
        db.session.execute(
            insert(model).from_select(
                ["tenant_id", "day", *place, "previous_day", "members"],
                select(literal(tenant_id), *visits.c),
            )
        )


def _rebuild_first_orders(tenant_id: int, first: date, last: date) -> None:
    """Replace the StatsFirstOrderDay rows of `first`..`last` (days whose return windows are
    over): accounts by first order day (the calendar), each with one probe for a return."""
    _lock_rebuild(tenant_id)
    _delete_days(tenant_id, (StatsFirstOrderDay,), first, last)
    if first > last:
        return
    calendar = StatsCalendarDay
    counted = (
        select(
            literal(tenant_id),
            calendar.day,
            func.count(),
            func.sum(case((ordered_again(Account.first_order_at), 1), else_=0)),
        )
        .select_from(calendar)
        .join(
            Account,
            and_(
                Account.tenant_id == tenant_id,
                Account.first_order_at >= calendar.starts,
                Account.first_order_at < calendar.ends,
                Account.merged_into_id.is_(None),  # a merged account's orders are its survivor's
            ),
        )
        .where(calendar.tenant_id == tenant_id, calendar.day >= first, calendar.day <= last)
        .group_by(calendar.day)
    )
    db.session.execute(
        insert(StatsFirstOrderDay).from_select(
            ["tenant_id", "day", "first_time_members", "returned"], counted
        )
    )


def _delete_days(tenant_id: int, models: Sequence, first: date, last: date) -> None:
    for model in models:
        db.session.execute(
            delete(model)
            .where(model.tenant_id == tenant_id, model.day >= first, model.day <= last)
            .execution_options(synchronize_session=False)
        )


def _day_spans(time_zone: str, first: date, last: date, through: datetime) -> list[Span]:
    """The local days `first`..`last` as spans, none going past `through`."""
    return [
        Span(
            day,
            day_start(day, time_zone),
            min(day_start(day + timedelta(days=1), time_zone), through),
        )
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]


def _write_calendar(tenant_id: int, time_zone: str, last: date) -> None:
    """StatsCalendarDay for every local day from the tenant's first activity to `last`, anew
    (a few thousand small rows at most)."""
    _lock_rebuild(tenant_id)  # two builds at once would insert the same days
    first = _first_active_day(tenant_id, time_zone)
    db.session.execute(
        delete(StatsCalendarDay)
        .where(StatsCalendarDay.tenant_id == tenant_id)
        .execution_options(synchronize_session=False)
    )
    if first is None or first > last:
        return
    db.session.execute(
        insert(StatsCalendarDay),
        [
            {
                "tenant_id": tenant_id,
                "day": day,
                "starts": day_start(day, time_zone),
                "ends": day_start(day + timedelta(days=1), time_zone),
            }
            for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
        ],
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
