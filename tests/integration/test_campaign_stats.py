"""A campaign's figures (services.campaigns.stats), on both databases: since it started, members
per state at the end of each day or week read from the history, its messages by outcome, and its
members' orders and revenue; every campaign side by side in a fixed number of queries; within a
period, the moves into and out of each state, coupons and pushes, edges included; all-time, as
the campaign's JSON says. Another restaurant's campaign of the same id never counts."""

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event
from werkzeug.exceptions import NotFound

from loyalty.extensions import db
from loyalty.services.accounts.profile import Profile, update_profile
from loyalty.services.campaigns.coupons import expire_due_coupons
from loyalty.services.campaigns.engine import acknowledge_message, redeem_at_till
from loyalty.services.campaigns.lifecycle import finalise_campaign
from loyalty.services.campaigns.pushes import PushTotals, record_click, register_push
from loyalty.services.campaigns.stats import (
    CampaignSummary,
    MessageCounts,
    StatePeriodCounts,
    campaign_period_stats,
    campaign_stats,
    campaigns_side_by_side,
    global_campaign_stats,
)
from loyalty.services.campaigns.store import campaign_json, get_campaign, save_campaign
from loyalty.services.checkout.orders import OrderReport, record_order
from loyalty.services.notifications.outbox import deliver_due
from loyalty.time import to_iso, utcnow
from tests.support.accounts import customer
from tests.support.campaigns import NOW, coupons_of, running, welcome_series
from tests.support.deliverect import order_body

VIP_ONLY = [{"field": "tags.vip", "op": "EXISTS", "value": []}]


def greeting() -> dict:
    """For VIPs: a message to acknowledge, then a coupon (3.00 off), then 10 points."""
    return welcome_series(
        id="greeting",
        name="Greeting",
        constraints=VIP_ONLY,
        states=[
            {
                "id": "hello",
                "type": "MESSAGE",
                "title": "Hello",
                "message": "Welcome!",
                "transitionTo": "treat",
            },
            {
                "id": "treat",
                "type": "COUPON",
                "couponType": "AMOUNT",
                "value": 300,
                "validDays": 30,
                "title": "3.00 off",
                "transitionTo": "bonus",
            },
            {"id": "bonus", "type": "WALLET", "points": 10},
        ],
    )


def vip(tenant, name: str, **fields):
    return customer(
        tenant, external_id=name, first_name=name, tags=["vip"], marketing_consent=True, **fields
    )


@pytest.fixture()
def vips(tenant):
    return [vip(tenant, name) for name in ("ann", "bob", "cy")]


@pytest.fixture()
def elsewhere(other_tenant):
    """Another restaurant running a campaign with the same id, whose member moves, is sent its
    message and orders: none of it may show in ours."""
    zed = vip(other_tenant, "zed")
    running(other_tenant, greeting())
    deliver_due(NOW + timedelta(minutes=1))
    acknowledge_message(other_tenant.id, zed.id, "greeting", NOW + timedelta(hours=1))
    record_order(
        other_tenant,
        OrderReport("Z-1", zed.id, payment_amount=9_999, ordered_at=NOW + timedelta(days=1)),
        NOW + timedelta(days=1),
    )
    return other_tenant


def history(stats) -> list[tuple[date, dict]]:
    return [(counts.day, dict(counts.members)) for counts in stats.history]


def place(deliverect, account, order_id: str, payment: int, at) -> None:
    body = {
        **order_body(account, order_id, payment=payment, created=to_iso(at)),
        "customer": {"loyaltyProviderCustomerId": account.external_id},
    }
    assert deliverect.post("/orders", body, with_ids=True).status_code == 200


def cancel(deliverect, account, order_id: str) -> None:
    body = {
        "orderId": order_id,
        "isCancelled": True,
        "customer": {"loyaltyProviderCustomerId": account.external_id},
    }
    assert deliverect.post("/orders/cancel", body, with_ids=True).status_code == 200


# --- members per state over time


def test_members_per_state_are_counted_at_the_end_of_each_day(tenant, vips, elsewhere):
    ann, bob, _cy = vips
    running(tenant, greeting())  # 1 June, 12:00
    acknowledge_message(tenant.id, ann.id, "greeting", NOW + timedelta(days=1))
    acknowledge_message(tenant.id, bob.id, "greeting", NOW + timedelta(days=2))
    [coupon] = coupons_of(ann)
    assert redeem_at_till(tenant.id, coupon.code, NOW + timedelta(days=2, hours=1), None).valid
    stats = campaign_stats(tenant.id, "greeting", NOW + timedelta(days=2, hours=21))
    assert stats.since == NOW and stats.period == "day"
    assert history(stats) == [
        (date(2026, 6, 1), {"hello": 3}),
        (date(2026, 6, 2), {"hello": 2, "treat": 1}),
        (date(2026, 6, 3), {"hello": 1, "treat": 1}),  # ann has finished: in no state
        (date(2026, 6, 4), {"hello": 1, "treat": 1}),  # today, counted now
    ]
    assert stats.most_members == 3


def test_a_move_just_before_midnight_counts_on_its_day(tenant, vips):
    running(tenant, greeting())
    acknowledge_message(tenant.id, vips[0].id, "greeting", NOW + timedelta(hours=11, minutes=59))
    stats = campaign_stats(tenant.id, "greeting", NOW + timedelta(days=1))
    assert history(stats) == [
        (date(2026, 6, 1), {"hello": 2, "treat": 1}),
        (date(2026, 6, 2), {"hello": 2, "treat": 1}),
    ]


def test_a_cancelled_order_puts_its_member_back_in_the_state_it_left(deliverect, tenant):
    jane = vip(tenant, "jane")
    running(tenant, welcome_series(constraints=VIP_ONLY), utcnow())  # coupon -> order -> bonus
    [coupon] = coupons_of(jane)
    body = order_body(jane, "J-1", discounts=[{"programId": coupon.code, "amount": 500}])
    assert deliverect.post("/orders", body, with_ids=True).status_code == 200
    # The order used the coupon and counted for the order state: the flow is done.
    assert campaign_stats(tenant.id, "welcome", utcnow()).history[-1].members == {}
    cancel(deliverect, jane, "J-1")
    assert campaign_stats(tenant.id, "welcome", utcnow()).history[-1].members == {"coupon": 1}


def test_a_campaign_of_more_than_60_days_is_counted_week_by_week(tenant, vips):
    running(tenant, greeting())
    acknowledge_message(tenant.id, vips[0].id, "greeting", NOW + timedelta(days=8))
    daily = campaign_stats(tenant.id, "greeting", NOW + timedelta(days=59))  # its 60th day
    assert (daily.period, len(daily.history)) == ("day", 60)
    stats = campaign_stats(tenant.id, "greeting", NOW + timedelta(days=90))
    assert (stats.period, len(stats.history)) == ("week", 13)
    assert history(stats)[:2] == [
        (date(2026, 6, 7), {"hello": 3}),
        (date(2026, 6, 14), {"hello": 2, "treat": 1}),
    ]
    assert stats.history[-1].day == date(2026, 8, 30)


def test_a_finalised_campaign_is_counted_until_it_was_finalised(tenant, vips):
    running(tenant, greeting())
    finalise_campaign(tenant.id, "greeting", NOW + timedelta(days=4))
    stats = campaign_stats(tenant.id, "greeting", NOW + timedelta(days=300))
    assert stats.period == "day"
    assert history(stats)[-1] == (date(2026, 6, 5), {"hello": 3})
    assert len(stats.history) == 5


def test_a_draft_has_no_figures_yet(tenant):
    save_campaign(tenant.id, greeting(), NOW)
    assert campaign_stats(tenant.id, "greeting", NOW) is None


# --- messages


def test_messages_are_counted_waiting_sent_acknowledged_and_failed(tenant, vips, elsewhere):
    ann, _bob, cy = vips
    running(tenant, greeting())
    assert campaign_stats(tenant.id, "greeting", NOW).messages.waiting == 3
    # Cy withdraws consent before the message goes: it fails instead.
    update_profile(tenant.id, cy.id, Profile(first_name="cy", marketing_consent=False))
    deliver_due(NOW + timedelta(minutes=1))
    acknowledge_message(tenant.id, ann.id, "greeting", NOW + timedelta(hours=1))
    stats = campaign_stats(tenant.id, "greeting", NOW + timedelta(hours=2))
    assert stats.messages == MessageCounts(sent=2, acknowledged=1, failed=1, waiting=0)


# --- orders and revenue


def test_orders_and_revenue_are_members_placed_orders_since_the_start(
    deliverect, tenant, vips, elsewhere
):
    ann, bob, _cy = vips
    stranger = customer(tenant, external_id="stranger")
    running(tenant, greeting())
    place(deliverect, ann, "A-0", 700, NOW - timedelta(minutes=1))  # before the start
    place(deliverect, ann, "A-1", 100, NOW)
    place(deliverect, ann, "A-2", 1_250, NOW + timedelta(days=1))
    place(deliverect, bob, "B-1", 899, NOW + timedelta(days=2))
    place(deliverect, bob, "B-2", 4_000, NOW + timedelta(days=2))
    cancel(deliverect, bob, "B-2")
    place(deliverect, stranger, "S-1", 5_000, NOW + timedelta(days=1))  # not a member
    stats = campaign_stats(tenant.id, "greeting", NOW + timedelta(days=3))
    assert (stats.orders, stats.revenue) == (3, 100 + 1_250 + 899)


def test_a_finalised_campaign_stops_counting_its_former_members_orders(tenant, vips):
    ann, bob, _cy = vips
    running(tenant, greeting())
    order(tenant, ann, "A-1", 100, NOW + timedelta(hours=1))
    finalise_campaign(tenant.id, "greeting", NOW + timedelta(days=1))
    order(tenant, bob, "B-1", 900, NOW + timedelta(days=2))  # after the end

    stats = campaign_stats(tenant.id, "greeting", NOW + timedelta(days=3))
    assert (stats.orders, stats.revenue) == (1, 100)
    (summary,) = campaigns_side_by_side(tenant.id, NOW + timedelta(days=3))
    assert (summary.status, summary.orders, summary.revenue) == ("finalised", 1, 100)


# --- every campaign side by side


def order(tenant, account, order_id: str, payment: int, at, *coupon_codes: str) -> None:
    """An order placed at `at` (naming `coupon_codes` as Deliverect names coupons), recorded
    then."""
    discounts = [{"programId": code, "amount": 300} for code in coupon_codes]
    account_id = account.id if account is not None else None
    report = OrderReport(
        order_id,
        account_id,
        payment_amount=payment,
        ordered_at=at,
        payload={"discounts": discounts},
    )
    record_order(tenant, report, at)


@contextmanager
def counted_queries():
    statements: list[str] = []

    def count(_connection, _cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_campaigns_side_by_side_have_their_own_figures_since_their_start(tenant, vips, elsewhere):
    ann, bob, _cy = vips
    stranger = customer(tenant, external_id="stranger")
    running(tenant, greeting())  # NOW: ann, bob and cy, each sent a message
    deliver_due(NOW + timedelta(minutes=1))
    acknowledge_message(tenant.id, ann.id, "greeting", NOW + timedelta(hours=1))  # her coupon
    order(tenant, ann, "A-1", 1_000, NOW + timedelta(hours=2))  # before welcome started
    running(tenant, welcome_series(), NOW + timedelta(days=1))  # everyone: a coupon each
    order(tenant, bob, "B-1", 2_000, NOW + timedelta(days=1, hours=1))
    order(tenant, stranger, "S-1", 500, NOW + timedelta(days=1, hours=2))
    order(tenant, None, "G-1", 9_000, NOW + timedelta(days=1, hours=3))  # a guest's
    save_campaign(tenant.id, welcome_series(id="later", name="Later"), NOW + timedelta(days=2))

    assert campaigns_side_by_side(tenant.id, NOW + timedelta(days=3)) == [
        CampaignSummary("later", "Later", "STANDARD", "draft", 0, 0, 0, 0, 0, 0, 0, 0),
        CampaignSummary(
            "welcome", "Welcome series", "STANDARD", "running",
            members=4, coupons_issued=4, coupons_redeemed=0, coupons_expired=0,
            messages_sent=0, messages_acknowledged=0, orders=2, revenue=2_000 + 500,
        ),
        CampaignSummary(
            "greeting", "Greeting", "STANDARD", "running",
            members=3, coupons_issued=1, coupons_redeemed=0, coupons_expired=0,
            messages_sent=3, messages_acknowledged=1, orders=2, revenue=1_000 + 2_000,
        ),
    ]  # fmt: skip


def test_side_by_side_reads_the_same_number_of_queries_for_any_number_of_campaigns(tenant, vips):
    running(tenant, greeting())
    with counted_queries() as one:
        assert len(campaigns_side_by_side(tenant.id, NOW)) == 1
    running(tenant, welcome_series(), NOW)
    running(tenant, welcome_series(id="again", name="Again"), NOW)
    save_campaign(tenant.id, welcome_series(id="draft", name="Draft"), NOW)
    db.session.expire_all()
    with counted_queries() as four:
        assert len(campaigns_side_by_side(tenant.id, NOW)) == 4
    assert len(four) == len(one) <= 6


# --- one campaign within a period


def moves(stats) -> list[tuple[str, int, int, int]]:
    return [(state.state, state.entered, state.left, state.current) for state in stats.states]


def test_moves_within_a_period_count_its_start_but_not_its_end(tenant, vips, elsewhere):
    ann, bob, _cy = vips
    running(tenant, greeting())  # all three enter hello at NOW
    acknowledge_message(tenant.id, ann.id, "greeting", NOW + timedelta(days=1))  # -> treat
    acknowledge_message(tenant.id, bob.id, "greeting", NOW + timedelta(days=2))  # -> treat
    first = campaign_period_stats(tenant.id, "greeting", NOW, NOW + timedelta(days=1))
    assert first.states[0] == StatePeriodCounts("hello", "MESSAGE", 3, 0, 3)
    assert moves(first) == [("hello", 3, 0, 3), ("treat", 0, 0, 0), ("bonus", 0, 0, 0)]
    second = campaign_period_stats(
        tenant.id, "greeting", NOW + timedelta(days=1), NOW + timedelta(days=2)
    )
    # Ann's move at the start counts, Bob's at the end does not: he is still in hello then.
    assert moves(second) == [("hello", 0, 1, 2), ("treat", 1, 0, 1), ("bonus", 0, 0, 0)]
    assert [state.type for state in second.states] == ["MESSAGE", "COUPON", "WALLET"]
    assert (second.coupons_issued, second.coupons_used, second.coupons_expired) == (1, 0, 0)
    # One period's end is the next one's start.
    for before, after in zip(first.states, second.states, strict=True):
        assert after.current == before.current + after.entered - after.left
    before = campaign_period_stats(tenant.id, "greeting", NOW - timedelta(days=1), NOW)
    assert moves(before) == [("hello", 0, 0, 0), ("treat", 0, 0, 0), ("bonus", 0, 0, 0)]


def test_a_cancelled_order_moves_its_member_back_within_the_period(deliverect, tenant):
    jane = vip(tenant, "jane")
    start = utcnow()
    running(tenant, welcome_series(constraints=VIP_ONLY), start)  # coupon -> order -> bonus
    [coupon] = coupons_of(jane)
    body = order_body(jane, "J-1", discounts=[{"programId": coupon.code, "amount": 500}])
    assert deliverect.post("/orders", body, with_ids=True).status_code == 200
    cancel(deliverect, jane, "J-1")
    stats = campaign_period_stats(tenant.id, "welcome", start, utcnow() + timedelta(seconds=1))
    # Into coupon twice (joined, reversed); out of it, into and out of order and bonus once.
    assert moves(stats) == [("coupon", 2, 1, 1), ("order", 1, 1, 0), ("bonus", 1, 1, 0)]


def test_coupons_used_and_expired_within_a_period(tenant, vips):
    ann, bob, _cy = vips
    running(tenant, greeting())
    acknowledge_message(tenant.id, ann.id, "greeting", NOW + timedelta(days=1))
    acknowledge_message(tenant.id, bob.id, "greeting", NOW + timedelta(days=2))
    [ann_coupon], [bob_coupon] = coupons_of(ann), coupons_of(bob)
    used_at = NOW + timedelta(days=2, hours=1)
    order(tenant, ann, "A-1", 1_500, used_at, ann_coupon.code)
    expire_due_coupons(bob_coupon.valid_to)
    [bob_coupon] = coupons_of(bob)
    assert bob_coupon.status == "EXPIRED"

    def coupons(start, end) -> tuple[int, int, int]:
        stats = campaign_period_stats(tenant.id, "greeting", start, end)
        return stats.coupons_issued, stats.coupons_used, stats.coupons_expired

    second = timedelta(seconds=1)
    assert coupons(NOW, NOW + timedelta(days=2)) == (1, 0, 0)  # Bob's is issued at the end
    assert coupons(used_at - timedelta(hours=1), used_at) == (1, 0, 0)
    assert coupons(used_at, used_at + second) == (0, 1, 0)
    assert coupons(bob_coupon.valid_to - timedelta(hours=1), bob_coupon.valid_to) == (0, 0, 0)
    assert coupons(bob_coupon.valid_to, bob_coupon.valid_to + second) == (0, 0, 1)
    assert coupons(NOW, bob_coupon.valid_to + second) == (2, 1, 1)


def test_pushes_sent_and_clicked_within_a_period(tenant, vips, other_tenant):
    ann, bob, _cy = vips
    running(tenant, greeting())
    running(other_tenant, greeting())
    register_push(tenant.id, "greeting", "first", NOW + timedelta(hours=1))
    register_push(tenant.id, "greeting", "second", NOW + timedelta(days=1))
    register_push(other_tenant.id, "greeting", "theirs", NOW + timedelta(hours=1))
    record_click(tenant.id, bob.id, "greeting", "first", NOW + timedelta(hours=3))
    record_click(tenant.id, ann.id, "greeting", "first", NOW + timedelta(days=1, hours=2))

    def pushes(start, end) -> PushTotals:
        return campaign_period_stats(tenant.id, "greeting", start, end).pushes

    assert pushes(NOW, NOW + timedelta(days=1)) == PushTotals(sent=1, clicked=1)
    # A click counts when it is made, whenever its push was sent.
    assert pushes(NOW + timedelta(days=1), NOW + timedelta(days=2)) == PushTotals(1, 1)
    assert pushes(NOW + timedelta(days=2), NOW + timedelta(days=3)) == PushTotals(0, 0)


def test_after_its_finalisation_nobody_is_in_a_state(tenant, vips):
    running(tenant, greeting())
    finalise_campaign(tenant.id, "greeting", NOW + timedelta(days=1))
    still = campaign_period_stats(tenant.id, "greeting", NOW, NOW + timedelta(days=1))
    assert moves(still) == [("hello", 3, 0, 3), ("treat", 0, 0, 0), ("bonus", 0, 0, 0)]
    ended = campaign_period_stats(tenant.id, "greeting", NOW, NOW + timedelta(days=2))
    assert moves(ended) == [("hello", 3, 0, 0), ("treat", 0, 0, 0), ("bonus", 0, 0, 0)]


def test_another_restaurants_campaign_is_unknown(tenant, elsewhere):
    with pytest.raises(NotFound):
        campaign_period_stats(tenant.id, "greeting", NOW, NOW + timedelta(days=1))
    with pytest.raises(NotFound):
        global_campaign_stats(tenant.id, "greeting")


# --- one campaign, all-time


def test_all_time_figures_are_the_campaigns_own(tenant, vips, elsewhere):
    ann, bob, cy = vips
    running(tenant, greeting())
    for account in vips:
        acknowledge_message(tenant.id, account.id, "greeting", NOW + timedelta(hours=1))
    [ann_coupon], [bob_coupon], _cys = coupons_of(ann), coupons_of(bob), coupons_of(cy)
    order(tenant, ann, "A-1", 1_500, NOW + timedelta(hours=2), ann_coupon.code)
    assert redeem_at_till(tenant.id, bob_coupon.code, NOW + timedelta(hours=3), None).valid
    expire_due_coupons(NOW + timedelta(days=40))  # cy's
    register_push(tenant.id, "greeting", "first", NOW + timedelta(hours=1))
    record_click(tenant.id, ann.id, "greeting", "first", NOW + timedelta(hours=2))
    record_click(tenant.id, bob.id, "greeting", "first", NOW + timedelta(hours=2))

    stats = global_campaign_stats(tenant.id, "greeting")
    wire = campaign_json(get_campaign(tenant.id, "greeting"))
    assert (stats.campaign, stats.name, stats.initialized) == ("greeting", "Greeting", True)
    assert stats.cnt == wire["cnt"] == 3
    # Everyone finished hello; Ann and Bob finished treat and bonus (Cy's coupon expired).
    assert stats.state_stats == wire["stateStats"]
    assert stats.state_stats["hello"] == 3
    assert (stats.coupons_issued, stats.coupons_used, stats.coupons_expired) == (3, 2, 1)
    assert stats.pushes == PushTotals(sent=1, clicked=2)
