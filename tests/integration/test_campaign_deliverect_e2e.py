"""End to end through the signed Deliverect webhooks: a coupon -> order -> wallet campaign is
imported and initialised, its coupon listed free, validated, used by an order that runs the
flow to its bonus points, and a cancel puts everything back."""

from loyalty.extensions import db
from loyalty.models import Account, LedgerEntry, MembershipEvent
from loyalty.services.campaigns.lifecycle import initialise_campaign
from loyalty.services.campaigns.store import import_campaigns
from loyalty.services.wallet.ledger import ledger_sum
from loyalty.time import utcnow
from tests.support.campaigns import coupons_of, membership, order_row, welcome_series
from tests.support.deliverect import basket_order, order_body


def sign_up(deliverect) -> Account:
    body = {"firstName": "Jane", "lastName": "Doe", "email": "jane@x.com"}
    response = deliverect.post("/customer", body, with_ids=True)
    assert response.status_code == 200, response.get_json()
    return db.session.query(Account).filter_by(external_id=response.get_json()["providerId"]).one()


def place(deliverect, tenant, order_id: str, body: dict):
    """The order webhook; the order service moves the campaigns in the same transaction."""
    response = deliverect.post("/orders", body, with_ids=True)
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    return response.get_json()


def cancel(deliverect, tenant, jane, order_id: str):
    body = {
        "orderId": order_id,
        "isCancelled": True,
        "cancellationReason": "customer changed their mind",
        "customer": {"loyaltyProviderCustomerId": jane.external_id},
    }
    response = deliverect.post("/orders/cancel", body, with_ids=True)
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()


def campaign_points(jane) -> int:
    return sum(
        entry.amount
        for entry in db.session.query(LedgerEntry).filter_by(account_id=jane.id)
        if entry.idempotency_key.startswith("campaign:")
    )


def balance(jane) -> int:
    return db.session.get(Account, jane.id, populate_existing=True).points_balance


def test_a_campaign_coupon_goes_through_deliverect_and_a_cancel_undoes_it_all(deliverect, tenant):
    jane = sign_up(deliverect)
    assert import_campaigns(tenant.id, [welcome_series()], utcnow()).created == 1
    campaign = initialise_campaign(tenant.id, "welcome", utcnow(), by="test")
    assert membership(campaign, jane).state_id == "coupon"
    [coupon] = coupons_of(jane)
    code = coupon.code

    # Deliverect lists the coupon as a free program, then validates it for the basket.
    pizza = {"plu": "P-0009", "name": "Two Tub Bundle", "price": 1399, "quantity": 1}
    order = basket_order(jane.external_id, [pizza])
    listed = deliverect.post("/programs", {"sessionId": "basket-1", "order": order}, with_ids=True)
    [program] = [p for p in listed.get_json() if p["programId"] == code]
    assert (program["cost"], program["type"], program["discount"], program["applicable"]) == (
        0,
        "discount_amount",
        500,
        True,
    )
    assert program["title"] == "5.00 off your next order"
    body = {"sessionId": "basket-1", "programIds": [code], "order": order}
    [answer] = deliverect.post("/programs/validate", body, with_ids=True).get_json()
    assert answer["validationErrors"] == []
    assert answer["discounts"][0]["offer"] == {"type": "flat_off", "value": 500}
    assert coupons_of(jane)[0].status == "LOCKED"

    # The order names the coupon in its discounts: the coupon is used, the member moves on.
    discount = {"programId": code, "name": program["title"], "type": "discount_amount"}
    first = order_body(jane, "O1", discounts=[{**discount, "amount": 500}], sessionId="basket-1")
    earned = place(deliverect, tenant, "O1", first)["pointsEarned"]
    [coupon] = coupons_of(jane)
    assert (coupon.status, coupon.used_order_id) == ("USED", order_row(tenant, "O1").id)
    # The same order counts for the ORDER state the coupon leads to, which moves on to the
    # WALLET state and its bonus: one order runs the whole flow.
    done = membership(campaign, jane)
    assert (done.state_id, done.status) == (None, "completed")
    reasons = [
        event.reason
        for event in db.session.query(MembershipEvent)
        .filter_by(membership_id=done.id)
        .order_by(MembershipEvent.seq)
    ]
    assert reasons == ["join", "coupon_redeemed", "order", "wallet"]
    assert campaign_points(jane) == 100
    assert balance(jane) == earned + 100

    first_earned = order_row(tenant, "O1").points_earned
    # Cancelling the coupon's order undoes what followed it too.
    cancel(deliverect, tenant, jane, "O1")
    [coupon] = coupons_of(jane)
    assert (coupon.status, coupon.used_order_id) == ("ACTIVE", None)
    back = membership(campaign, jane)
    assert (back.state_id, back.status) == ("coupon", "active")
    assert campaign_points(jane) == 0  # the bonus is written off by a compensating entry
    assert balance(jane) == ledger_sum(jane.id) == earned - first_earned
    # ... and Deliverect sees the coupon as a program again.
    listed = deliverect.post("/programs", {"sessionId": "basket-2", "order": order}, with_ids=True)
    assert code in [p["programId"] for p in listed.get_json()]
