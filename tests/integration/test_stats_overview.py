"""The Stats overview: every figure hand-computed on a small restaurant in Brussels, whose local
days (not UTC's) decide where an order counts, on both databases."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, update

from loyalty.extensions import db
from loyalty.models import Account, LedgerEntry
from loyalty.rules.periods import Period
from loyalty.services.checkout.orders import (
    CancelReport,
    OrderReport,
    cancel_order,
    record_order,
)
from loyalty.services.reporting.overview import (
    OVERVIEW_COLUMNS,
    Figures,
    ReturnRate,
    glance,
    overview,
    overview_rows,
)
from tests.support.accounts import customer, earn
from tests.support.campaigns import coupons_of, running, welcome_series
from tests.support.deliverect import add_reward

ZONE = "Europe/Brussels"  # UTC+1 in March before the 29th
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
PERIOD = Period(date(2026, 3, 1), date(2026, 3, 7), ZONE)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@contextmanager
def happened_at(moment: datetime):
    """Accounts and ledger entries written in the block are dated `moment` (their writers take
    the real clock), as if the block ran then."""
    marks = {
        model: db.session.scalar(select(func.coalesce(func.max(model.id), 0)))
        for model in (Account, LedgerEntry)
    }
    yield
    for model, last in marks.items():
        db.session.execute(update(model).where(model.id > last).values(created_at=moment))
    db.session.commit()


def order(tenant, external_id, account, amount, at, location=None, rewards=(), reported_at=None):
    """An order placed `at`, reported then (or at `reported_at`, a late report)."""
    with happened_at(reported_at or at):
        record_order(
            tenant,
            OrderReport(
                external_id,
                account.id if account else None,
                payment_amount=amount,
                location_id=location,
                ordered_at=at,
                program_ids=tuple(rewards),
            ),
            reported_at or at,
        )


def cancel(tenant, external_id, at):
    with happened_at(at):
        cancel_order(tenant.id, CancelReport(external_id, None), at)


@pytest.fixture()
def restaurant(tenant):
    """The story (UTC times; Brussels is one hour ahead):

    accounts: alice 02-25, erin 02-28 23:00 (03-01 00:00 local), bob 03-02, carol 03-07 22:30
    (23:30 local), dave 03-07 23:00 (03-08 00:00 local: after the period).
    o1 alice 02-26 1000 L1; alice +10 adjusted 02-27; o2 alice 03-01 2000 L1 redeeming Coffee
    (15 points); o7 erin 02-28 23:00 (03-01 00:00 local) 500 no location; o4 guest 03-03 1500
    L1; o5 bob 03-04 4000 L2, cancelled 03-05; erin's 5 points expire 03-06; o3 bob 03-07 22:30
    (23:30 local) 3000 L2; o6 erin 03-07 23:00 (03-08 local) 5000.
    """
    tenant.time_zone = ZONE
    db.session.commit()
    add_reward(tenant, "coffee", "discount_amount", cost=15, value=50, title="Coffee")
    add_reward(tenant, "big", "discount_amount", cost=200, value=1200, title="Big treat")
    add_reward(tenant, "free", "free_item", cost=10, value=0, title="Free fries")
    add_reward(
        tenant,
        "old",
        "discount_amount",
        cost=100,
        value=10_000,
        title="Archived",
        archived_at=utc(1, 1, 0),
    )
    people = {}
    for name, at in (
        ("alice", utc(2, 25, 9)),
        ("erin", utc(2, 28, 23)),
        ("bob", utc(3, 2, 8)),
        ("carol", utc(3, 7, 22, 30)),
        ("dave", utc(3, 7, 23)),
    ):
        with happened_at(at):
            people[name] = customer(tenant, external_id=name)
    alice, erin, bob = people["alice"], people["erin"], people["bob"]
    order(tenant, "o1", alice, 1000, utc(2, 26, 11), "L1")
    with happened_at(utc(2, 27, 12)):
        earn(alice, 10, kind="adjust")
    order(tenant, "o7", erin, 500, utc(2, 28, 23))
    order(tenant, "o2", alice, 2000, utc(3, 1, 10), "L1", rewards=["coffee"])
    order(tenant, "o4", None, 1500, utc(3, 3, 12), "L1")
    order(tenant, "o5", bob, 4000, utc(3, 4, 12), "L2")
    cancel(tenant, "o5", utc(3, 5, 12))
    with happened_at(utc(3, 6, 12)):
        earn(erin, -5, kind="expire")
    order(tenant, "o3", bob, 3000, utc(3, 7, 22, 30), "L2")
    order(tenant, "o6", erin, 5000, utc(3, 7, 23))
    return people


def test_period_figures_count_local_days_edges_cancels_and_guests(tenant, restaurant):
    seen = overview(tenant.id, PERIOD, NOW)

    # o2, o7 (00:00 local on the first day), the guest's o4, o3 (23:30 local on the last day);
    # o5 was cancelled, o6 is on the day after (00:00 local).
    assert seen.current == Figures(
        members=4,  # alice, erin, bob, carol; dave joined at 00:00 of the day after
        new_members=3,  # erin (00:00 local of the first day), bob, carol (23:30 local)
        active_members=3,
        orders=4,
        member_orders=3,
        member_sales=2000 + 500 + 3000,
        guest_sales=1500,
        points_earned=20 + 5 + 40 - 40 + 30,  # o5's earn and its reversal net out
        points_redeemed=15,
        points_expired=5,
        liability_points=10 + 10 + 20 - 15 + 5 + 30 - 5,
    )
    assert seen.current.guest_orders == 1
    assert seen.current.points_expired == 5  # erin's, on 03-06
    assert seen.current.member_order_share == 3 / 4
    assert seen.current.visit_frequency == 1.0
    assert seen.current.redemption_rate == 15 / 55
    assert seen.current.member_average_order == 1833  # 5500 / 3 = 1833.33
    assert seen.current.guest_average_order == 1500


def test_previous_period_is_the_week_before(tenant, restaurant):
    seen = overview(tenant.id, PERIOD, NOW)

    assert seen.previous == Figures(
        members=1,
        new_members=1,
        active_members=1,
        orders=1,
        member_orders=1,
        member_sales=1000,
        guest_sales=0,
        points_earned=10,
        points_redeemed=0,
        points_expired=0,
        liability_points=20,  # o1's 10 and the adjustment's 10
    )


def test_buckets_are_local_days_with_running_members_and_liability(tenant, restaurant):
    seen = overview(tenant.id, PERIOD, NOW)

    rows = overview_rows(seen)
    assert OVERVIEW_COLUMNS[0] == "bucket"
    assert [dict(zip(OVERVIEW_COLUMNS, row, strict=True)) for row in rows] == [
        _row("2026-03-01", 2, 1, 2, 2, 2, 25, 15, 0, 30, 2500, 0),
        _row("2026-03-02", 3, 1, 0, 0, 0, 0, 0, 0, 30, 0, 0),
        _row("2026-03-03", 3, 0, 0, 1, 0, 0, 0, 0, 30, 0, 1500),
        _row("2026-03-04", 3, 0, 0, 0, 0, 40, 0, 0, 70, 0, 0),  # o5's order cancelled later
        _row("2026-03-05", 3, 0, 0, 0, 0, -40, 0, 0, 30, 0, 0),  # its earn reversed
        _row("2026-03-06", 3, 0, 0, 0, 0, 0, 0, 5, 25, 0, 0),
        _row("2026-03-07", 4, 1, 1, 1, 1, 30, 0, 0, 55, 3000, 0),
    ]


def _row(*values):
    return dict(zip(OVERVIEW_COLUMNS, values, strict=True))


def test_location_narrows_order_figures_only(tenant, restaurant):
    seen = overview(tenant.id, PERIOD, NOW, location="L1")

    assert seen.current == Figures(
        members=4,
        new_members=3,
        active_members=1,  # alice
        orders=2,  # o2 and the guest's o4
        member_orders=1,
        member_sales=2000,
        guest_sales=1500,
        points_earned=20,
        points_redeemed=15,
        points_expired=5,  # programme-wide
        liability_points=55,  # programme-wide
    )
    assert seen.locations == ("L1", "L2")
    assert [r.title for r in seen.rewards] == ["Coffee"]
    assert overview(tenant.id, PERIOD, NOW, location="L2").rewards == ()


def test_return_rate_of_first_time_members(tenant, restaurant):
    seen = overview(tenant.id, PERIOD, NOW)

    # erin first ordered 03-01 00:00 local and again 03-08; bob's first order (o5) was
    # cancelled, so his first is o3 on 03-07. On 03-20 both still have 30 days running: erin
    # being back already does not count yet, or a recent period would only count returns.
    assert seen.return_rate == ReturnRate(first_time_members=2, returned=0, still_open=2)
    assert seen.return_rate.rate is None
    # alice: first 02-26, back on 03-01.
    assert seen.previous_return_rate == ReturnRate(1, 0, 1)  # her 30 days end on 03-28
    # On 04-10 every window is over: erin came back within hers, bob did not.
    later = overview(tenant.id, PERIOD, datetime(2026, 4, 10, tzinfo=UTC))
    assert later.return_rate == ReturnRate(first_time_members=2, returned=1, still_open=0)
    assert later.return_rate.rate == 0.5


def test_liability_is_the_sum_of_balances_priced_at_the_best_money_reward(tenant, restaurant):
    up_to_today = Period(date(2026, 3, 1), date(2026, 3, 20), ZONE)

    seen = overview(tenant.id, up_to_today, NOW)

    balances = db.session.scalar(select(func.sum(Account.points_balance)))
    assert seen.current.liability_points == balances == 55 + 50
    # Big treat: 1200 for 200 points (6 a point) beats Coffee (50 for 15); the archived one
    # and the free fries do not count.
    assert seen.liability.points == 105
    assert seen.liability.money == 105 * 6
    assert seen.liability.reward_title == "Big treat"


def test_rewards_redeemed_by_reward(tenant, restaurant):
    seen = overview(tenant.id, PERIOD, NOW)

    assert [(r.title, r.redemptions, r.points) for r in seen.rewards] == [("Coffee", 1, 15)]


def test_no_money_reward_leaves_the_liability_unpriced(tenant):
    earn(customer(tenant, external_id="x"), 40)
    now = datetime.now(UTC)  # the ledger's clock

    seen = overview(tenant.id, Period(now.date(), now.date(), "UTC"), now)

    assert seen.liability.money is None
    assert seen.liability.reward_title is None
    assert seen.current.redemption_rate == 0.0
    assert seen.current.guest_average_order is None


def test_coupons_issued_and_redeemed_by_campaign(tenant):
    tenant.time_zone = ZONE
    db.session.commit()
    ann, ben = customer(tenant, external_id="ann"), customer(tenant, external_id="ben")
    with happened_at(utc(3, 2, 12)):
        running(tenant, welcome_series(), utc(3, 2, 12))  # a coupon each, issued 03-02
    [ann_coupon], [ben_coupon] = coupons_of(ann), coupons_of(ben)
    with happened_at(utc(3, 7, 22, 30)):  # 23:30 local on the last day: used in the period
        record_order(
            tenant,
            OrderReport(
                "c1",
                ann.id,
                payment_amount=1000,
                location_id="L1",
                ordered_at=utc(3, 7, 22, 30),
                payload={"discounts": [{"programId": ann_coupon.code, "amount": 500}]},
            ),
            utc(3, 7, 22, 30),
        )
    with happened_at(utc(3, 7, 23)):  # 00:00 local the day after: not in the period
        record_order(
            tenant,
            OrderReport(
                "c2",
                ben.id,
                payment_amount=1000,
                ordered_at=utc(3, 7, 23),
                payload={"discounts": [{"programId": ben_coupon.code, "amount": 500}]},
            ),
            utc(3, 7, 23),
        )
    assert {c.status for c in coupons_of(ann) + coupons_of(ben)} == {"USED"}

    seen = overview(tenant.id, PERIOD, NOW)

    assert [(c.campaign_key, c.name, c.issued, c.redeemed) for c in seen.coupons] == [
        ("welcome", "Welcome series", 2, 1)
    ]
    at_l2 = overview(tenant.id, PERIOD, NOW, location="L2").coupons
    assert [(c.issued, c.redeemed) for c in at_l2] == [(2, 0)]  # issued is programme-wide
    assert overview(tenant.id, PERIOD.previous(), NOW).coupons == ()


def test_a_return_counts_within_thirty_days_only(tenant):
    tenant.time_zone = ZONE
    db.session.commit()
    back, late, once = (customer(tenant, external_id=name) for name in ("back", "late", "once"))
    order(tenant, "b1", back, 100, utc(3, 2, 12))
    order(tenant, "b2", back, 100, utc(3, 31, 12))  # 29 days later
    order(tenant, "l1", late, 100, utc(3, 3, 12))
    order(tenant, "l2", late, 100, utc(4, 3, 12))  # 31 days later
    order(tenant, "o1", once, 100, utc(3, 6, 12))

    after_a_while = overview(tenant.id, PERIOD, utc(5, 1, 0)).return_rate
    on_the_20th = overview(tenant.id, PERIOD, NOW).return_rate

    assert after_a_while == ReturnRate(first_time_members=3, returned=1, still_open=0)
    assert after_a_while.rate == 1 / 3
    # On 03-20 nobody's 30 days are over, and nobody is back yet: no rate to give.
    assert on_the_20th == ReturnRate(3, 0, 3)
    assert on_the_20th.rate is None


def test_homes_glance_has_the_overviews_figures_without_its_distinct_counts(tenant, restaurant):
    seen, glanced = overview(tenant.id, PERIOD, NOW), glance(tenant.id, PERIOD, NOW)

    assert glanced.current == replace(seen.current, active_members=0)
    assert [entry.bucket for entry in glanced.buckets] == [entry.bucket for entry in seen.buckets]
    assert [entry.figures for entry in glanced.buckets] == [
        replace(entry.figures, active_members=0) for entry in seen.buckets
    ]
