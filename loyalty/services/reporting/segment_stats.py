"""Segment stats: members per saved segment and built-in breakdown, and their change in a period.

Account attributes (tier, age band, sex, consent) and saved segments' searches are read as
they are now and counted in one grouped scan of the tenant's accounts; tags, venues and
segments searching a tag take one query each. A member at a moment is an account created
before it and neither merged nor erased by then, so retired accounts count where they were
members.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)

from ...extensions import db
from ...models import Account, AccountTag, Order, Segment
from ...models.stats import NO_LOCATION
from ...rules.periods import Period
from ...rules.tiers import TierLevel
from ..accounts.search import SearchCriteria, conditions
from ..accounts.segments import criteria_of, list_segments
from ..checkout.catalogue import tier_levels
from .overview import active_members_per_location
from .rollups import read_cut

AGE_BANDS = ("<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
UNKNOWN = "UNKNOWN"
# The youngest age of each band after the first, in AGE_BANDS order.
_BAND_STARTS = (18, 25, 35, 45, 55, 65)
SEXES = ("MALE", "FEMALE", "OTHER")
_SEX_GROUPS = (*SEXES, UNKNOWN)
_AGE_GROUPS = (*AGE_BANDS, UNKNOWN)
CONSENTED, NOT_CONSENTED = "consented", "not_consented"
NO_TIER = "none"

_LABELS = {
    "<18": "Under 18",
    "65+": "65 and over",
    UNKNOWN: "Unknown",
    "MALE": "Male",
    "FEMALE": "Female",
    "OTHER": "Other",
    CONSENTED: "Consented to marketing",
    NOT_CONSENTED: "No marketing consent",
    NO_TIER: "No tier",
    NO_LOCATION: "No location",
}


@dataclass(frozen=True)
class GroupCount:
    group: str  # key: "MALE", "18-24", "UNKNOWN", "consented", tier name, tag, location, segment id
    label: str  # shown to people
    members: int  # at the end of the period
    new_members: int  # of them, joined in the period
    change: int  # members at the end minus members at the start


@dataclass(frozen=True)
class Breakdown:
    key: str  # "segment" | "tier" | "age" | "sex" | "consent" | "tag" | "venue"
    title: str
    groups: tuple[GroupCount, ...]


@dataclass(frozen=True)
class SegmentStats:
    period: Period
    total: int  # members at the end
    new_members: int  # of them, joined in the period
    breakdowns: tuple[Breakdown, ...]

    def breakdown(self, key: str) -> Breakdown:
        for breakdown in self.breakdowns:
            if breakdown.key == key:
                return breakdown
        raise KeyError(key)


@dataclass
class _Tally:
    """Members at the end, new ones among them, members at the start."""

    members: int = 0
    new_members: int = 0
    at_start: int = 0

    def add(self, members: int | None, new_members: int | None, at_start: int | None) -> None:
        self.members += members or 0
        self.new_members += new_members or 0
        self.at_start += at_start or 0

    def group(self, key: str, label: str | None = None) -> GroupCount:
        label = label if label is not None else _LABELS.get(key, key)
        return GroupCount(key, label, self.members, self.new_members, self.members - self.at_start)

    @property
    def counts_anyone(self) -> bool:
        return bool(self.members or self.at_start)


def segment_stats(tenant_id: int, period: Period, now: datetime) -> SegmentStats:
    """Members per saved segment, tier, age band (at the period's last day), sex, consent, tag
    and venue: at the period's end (now, for a period still running), new in it, and change."""
    start, end = period.start, min(period.end, now)
    levels = tier_levels(tenant_id)
    segments = list_segments(tenant_id)
    searches = {segment.id: _search(segment) for segment in segments}
    # A search on a tag would run a subquery per account inside the scan: those segments are
    # counted apart, where the planner joins the tag's rows instead.
    in_scan = {key: search for key, search in searches.items() if not search.tag}
    total = _Tally()
    tiers: dict[int | None, _Tally] = {}
    by: dict[str, dict[str, _Tally]] = {
        "age": {band: _Tally() for band in _AGE_GROUPS},
        "sex": {sex: _Tally() for sex in _SEX_GROUPS},
        "consent": {CONSENTED: _Tally(), NOT_CONSENTED: _Tally()},
    }
    members_of = {segment.id: _Tally() for segment in segments}
    for row in _attributes(tenant_id, period.last_day, levels, start, end, in_scan):
        total.add(*row.counts)
        by["sex"][row.sex].add(*row.counts)
        by["age"][row.band].add(*row.counts)
        by["consent"][CONSENTED if row.consented else NOT_CONSENTED].add(*row.counts)
        tiers.setdefault(row.tier_id, _Tally()).add(*row.counts)
        for segment_id, counts in zip(in_scan, row.segment_counts, strict=True):
            members_of[segment_id].add(*counts)
    apart = {key: search for key, search in searches.items() if key not in in_scan}
    for segment_id, *counts in _segments_apart(tenant_id, start, end, apart):
        members_of[segment_id].add(*counts)
    return SegmentStats(
        period,
        total.members,
        total.new_members,
        (
            Breakdown(
                "segment",
                "Saved segments",
                tuple(members_of[s.id].group(str(s.id), s.name) for s in segments),
            ),
            _tiers(levels, tiers),
            _fixed("age", "Age band", by["age"]),
            _fixed("sex", "Sex", by["sex"]),
            _fixed("consent", "Marketing consent", by["consent"]),
            _tags(tenant_id, start, end),
            _venues(tenant_id, period, end),
        ),
    )


def _search(segment: Segment) -> SearchCriteria:
    """The segment's search as it matches now, retired accounts included: whether they count is
    decided by when they retired, as for every other figure."""
    return replace(criteria_of(segment), include_retired=True)


def _member_at(moment: datetime) -> ColumnElement[bool]:
    """An account that was a member at `moment`: created before it, not retired by then."""
    return and_(Account.created_at < moment, _not_retired_by(moment))


def _not_retired_by(moment: datetime) -> ColumnElement[bool]:
    return and_(
        or_(Account.merged_at.is_(None), Account.merged_at >= moment),
        or_(Account.erased_at.is_(None), Account.erased_at >= moment),
    )


def _flags(start: datetime, end: datetime) -> tuple[ColumnElement[int], ...]:
    """1/0 per account: a member at the end, new in the period and a member at the end, a
    member at the start."""
    at_end = _member_at(end)
    return (
        case((at_end, 1), else_=0).label("members"),
        case((and_(at_end, Account.created_at >= start), 1), else_=0).label("new_members"),
        case((_member_at(start), 1), else_=0).label("at_start"),
    )


def _counted(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """The accounts that count anywhere in the period: created before its end, not retired
    before its start."""
    return [Account.created_at < end, _not_retired_by(start)]


@dataclass(frozen=True)
class _Combination:
    sex: str
    band: str
    consented: bool
    tier_id: int | None
    counts: tuple[int, int, int]  # members at the end, new among them, members at the start
    segment_counts: tuple[tuple[int, int, int], ...]  # the same for each segment in the scan


def _attributes(
    tenant_id: int,
    last_day: date,
    levels: Sequence[TierLevel],
    start: datetime,
    end: datetime,
    searches: dict[int, SearchCriteria],
) -> Iterator[_Combination]:
    """The counts per (sex, age band, consent, tier) from one scan of the accounts, with those
    of the `searches` (segments) among them; the few rows are folded per breakdown in Python.

    Each combination is one small integer (sex + 4 x band + 32 x consent + 64 x tier rank):
    PostgreSQL groups by it with a hash, where grouping by four CASE expressions made it sort
    every account."""
    combination = (
        _position(Account.sex, SEXES)
        + 4 * _age_band(last_day)
        + 32 * case((Account.marketing_consent.is_(True), 1), else_=0)
        + 64 * _tier_rank(levels)
    )
    matches = [
        case((and_(*conditions(tenant_id, search, None)), 1), else_=0).label(f"segment_{number}")
        for number, search in enumerate(searches.values())
    ]
    per_account = (
        select(combination.label("combination"), *_flags(start, end), *matches)
        .where(Account.tenant_id == tenant_id, *_counted(start, end))
        .subquery("per_account")
    )
    columns = per_account.c
    in_segments = [
        func.sum(flag * columns[match.name])
        for match in matches
        for flag in (columns.members, columns.new_members, columns.at_start)
    ]
    rows = db.session.execute(
        select(columns.combination, *_sums(columns), *in_segments).group_by(columns.combination)
    )
    for combination, *counts in rows:
        rank = combination // 64
        yield _Combination(
            _SEX_GROUPS[combination % 4],
            _AGE_GROUPS[combination // 4 % 8],
            bool(combination // 32 % 2),
            levels[rank - 1].tier_id if rank else None,
            tuple(counts[:3]),
            tuple(tuple(counts[index : index + 3]) for index in range(3, len(counts), 3)),
        )


def _sums(columns) -> tuple[ColumnElement[int], ...]:
    return (
        func.sum(columns.members),
        func.sum(columns.new_members),
        func.sum(columns.at_start),
    )


def _position(column, values: Sequence[str]) -> ColumnElement[int]:
    """The index of the column's value among `values`; len(values) for anything else."""
    return case(
        *((column == value, index) for index, value in enumerate(values)), else_=len(values)
    )


def _age_band(last_day: date) -> ColumnElement[int]:
    """The index in _AGE_GROUPS of the age reached by `last_day`: born on or before the day
    `years` earlier means at least `years` old (a 29 February birthday counts from 1 March in
    other years)."""
    whens = [(Account.birthdate.is_(None), _AGE_GROUPS.index(UNKNOWN))]
    for index, years in enumerate(_BAND_STARTS):
        whens.append((Account.birthdate > _years_before(last_day, years), index))
    return case(*whens, else_=len(AGE_BANDS) - 1)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _tier_rank(levels: Sequence[TierLevel]) -> ColumnElement[int]:
    """1 + the index in `levels` (lowest first) of the tier rules.tiers.tier_for gives for the
    lifetime points now, 0 below every tier: the highest threshold reached wins, and of equal
    thresholds the later tier."""
    if not levels:
        return literal_column("0")
    return case(
        *(
            (Account.lifetime_points >= tier.threshold_points, rank)
            for rank, tier in reversed(list(enumerate(levels, 1)))
        ),
        else_=0,
    )


def _tiers(levels: Sequence[TierLevel], tallies: dict[int | None, _Tally]) -> Breakdown:
    groups = []
    below = tallies.get(None)
    if below is not None and below.counts_anyone:
        groups.append(below.group(NO_TIER))
    groups += [tallies.get(tier.tier_id, _Tally()).group(tier.name) for tier in levels]
    return Breakdown("tier", "Tier", tuple(groups))


def _fixed(key: str, title: str, tallies: dict[str, _Tally]) -> Breakdown:
    return Breakdown(key, title, tuple(tally.group(group) for group, tally in tallies.items()))


def _tags(tenant_id: int, start: datetime, end: datetime) -> Breakdown:
    """Members per tag they have now, most members first."""
    per_tag = (
        select(AccountTag.tag.label("tag"), *_flags(start, end))
        .join(Account, Account.id == AccountTag.account_id)
        .where(
            AccountTag.tenant_id == tenant_id,
            Account.tenant_id == tenant_id,
            *_counted(start, end),
        )
        .subquery("per_tag")
    )
    rows = db.session.execute(select(per_tag.c.tag, *_sums(per_tag.c)).group_by(per_tag.c.tag))
    return Breakdown("tag", "Tag", _ranked(_tallied(rows), lambda tag: tag))


@dataclass(frozen=True)
class _Days:
    """The period's days up to `end` (now, for a period still running)."""

    first_day: date
    last_day: date
    start: datetime
    end: datetime


def _venues(tenant_id: int, period: Period, end: datetime) -> Breakdown:
    """Per location: distinct members who ordered there in the period (from the visit rollups,
    as the overview counts active members), how many of them joined in it, and the change
    from the distinct members of the period before."""
    cut = read_cut(tenant_id, period.time_zone, end)
    days = _Days(period.first_day, period.last_day, period.start, end)
    active = active_members_per_location(tenant_id, [(0, days), (1, period.previous())], cut)
    counts: dict[str, list[int]] = {}
    for (key, location), members in active.items():
        counts.setdefault(location, [0, 0, 0])[2 if key else 0] += members
    for location, members in _new_visitors(tenant_id, period.start, end):
        counts.setdefault(location, [0, 0, 0])[1] += members
    # The period before stands where the other breakdowns have the members at the start.
    tallies = _tallied((location, *figures) for location, figures in counts.items())
    return Breakdown("venue", "Venue", _ranked(tallies, lambda key: _LABELS.get(key, key)))


def _new_visitors(tenant_id: int, start: datetime, end: datetime) -> list:
    """(location, members) who joined in [start, end) and ordered there in it: the accounts
    created then (ix_accounts_tenant_created) against the period's member orders, read from
    ix_orders_member_activity alone."""
    location = func.coalesce(Order.location_id, NO_LOCATION)
    visitors = (
        select(location.label("location_id"), Order.account_id)
        .select_from(Account)
        .join(
            Order,
            and_(
                Order.account_id == Account.id,
                Order.tenant_id == tenant_id,
                # Constants, so both planners see the partial index applies.
                Order.status == literal_column("'placed'"),
                Order.account_id.is_not(None),
                Order.ordered_at >= start,
                Order.ordered_at < end,
            ),
        )
        .where(
            Account.tenant_id == tenant_id, Account.created_at >= start, Account.created_at < end
        )
        .distinct()
        .subquery("visitors")
    )
    return db.session.execute(
        select(visitors.c.location_id, func.count()).group_by(visitors.c.location_id)
    ).all()


def _segments_apart(
    tenant_id: int, start: datetime, end: datetime, searches: dict[int, SearchCriteria]
) -> list:
    """(segment id, members, new, at start) of each search, one SELECT each in one statement."""
    if not searches:
        return []
    flags = _flags(start, end)
    return db.session.execute(
        union_all(
            *(
                select(
                    literal(segment_id).label("segment_id"),
                    *(func.sum(flag.element) for flag in flags),
                ).where(*conditions(tenant_id, search, None), *_counted(start, end))
                for segment_id, search in searches.items()
            )
        )
    ).all()


def _tallied(rows: Iterable) -> dict[str, _Tally]:
    tallies: dict[str, _Tally] = {}
    for key, *counts in rows:
        tallies.setdefault(key, _Tally()).add(*counts)
    return tallies


def _ranked(tallies: dict[str, _Tally], label: Callable[[str], str]) -> tuple[GroupCount, ...]:
    """Groups with anyone in them at either edge, most members first."""
    shown = [tally.group(key, label(key)) for key, tally in tallies.items() if tally.counts_anyone]
    return tuple(sorted(shown, key=lambda group: (-group.members, group.group)))
