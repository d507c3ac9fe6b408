"""Retention cohorts: members by local month of joining, and who of them ordered in each month."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import StatsCohortMonth, StatsRollupState
from loyalty.rules.periods import day_start
from loyalty.services.accounts.erasure import erase_account
from loyalty.services.accounts.merge import merge_accounts
from loyalty.services.checkout.orders import (
    CancelReport,
    OrderReport,
    cancel_order,
    record_order,
)
from loyalty.services.reporting.cohorts import Cohort, cohorts, rebuild_cohorts
from tests.support.accounts import customer

# Far west of UTC: 23:30 on 31 January here is already 1 February in UTC.
ZONE = "America/Los_Angeles"
TODAY = date(2026, 4, 15)
JAN, FEB, MAR, APR = (date(2026, month, 1) for month in (1, 2, 3, 4))


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment on the restaurant's clock, as the aware UTC moment it is."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


def joined(tenant, name: str, moment: datetime):
    """A customer created through the service, placed at the moment it joined (accounts take
    the real clock's time when created)."""
    account = customer(tenant, external_id=name)
    account.created_at = moment
    db.session.commit()
    return account


def ordered(tenant, account, number: str, moment: datetime) -> None:
    record_order(
        tenant,
        OrderReport(
            number, account.id if account else None, payment_amount=1500, ordered_at=moment
        ),
        moment,
    )


@pytest.fixture()
def history(tenant, other_tenant, owner):
    """January to mid-April 2026 in Los Angeles (PST, then PDT from 8 March)."""
    tenant.time_zone = ZONE
    db.session.commit()
    # Ana joins at 23:30 on 31 January: a January member, though it is February in UTC. She
    # orders in January (23:45, her month 0) and in March (month 2), never in February.
    ana = joined(tenant, "ana", local(2026, 1, 31, 23, 30))
    ordered(tenant, ana, "ana-1", local(2026, 1, 31, 23, 45))
    ordered(tenant, ana, "ana-2", local(2026, 3, 10, 12))
    # Ben: January; twice in February (counted once), a cancelled March order, April.
    ben = joined(tenant, "ben", local(2026, 1, 5, 10))
    ordered(tenant, ben, "ben-1", local(2026, 2, 1, 0, 15))
    ordered(tenant, ben, "ben-2", local(2026, 2, 20, 19))
    ordered(tenant, ben, "ben-3", local(2026, 3, 3, 12))
    cancel_order(tenant.id, CancelReport("ben-3", ben.id), local(2026, 3, 3, 13))
    ordered(tenant, ben, "ben-4", local(2026, 4, 2, 12))
    # Cleo joins ten minutes into February; her 23:50 order on 28 February is March in UTC.
    cleo = joined(tenant, "cleo", local(2026, 2, 1, 0, 10))
    ordered(tenant, cleo, "cleo-1", local(2026, 2, 28, 23, 50))
    ordered(tenant, cleo, "cleo-2", local(2026, 4, 1, 0, 30))
    # Finn joins in February and is merged into Ben; Eve joins in March and is erased: both
    # still count in the size of the month they joined.
    finn = joined(tenant, "finn", local(2026, 2, 10, 9))
    merge_accounts(tenant.id, ben.id, finn.id, owner.id, now=local(2026, 3, 1, 9))
    eve = joined(tenant, "eve", local(2026, 3, 3, 9))
    erase_account(tenant.id, eve.id, owner.id, now=local(2026, 4, 10, 9))
    # Dan joined at 23:00 on 31 December (January in UTC): December's, outside four months.
    dan = joined(tenant, "dan", local(2025, 12, 31, 23))
    ordered(tenant, dan, "dan-1", local(2026, 1, 15, 12))
    # A guest order, and another restaurant's member in January: neither counts.
    ordered(tenant, None, "guest-1", local(2026, 1, 20, 12))
    other = joined(other_tenant, "other", local(2026, 1, 10, 12))
    ordered(other_tenant, other, "other-1", local(2026, 1, 11, 12))
    return tenant


EXPECTED = (
    Cohort(JAN, 2, (1, 1, 1, 1)),  # Ana in Jan and Mar, Ben in Feb and Apr
    Cohort(FEB, 2, (1, 0, 1)),  # Cleo (and Finn, who never ordered)
    Cohort(MAR, 1, (0, 0)),  # Eve
    Cohort(APR, 0, (0,)),
)


def test_members_count_in_the_local_month_they_joined_and_ordered_in(history):
    result = cohorts(history.id, ZONE, TODAY, months=4)

    assert result.cohorts == EXPECTED
    assert result.cohorts[0].shares == (0.5, 0.5, 0.5, 0.5)
    assert result.cohorts[1].shares == (0.5, 0.0, 0.5)
    assert result.cohorts[3].shares == (0.0,)


def test_the_default_is_twelve_months_ending_with_the_current_one(history):
    result = cohorts(history.id, ZONE, TODAY)

    assert [cohort.month for cohort in result.cohorts] == [
        date(2025, 5, 1), date(2025, 6, 1), date(2025, 7, 1), date(2025, 8, 1),
        date(2025, 9, 1), date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1),
        JAN, FEB, MAR, APR,
    ]  # fmt: skip
    december = result.cohorts[7]
    assert (december.members, december.active) == (1, (0, 1, 0, 0, 0))
    assert result.cohorts[8:] == EXPECTED
    assert len(result.cohorts[0].active) == 12


def test_the_rollups_hold_each_cohort_and_order_month(history):
    rebuild_cohorts(history.id, ZONE, date(2025, 12, 1), date(2026, 3, 31))
    db.session.commit()

    rows = db.session.execute(
        select(StatsCohortMonth.cohort, StatsCohortMonth.month, StatsCohortMonth.active_members)
        .where(StatsCohortMonth.tenant_id == history.id)
        .order_by(StatsCohortMonth.month, StatsCohortMonth.cohort)
    ).all()
    assert [tuple(row) for row in rows] == [
        (date(2025, 12, 1), JAN, 1),  # Dan
        (JAN, JAN, 1),  # Ana
        (JAN, FEB, 1),  # Ben, twice
        (FEB, FEB, 1),  # Cleo
        (JAN, MAR, 1),  # Ana (Ben's March order was cancelled)
    ]


def test_reading_from_the_rollups_gives_what_the_live_read_gives(history):
    live = cohorts(history.id, ZONE, TODAY, months=4)
    rebuild_cohorts(history.id, ZONE, date(2025, 12, 1), date(2026, 3, 31))
    rebuild_cohorts(history.id, ZONE, date(2026, 2, 14), date(2026, 2, 15))  # again: replaces
    db.session.add(
        StatsRollupState(
            tenant_id=history.id, complete_before=APR, built_through=day_start(APR, ZONE)
        )
    )
    db.session.commit()

    assert cohorts(history.id, ZONE, TODAY, months=4) == live
    # January to March now come from the rollups: an order written into February without
    # marking the day stale is not seen until February is rebuilt; April is still live.
    late = joined(history, "late", local(2026, 2, 2, 12))
    ordered(history, late, "late-1", local(2026, 2, 3, 12))
    ordered(history, late, "late-2", local(2026, 4, 3, 12))
    read = cohorts(history.id, ZONE, TODAY, months=4).cohorts[1]
    assert (read.members, read.active) == (3, (1, 0, 2))
    rebuild_cohorts(history.id, ZONE, date(2026, 2, 1), date(2026, 2, 28))
    read = cohorts(history.id, ZONE, TODAY, months=4).cohorts[1]
    assert (read.members, read.active) == (3, (2, 0, 2))


def test_a_restaurant_without_members_has_empty_cohorts(tenant):
    rebuild_cohorts(tenant.id, "UTC", date(2026, 1, 1), date(2026, 3, 31))
    result = cohorts(tenant.id, "UTC", TODAY, months=2)

    assert result.cohorts == (Cohort(MAR, 0, (0, 0)), Cohort(APR, 0, (0,)))
