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
    """How far a tenant's rollups are built. Days before `complete_before` are in the rollups
    unless a later write touched them: `stale_from` is the earliest such day (an order reported
    or cancelled long after it was placed), and `stale_version` counts those marks so a rebuild
    clears only what it saw."""

    __tablename__ = "stats_rollup_state"

    tenant_id: Mapped[int] = _tenant_key()
    complete_before: Mapped[date | None] = mapped_column(Date, nullable=True)
    stale_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The first month whose cohorts a merge changed (its orders moved to the survivor).
    cohorts_stale_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    stale_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
