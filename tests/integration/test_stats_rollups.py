"""The stats' daily rollups: a rollup read equals the live read, late orders and cancels mark
their day stale, tick and the CLI rebuild, merges and time zone changes, on both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import func, select

from loyalty.demo.restaurant import load_demo
from loyalty.extensions import db
from loyalty.models import Account, Order, StatsDay, StatsRewardDay, StatsRollupState, Tenant
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

    # From alice's joining day (02-25) up to yesterday (03-19).
    assert days == (date(2026, 3, 19) - date(2026, 2, 25)).days + 1
    state = _state(tenant.id)
    assert state.complete_before == date(2026, 3, 20)
    assert state.stale_from is None
    assert state.built_at == NOW
    assert rollups.live_from(tenant.id, date(2026, 3, 20)) == date(2026, 3, 19)
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


def test_orders_of_today_mark_nothing_and_of_yesterday_mark_yesterday(tenant, restaurant):  # noqa: F811
    rollups.rebuild(tenant.id, NOW)
    midnight = day_start(local_day(NOW, ZONE), ZONE)
    order(tenant, "fresh", None, 900, midnight + timedelta(minutes=1), reported_at=NOW)
    assert _state(tenant.id).stale_version == 0

    # Placed a minute before midnight, reported after: even under 24 hours, its day may be built.
    order(tenant, "late-night", None, 900, midnight - timedelta(minutes=1), reported_at=NOW)
    state = _state(tenant.id)
    assert (state.stale_from, state.stale_version) == (local_day(NOW, ZONE) - timedelta(days=1), 1)


def test_refresh_all_builds_new_tenants_and_only_what_is_behind(tenant, restaurant):  # noqa: F811
    assert rollups.refresh_all(NOW) == (date(2026, 3, 19) - date(2026, 2, 25)).days + 1
    assert rollups.refresh_all(NOW) == 0  # built up to yesterday already
    # The next day: the day that was "yesterday" again (late orders), and the new yesterday.
    assert rollups.refresh_all(NOW + timedelta(days=1)) == 2


def test_tick_reports_the_days_rebuilt(tenant, restaurant, runner):  # noqa: F811
    result = runner.invoke(args=["loyalty", "tick", "--now", "2026-03-20T12:00:00Z"])

    assert result.exit_code == 0, result.output
    assert "stats: rebuilt 23 days" in result.output


def test_cli_rebuild_from_a_day(tenant, restaurant, runner):  # noqa: F811
    rollups.rebuild(tenant.id, NOW)
    live = _views(tenant.id)
    # The CLI runs on the real clock: up to the real yesterday.
    expected = (local_day(datetime.now(UTC), ZONE) - date(2026, 3, 1)).days

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


def test_a_merge_marks_only_the_cohorts_of_the_moved_orders_stale(tenant, restaurant, owner):  # noqa: F811
    alice, bob = restaurant["alice"], restaurant["bob"]
    rollups.rebuild(tenant.id, NOW)
    merge_accounts(tenant.id, alice.id, bob.id, owner.id, now=NOW)

    state = _state(tenant.id)
    # bob's first order (o3) was in March: its cohorts change, no day's figures do.
    assert (state.stale_from, state.cohorts_stale_from) == (None, date(2026, 3, 1))
    assert rollups.refresh_all(NOW) > 0
    assert _state(tenant.id).cohorts_stale_from is None


def test_time_zone_change_forgets_the_rollups(tenant, restaurant):  # noqa: F811
    rollups.rebuild(tenant.id, NOW)
    row = db.session.get(Tenant, tenant.id)
    settings = TenantSettings(row.name, row.currency, row.decimal_digits, None, time_zone=ZONE)

    update_settings(tenant.id, settings)  # the same zone: kept
    assert _state(tenant.id) is not None
    update_settings(tenant.id, replace(settings, time_zone="America/New_York"))

    assert _state(tenant.id) is None
    assert db.session.scalar(select(func.count()).select_from(StatsDay)) == 0
    assert rollups.live_from(tenant.id, date(2026, 3, 20)) == date.min


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
    assert rollups.live_from(tenant.id, date(2026, 3, 20)) == date(2026, 3, 2)
