"""A finished checkout gives back what it still held, even when the order names no session.

Deliverect's order webhook does not document a `sessionId`: the order still ends the checkout
sessions whose holds it commits, so their other holds stop reserving points at once, not when
their TTL runs out.
"""

from __future__ import annotations

import pytest

from loyalty.extensions import db
from loyalty.models import Account, Hold
from loyalty.services.checkout.customers import NewCustomer, create_customer
from loyalty.services.wallet.ledger import ledger_sum
from tests.support.deliverect import (
    add_reward,
    answers,
    basket_order,
    checkout_customer,
    give_points,
    item,
    registered_tenant,
    run_together,
)


@pytest.fixture()
def customer(tenant):
    return checkout_customer(tenant, 1000, first_name="Jane", email="jane@x.com")


@pytest.fixture()
def programs(tenant):
    """Two programs a basket can hold together: 100 and 150 points."""
    return (
        add_reward(tenant, "1", "discount_amount", 100, 500),
        add_reward(tenant, "2", "discount_amount", 150, 300),
    )


def validate(deliverect, customer, program_ids, session_id="s1"):
    body = {
        "programIds": program_ids,
        "order": basket_order(customer.external_id, [item("A", 3000)]),
    }
    if session_id is not None:
        body["sessionId"] = session_id
    response = deliverect.post("/programs/validate", body, with_ids=True)
    assert response.status_code == 200
    assert all(result["validationErrors"] == [] for result in response.get_json())


def order(customer, program_ids, order_id="O-1", payment=1500):
    """An order as Deliverect sends it: no sessionId."""
    return {
        "orderId": order_id,
        "customer": {"loyaltyProviderCustomerId": customer.external_id},
        "items": [item("A", 3000)],
        "paymentAmount": payment,
        "decimalDigits": 2,
        "discounts": [{"programId": pid, "amount": 500} for pid in program_ids],
    }


def cancel(order_id="O-1"):
    return {"orderId": order_id, "isCancelled": True}


def spendable(deliverect, customer) -> int:
    response = deliverect.get("/customer/wallet", providerId=customer.external_id)
    assert response.status_code == 200
    return response.get_json()["points"]["balance"]


def hold_statuses() -> dict[tuple[str, int], str]:
    db.session.expire_all()
    return {(hold.session_id, hold.reward_id): hold.status for hold in db.session.query(Hold)}


def test_an_order_without_a_session_releases_the_other_holds_of_the_checkout_it_commits(
    deliverect, customer, programs
):
    first, second = programs
    validate(deliverect, customer, ["1", "2"])
    assert spendable(deliverect, customer) == 750

    response = deliverect.post("/orders", order(customer, ["1"]), with_ids=True)

    assert response.get_json()["pointsSpent"] == 100
    assert spendable(deliverect, customer) == 1000 - 100 + 15
    assert hold_statuses() == {("s1", first.id): "committed", ("s1", second.id): "released"}


def test_cancelling_that_order_gives_back_every_point(deliverect, customer, programs):
    validate(deliverect, customer, ["1", "2"])
    deliverect.post("/orders", order(customer, ["1"]), with_ids=True)

    response = deliverect.post("/orders/cancel", cancel(), with_ids=True)

    assert response.get_json()["status"] == "cancelled"
    assert spendable(deliverect, customer) == 1000


def test_an_order_whose_cancel_came_first_still_ends_its_checkout(deliverect, customer, programs):
    validate(deliverect, customer, ["1", "2"])
    deliverect.post("/orders/cancel", cancel(), with_ids=True)
    assert spendable(deliverect, customer) == 750

    response = deliverect.post("/orders", order(customer, ["1"]), with_ids=True)

    assert response.get_json()["status"] == "cancelled"
    assert spendable(deliverect, customer) == 1000
    assert set(hold_statuses().values()) == {"released"}


def test_a_checkout_validated_without_a_session_ends_with_its_order(deliverect, customer, programs):
    validate(deliverect, customer, ["1", "2"], session_id=None)

    deliverect.post("/orders", order(customer, ["1"]), with_ids=True)

    assert spendable(deliverect, customer) == 915
    assert "held" not in hold_statuses().values()


def test_an_order_without_a_session_commits_the_basket_that_holds_what_it_names(
    deliverect, customer, programs
):
    """Two open baskets hold program 1; the order names 1 and 2, which only the second holds
    together: that basket ends, the first keeps its hold."""
    first, second = programs
    validate(deliverect, customer, ["1"], session_id="s1")
    validate(deliverect, customer, ["1", "2"], session_id="s2")

    response = deliverect.post("/orders", order(customer, ["1", "2"]), with_ids=True)

    assert response.get_json()["pointsSpent"] == 250
    assert hold_statuses() == {
        ("s1", first.id): "held",
        ("s2", first.id): "committed",
        ("s2", second.id): "committed",
    }
    assert spendable(deliverect, customer) == 1000 - 250 + 15 - 100


def test_an_order_with_its_session_still_ends_only_that_session(deliverect, customer, programs):
    first, second = programs
    validate(deliverect, customer, ["1", "2"], session_id="s1")
    validate(deliverect, customer, ["2"], session_id="s2")

    deliverect.post("/orders", {**order(customer, ["1"]), "sessionId": "s1"}, with_ids=True)

    assert hold_statuses() == {
        ("s1", first.id): "committed",
        ("s1", second.id): "released",
        ("s2", second.id): "held",
    }
    account = db.session.get(Account, customer.id)
    assert spendable(deliverect, customer) == account.points_balance - 150 == 765


@pytest.mark.postgres
def test_orders_and_a_cancel_arriving_at_once_end_every_checkout_they_commit(pg_app):
    """Two baskets, each ordered without a session; both orders replayed at the same moment on
    separate connections, one of them cancelled meanwhile: no hold is left reserving points."""
    tenant, channel = registered_tenant(pg_app.test_client())
    account = create_customer(tenant.id, NewCustomer(email="jane@x.com"))
    give_points(account, 1000, "opening")
    for program_id, cost in (("1", 100), ("2", 150), ("3", 200)):
        add_reward(tenant, program_id, "discount_amount", cost, 300)
    validate(channel, account, ["1", "2"], session_id="s1")
    validate(channel, account, ["3"], session_id="s2")

    first, second = order(account, ["1"], "O-1"), order(account, ["3"], "O-2")
    calls = [lambda c: c.post("/orders", first, with_ids=True)] * 4
    calls += [lambda c: c.post("/orders", second, with_ids=True)] * 4
    calls += [lambda c: c.post("/orders/cancel", cancel("O-2"), with_ids=True)]
    results = answers(run_together(pg_app, tenant, calls))

    assert [status for status, _ in results] == [200] * len(calls)
    assert "held" not in hold_statuses().values()
    assert spendable(channel, account) == 1000 - 100 + 15
    account = db.session.get(Account, account.id, populate_existing=True)
    assert account.points_balance == ledger_sum(account.id, "points") == 915
