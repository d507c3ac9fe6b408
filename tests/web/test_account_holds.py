"""The account page's holds and redemptions: rows the view hands over, read in a fixed number of
queries however many holds there are."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from loyalty.extensions import db
from loyalty.models import Account, Tenant
from loyalty.services.checkout.customers import NewCustomer, create_customer
from tests.support.deliverect import Deliverect, add_reward, basket_order, give_points, item


@pytest.fixture()
def jane(tenant):
    account = create_customer(tenant.id, NewCustomer(email="jane@x.com"))
    give_points(account, 10_000, "opening")
    return account


def hold_in_new_session(channel: Deliverect, tenant, account, number: int) -> None:
    """A checkout session of its own that validates a reward of its own: one hold each."""
    add_reward(tenant, str(number), "discount_amount", 10, 100, title=f"Reward {number}")
    body = {
        "sessionId": f"s{number}",
        "programIds": [str(number)],
        "order": basket_order(account.external_id, [item("A", 900)]),
    }
    assert channel.post("/programs/validate", body, with_ids=True).status_code == 200


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


def test_the_account_page_shows_held_and_redeemed_points(owner_client, tenant, deliverect, jane):
    add_reward(tenant, "1", "discount_amount", 100, 200, title="Two euros off")
    body = {
        "sessionId": "s1",
        "programIds": ["1"],
        "order": basket_order(jane.external_id, [item("A", 900)]),
    }
    deliverect.post("/programs/validate", body, with_ids=True)
    add_reward(tenant, "2", "discount_amount", 50, 100, title="One euro off")
    deliverect.post(
        "/programs/validate", {**body, "sessionId": "s2", "programIds": ["2"]}, with_ids=True
    )
    order = {
        "orderId": "O-1",
        "sessionId": "s1",
        "customer": {"loyaltyProviderCustomerId": jane.external_id},
        "paymentAmount": 0,
        "discounts": [{"programId": "1", "amount": 200}],
    }
    deliverect.post("/orders", order, with_ids=True)

    html = owner_client.get(f"/accounts/{jane.id}").get_data(as_text=True)

    section = html[html.index('id="holds-and-redemptions"') :]
    assert "<strong>50</strong> points are held" in section
    assert "Two euros off" in section and "used by an order" in section
    assert "One euro off" in section and "held until" in section
    assert "-100 pts" in section


def test_the_account_page_reads_its_holds_in_a_fixed_number_of_queries(
    owner_client, tenant, deliverect, jane
):
    tenant_id, account_id = tenant.id, jane.id

    def page_queries() -> int:
        # The test shares the requests' session: forget what setting up loaded, so a reward
        # read row by row would show as a query per row.
        db.session.expunge_all()
        with counted_queries() as statements:
            response = owner_client.get(f"/accounts/{account_id}")
        assert response.status_code == 200
        return len(statements)

    def add_holds(numbers: range) -> None:
        for number in numbers:
            hold_in_new_session(
                deliverect,
                db.session.get(Tenant, tenant_id),
                db.session.get(Account, account_id),
                number,
            )

    add_holds(range(1, 2))
    with_one_hold = page_queries()
    add_holds(range(2, 9))
    with_eight_holds = page_queries()

    html = owner_client.get(f"/accounts/{account_id}").get_data(as_text=True)
    assert all(f"Reward {number}" in html for number in range(1, 9))
    assert with_eight_holds == with_one_hold
