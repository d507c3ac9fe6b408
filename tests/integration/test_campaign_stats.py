"""A campaign's figures since it started (services.campaigns.stats), on both databases: members
per state at the end of each day or week read from the history, its messages by outcome, and its
members' orders and revenue; another restaurant's campaign of the same id never counts."""

from datetime import date, timedelta

import pytest

from loyalty.services.accounts.profile import Profile, update_profile
from loyalty.services.campaigns.engine import acknowledge_message, redeem_at_till
from loyalty.services.campaigns.lifecycle import finalise_campaign
from loyalty.services.campaigns.stats import MessageCounts, campaign_stats
from loyalty.services.campaigns.store import save_campaign
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
