"""Daily rollups behind the stats pages, and how far they are built.

Rebuilt from the orders, the ledger and the accounts by services.reporting.rollups (set-based
INSERT ... SELECT per run of days), never written by the features themselves: a row can always
be thrown away and rebuilt. Days are the restaurant's local calendar days; `location_id` is the
Deliverect location of the orders a row counts, "" for activity of no location (an order
without one, a campaign credit, an adjustment, expiry, members joining and leaving).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime

NO_LOCATION = ""


def _tenant_key() -> Mapped[int]:
    return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)


def _count() -> Mapped[int]:
    return mapped_column(BigInteger, default=0, server_default="0")


class StatsDay(db.Model):
    """What happened on one local day at one location."""

    __tablename__ = "stats_days"

    tenant_id: Mapped[int] = _tenant_key()
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    location_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    orders: Mapped[int] = _count()  # placed and not cancelled, by ordered_at
    member_orders: Mapped[int] = _count()
    member_sales: Mapped[int] = _count()  # payment amounts, minor units
    guest_sales: Mapped[int] = _count()  # orders of no account
    points_earned: Mapped[int] = _count()
    points_redeemed: Mapped[int] = _count()
    points_expired: Mapped[int] = _count()
    points_net: Mapped[int] = _count()  # every points entry: their running sum is the liability
    members_joined: Mapped[int] = _count()  # accounts created (merged or erased later included)
    members_left: Mapped[int] = _count()  # accounts merged into another or erased


class StatsRewardDay(db.Model):
    """Redemptions of one reward on one local day at one location."""

    __tablename__ = "stats_reward_days"

    tenant_id: Mapped[int] = _tenant_key()
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    location_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reward_id: Mapped[int] = mapped_column(
        ForeignKey("rewards.id", ondelete="CASCADE"), primary_key=True
    )
    redemptions: Mapped[int] = _count()
    points: Mapped[int] = _count()


class StatsCohortMonth(db.Model):
    """Members who joined in `cohort` (a month's first day) and ordered in `month`."""

    __tablename__ = "stats_cohort_months"

    tenant_id: Mapped[int] = _tenant_key()
    cohort: Mapped[date] = mapped_column(Date, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    active_members: Mapped[int] = _count()


class StatsRollupState(db.Model):
    """How far a tenant's rollups are built. Everything before `built_through` is in the
    rollups (the day it falls on up to that moment only; `complete_before` is that day) unless a
    later write touched it: `stale_from` is the earliest such day (an order reported or
    cancelled long after it was placed, a merge), and `stale_version` counts those marks so a
    rebuild clears only what it saw."""

    __tablename__ = "stats_rollup_state"

    tenant_id: Mapped[int] = _tenant_key()
    complete_before: Mapped[date | None] = mapped_column(Date, nullable=True)
    stale_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The first month whose cohorts a merge changed (its orders moved to the survivor).
    cohorts_stale_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    stale_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    built_through: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# A first visit's `previous_day` when the member had never ordered before it (the column is in
# the primary key, so it cannot be NULL): earlier than any day a period can start on.
NO_EARLIER_VISIT = date(1, 1, 1)


class StatsVisitDay(db.Model):
    """Members whose first placed order of local day `day` followed their latest earlier order
    on `previous_day` (NO_EARLIER_VISIT: none). The members active in days a..b are then the
    rows of days a..b whose previous visit was before a: exact distinct counts for any range
    from a small sum."""

    __tablename__ = "stats_visit_days"

    tenant_id: Mapped[int] = _tenant_key()
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    previous_day: Mapped[date] = mapped_column(Date, primary_key=True)
    members: Mapped[int] = _count()


class StatsLocationVisitDay(db.Model):
    """StatsVisitDay for the orders at one location ("" for orders of no location), each
    member's previous visit being their latest earlier order there."""

    __tablename__ = "stats_location_visit_days"

    tenant_id: Mapped[int] = _tenant_key()
    location_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    previous_day: Mapped[date] = mapped_column(Date, primary_key=True)
    members: Mapped[int] = _count()


class StatsCalendarDay(db.Model):
    """Where each local day of the tenant's history starts and ends in UTC: the rebuild puts
    orders in days by joining them to it, and finds the day of an earlier order with one index
    look-up (`starts` at or before it), with no database time-zone functions."""

    __tablename__ = "stats_calendar_days"

    tenant_id: Mapped[int] = _tenant_key()
    starts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    ends: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)


class StatsFirstOrderDay(db.Model):
    """Members (not merged into another) whose first placed order was on local day `day`, and
    how many of them ordered again within the return window: written only for days whose
    windows had all ended when it was built, so the figures are final."""

    __tablename__ = "stats_first_order_days"

    tenant_id: Mapped[int] = _tenant_key()
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    first_time_members: Mapped[int] = _count()
    returned: Mapped[int] = _count()
