"""The Stats overview: a period's figures, per bucket and against the period before, in SQL.

What happened before `rollups.read_cut` is read from the daily rollups, the rest live with the
same grouped selects the rollups are built from (rollups.day_figures, rollups.reward_figures),
so both count identically. Members and the points liability at a bucket's end are running sums:
everything before the period once, plus each bucket's change. Distinct active members come from
the visit rollups (a member counts in a run of days on the first of them they ordered on) plus,
live, the members ordering after the cut who had not in the run before it.

A location narrows what happens through orders: orders, sales, active members, points earned
and redeemed on its orders, rewards redeemed on them, coupons used on them. Members, new
members, points expired, the liability, the return rate and coupons issued are programme-wide
whatever the location.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    union_all,
)

from ...extensions import db
from ...models import Account, Campaign, Coupon, Order, Reward, StatsDay, StatsRewardDay
from ...models.base import UTCDateTime
from ...models.stats import (
    NO_LOCATION,
    StatsFirstOrderDay,
    StatsLocationVisitDay,
    StatsVisitDay,
)
from ...rules.availability import Availability, availability
from ...rules.periods import Bucket, Period, day_start
from .rollups import (
    DAY_COLUMNS,
    RETURN_WINDOW,
    Cut,
    Span,
    day_figures,
    first_orders_final_through,
    ordered_again,
    read_cut,
    reward_figures,
)

ONE_DAY = timedelta(days=1)
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
    cut = read_cut(tenant_id, period.time_zone, now)
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
        locations=_locations(tenant_id, cut),
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
    cut = read_cut(tenant_id, period.time_zone, now)
    current, buckets = _figures(tenant_id, period, cut, None, per_bucket=False, active=False)
    return Glance(period, current, buckets)


def rewards_redeemed(
    tenant_id: int, period: Period, now: datetime, location: str | None = None
) -> tuple[RewardRedemptions, ...]:
    """The overview's `rewards` alone (its CSV): no other figure is read."""
    cut = read_cut(tenant_id, period.time_zone, now)
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
    cut: Cut,
    location: str | None,
    per_bucket: bool = True,
    active: bool = True,
) -> tuple[Figures, tuple[BucketFigures, ...]]:
    """The period's figures and each bucket's: additive ones summed per bucket (rollups before
    `cut`, live from it), members and liability carried from before the period. Without
    `per_bucket` (a comparison period) the buckets' active members are not counted (zero);
    without `active`, the period's neither."""
    sums = _bucket_sums(tenant_id, period.buckets, cut, location)
    opening = _opening(tenant_id, period, cut)
    # Keyed by bucket number, the whole period after the last bucket.
    whole_key = len(period.buckets)
    runs: list[tuple[int, Run]] = list(enumerate(period.buckets)) if per_bucket else []
    if active:
        runs.append((whole_key, period))
    active_counts = _active_members(tenant_id, runs, location, cut) if runs else {}
    members, liability = opening["members"], opening["points_net"]
    rows = []
    for number, bucket in enumerate(period.buckets):
        day = sums.get(number, {})
        members += day.get("members_joined", 0) - day.get("members_left", 0)
        liability += day.get("points_net", 0)
        rows.append(
            BucketFigures(
                bucket, _figures_of(day, members, active_counts.get(number, 0), liability)
            )
        )
    whole = {name: sum(row.get(name, 0) for row in sums.values()) for name in DAY_COLUMNS}
    total_active = active_counts.get(whole_key, 0)
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
    tenant_id: int, buckets: tuple[Bucket, ...], cut: Cut, location: str | None
) -> dict[int, dict[str, int]]:
    """Bucket number -> DAY_COLUMNS sums: one grouped query over the rollups (the days up to
    the cut) and one over what happened from it."""
    sums: dict[int, dict[str, int]] = {}
    rolled = _rolled_days(list(enumerate(buckets)), cut)
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
                    *_plainly(StatsDay.day, rolled),
                ),
            )
            .group_by(days.c.key)
        )
        _add(sums, db.session.execute(query))
    live = [
        Span(number, max(bucket.start, cut.moment), bucket.end)
        for number, bucket in enumerate(buckets)
        if bucket.end > cut.moment
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


def _opening(tenant_id: int, period: Period, cut: Cut) -> dict[str, int]:
    """Members and open points at the period's start: rollups up to `cut`, live after."""
    opening = {"members": 0, "points_net": 0}
    if cut.last_day is not None:
        row = db.session.execute(
            select(
                func.coalesce(func.sum(StatsDay.members_joined - StatsDay.members_left), 0),
                func.coalesce(func.sum(StatsDay.points_net), 0),
            ).where(
                StatsDay.tenant_id == tenant_id,
                StatsDay.day < period.first_day,
                StatsDay.day <= cut.last_day,
            )
        ).one()
        opening = {"members": int(row[0]), "points_net": int(row[1])}
    if cut.moment < period.start:
        span = Span(0, cut.moment, period.start)
        sums: dict[int, dict[str, int]] = {}
        _add(sums, db.session.execute(_live_sums(tenant_id, [span], None)))
        live = sums.get(0, {})
        opening["members"] += live.get("members_joined", 0) - live.get("members_left", 0)
        opening["points_net"] += live.get("points_net", 0)
    return opening


class Run(Protocol):
    """A run of whole local days (a Period, a Bucket, or one ending early), as UTC bounds."""

    @property
    def first_day(self) -> date: ...
    @property
    def last_day(self) -> date: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...


def _rolled_days(runs: list[tuple[int, Run]], cut: Cut) -> list[tuple[int, date, date]]:
    """(key, first day, last day) of each run's days in the rollups."""
    if cut.last_day is None:
        return []
    return [
        (key, run.first_day, min(run.last_day, cut.last_day))
        for key, run in runs
        if run.first_day <= cut.last_day
    ]


def _active_members(
    tenant_id: int, runs: list[tuple[int, Run]], location: str | None, cut: Cut
) -> dict[int, int]:
    """Key -> distinct members with a placed order in that run of days (at `location`)."""
    counts: dict[int, int] = {}
    for key, _place, members in _active_rows(tenant_id, runs, location, cut, False):
        counts[key] = counts.get(key, 0) + members
    return counts


def active_members_per_location(
    tenant_id: int, runs: list[tuple[int, Run]], cut: Cut
) -> dict[tuple[int, str], int]:
    """(key, location) -> distinct members with a placed order there in that run of days
    (NO_LOCATION: orders of no location); the segment stats' venues."""
    counts: dict[tuple[int, str], int] = {}
    for key, place, members in _active_rows(tenant_id, runs, None, cut, True):
        counts[key, place] = counts.get((key, place), 0) + members
    return counts


def _active_rows(
    tenant_id: int,
    runs: list[tuple[int, Run]],
    location: str | None,
    cut: Cut,
    per_location: bool,
) -> list[tuple[int, str, int]]:
    """(key, location or "", members): those whose visit rollup day is in the run up to the
    cut with the previous visit before the run, plus those ordering from the cut on with no
    order in the run before it; per location, or at `location` (None: anywhere)."""
    rows: list[tuple[int, str, int]] = []
    rolled = _rolled_days(runs, cut)
    if rolled:
        days = _day_table(rolled)
        located = per_location or location is not None
        model = StatsLocationVisitDay if located else StatsVisitDay
        here = [StatsLocationVisitDay.location_id == location] if location is not None else []
        place = StatsLocationVisitDay.location_id if per_location else literal(NO_LOCATION)
        query = (
            select(days.c.key, place, func.sum(model.members))
            .select_from(days)
            .join(
                model,
                and_(
                    model.tenant_id == tenant_id,
                    model.day >= days.c.first_day,
                    model.day <= days.c.last_day,
                    model.previous_day < days.c.first_day,
                    *_plainly(model.day, rolled),
                    *here,
                ),
            )
            .group_by(days.c.key, *([place] if per_location else []))
        )
        rows += [(key, at, int(members)) for key, at, members in db.session.execute(query)]
    live = [(key, run) for key, run in runs if run.end > cut.moment]
    if live:
        query = _live_active_members(tenant_id, live, location, cut, per_location)
        rows += [(key, at, int(members)) for key, at, members in db.session.execute(query)]
    return rows


def _live_active_members(
    tenant_id: int,
    runs: list[tuple[int, Run]],
    location: str | None,
    cut: Cut,
    per_location: bool,
):
    """(key, location or "", members) ordering in a run from the cut on
    (ix_orders_member_activity, whose conditions are spelled as literals so both planners
    match them) with no order in the run before the cut (there, per location): one NOT EXISTS
    probe of ix_orders_account_ordered per such member."""
    moment = UTCDateTime()
    table = union_all(
        *(
            select(
                literal(key, Integer()).label("key"),
                literal(run.start, moment).label("run_start"),
                literal(max(run.start, cut.moment), moment).label("start"),
                literal(run.end, moment).label("end"),
            )
            for key, run in runs
        )
    ).subquery("live_runs")
    first = min(max(run.start, cut.moment) for _key, run in runs)
    last = max(run.end for _key, run in runs)
    place = func.coalesce(Order.location_id, NO_LOCATION) if per_location else None
    pairs = (
        select(
            table.c.key,
            table.c.run_start,
            Order.account_id,
            (place if place is not None else literal(NO_LOCATION)).label("location_id"),
        )
        .select_from(table)
        .join(
            Order,
            and_(
                Order.tenant_id == tenant_id,
                Order.status == literal_column("'placed'"),
                Order.account_id.is_not(None),
                Order.ordered_at >= table.c.start,
                Order.ordered_at < table.c.end,
                # The whole range again, plainly: the planner then reads only it from the index.
                Order.ordered_at >= literal(first, moment),
                Order.ordered_at < literal(last, moment),
                *_at(Order.location_id, location),
            ),
        )
        .distinct()
        .subquery("pairs")
    )
    earlier = Order.__table__.alias("earlier")
    there = (
        [func.coalesce(earlier.c.location_id, NO_LOCATION) == pairs.c.location_id]
        if per_location
        else _at(earlier.c.location_id, location)
    )
    before_cut = (
        select(literal(1))
        .where(
            earlier.c.account_id == pairs.c.account_id,
            earlier.c.status == "placed",
            earlier.c.ordered_at >= pairs.c.run_start,
            earlier.c.ordered_at < literal(cut.moment, moment),
            *there,
        )
        .exists()
    )
    return (
        select(pairs.c.key, pairs.c.location_id, func.count())
        .where(not_(before_cut))
        .group_by(pairs.c.key, pairs.c.location_id)
    )


def _at(location_id, location: str | None) -> list:
    """Conditions on an order's `location_id` column for orders at `location` (None: anywhere)."""
    if location is None:
        return []
    if location == NO_LOCATION:  # as the rollups' coalesce(location_id, '') has it
        return [or_(location_id.is_(None), location_id == NO_LOCATION)]
    return [location_id == location]


def _return_rate(tenant_id: int, period: Period, now: datetime) -> ReturnRate:
    """First-time members of the period (by Account.first_order_at), and who came back: from
    StatsFirstOrderDay for the days whose windows are over and final, live for the others with
    an EXISTS probe of each one's orders (ix_orders_account_ordered) for a second within the
    window."""
    final = first_orders_final_through(tenant_id, period.time_zone, now)
    first_time = returned = 0
    live_start = period.start
    if final is not None and period.first_day <= final:
        last = min(period.last_day, final)
        row = db.session.execute(
            select(
                func.coalesce(func.sum(StatsFirstOrderDay.first_time_members), 0),
                func.coalesce(func.sum(StatsFirstOrderDay.returned), 0),
            ).where(
                StatsFirstOrderDay.tenant_id == tenant_id,
                StatsFirstOrderDay.day >= period.first_day,
                StatsFirstOrderDay.day <= last,
            )
        ).one()
        first_time, returned = int(row[0]), int(row[1])
        live_start = (
            period.end if last == period.last_day else day_start(last + ONE_DAY, period.time_zone)
        )
    if live_start >= period.end:
        return ReturnRate(first_time, returned, 0)
    first = Account.first_order_at
    open_window = first > now - RETURN_WINDOW
    # As it stood at `now`: a window still open is left out, not probed.
    row = db.session.execute(
        select(
            func.count(),
            # CASE tests in order: the probe runs once, and only for windows that are over.
            func.coalesce(func.sum(case((open_window, 0), (ordered_again(first), 1), else_=0)), 0),
            func.coalesce(func.sum(case((open_window, 1), else_=0)), 0),
        ).where(
            Account.tenant_id == tenant_id,
            first >= live_start,
            first < period.end,
            Account.merged_into_id.is_(None),  # a merged account's orders are its survivor's
        )
    ).one()
    return ReturnRate(first_time + int(row[0]), returned + int(row[1]), int(row[2]))


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
    tenant_id: int, period: Period, cut: Cut, location: str | None
) -> tuple[RewardRedemptions, ...]:
    """Redemptions per reward in the period: StatsRewardDay up to `cut`, live from it."""
    parts = []
    for _key, first_day, last_rolled in _rolled_days([(0, period)], cut):
        parts.append(
            select(
                StatsRewardDay.location_id,
                StatsRewardDay.reward_id,
                StatsRewardDay.redemptions,
                StatsRewardDay.points,
            ).where(
                StatsRewardDay.tenant_id == tenant_id,
                StatsRewardDay.day >= first_day,
                StatsRewardDay.day <= last_rolled,
            )
        )
    if period.end > cut.moment:
        start = max(period.start, cut.moment)
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
    # Plain conditions: the planner's estimate of a coalesce made it scan the period's orders.
    conditions = _at(Order.location_id, location)
    redeemed = (
        select(Coupon.campaign_id, literal(0), literal(1))
        .join(Order, Order.id == Coupon.used_order_id)
        .where(
            Coupon.tenant_id == tenant_id,
            Coupon.status == "USED",
            # Implied by the join, but it lets the planner see how few coupons have an order
            # (ix_coupons_used_order) and read their orders by key.
            Coupon.used_order_id.is_not(None),
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


def _locations(tenant_id: int, cut: Cut) -> tuple[str, ...]:
    """Every location with orders: the rollups' for the days they hold, the orders' after."""
    orders = select(Order.location_id.label("location_id")).where(
        Order.tenant_id == tenant_id,
        Order.location_id.is_not(None),
        Order.ordered_at >= cut.moment,
    )
    rolled = select(StatsDay.location_id).where(
        StatsDay.tenant_id == tenant_id, StatsDay.location_id != NO_LOCATION
    )
    found = union_all(rolled, orders).subquery("locations")
    query = select(found.c.location_id).distinct().order_by(found.c.location_id)
    return tuple(db.session.scalars(query))


def _plainly(day, rows: list[tuple[int, date, date]]) -> list:
    """The days of all `rows` again as plain bounds on `day`: the planner then reads only them
    from the primary key, where the join to the day table alone made it read every day."""
    return [
        day >= literal(min(first for _key, first, _last in rows), Date()),
        day <= literal(max(last for _key, _first, last in rows), Date()),
    ]


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
