"""Campaign flows driven by Deliverect orders: coupon -> order -> wallet, and cancels undone."""

import time
from datetime import timedelta

import pytest

from loyalty.extensions import db
from loyalty.models import Account, AccountTag, LedgerEntry, MembershipEvent, OutboxMessage
from loyalty.services.campaigns import engine
from loyalty.services.campaigns.store import campaign_json, get_campaign
from loyalty.services.wallet.ledger import ledger_sum
from loyalty.time import utcnow
from tests.support.accounts import customer
from tests.support.campaigns import coupons_of, membership, running, welcome_series
from tests.support.deliverect import order_body


@pytest.fixture()
def jane(tenant):
    return customer(
        tenant, external_id="jane-1", email="jane@x.com", first_name="Jane", marketing_consent=True
    )


def place(deliverect, tenant, account, order_id: str, discounts=(), payment=899):
    """The order through the signed webhook: the order service moves the campaigns."""
    body = order_body(account, order_id, discounts=list(discounts), payment=payment)
    assert deliverect.post("/orders", body, with_ids=True).status_code == 200
    db.session.expire_all()


def cancel(deliverect, tenant, account, order_id: str):
    body = {
        "orderId": order_id,
        "isCancelled": True,
        "customer": {"loyaltyProviderCustomerId": account.external_id},
    }
    assert deliverect.post("/orders/cancel", body, with_ids=True).status_code == 200
    db.session.expire_all()


def points(account) -> int:
    return db.session.get(Account, account.id, populate_existing=True).points_balance


def campaign_points(account) -> int:
    return sum(
        entry.amount
        for entry in db.session.query(LedgerEntry).filter_by(account_id=account.id)
        if entry.idempotency_key.startswith("campaign:")
    )


def test_welcome_series_follows_the_orders_and_cancels_put_everything_back(
    deliverect, tenant, jane
):
    series = welcome_series()
    # Two orders: the one that uses the coupon counts as the first.
    series["states"][1]["count"] = 2
    campaign = running(tenant, series, utcnow())
    assert membership(campaign, jane).state_id == "coupon"
    [coupon] = coupons_of(jane)
    assert coupon.status == "ACTIVE" and coupon.code.startswith("NEW") and coupon.value == 500

    typed = coupon.code.lower()[:5] + "-" + coupon.code.lower()[5:]
    place(deliverect, tenant, jane, "O1", [{"programId": typed, "amount": 500}])
    [coupon] = coupons_of(jane)
    assert coupon.status == "USED"
    assert membership(campaign, jane).state_id == "order"
    before_bonus = points(jane)

    place(deliverect, tenant, jane, "O2")
    done = membership(campaign, jane)
    assert (done.state_id, done.status) == (None, "completed")
    assert campaign_points(jane) == 100
    assert points(jane) == before_bonus + 100 + 8  # the bonus and what O2 earned

    # The same order again moves nobody and credits nothing.
    place(deliverect, tenant, jane, "O2")
    assert campaign_points(jane) == 100

    cancel(deliverect, tenant, jane, "O2")
    back = membership(campaign, jane)
    assert (back.state_id, back.status) == ("order", "active")
    assert campaign_points(jane) == 0

    cancel(deliverect, tenant, jane, "O1")
    assert membership(campaign, jane).state_id == "coupon"
    [coupon] = coupons_of(jane)
    assert (coupon.status, coupon.used_order_id) == ("ACTIVE", None)
    account = db.session.get(Account, jane.id, populate_existing=True)
    assert account.points_balance == ledger_sum(jane.id) == 0
    # Cancelling again changes nothing; the history keeps every move.
    cancel(deliverect, tenant, jane, "O1")
    assert membership(campaign, jane).state_id == "coupon"
    reasons = [
        event.reason for event in db.session.query(MembershipEvent).order_by(MembershipEvent.seq)
    ]
    assert reasons == ["join", "coupon_redeemed", "order", "wallet", "reversed", "reversed"]
    exported = campaign_json(get_campaign(tenant.id, "welcome"))
    assert exported["initialized"] is True and exported["cnt"] == 1


def test_a_coupon_given_back_after_its_date_expires_and_ends_the_flow(deliverect, tenant, jane):
    # Issued so that its 30 days end a moment from now: used in time, given back too late.
    issued_at = utcnow() - timedelta(days=30) + timedelta(seconds=1)
    campaign = running(tenant, welcome_series(), issued_at)
    [coupon] = coupons_of(jane)
    place(deliverect, tenant, jane, "O1", [{"programId": coupon.code, "amount": 500}])
    assert coupons_of(jane)[0].status == "USED"
    time.sleep(max(0.0, (coupon.valid_to - utcnow()).total_seconds()) + 0.05)
    cancel(deliverect, tenant, jane, "O1")
    [coupon] = coupons_of(jane)
    assert coupon.status == "EXPIRED"
    ended = membership(campaign, jane)
    assert (ended.state_id, ended.status) == (None, "completed")


def test_a_member_moves_on_when_it_acknowledges_the_message(tenant, jane):
    series = welcome_series(
        id="news",
        states=[
            {
                "id": "hello",
                "type": "MESSAGE",
                "title": "Hello",
                "message": "Welcome!",
                "transitionTo": "gift",
            },
            {"id": "gift", "type": "WALLET", "points": 10},
        ],
    )
    campaign = running(tenant, series, utcnow())
    assert membership(campaign, jane).state_id == "hello"
    [message] = db.session.query(OutboxMessage).filter_by(account_id=jane.id).all()
    assert (message.kind, message.title, message.campaign_key) == (
        "campaign_message",
        "Hello",
        "news",
    )
    assert engine.acknowledge_message(tenant.id, jane.id, "news") is True
    assert membership(campaign, jane).status == "completed"
    assert points(jane) == 10
    assert engine.acknowledge_message(tenant.id, jane.id, "news") is False


def test_an_account_change_lets_it_into_a_dynamic_campaign(tenant, jane):
    vip_only = [{"field": "tags.vip", "op": "EXISTS", "value": []}]
    hello = {"type": "DYNAMIC_JOIN", "title": "You're in", "message": "A treat awaits"}
    series = welcome_series(dynamic=True, constraints=vip_only, notifications=[hello])
    campaign = running(tenant, series, utcnow())
    assert membership(campaign, jane) is None
    db.session.add(AccountTag(account_id=jane.id, tag="vip", tenant_id=tenant.id))
    engine.on_account_changed(tenant.id, jane.id)
    db.session.commit()
    assert membership(campaign, jane).state_id == "coupon"
    assert len(coupons_of(jane)) == 1
    kinds = [m.kind for m in db.session.query(OutboxMessage).filter_by(account_id=jane.id)]
    assert kinds == ["dynamic_join"]
