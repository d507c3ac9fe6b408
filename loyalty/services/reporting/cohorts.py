"""Retention cohorts: members by month of joining, and how many of them ordered in each month after.

A month is the restaurant's local calendar month: its UTC start and end come from
rules.periods.day_start, and accounts and orders are put in months by comparing their UTC
moments with a small table of those bounds (no database time-zone functions; SQLite has none).
Finished months are read from StatsCohortMonth (rebuilt with the other rollups); the months the
rollups cannot answer yet are counted live by the same SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    Date,
    Select,
    and_,
    delete,
    distinct,
    func,
    insert,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.sql.selectable import Subquery

from ...extensions import db
from ...models import Account, Order, StatsCohortMonth
from ...models.base import UTCDateTime
from ...rules.periods import day_start, local_day
from .rollups import cohorts_live_from

# Order months rebuilt per INSERT ... SELECT: a few statements for years of history, each over
# a bounded run of orders.
MONTHS_PER_CHUNK = 6


@dataclass(frozen=True)
class Cohort:
    month: date  # first day of the joining month (local)
    members: int  # joined that month, including accounts merged or erased since
    active: tuple[int, ...]  # active[i]: of them, ordered in the i-th month after joining

    @property
    def shares(self) -> tuple[float, ...]:
        if not self.members:
            return tuple(0.0 for _ in self.active)
        return tuple(count / self.members for count in self.active)


@dataclass(frozen=True)
class Cohorts:
    cohorts: tuple[Cohort, ...]  # oldest first, the current month last


def cohorts(tenant_id: int, time_zone: str, today: date, months: int = 12) -> Cohorts:
    """The last `months` joining months up to and including today's, each with how many of its
    members ordered in it and in every month since, up to the current one."""
    current = _month_of(today)
    joining = [_add_months(current, offset) for offset in range(1 - max(months, 1), 1)]
    # A month is read from the rollups only when all of it is before the first live day.
    first_live = _month_of(cohorts_live_from(tenant_id, time_zone, day_start(today, time_zone)))
    rolled = [month for month in joining if month < first_live]
    live = [month for month in joining if month >= first_live]
    active: dict[tuple[date, date], int] = {}
    if rolled:
        active.update(_rolled_up(tenant_id, joining[0], first_live))
    if live:
        counted = _active_members(tenant_id, time_zone, joining, live)
        active.update(
            {(cohort, month): count for cohort, month, count in db.session.execute(counted)}
        )
    sizes = _sizes(tenant_id, time_zone, joining)
    return Cohorts(
        tuple(
            Cohort(
                cohort,
                sizes.get(cohort, 0),
                tuple(active.get((cohort, month), 0) for month in joining[index:]),
            )
            for index, cohort in enumerate(joining)
        )
    )


def rebuild_cohorts(tenant_id: int, time_zone: str, first_day: date, last_day: date) -> None:
    """Recompute the StatsCohortMonth rows of every order month overlapping first_day..last_day
    (whole months: a month's members are distinct over all its days). No commit: the caller
    (rollups.rebuild) owns the transaction."""
    order_months = _months_between(_month_of(first_day), _month_of(last_day))
    earliest = db.session.scalar(
        select(func.min(Account.created_at)).where(Account.tenant_id == tenant_id)
    )
    for start in range(0, len(order_months), MONTHS_PER_CHUNK):
        chunk = order_months[start : start + MONTHS_PER_CHUNK]
        db.session.execute(
            delete(StatsCohortMonth).where(
                StatsCohortMonth.tenant_id == tenant_id, StatsCohortMonth.month.in_(chunk)
            )
        )
        if earliest is None:
            continue
        # Every joining month that can have members by the chunk's last month.
        joining = _months_between(_month_of(local_day(earliest, time_zone)), chunk[-1])
        if not joining:
            continue
        counted = _active_members(tenant_id, time_zone, joining, chunk)
        db.session.execute(
            insert(StatsCohortMonth).from_select(
                ["tenant_id", "cohort", "month", "active_members"],
                select(
                    literal(tenant_id).label("tenant_id"),
                    *counted.subquery().c,
                ),
            )
        )


def _active_members(
    tenant_id: int, time_zone: str, joining: Sequence[date], order_months: Sequence[date]
) -> Select:
    """(cohort, month, distinct members) for members who joined in one of the `joining` months
    and placed an order in one of the `order_months` (on or after their joining month)."""
    cohort = _month_table(joining, time_zone, "cohort_months")
    ordered = _month_table(order_months, time_zone, "order_months")
    return (
        select(
            cohort.c.month.label("cohort"),
            ordered.c.month.label("month"),
            func.count(distinct(Order.account_id)).label("active_members"),
        )
        .select_from(Order)
        .join(
            ordered,
            and_(Order.ordered_at >= ordered.c.starts, Order.ordered_at < ordered.c.ends),
        )
        .join(Account, Account.id == Order.account_id)
        .join(
            cohort,
            and_(
                Account.created_at >= cohort.c.starts,
                Account.created_at < cohort.c.ends,
                cohort.c.month <= ordered.c.month,
            ),
        )
        .where(
            Order.tenant_id == tenant_id,
            # Written as constants so both planners see the partial ix_orders_member_activity
            # applies and read the orders' accounts from it.
            Order.status == literal_column("'placed'"),
            Order.account_id.is_not(None),
            Order.ordered_at >= _start(order_months[0], time_zone),
            Order.ordered_at < _start(_add_months(order_months[-1], 1), time_zone),
            Account.tenant_id == tenant_id,
            Account.created_at >= _start(joining[0], time_zone),
            Account.created_at < _start(_add_months(joining[-1], 1), time_zone),
        )
        .group_by(cohort.c.month, ordered.c.month)
    )


def _rolled_up(tenant_id: int, first: date, before: date) -> dict[tuple[date, date], int]:
    """The rollups' counts of cohorts from `first` on, for order months before `before`."""
    rows = db.session.execute(
        select(
            StatsCohortMonth.cohort, StatsCohortMonth.month, StatsCohortMonth.active_members
        ).where(
            StatsCohortMonth.tenant_id == tenant_id,
            StatsCohortMonth.cohort >= first,
            StatsCohortMonth.month >= first,
            StatsCohortMonth.month < before,
        )
    )
    return {(cohort, month): count for cohort, month, count in rows}


def _sizes(tenant_id: int, time_zone: str, joining: Sequence[date]) -> dict[date, int]:
    """Accounts created in each joining month, merged and erased ones included (they were
    members that month), in one grouped query over ix_accounts_tenant_created."""
    months = _month_table(joining, time_zone, "joining_months")
    rows = db.session.execute(
        select(months.c.month, func.count())
        .select_from(Account)
        .join(
            months,
            and_(Account.created_at >= months.c.starts, Account.created_at < months.c.ends),
        )
        .where(
            Account.tenant_id == tenant_id,
            Account.created_at >= _start(joining[0], time_zone),
            Account.created_at < _start(_add_months(joining[-1], 1), time_zone),
        )
        .group_by(months.c.month)
    )
    return {month: count for month, count in rows}


def _month_table(months: Sequence[date], time_zone: str, name: str) -> Subquery:
    """The months as rows (month, starts, ends): where each begins and the next begins, in UTC."""
    moment = UTCDateTime()
    return union_all(
        *(
            select(
                literal(month, Date).label("month"),
                literal(_start(month, time_zone), moment).label("starts"),
                literal(_start(_add_months(month, 1), time_zone), moment).label("ends"),
            )
            for month in months
        )
    ).subquery(name)


def _start(month: date, time_zone: str):
    return day_start(month, time_zone)


def _month_of(day: date) -> date:
    return day.replace(day=1)


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _months_between(first: date, last: date) -> list[date]:
    """Month firsts from `first`'s month to `last`'s, both included."""
    months = []
    month = _month_of(first)
    while month <= last:
        months.append(month)
        month = _add_months(month, 1)
    return months
