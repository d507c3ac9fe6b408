"""On PostgreSQL, with real concurrent connections: cancels racing orders, redemptions and
adjustments on one account never create points, and the ledger always agrees."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import Account, LedgerEntry
from loyalty.services.checkout.customers import NewCustomer, create_customer
from loyalty.services.setup.team import create_user
from loyalty.services.wallet.adjustments import adjust_points, new_adjustment_token
from loyalty.services.wallet.ledger import ledger_sum
from loyalty.validation import FieldErrors
from tests.support.app import PASSWORD
from tests.support.deliverect import (
    Deliverect,
    add_reward,
    basket_order,
    item,
    registered_tenant,
    run_together,
)

pytestmark = pytest.mark.postgres


@pytest.fixture()
def shop(pg_app):
    """A registered tenant, an owner, a customer with no points and a 250-point reward."""
    tenant, _ = registered_tenant(pg_app.test_client())
    owner = create_user(tenant.id, "owner@trattoria.test", PASSWORD, role="owner")
    account = create_customer(tenant.id, NewCustomer(email="jane@x.com"))
    add_reward(tenant, "R", "discount_amount", 250, 500)
    return tenant, owner, account


def order(account, order_id: str, payment: int, program_id: str | None = None, session=None):
    body = {
        "orderId": order_id,
        "customer": {"loyaltyProviderCustomerId": account.external_id},
        "items": [item("A", 1500)],
        "paymentAmount": payment,
        "decimalDigits": 2,
        "discounts": [{"programId": program_id, "amount": 500}] if program_id else [],
    }
    if session:
        body["sessionId"] = session
    return lambda channel: channel.post("/orders", body, with_ids=True).status_code


def cancel(order_id: str):
    return lambda channel: (
        channel.post(
            "/orders/cancel", {"orderId": order_id, "isCancelled": True}, with_ids=True
        ).status_code
    )


def validate(account, session: str):
    body = {
        "sessionId": session,
        "programIds": ["R"],
        "order": basket_order(account.external_id, [item("A", 3000)]),
    }
    return lambda channel: channel.post("/programs/validate", body, with_ids=True).status_code


def assert_consistent(account_id: int) -> Account:
    db.session.expire_all()
    account = db.session.get(Account, account_id)
    assert account.points_balance == ledger_sum(account_id, "points") >= 0
    assert account.points_debt == ledger_sum(account_id, "debt") >= 0
    assert account.points_debt == 0 or account.points_balance == 0
    return account


@pytest.mark.parametrize("round_", range(4))
def test_cancels_racing_orders_redemptions_and_adjustments_never_create_points(
    pg_app, shop, round_
):
    tenant, owner, account = shop
    tenant_id, account_id, owner_id = tenant.id, account.id, owner.id
    channel = Deliverect(pg_app.test_client(), tenant)
    assert order(account, f"E{round_}", 30000)(channel) == 200  # earns 300
    assert validate(account, f"s{round_}")(channel) == 200  # holds 250 of them
    accepted: list[int] = []

    def adjust(amount):
        def call(_channel):
            try:
                adjust_points(
                    tenant_id, account_id, amount, "race", owner_id, new_adjustment_token()
                )
            except FieldErrors:
                return "refused"
            accepted.append(amount)
            return 200

        return call

    ids = [f"E{round_}", f"R{round_}", f"S{round_}", f"F{round_}"]
    calls = [
        cancel(ids[0]),
        order(account, ids[1], 2500, "R", f"s{round_}"),  # redeems the hold, earns 25
        order(account, ids[2], 0, "R"),  # redeems without a hold
        cancel(ids[1]),  # may come before its order
        order(account, ids[3], 10000),  # earns 100
        cancel(ids[3]),
        adjust(40),
        adjust(-60),
    ]
    results = run_together(pg_app, tenant, calls)
    assert all(result in (200, "refused") for result in results), results
    assert_consistent(account_id)

    for order_id in ids:
        assert cancel(order_id)(channel) == 200
    final = assert_consistent(account_id)
    assert final.points_balance - final.points_debt == sum(accepted)
    # Adjustments took the account lock one after another: replay them in that order.
    applied = db.session.scalars(
        select(LedgerEntry.amount)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.kind == "adjust")
        .order_by(LedgerEntry.id)
    ).all()
    assert sorted(applied) == sorted(accepted)
    lifetime = 0
    for amount in applied:
        lifetime = max(0, lifetime + amount)
    assert final.lifetime_points == lifetime
