"""The stats' daily rollups: a rollup read equals the live read, late orders and cancels mark
their day stale, tick and the CLI rebuild, merges and time zone changes, on both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from loyalty.demo.restaurant import load_demo
from loyalty.extensions import db
from loyalty.models import Account, Order, StatsDay, StatsRewardDay, StatsRollupState, Tenant
from loyalty.models.stats import StatsFirstOrderDay, StatsVisitDay
from loyalty.rules.periods import Period, day_start, local_day
from loyalty.services.accounts.merge import merge_accounts
from loyalty.services.reporting import rollups
from loyalty.services.reporting.overview import overview
from loyalty.services.setup.settings import TenantSettings, update_settings
from tests.integration.test_stats_overview import (
    NOW,
    PERIOD,
    ZONE,
    cancel,
    happened_at,
    order,
    restaurant,  # noqa: F401 (fixture)
    utc,
)
from tests.support.accounts import customer

MARCH = Period(date(2026, 2, 1), date(2026, 3, 20), ZONE)


def _views(tenant_id: int, now: datetime = NOW) -> list:
    return [
        overview(tenant_id, period, now, location)
        for period in (PERIOD, MARCH)
        for location in (None, "L1", "L2")
    ]


def _state(tenant_id: int) -> StatsRollupState | None:
    return db.session.get(StatsRollupState, tenant_id, populate_existing=True)


def test_rollup_read_equals_live_read(tenant, restaurant):  # noqa: F811
    live = _views(tenant.id)

    days = rollups.rebuild(tenant.id, NOW)

    # From alice's joining day (02-25) up to today (03-20), today up to ten minutes ago.
    assert days == (date(2026, 3, 20) - date(2026, 2, 25)).days + 1
    state = _state(tenant.id)
    assert state.complete_before == date(2026, 3, 20)
    assert state.built_through == NOW - 2 * rollups.SETTLE
    assert state.stale_from is None
    assert state.built_at == NOW
    assert rollups.live_from(tenant.id, ZONE, NOW) == date(2026, 3, 20)
    assert _views(tenant.id) == live
    march_first = db.session.scalar(
        select(StatsDay).where(StatsDay.day == date(2026, 3, 1), StatsDay.location_id == "L1")
    )
    assert (march_first.orders, march_first.member_sales, march_first.points_redeemed) == (
        1,
        2000,
        15,
    )
    assert db.session.scalar(select(func.sum(StatsRewardDay.redemptions))) == 1


def test_late_order_and_late_cancel_mark_their_day_stale(tenant, restaurant):  # noqa: F811
    rollups.rebuild(tenant.id, NOW)
    carol = db.session.scalar(select(Account).where(Account.external_id == "carol"))

    order(tenant, "late", carol, 700, utc(3, 3, 12), "L1", reported_at=NOW)  # 17 days late
    assert _state(tenant.id).stale_from == date(2026, 3, 3)
    with_late = _views(tenant.id)
    assert with_late[0].current.orders == 5

    cancel(tenant, "o2", NOW)  # an order of 03-01, cancelled at NOW
    state = _state(tenant.id)
    assert (state.stale_from, state.stale_version) == (date(2026, 3, 1), 2)
    marked = _views(tenant.id)
    assert marked[0].current.orders == 4

    assert rollups.refresh_all(NOW) > 0
    assert _state(tenant.id).stale_from is None
    rebuilt = _views(tenant.id)
    rollups.forget(tenant.id)
    db.session.commit()
    assert _views(tenant.id) == rebuilt == marked


def test_orders_reported_at_once_mark_nothing_and_later_mark_their_day(tenant, restaurant):  # noqa: F811
    rollups.rebuild(tenant.id, NOW)
    today = local_day(NOW, ZONE)
    order(tenant, "fresh", None, 900, NOW - timedelta(minutes=4), reported_at=NOW)
    assert _state(tenant.id).stale_version == 0

    # Today's rollups count up to ten minutes ago: an order of earlier today may be missing.
    order(tenant, "earlier-today", None, 900, NOW - timedelta(minutes=6), reported_at=NOW)
    state = _state(tenant.id)
    assert (state.stale_from, state.stale_version) == (today, 1)
    assert rollups.live_from(tenant.id, ZONE, NOW) == today

    # Placed a minute before midnight, reported after: even under 24 hours, its day may be built.
    midnight = day_start(today, ZONE)
    order(tenant, "late-night", None, 900, midnight - timedelta(minutes=1), reported_at=NOW)
    state = _state(tenant.id)
    assert (state.stale_from, state.stale_version) == (today - timedelta(days=1), 2)


def test_an_order_just_before_midnight_is_not_late_just_after():
    midnight = day_start(date(2026, 3, 20), ZONE)

    assert not rollups.is_late(
        midnight - timedelta(minutes=1), midnight + timedelta(minutes=1), "UTC"
    )
    assert rollups.is_late(midnight - timedelta(minutes=1), midnight + timedelta(seconds=1), ZONE)
    assert rollups.is_late(midnight - timedelta(minutes=6), midnight - timedelta(seconds=1), ZONE)


def test_refresh_all_builds_new_tenants_and_only_what_is_behind(tenant, restaurant):  # noqa: F811
    assert rollups.refresh_all(NOW) == (date(2026, 3, 20) - date(2026, 2, 25)).days + 1
    assert rollups.refresh_all(NOW) == 0  # built up to ten minutes ago already
    # Minutes later: today again, up to the new moment.
    assert rollups.refresh_all(NOW + timedelta(minutes=5)) == 1
    # The next day: the day the last build ended on, whole, and the new day so far.
    assert rollups.refresh_all(NOW + timedelta(days=1)) == 2


def test_tick_reports_the_days_rebuilt(tenant, restaurant, runner):  # noqa: F811
    result = runner.invoke(args=["loyalty", "tick", "--now", "2026-03-20T12:00:00Z"])

    assert result.exit_code == 0, result.output
    assert "stats: rebuilt 24 days" in result.output


def test_cli_rebuild_from_a_day(tenant, restaurant, runner):  # noqa: F811
    rollups.rebuild(tenant.id, NOW)
    live = _views(tenant.id)
    # The CLI runs on the real clock: up to ten minutes ago (no test runs at local midnight).
    through = rollups.built_through(datetime.now(UTC))
    expected = (local_day(through, ZONE) - date(2026, 3, 1)).days + 1

    result = runner.invoke(
        args=["loyalty", "stats", "rebuild", "--tenant", tenant.slug, "--from", "2026-03-01"]
    )

    assert result.exit_code == 0, result.output
    assert f"{tenant.slug}: rebuilt {expected} days" in result.output
    assert _views(tenant.id) == live


def test_cli_rebuild_without_a_day_rebuilds_the_whole_history(tenant, restaurant, runner):  # noqa: F811
    rollups.rebuild(tenant.id, NOW)
    # Data corrected by hand after the build: only a full rebuild can see it.
    db.session.execute(Order.__table__.update().values(payment_amount=Order.payment_amount * 2))
    db.session.commit()

    result = runner.invoke(args=["loyalty", "stats", "rebuild", "--tenant", tenant.slug])

    assert result.exit_code == 0, result.output
    rebuilt = _views(tenant.id)
    rollups.forget(tenant.id)
    db.session.commit()
    assert rebuilt == _views(tenant.id)


def test_cli_rebuild_refuses_an_unknown_tenant(runner, app):
    result = runner.invoke(args=["loyalty", "stats", "rebuild", "--tenant", "nobody"])

    assert result.exit_code == 1
    assert "no tenant 'nobody'" in result.output


def test_merge_sets_merged_at_and_members_drop_that_day(tenant, restaurant, owner):  # noqa: F811
    alice, bob = restaurant["alice"], restaurant["bob"]
    with happened_at(utc(3, 5, 12)):
        merge_accounts(tenant.id, alice.id, bob.id, owner.id, now=utc(3, 5, 12))

    retired = db.session.get(Account, bob.id)
    survivor = db.session.get(Account, alice.id)
    assert retired.merged_at == utc(3, 5, 12)
    assert survivor.first_order_at == utc(2, 26, 11)  # alice's o1, earlier than bob's o3
    members = [entry.figures.members for entry in overview(tenant.id, PERIOD, NOW).buckets]
    assert members == [2, 3, 3, 3, 2, 2, 3]
    rollups.rebuild(tenant.id, NOW)
    assert [entry.figures.members for entry in overview(tenant.id, PERIOD, NOW).buckets] == members


def test_a_merge_marks_the_days_and_cohorts_of_the_moved_orders_stale(tenant, restaurant, owner):  # noqa: F811
    alice, bob = restaurant["alice"], restaurant["bob"]
    rollups.rebuild(tenant.id, NOW)
    merge_accounts(tenant.id, alice.id, bob.id, owner.id, now=NOW)

    state = _state(tenant.id)
    # bob's first order (o3) was on 03-07 (local): from then on, whose visit it is changed.
    assert (state.stale_from, state.cohorts_stale_from) == (date(2026, 3, 7), date(2026, 3, 1))
    marked = _views(tenant.id)
    assert rollups.refresh_all(NOW) > 0
    assert _state(tenant.id).cohorts_stale_from is None
    assert _views(tenant.id) == marked
    rollups.forget(tenant.id)
    db.session.commit()
    assert _views(tenant.id) == marked


def test_time_zone_change_forgets_the_rollups(tenant, restaurant):  # noqa: F811
    rollups.rebuild(tenant.id, NOW)
    row = db.session.get(Tenant, tenant.id)
    settings = TenantSettings(row.name, row.currency, row.decimal_digits, None, time_zone=ZONE)

    update_settings(tenant.id, settings)  # the same zone: kept
    assert _state(tenant.id) is not None
    update_settings(tenant.id, replace(settings, time_zone="America/New_York"))

    assert _state(tenant.id) is None
    assert db.session.scalar(select(func.count()).select_from(StatsDay)) == 0
    assert rollups.live_from(tenant.id, ZONE, NOW) == date.min


def test_first_order_at_is_the_earliest_placed_order(tenant):
    guest = customer(tenant, external_id="g")
    order(tenant, "b", guest, 100, utc(3, 10, 12))
    order(tenant, "a", guest, 100, utc(3, 9, 12))  # reported late
    assert db.session.get(Account, guest.id, populate_existing=True).first_order_at == utc(3, 9, 12)

    cancel(tenant, "a", utc(3, 11, 12))

    assert db.session.get(Account, guest.id, populate_existing=True).first_order_at == utc(
        3, 10, 12
    )
    # A report with another offset: 13:00 at +02:00 is 11:00 UTC.
    order(tenant, "c", guest, 100, datetime(2026, 3, 8, 13, tzinfo=timezone(timedelta(hours=2))))
    assert db.session.get(Account, guest.id, populate_existing=True).first_order_at == utc(3, 8, 11)


def test_demo_data_has_guests_first_orders_and_built_rollups(app):
    demo = load_demo("demo", accounts=40, now=NOW)
    tenant_id = demo.tenant.id

    assert demo.stats_days > 300
    assert _state(tenant_id).complete_before == date(2026, 3, 20)
    guests = select(func.count()).select_from(Order).where(Order.account_id.is_(None))
    assert db.session.scalar(guests) == 20
    firsts = db.session.execute(
        select(Account.first_order_at, func.min(Order.ordered_at))
        .join(Order, (Order.account_id == Account.id) & (Order.status == "placed"))
        .group_by(Account.id, Account.first_order_at)
    ).all()
    assert firsts and all(first == earliest for first, earliest in firsts)
    year = Period(date(2025, 3, 21), date(2026, 3, 20), demo.tenant.time_zone)
    built = overview(tenant_id, year, NOW)
    assert built.current.guest_sales > 0 and built.current.member_sales > 0
    rollups.forget(tenant_id)
    db.session.commit()
    assert overview(tenant_id, year, NOW) == built


def test_a_day_marked_stale_while_rebuilding_stays_stale(tenant, restaurant):  # noqa: F811
    rollups.rebuild(tenant.id, NOW)

    def late_order_meanwhile(_days: int) -> None:
        rollups.note_late_order(tenant.id, ZONE, utc(3, 2, 12), NOW)
        db.session.commit()

    rollups.rebuild(tenant.id, NOW, date(2026, 3, 1), progress=late_order_meanwhile)

    state = _state(tenant.id)
    assert state.stale_from == date(2026, 3, 2)
    assert state.complete_before == date(2026, 3, 20)
    assert rollups.live_from(tenant.id, ZONE, NOW) == date(2026, 3, 2)


@pytest.fixture()
def regulars(tenant):
    """Six members ordering on and off from 01-05 (each a week after the one before) to today
    at L1, L2 and no location, two of them today both before and after the moment the rollups
    are built up to (11:50 UTC)."""
    tenant.time_zone = ZONE
    db.session.commit()
    people = []
    for number in range(6):
        with happened_at(utc(1, 2, 9)):
            people.append(customer(tenant, external_id=f"regular-{number}"))
    places = ("L1", "L2", None)
    count = 0
    for day in range(74):
        moment = utc(1, 5, 10) + timedelta(days=day)
        for number, person in enumerate(people):
            if day >= 7 * number and (day * (number + 1)) % (number + 3) == 0:
                count += 1
                place = places[(day + number) % 3]
                order(tenant, f"r{count}", person, 1000, moment + timedelta(hours=number), place)
    for number, at in ((0, utc(3, 20, 8)), (0, utc(3, 20, 11, 55)), (1, utc(3, 20, 11, 56))):
        count += 1
        order(tenant, f"r{count}", people[number], 500, at, "L1", reported_at=NOW)
    return people


def _active(tenant_id: int) -> list:
    """Active members of many periods (their buckets, and the period), at every location, and
    the return rates of first-time members."""
    seen = []
    for first in (date(2026, 1, 3) + timedelta(days=step) for step in (0, 9, 30, 55, 73)):
        for length in (1, 12, 40):
            period = Period(first, first + timedelta(days=length - 1), ZONE)
            for location in (None, "L1", "L2", ""):
                view = overview(tenant_id, period, NOW, location)
                seen.append(
                    (
                        period.first_day,
                        length,
                        location,
                        view.current.active_members,
                        view.previous.active_members,
                        [entry.figures.active_members for entry in view.buckets],
                        view.return_rate,
                        view.previous_return_rate,
                    )
                )
    return seen


def test_active_members_from_the_visit_rollups_equal_the_live_count(tenant, regulars, monkeypatch):
    live = _active(tenant.id)
    assert any(row[3] > 1 for row in live)
    assert any(row[6].returned and not row[6].still_open for row in live)
    # Short chunks: members' previous visits are found across chunk boundaries too.
    monkeypatch.setattr(rollups, "CHUNK_DAYS", 3)
    rollups.rebuild(tenant.id, NOW)
    assert db.session.scalar(select(func.count()).select_from(StatsVisitDay)) > 0
    assert db.session.scalar(select(func.count()).select_from(StatsFirstOrderDay)) > 0
    assert _active(tenant.id) == live

    # A late order long ago changes the previous visit of later days, and whether a first-time
    # member came back; a late cancel of a first order moves it.
    order(tenant, "late", regulars[2], 700, utc(1, 21, 12), "L2", reported_at=NOW)
    cancel(tenant, "r1", NOW)
    marked = _active(tenant.id)
    assert marked != live
    assert rollups.refresh_all(NOW) > 0
    assert _active(tenant.id) == marked
    rollups.forget(tenant.id)
    db.session.commit()
    assert _active(tenant.id) == marked


def test_a_merge_counts_both_accounts_visits_as_one_member_after_a_rebuild(tenant, regulars, owner):
    rollups.rebuild(tenant.id, NOW)
    merge_accounts(tenant.id, regulars[0].id, regulars[1].id, owner.id, now=NOW)

    marked = _active(tenant.id)
    assert rollups.refresh_all(NOW) > 0
    assert _active(tenant.id) == marked
    rollups.forget(tenant.id)
    db.session.commit()
    assert _active(tenant.id) == marked
