"""Order and cancel webhooks (spec §7): points earned and spent once, reversed exactly."""

import pytest

from loyalty.extensions import db
from loyalty.models import Account, Hold, LedgerEntry, Order
from loyalty.services.wallet.ledger import ledger_sum
from tests.support.deliverect import (
    add_reward,
    add_tier,
    basket_order,
    checkout_customer,
    give_cash,
    item,
    order_body,
)


@pytest.fixture()
def customer(tenant):
    return checkout_customer(tenant, 300, first_name="Jane", email="jane@x.com")


@pytest.fixture()
def five_off(tenant):
    return add_reward(tenant, "1", "discount_amount", 100, 500)


def balance(customer) -> int:
    return db.session.get(Account, customer.id, populate_existing=True).points_balance


def assert_ledger_matches(customer):
    account = db.session.get(Account, customer.id, populate_existing=True)
    assert account.points_balance == ledger_sum(account.id, "points")
    assert account.cash_balance == ledger_sum(account.id, "cash")
    assert account.points_debt == ledger_sum(account.id, "debt")


def test_order_earns_points_on_what_was_paid_without_tips(deliverect, customer):
    body = order_body(customer, payment=2599, tip=500, driverTip=100)
    response = deliverect.post("/orders", body, with_ids=True)
    assert response.status_code == 200
    assert response.get_json()["pointsEarned"] == 19  # 25.99 - 6.00 = 19.99 -> 19 whole units
    assert balance(customer) == 319
    assert db.session.get(Account, customer.id).lifetime_points == 19
    assert_ledger_matches(customer)


def test_tier_multiplier_applies_to_earning(deliverect, customer, tenant):
    add_tier(tenant, "Bronze", 0, 150)
    deliverect.post("/orders", order_body(customer, payment=1000), with_ids=True)
    assert balance(customer) == 315


def test_order_commits_the_held_redemption(deliverect, customer, five_off):
    validate = {
        "sessionId": "s1",
        "programIds": ["1"],
        "order": basket_order(customer.external_id, [item("P-0009", 1399)]),
    }
    deliverect.post("/programs/validate", validate, with_ids=True)
    discounts = [{"name": "$5 off", "programId": "1", "type": "discount_amount", "amount": 500}]
    response = deliverect.post(
        "/orders", order_body(customer, discounts=discounts, sessionId="s1"), with_ids=True
    )
    assert response.get_json()["pointsSpent"] == 100
    assert balance(customer) == 300 - 100 + 8
    hold = db.session.query(Hold).one()
    assert hold.status == "committed" and hold.order_id is not None
    redeem = db.session.query(LedgerEntry).filter_by(kind="redeem").one()
    assert (redeem.amount, redeem.reward_id) == (-100, five_off.id)
    assert_ledger_matches(customer)


def test_replayed_order_changes_nothing_and_answers_200(deliverect, customer, five_off):
    discounts = [{"programId": "1", "amount": 500}]
    first = deliverect.post("/orders", order_body(customer, discounts=discounts), with_ids=True)
    entries = db.session.query(LedgerEntry).count()
    again = deliverect.post("/orders", order_body(customer, discounts=discounts), with_ids=True)
    assert again.status_code == 200
    assert again.get_json()["duplicate"] is True
    assert first.get_json()["pointsEarned"] == again.get_json()["pointsEarned"]
    assert db.session.query(LedgerEntry).count() == entries
    assert db.session.query(Order).count() == 1


def test_order_without_a_hold_redeems_what_the_balance_allows_and_flags_the_shortfall(
    deliverect, tenant, customer
):
    add_reward(tenant, "big", "discount_amount", 1000, 500)
    body = order_body(customer, discounts=[{"programId": "big", "amount": 500}], payment=0)
    response = deliverect.post("/orders", body, with_ids=True)
    assert response.status_code == 200
    order = db.session.query(Order).one()
    assert (order.points_spent, order.shortfall_points) == (300, 700)
    assert balance(customer) == 0
    assert_ledger_matches(customer)


def test_order_without_a_hold_does_not_take_points_another_basket_holds(
    deliverect, customer, five_off, tenant
):
    add_reward(tenant, "2", "discount_amount", 250, 100)
    validate = {
        "sessionId": "other",
        "programIds": ["2"],
        "order": basket_order(customer.external_id, [item("A", 1000)]),
    }
    deliverect.post("/programs/validate", validate, with_ids=True)
    body = order_body(customer, discounts=[{"programId": "1", "amount": 500}], payment=0)
    deliverect.post("/orders", body, with_ids=True)
    order = db.session.query(Order).one()
    assert (order.points_spent, order.shortfall_points) == (50, 50)
    assert balance(customer) == 250


def test_order_spends_store_credit(deliverect, customer):
    give_cash(customer, 1000, "credit")
    cash = {"provider": "loyalty", "type": "cash", "name": "Wallet", "amount": 400}
    response = deliverect.post("/orders", order_body(customer, discounts=[cash]), with_ids=True)
    assert response.get_json()["cashSpent"] == 400
    assert db.session.get(Account, customer.id, populate_existing=True).cash_balance == 600
    assert_ledger_matches(customer)


@pytest.mark.parametrize("how", ["cancel_url", "legacy_path", "flag"])
def test_cancel_reverses_exactly_what_the_order_did(deliverect, customer, five_off, how):
    give_cash(customer, 1000, "credit")
    discounts = [
        {"programId": "1", "amount": 500},
        {"provider": "loyalty", "type": "cash", "amount": 300},
    ]
    deliverect.post("/orders", order_body(customer, discounts=discounts), with_ids=True)
    assert balance(customer) == 300 - 100 + 8
    cancel = {
        "orderId": "TEST0001",
        "channelOrderDisplayId": "T4206",
        "isCancelled": True,
        "cancellationReason": "POS rejected",
        "customer": {"loyaltyProviderCustomerId": customer.external_id},
    }
    path = {
        "cancel_url": "/orders/cancel",
        "legacy_path": "/loyalty/cancelOrder",
        "flag": "/orders",
    }[how]
    response = deliverect.post(path, cancel, with_ids=True)
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    account = db.session.get(Account, customer.id, populate_existing=True)
    assert (account.points_balance, account.cash_balance, account.lifetime_points) == (300, 1000, 0)
    assert_ledger_matches(customer)
    # Cancelling again, or replaying the order, changes nothing.
    deliverect.post(path, cancel, with_ids=True)
    deliverect.post("/orders", order_body(customer, discounts=discounts), with_ids=True)
    account = db.session.get(Account, customer.id, populate_existing=True)
    assert (account.points_balance, account.cash_balance) == (300, 1000)
    assert db.session.query(LedgerEntry).filter_by(kind="reversal").count() == 3


def test_cancel_before_order_is_remembered_and_the_order_records_nothing_spendable(
    deliverect, customer, five_off
):
    cancel = {
        "orderId": "EARLY",
        "isCancelled": True,
        "customer": {"loyaltyProviderCustomerId": customer.external_id},
    }
    response = deliverect.post("/orders/cancel", cancel, with_ids=True)
    assert response.status_code == 200
    assert db.session.query(Order).one().status == "cancel_pending"
    body = order_body(customer, order_id="EARLY", discounts=[{"programId": "1", "amount": 500}])
    assert deliverect.post("/orders", body, with_ids=True).status_code == 200
    order = db.session.query(Order).one()
    assert (order.status, order.points_earned, order.points_spent) == ("cancelled", 0, 0)
    assert order.payment_amount == 899
    assert balance(customer) == 300


def test_cancel_after_the_earned_points_were_spent_never_goes_below_zero_and_owes_the_rest(
    deliverect, customer, tenant
):
    deliverect.post("/orders", order_body(customer, payment=10000), with_ids=True)
    assert balance(customer) == 400
    add_reward(tenant, "x", "discount_amount", 350, 100)
    deliverect.post(
        "/orders",
        order_body(customer, "SECOND", [{"programId": "x", "amount": 100}], payment=0),
        with_ids=True,
    )
    assert balance(customer) == 50
    deliverect.post("/orders/cancel", {"orderId": "TEST0001"}, with_ids=True)
    assert balance(customer) == 0
    assert db.session.get(Account, customer.id).points_debt == 50
    assert db.session.query(Order).filter_by(external_id="TEST0001").one().shortfall_points == 0
    assert_ledger_matches(customer)


def test_order_for_an_unknown_customer_is_recorded_without_points(deliverect, customer):
    body = order_body(customer)
    body["customer"] = {"email": "stranger@x.com"}
    response = deliverect.post("/orders", body, with_ids=True)
    assert response.status_code == 200
    order = db.session.query(Order).one()
    assert order.account_id is None and order.points_earned == 0


@pytest.mark.parametrize(
    "change, field",
    [
        ({"orderId": None}, "orderId"),
        ({"paymentAmount": "899"}, "paymentAmount"),
        ({"items": [{"plu": "A", "price": 1.5, "quantity": 1}]}, "order.items[0].price"),
        ({"discounts": [{"programId": True}]}, "discounts[0].programId"),
        ({"customer": "jane"}, "customer"),
    ],
)
def test_malformed_orders_are_400_naming_the_field_and_write_nothing(
    deliverect, customer, change, field
):
    body = {**order_body(customer), **change}
    response = deliverect.post("/orders", body, with_ids=True)
    assert response.status_code == 400
    assert response.get_json()["description"].startswith(field)
    assert db.session.query(Order).count() == 0
    assert balance(customer) == 300


@pytest.mark.parametrize("field", ["orderId", "sessionId", "locationId", "channelLinkId"])
def test_overlong_order_ids_are_400_not_a_database_error(deliverect, customer, field):
    response = deliverect.post("/orders", {**order_body(customer), field: "x" * 300}, with_ids=True)
    assert response.status_code == 400
    assert response.get_json()["description"].startswith(field)


@pytest.mark.parametrize(
    "field, value", [("paymentAmount", 10**12), ("orderType", 10**20), ("tip", -(10**10))]
)
def test_amounts_beyond_what_we_store_are_400(deliverect, customer, field, value):
    response = deliverect.post("/orders", {**order_body(customer), field: value}, with_ids=True)
    assert response.status_code == 400
    assert response.get_json()["description"].startswith(field)
