"""Orders held for review, seen by the whole team: a Home card, a paginated list, and an
owner's credit or dismiss that empties it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import Account, AccountEvent, LedgerEntry, Order, utcnow
from loyalty.services.checkout.orders import (
    CancelReport,
    OrderNotDismissed,
    OrderReport,
    cancel_order,
    dismiss_held_order,
    record_order,
)
from tests.support.accounts import customer
from tests.support.forms import csrf_token, signed_in_checking_csrf

# 50,000 points at the default rate, over the default cap of 10,000 per order.
HUGE_PAYMENT = 5_000_000


def place(tenant, account, external_id: str, payment: int = HUGE_PAYMENT, minutes_ago: int = 0):
    """An order as Deliverect reports it; a huge payment is held for review."""
    record_order(
        tenant,
        OrderReport(
            external_id=external_id,
            account_id=account.id,
            payment_amount=payment,
            channel_order_display_id=f"#{external_id}",
            ordered_at=utcnow() - timedelta(minutes=minutes_ago),
        ),
        utcnow(),
    )
    return db.session.scalar(select(Order).where(Order.external_id == external_id))


@pytest.fixture()
def zoe(tenant):
    return customer(tenant, external_id="zoe", first_name="Zoë", last_name="Rossi")


def balance(account) -> int:
    return db.session.get(Account, account.id, populate_existing=True).points_balance


def listed(page: str) -> list[str]:
    """The held orders a list page shows, by order number, top to bottom."""
    return re.findall(r'<td data-label="Order" class="order">#(\w+)', page)


def test_home_shows_no_review_card_when_nothing_is_held(staff_client, tenant, zoe):
    place(tenant, zoe, "small", payment=2500)
    page = staff_client.get("/").get_data(as_text=True)
    assert "Orders held for review" not in page


def test_home_counts_held_orders_and_names_the_newest_few(staff_client, tenant, zoe):
    for number in range(7):
        place(tenant, zoe, f"H{number}", minutes_ago=100 - number)
    place(tenant, zoe, "small", payment=2500)
    cancelled = place(tenant, zoe, "gone")
    cancel_order(tenant.id, CancelReport(cancelled.external_id, zoe.id), utcnow())

    page = staff_client.get("/").get_data(as_text=True)
    card = page.split('id="held-orders"')[1].split("</section>")[0]
    assert 'data-figure="held">7<' in card
    assert re.findall(r"order #(\w+)", card) == ["H6", "H5", "H4", "H3", "H2"]
    assert f'href="/accounts/{zoe.id}#orders">Zoë Rossi</a>' in card
    assert "50000.00" in card and "amount over the plausible order amount" in card
    assert 'href="/accounts/held-orders">See all 7 held orders' in card


def test_the_list_pages_through_every_held_order_newest_first(staff_client, tenant, zoe):
    for number in range(23):
        place(tenant, zoe, f"H{number:02d}", minutes_ago=100 - number)
    first = staff_client.get("/accounts/held-orders").get_data(as_text=True)
    assert listed(first)[:2] == ["H22", "H21"] and len(listed(first)) == 20
    assert 'href="/accounts/held-orders?page=2"' in first and "Page 1 of 2" in first
    second = staff_client.get("/accounts/held-orders?page=2").get_data(as_text=True)
    assert listed(second) == ["H02", "H01", "H00"]


def test_a_page_past_the_end_shows_the_last_one(staff_client, tenant, zoe):
    place(tenant, zoe, "H1")
    response = staff_client.get("/accounts/held-orders?page=3")
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/held-orders"


def test_the_list_says_when_nothing_waits(staff_client):
    page = staff_client.get("/accounts/held-orders").get_data(as_text=True)
    assert "No orders are waiting for review." in page


def test_staff_see_held_orders_but_cannot_credit_or_dismiss_them(staff_client, tenant, zoe):
    order = place(tenant, zoe, "H1")
    page = staff_client.get("/accounts/held-orders").get_data(as_text=True)
    assert "#H1" in page and "Credit anyway" not in page and "Dismiss" not in page
    assert staff_client.post(f"/accounts/held-orders/{order.id}/credit").status_code == 403
    assert staff_client.post(f"/accounts/held-orders/{order.id}/dismiss").status_code == 403
    assert db.session.get(Order, order.id, populate_existing=True).review_status == "flagged"
    assert balance(zoe) == 0


def test_an_owner_credits_a_held_order_from_the_list_and_it_leaves(owner_client, tenant, zoe):
    order = place(tenant, zoe, "H1")
    page = owner_client.get("/accounts/held-orders?page=1").get_data(as_text=True)
    assert f'action="/accounts/held-orders/{order.id}/credit?page=1"' in page

    response = owner_client.post(f"/accounts/held-orders/{order.id}/credit?page=1")
    assert response.status_code == 303
    assert response.headers["Location"] == "/accounts/held-orders"
    owner_client.post(f"/accounts/held-orders/{order.id}/credit")  # twice: credits once
    assert balance(zoe) == 50_000
    after = owner_client.get("/accounts/held-orders").get_data(as_text=True)
    assert "points credited" in after and "No orders are waiting for review." in after
    assert "Orders held for review" not in owner_client.get("/").get_data(as_text=True)


def test_an_owner_dismisses_a_held_order_and_nothing_is_credited(owner_client, owner, tenant, zoe):
    order = place(tenant, zoe, "H1")
    response = owner_client.post(f"/accounts/held-orders/{order.id}/dismiss")
    assert response.status_code == 303
    again = owner_client.post(f"/accounts/held-orders/{order.id}/dismiss")  # idempotent
    assert again.status_code == 303

    dismissed = db.session.get(Order, order.id, populate_existing=True)
    assert (dismissed.review_status, dismissed.points_earned, dismissed.points_withheld) == (
        "dismissed",
        0,
        50_000,
    )
    assert balance(zoe) == 0
    assert db.session.scalars(select(LedgerEntry)).all() == []
    events = db.session.scalars(
        select(AccountEvent).where(AccountEvent.type == "ORDER_REVIEW_DISMISSED")
    ).all()
    assert [(event.account_id, event.data) for event in events] == [
        (zoe.id, {"byUserId": owner.id, "orderId": "H1"})
    ]
    page = owner_client.get("/accounts/held-orders").get_data(as_text=True)
    assert "No orders are waiting for review." in page
    assert "Order H1 dismissed" in page


def test_a_dismissed_order_can_no_longer_be_credited(owner_client, tenant, zoe):
    order = place(tenant, zoe, "H1")
    owner_client.post(f"/accounts/held-orders/{order.id}/dismiss")
    owner_client.post(f"/accounts/held-orders/{order.id}/credit")
    page = owner_client.get("/accounts/held-orders").get_data(as_text=True)
    assert "Only a placed order held for review can be credited." in page
    assert balance(zoe) == 0


def test_a_credited_or_cancelled_order_cannot_be_dismissed(owner_client, owner, tenant, zoe):
    credited = place(tenant, zoe, "H1")
    owner_client.post(f"/accounts/held-orders/{credited.id}/credit")
    with pytest.raises(OrderNotDismissed, match="credited already"):
        dismiss_held_order(tenant.id, credited.id, owner.id, utcnow())
    cancelled = place(tenant, zoe, "H2")
    cancel_order(tenant.id, CancelReport("H2", zoe.id), utcnow())
    with pytest.raises(OrderNotDismissed, match="Only a placed order"):
        dismiss_held_order(tenant.id, cancelled.id, owner.id, utcnow())
    assert db.session.get(Order, credited.id, populate_existing=True).review_status == "credited"


def test_another_restaurants_held_orders_are_not_listed(owner_client, other_tenant):
    stranger = customer(other_tenant, external_id="stranger", first_name="Stranger")
    place(other_tenant, stranger, "THEIRS")
    assert "#THEIRS" not in owner_client.get("/accounts/held-orders").get_data(as_text=True)
    assert "Orders held for review" not in owner_client.get("/").get_data(as_text=True)


def test_dismissing_without_a_csrf_token_is_refused(database_url, owner, tenant, zoe):
    order = place(tenant, zoe, "H1")
    with signed_in_checking_csrf(database_url, owner.email) as client:
        assert client.post(f"/accounts/held-orders/{order.id}/dismiss").status_code == 400
        db.session.expire_all()
        assert db.session.get(Order, order.id).review_status == "flagged"
        token = csrf_token(client.get("/accounts/held-orders").get_data(as_text=True))
        accepted = client.post(
            f"/accounts/held-orders/{order.id}/dismiss", data={"csrf_token": token}
        )
        assert accepted.status_code == 303
    db.session.expire_all()
    assert db.session.get(Order, order.id).review_status == "dismissed"
