"""The Stats overview: a period's figures, per bucket and against the period before, in SQL.

Days before `rollups.live_from` are read from the daily rollups, later days live with the same
grouped selects the rollups are built from (rollups.day_figures, rollups.reward_figures), so
both count identically. Members and the points liability at a bucket's end are running sums:
everything before the period once, plus each bucket's change.

A location narrows what happens through orders: orders, sales, active members, points earned
and redeemed on its orders, rewards redeemed on them, coupons used on them. Members, new
members, points expired, the liability, the return rate and coupons issued are programme-wide
whatever the location.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Date,
    Integer,
    Interval,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    select,
    union_all,
)

from ...extensions import db
from ...models import Account, Campaign, Coupon, Order, Reward, StatsDay, StatsRewardDay
from ...models.stats import NO_LOCATION
from ...rules.availability import Availability, availability
from ...rules.periods import Bucket, Period, day_start, local_day
from .rollups import (
    BEGINNING,
    DAY_COLUMNS,
    Span,
    day_figures,
    live_from,
    reward_figures,
    span_table,
)

# A first-time member "returned" if they ordered again within this long of their first order.
RETURN_WINDOW = timedelta(days=30)
# Rewards whose value is money whatever the basket: they price the open points.
MONEY_REWARDS = ("discount_amount", "item_discount_amount")
# DAY_COLUMNS a location narrows; the others are programme-wide.
AT_LOCATION = (
    "orders",
    "member_orders",
    "member_sales",
    "guest_sales",
    "points_earned",
    "points_redeemed",
)

OVERVIEW_COLUMNS = (
    "bucket",
    "members",
    "new_members",
    "active_members",
    "orders",
    "member_orders",
    "points_earned",
    "points_redeemed",
    "points_expired",
    "liability_points",
    "member_sales",
    "guest_sales",
)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _average(total: int, count: int) -> int | None:
    """Minor units, rounded half up (amounts are never negative)."""
    return (2 * total + count) // (2 * count) if count else None


@dataclass(frozen=True)
class Figures:
    """One bucket's, or a whole period's, figures."""

    members: int  # at the end
    new_members: int  # accounts created in it (retired later or not)
    active_members: int  # distinct members with a placed order in it
    orders: int  # placed orders, members' and guests'
    member_orders: int
    member_sales: int  # payment amounts of member orders, minor units
    guest_sales: int  # of orders of no account
    points_earned: int
    points_redeemed: int
    points_expired: int
    liability_points: int  # open points at the end

    @property
    def guest_orders(self) -> int:
        return self.orders - self.member_orders

    @property
    def member_order_share(self) -> float | None:
        return _ratio(self.member_orders, self.orders)

    @property
    def visit_frequency(self) -> float | None:
        """Orders of members per active member."""
        return _ratio(self.member_orders, self.active_members)

    @property
    def redemption_rate(self) -> float | None:
        return _ratio(self.points_redeemed, self.points_earned)

    @property
    def member_average_order(self) -> int | None:
        return _average(self.member_sales, self.member_orders)

    @property
    def guest_average_order(self) -> int | None:
        return _average(self.guest_sales, self.guest_orders)


@dataclass(frozen=True)
class BucketFigures:
    bucket: Bucket
    figures: Figures


@dataclass(frozen=True)
class ReturnRate:
    """Members whose first placed order is in the period, and which of them came back."""

    first_time_members: int
    returned: int  # of those whose 30 days are over, ordered again within them
    still_open: int  # their 30 days have not ended at `now`: left out of the rate

    @property
    def settled(self) -> int:
        """First-time members whose 30 days are over: the rate's whole."""
        return self.first_time_members - self.still_open

    @property
    def rate(self) -> float | None:
        """Returned of those whose 30 days are over. Counting the open ones who already came
        back (but not those who may yet) would bias a recent period upwards."""
        return _ratio(self.returned, self.settled)


@dataclass(frozen=True)
class RewardRedemptions:
    reward_id: int
    title: str
    redemptions: int
    points: int


@dataclass(frozen=True)
class CampaignCoupons:
    campaign_key: str
    name: str
    issued: int
    redeemed: int


@dataclass(frozen=True)
class LiabilityValue:
    points: int
    money: int | None  # minor units; None when no live reward has a money value
    reward_title: str | None  # the reward whose value per point prices it


@dataclass(frozen=True)
class Overview:
    period: Period
    location: str | None  # None = all locations
    current: Figures
    previous: Figures  # period.previous()
    buckets: tuple[BucketFigures, ...]
    return_rate: ReturnRate
    previous_return_rate: ReturnRate
    liability: LiabilityValue
    rewards: tuple[RewardRedemptions, ...]  # in the period, most redeemed first
    coupons: tuple[CampaignCoupons, ...]  # issued or redeemed in the period
    locations: tuple[str, ...]  # every location id with orders, for the filter


def overview(
    tenant_id: int, period: Period, now: datetime, location: str | None = None
) -> Overview:
    """The period's overview (see the module docstring for what `location` narrows)."""
    cut = live_from(tenant_id, local_day(now, period.time_zone))
    current, buckets = _figures(tenant_id, period, cut, location)
    previous, _ = _figures(tenant_id, period.previous(), cut, location, per_bucket=False)
    return Overview(
        period=period,
        location=location,
        current=current,
        previous=previous,
        buckets=buckets,
        return_rate=_return_rate(tenant_id, period, now),
        previous_return_rate=_return_rate(tenant_id, period.previous(), now),
        liability=_liability_value(tenant_id, current.liability_points, now),
        rewards=_rewards(tenant_id, period, cut, location),
        coupons=_coupons(tenant_id, period, location),
        locations=_locations(tenant_id, period.time_zone, cut),
    )


@dataclass(frozen=True)
class Glance:
    """Home's tiles: a period's members and additive figures per bucket, without the distinct
    and per-guest counts an overview reads (its `active_members` are not counted: 0)."""

    period: Period
    current: Figures
    buckets: tuple[BucketFigures, ...]


def glance(tenant_id: int, period: Period, now: datetime) -> Glance:
    """The period's figures read from the rollups (and live days) alone: cheap enough for the
    page every sign-in lands on."""
    cut = live_from(tenant_id, local_day(now, period.time_zone))
    current, buckets = _figures(tenant_id, period, cut, None, per_bucket=False, active=False)
    return Glance(period, current, buckets)


def rewards_redeemed(
    tenant_id: int, period: Period, now: datetime, location: str | None = None
) -> tuple[RewardRedemptions, ...]:
    """The overview's `rewards` alone (its CSV): no other figure is read."""
    cut = live_from(tenant_id, local_day(now, period.time_zone))
    return _rewards(tenant_id, period, cut, location)


def coupons_by_campaign(
    tenant_id: int, period: Period, location: str | None = None
) -> tuple[CampaignCoupons, ...]:
    """The overview's `coupons` alone (its CSV)."""
    return _coupons(tenant_id, period, location)


def overview_rows(overview: Overview) -> list[list[str | int]]:
    """The overview's buckets as CSV rows in OVERVIEW_COLUMNS order, the bucket as its first
    day's ISO date."""
    return [
        [entry.bucket.first_day.isoformat()]
        + [getattr(entry.figures, name) for name in OVERVIEW_COLUMNS[1:]]
        for entry in overview.buckets
    ]


def _figures(
    tenant_id: int,
    period: Period,
    cut: date,
    location: str | None,
    per_bucket: bool = True,
    active: bool = True,
) -> tuple[Figures, tuple[BucketFigures, ...]]:
    """The period's figures and each bucket's: additive ones summed per bucket (rollups before
    `cut`, live from it), members and liability carried from before the period. Without
    `per_bucket` (a comparison period) the buckets' active members are not counted (zero);
    without `active`, the period's neither."""
    sums = _bucket_sums(tenant_id, period.buckets, period.time_zone, cut, location)
    opening = _opening(tenant_id, period, cut)
    active_per_bucket = _active_members(tenant_id, period.buckets, location) if per_bucket else {}
    members, liability = opening["members"], opening["points_net"]
    rows = []
    for number, bucket in enumerate(period.buckets):
        day = sums.get(number, {})
        members += day.get("members_joined", 0) - day.get("members_left", 0)
        liability += day.get("points_net", 0)
        rows.append(
            BucketFigures(
                bucket, _figures_of(day, members, active_per_bucket.get(number, 0), liability)
            )
        )
    whole = {name: sum(row.get(name, 0) for row in sums.values()) for name in DAY_COLUMNS}
    span = Span(0, period.start, period.end)
    total_active = _active_members_in(tenant_id, [span], location).get(0, 0) if active else 0
    return _figures_of(whole, members, total_active, liability), tuple(rows)


def _figures_of(day: Mapping[str, int], members: int, active: int, liability: int) -> Figures:
    return Figures(
        members=members,
        new_members=day.get("members_joined", 0),
        active_members=active,
        orders=day.get("orders", 0),
        member_orders=day.get("member_orders", 0),
        member_sales=day.get("member_sales", 0),
        guest_sales=day.get("guest_sales", 0),
        points_earned=day.get("points_earned", 0),
        points_redeemed=day.get("points_redeemed", 0),
        points_expired=day.get("points_expired", 0),
        liability_points=liability,
    )


def _sums(source, location: str | None) -> list:
    """Sums of DAY_COLUMNS over `source` rows (a StatsDay-shaped table or select), the ones a
    location narrows counted at `location` only."""
    here = source.c.location_id == location
    columns = []
    for name in DAY_COLUMNS:
        column = source.c[name]
        if location is not None and name in AT_LOCATION:
            column = case((here, column), else_=0)
        columns.append(func.coalesce(func.sum(column), 0).label(name))
    return columns


def _bucket_sums(
    tenant_id: int, buckets: tuple[Bucket, ...], time_zone: str, cut: date, location: str | None
) -> dict[int, dict[str, int]]:
    """Bucket number -> DAY_COLUMNS sums: one grouped query over the rollups (the days before
    `cut`) and one over the live days."""
    sums: dict[int, dict[str, int]] = {}
    rolled = [
        (number, bucket.first_day, min(bucket.last_day, cut - timedelta(days=1)))
        for number, bucket in enumerate(buckets)
        if bucket.first_day < cut
    ]
    if rolled:
        days = _day_table(rolled)
        query = (
            select(days.c.key, *_sums(StatsDay.__table__, location))
            .select_from(days)
            .join(
                StatsDay,
                and_(
                    StatsDay.tenant_id == tenant_id,
                    StatsDay.day >= days.c.first_day,
                    StatsDay.day <= days.c.last_day,
                ),
            )
            .group_by(days.c.key)
        )
        _add(sums, db.session.execute(query))
    live = [
        Span(number, day_start(max(bucket.first_day, cut), time_zone), bucket.end)
        if bucket.first_day < cut
        else Span(number, bucket.start, bucket.end)
        for number, bucket in enumerate(buckets)
        if bucket.last_day >= cut
    ]
    if live:
        _add(sums, db.session.execute(_live_sums(tenant_id, live, location)))
    return sums


def _live_sums(tenant_id: int, spans: list[Span], location: str | None):
    figures = day_figures(tenant_id, spans).subquery("live")
    return select(figures.c.key, *_sums(figures, location)).group_by(figures.c.key)


def _add(sums: dict[int, dict[str, int]], rows: Iterable) -> None:
    for row in rows:
        into = sums.setdefault(row.key, {})
        for name in DAY_COLUMNS:
            into[name] = into.get(name, 0) + int(getattr(row, name))


def _opening(tenant_id: int, period: Period, cut: date) -> dict[str, int]:
    """Members and open points at the period's start: rollups before `cut`, live after."""
    opening = {"members": 0, "points_net": 0}
    if cut > date.min:
        before = min(period.first_day, cut)
        row = db.session.execute(
            select(
                func.coalesce(func.sum(StatsDay.members_joined - StatsDay.members_left), 0),
                func.coalesce(func.sum(StatsDay.points_net), 0),
            ).where(StatsDay.tenant_id == tenant_id, StatsDay.day < before)
        ).one()
        opening = {"members": int(row[0]), "points_net": int(row[1])}
    if cut < period.first_day:
        start = day_start(cut, period.time_zone) if cut > date.min else BEGINNING
        sums: dict[int, dict[str, int]] = {}
        _add(sums, db.session.execute(_live_sums(tenant_id, [Span(0, start, period.start)], None)))
        live = sums.get(0, {})
        opening["members"] += live.get("members_joined", 0) - live.get("members_left", 0)
        opening["points_net"] += live.get("points_net", 0)
    return opening


def _active_members(
    tenant_id: int, buckets: tuple[Bucket, ...], location: str | None
) -> dict[int, int]:
    spans = [Span(number, bucket.start, bucket.end) for number, bucket in enumerate(buckets)]
    return _active_members_in(tenant_id, spans, location)


def _active_members_in(tenant_id: int, spans: list[Span], location: str | None) -> dict[int, int]:
    """Span key -> distinct members with a placed order in it, read from the partial index
    ix_orders_member_activity (its conditions are spelled as literals so both planners match
    them)."""
    table = span_table(spans)
    first = min(span.start or BEGINNING for span in spans)
    last = max(span.end for span in spans)
    conditions = [
        Order.tenant_id == tenant_id,
        Order.status == literal_column("'placed'"),
        Order.account_id.is_not(None),
        Order.ordered_at >= table.c.start,
        Order.ordered_at < table.c.end,
        # The whole range again, plainly: the planner then reads only it from the index.
        Order.ordered_at >= literal(first, Order.ordered_at.type),
        Order.ordered_at < literal(last, Order.ordered_at.type),
    ]
    if location == NO_LOCATION:
        conditions.append(Order.location_id.is_(None))
    elif location is not None:
        conditions.append(Order.location_id == location)  # in the index: no row is read
    # Distinct (span, member) pairs, then counted: hashed in parallel, where count(DISTINCT)
    # sorts every order of the range.
    pairs = (
        select(table.c.key, Order.account_id)
        .select_from(table)
        .join(Order, and_(*conditions))
        .distinct()
        .subquery("pairs")
    )
    query = select(pairs.c.key, func.count()).group_by(pairs.c.key)
    return {key: int(count) for key, count in db.session.execute(query)}


def _return_rate(tenant_id: int, period: Period, now: datetime) -> ReturnRate:
    """First-time members of the period (by Account.first_order_at) and an EXISTS probe of
    each one's orders (ix_orders_account_ordered) for a second within the window."""
    first = Account.first_order_at
    if db.session.get_bind().dialect.name == "postgresql":
        within = Order.ordered_at <= first + literal(RETURN_WINDOW, Interval())
    else:  # SQLite has no interval type: compare day numbers
        within = func.julianday(Order.ordered_at) <= func.julianday(first) + RETURN_WINDOW.days
    again = (
        exists()
        .where(
            Order.account_id == Account.id,
            Order.status == "placed",
            Order.ordered_at > first,
            Order.ordered_at <= now,  # as it stood at `now`
            within,
        )
        .correlate(Account)
    )
    open_window = first > now - RETURN_WINDOW
    row = db.session.execute(
        select(
            func.count(),
            # CASE tests in order: the probe runs once, and only for windows that are over.
            func.coalesce(func.sum(case((open_window, 0), (again, 1), else_=0)), 0),
            func.coalesce(func.sum(case((open_window, 1), else_=0)), 0),
        ).where(
            Account.tenant_id == tenant_id,
            first >= period.start,
            first < period.end,
            Account.merged_into_id.is_(None),  # a merged account's orders are its survivor's
        )
    ).one()
    return ReturnRate(int(row[0]), int(row[1]), int(row[2]))


def _liability_value(tenant_id: int, points: int, now: datetime) -> LiabilityValue:
    """The open points at the best value per point among live rewards worth a fixed amount of
    money, rounded half up."""
    best = None
    for title, value, cost, active_from, active_to in db.session.execute(
        select(Reward.title, Reward.value, Reward.cost, Reward.active_from, Reward.active_to).where(
            Reward.tenant_id == tenant_id,
            Reward.type.in_(MONEY_REWARDS),
            Reward.archived_at.is_(None),
            Reward.cost > 0,
            Reward.value > 0,
        )
    ):
        if _live(active_from, active_to, now) and (
            best is None or value * best[2] > best[1] * cost
        ):
            best = (title, value, cost)
    if best is None:
        return LiabilityValue(points, None, None)
    title, value, cost = best
    return LiabilityValue(points, (2 * points * value + cost) // (2 * cost), title)


def _live(active_from: datetime | None, active_to: datetime | None, now: datetime) -> bool:
    return availability(active_from, active_to, now) is Availability.LIVE


def _rewards(
    tenant_id: int, period: Period, cut: date, location: str | None
) -> tuple[RewardRedemptions, ...]:
    """Redemptions per reward in the period: StatsRewardDay before `cut`, live from it."""
    parts = []
    if period.first_day < cut:
        last_rolled = min(period.last_day, cut - timedelta(days=1))
        parts.append(
            select(
                StatsRewardDay.location_id,
                StatsRewardDay.reward_id,
                StatsRewardDay.redemptions,
                StatsRewardDay.points,
            ).where(
                StatsRewardDay.tenant_id == tenant_id,
                StatsRewardDay.day >= period.first_day,
                StatsRewardDay.day <= last_rolled,
            )
        )
    if period.last_day >= cut:
        start = day_start(max(period.first_day, cut), period.time_zone)
        live = reward_figures(tenant_id, [Span(0, start, period.end)]).subquery()
        parts.append(
            select(live.c.location_id, live.c.reward_id, live.c.redemptions, live.c.points)
        )
    rows = union_all(*parts).subquery("redemptions") if len(parts) > 1 else parts[0].subquery()
    conditions = [] if location is None else [rows.c.location_id == location]
    redemptions = func.sum(rows.c.redemptions)
    query = (
        select(Reward.id, Reward.title, redemptions, func.sum(rows.c.points))
        .join(Reward, Reward.id == rows.c.reward_id)
        .where(Reward.tenant_id == tenant_id, *conditions)
        .group_by(Reward.id, Reward.title)
        .having(redemptions != 0)
        .order_by(redemptions.desc(), Reward.title)
    )
    return tuple(
        RewardRedemptions(reward_id, title, int(count), int(points))
        for reward_id, title, count, points in db.session.execute(query)
    )


def _coupons(tenant_id: int, period: Period, location: str | None) -> tuple[CampaignCoupons, ...]:
    """Per campaign: coupons issued in the period (programme-wide), and coupons used on orders
    placed in it (at `location`, if given)."""
    issued = select(
        Coupon.campaign_id, literal(1).label("issued"), literal(0).label("redeemed")
    ).where(
        Coupon.tenant_id == tenant_id,
        Coupon.created_at >= period.start,
        Coupon.created_at < period.end,
    )
    conditions = (
        [] if location is None else [func.coalesce(Order.location_id, NO_LOCATION) == location]
    )
    redeemed = (
        select(Coupon.campaign_id, literal(0), literal(1))
        .join(Order, Order.id == Coupon.used_order_id)
        .where(
            Coupon.tenant_id == tenant_id,
            Coupon.status == "USED",
            Order.status == "placed",
            Order.ordered_at >= period.start,
            Order.ordered_at < period.end,
            *conditions,
        )
    )
    rows = union_all(issued, redeemed).subquery("coupons")
    query = (
        select(Campaign.key, Campaign.name, func.sum(rows.c.issued), func.sum(rows.c.redeemed))
        .join(Campaign, Campaign.id == rows.c.campaign_id)
        .group_by(Campaign.key, Campaign.name)
        .order_by(Campaign.key)
    )
    return tuple(
        CampaignCoupons(key, name, int(issued), int(used))
        for key, name, issued, used in db.session.execute(query)
    )


def _locations(tenant_id: int, time_zone: str, cut: date) -> tuple[str, ...]:
    """Every location with orders: the rollups' for the days they hold, the orders' after."""
    orders = select(Order.location_id.label("location_id")).where(
        Order.tenant_id == tenant_id, Order.location_id.is_not(None)
    )
    if cut > date.min:
        orders = orders.where(Order.ordered_at >= day_start(cut, time_zone))
    rolled = select(StatsDay.location_id).where(
        StatsDay.tenant_id == tenant_id, StatsDay.location_id != NO_LOCATION
    )
    found = union_all(rolled, orders).subquery("locations")
    query = select(found.c.location_id).distinct().order_by(found.c.location_id)
    return tuple(db.session.scalars(query))


def _day_table(rows: list[tuple[int, date, date]]):
    """(key, first_day, last_day) rows to join rollup days to."""
    return union_all(
        *(
            select(
                literal(key, Integer()).label("key"),
                literal(first, Date()).label("first_day"),
                literal(last, Date()).label("last_day"),
            )
            for key, first, last in rows
        )
    ).subquery("days")
