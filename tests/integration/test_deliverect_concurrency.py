"""On PostgreSQL, with real concurrent connections: points are never spent twice.

Each test builds its own app on the session's PostgreSQL server; its engine is shared by the
threads, each of which talks to the app through its own test client, as parallel workers would.
"""

from __future__ import annotations

import pytest

from loyalty.extensions import db
from loyalty.models import Account, Hold, LedgerEntry, Order
from loyalty.services.wallet.ledger import ledger_sum
from tests.support.deliverect import (
    Deliverect,
    add_reward,
    answers,
    basket_order,
    checkout_customer,
    give_points,
    item,
    registered_tenant,
    run_together,
)

pytestmark = pytest.mark.postgres


@pytest.fixture()
def shop(pg_app):
    """A tenant registered with Deliverect, a customer with 100 points and a 100-point reward."""
    tenant, _ = registered_tenant(pg_app.test_client())
    account = checkout_customer(tenant, 100, email="jane@x.com")
    add_reward(tenant, "1", "discount_amount", 100, 500)
    return tenant, account


def order_body(account, order_id, discounts=None, payment=1000):
    return {
        "orderId": order_id,
        "customer": {"loyaltyProviderCustomerId": account.external_id},
        "items": [item("A", 1500)],
        "paymentAmount": payment,
        "decimalDigits": 2,
        "discounts": discounts or [],
    }


def assert_every_balance_matches_the_ledger():
    db.session.expire_all()
    for account in db.session.query(Account).all():
        assert account.points_balance == ledger_sum(account.id, "points") >= 0
        assert account.cash_balance == ledger_sum(account.id, "cash") >= 0


def test_twenty_concurrent_validations_never_over_commit_one_balance(pg_app, shop):
    tenant, account = shop

    def validate(session):
        body = {
            "sessionId": session,
            "programIds": ["1"],
            "order": basket_order(account.external_id, [item("A", 1500)]),
        }
        return lambda channel: channel.post("/programs/validate", body, with_ids=True)

    results = answers(run_together(pg_app, tenant, [validate(f"basket-{n}") for n in range(20)]))
    assert all(status == 200 for status, _ in results)
    granted = [body for _, body in results if body[0]["validationErrors"] == []]
    assert len(granted) == 1
    db.session.expire_all()
    held = db.session.query(Hold).filter_by(status="held").all()
    assert sum(hold.points for hold in held) == 100
    assert_every_balance_matches_the_ledger()


def test_an_order_replayed_ten_times_at_once_is_recorded_once(pg_app, shop):
    tenant, account = shop
    body = order_body(account, "RACE-1", [{"programId": "1", "amount": 500}], payment=2500)
    replays = [lambda c: c.post("/orders", body, with_ids=True)] * 10
    results = answers(run_together(pg_app, tenant, replays))
    assert [status for status, _ in results] == [200] * 10
    assert sum(1 for _, answer in results if not answer["duplicate"]) == 1
    db.session.expire_all()
    assert db.session.query(Order).count() == 1
    assert db.session.query(LedgerEntry).filter_by(kind="earn").count() == 1
    assert db.session.query(LedgerEntry).filter_by(kind="redeem").count() == 1
    assert db.session.get(Account, account.id).points_balance == 100 - 100 + 25
    assert_every_balance_matches_the_ledger()


def test_cancel_racing_replayed_orders_leaves_the_balance_where_it_began(pg_app, shop):
    tenant, account = shop
    body = order_body(account, "RACE-2", [{"programId": "1", "amount": 500}], payment=4000)
    cancel = {"orderId": "RACE-2", "isCancelled": True}
    first = Deliverect(pg_app.test_client(), tenant).post("/orders", body, with_ids=True)
    assert first.status_code == 200
    calls = [lambda c: c.post("/orders/cancel", cancel, with_ids=True)]
    calls += [lambda c: c.post("/orders", body, with_ids=True)] * 6
    results = answers(run_together(pg_app, tenant, calls))
    assert all(status == 200 for status, _ in results)
    db.session.expire_all()
    assert db.session.get(Account, account.id).points_balance == 100
    assert db.session.get(Account, account.id).lifetime_points == 0
    assert_every_balance_matches_the_ledger()


@pytest.mark.parametrize("round_", range(5))
def test_cancel_and_order_arriving_together_in_either_order_spend_nothing(pg_app, shop, round_):
    tenant, account = shop
    order_id = f"BOTH-{round_}"
    body = order_body(account, order_id, [{"programId": "1", "amount": 500}], payment=3000)
    cancel = {"orderId": order_id, "isCancelled": True}
    calls = [
        lambda c: c.post("/orders", body, with_ids=True),
        lambda c: c.post("/loyalty/cancelOrder", cancel, with_ids=True),
        lambda c: c.post("/orders", body, with_ids=True),
    ]
    results = answers(run_together(pg_app, tenant, calls))
    assert all(status == 200 for status, _ in results)
    db.session.expire_all()
    order = db.session.query(Order).filter_by(external_id=order_id).one()
    assert order.status == "cancelled"
    assert db.session.get(Account, account.id).points_balance == 100
    assert_every_balance_matches_the_ledger()


def test_concurrent_validations_and_orders_of_one_customer_stay_consistent(pg_app, shop):
    tenant, account = shop
    give_points(db.session.get(Account, account.id), 900, "more")

    def validate(n):
        body = {
            "sessionId": f"s{n}",
            "programIds": ["1"],
            "order": basket_order(account.external_id, [item("A", 1500)]),
        }
        return lambda c: c.post("/programs/validate", body, with_ids=True)

    def order(n):
        body = order_body(account, f"MIX-{n}", [{"programId": "1", "amount": 500}], payment=0)
        body["sessionId"] = f"s{n}"
        return lambda c: c.post("/orders", body, with_ids=True)

    run_together(pg_app, tenant, [validate(n) for n in range(12)])
    run_together(pg_app, tenant, [order(n) for n in range(12)])
    db.session.expire_all()
    spent = -sum(e.amount for e in db.session.query(LedgerEntry).filter_by(kind="redeem"))
    assert spent <= 1000
    orders = db.session.query(Order).all()
    assert len(orders) == 12
    assert spent + sum(o.shortfall_points for o in orders) == 1200
    assert_every_balance_matches_the_ledger()
