"""The Coupons page at the till: a typed code shows whose coupon it is and what it gives, and
staff reserve and unlock it."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import Coupon, utcnow
from loyalty.services.campaigns.coupons import lock_coupon
from loyalty.services.campaigns.lifecycle import finalise_campaign, initialise_campaign
from loyalty.services.campaigns.store import save_campaign
from tests.support.accounts import customer
from tests.support.forms import csrf_token, signed_in_checking_csrf


def issue_coupon(tenant, first_name: str, **state) -> Coupon:
    """A running campaign that gave one customer one coupon."""
    account = customer(tenant, first_name=first_name, last_name="Rossi", tags=["vip"])
    save_campaign(
        tenant.id,
        {
            "id": "vip-treat",
            "type": "STANDARD",
            "name": "VIP treat",
            "constraints": [{"field": "tags.vip", "op": "EXISTS", "value": []}],
            "states": [
                {
                    "id": "treat",
                    "type": "COUPON",
                    "couponType": "AMOUNT",
                    "value": 250,
                    "validDays": 14,
                    "title": "2.50 off",
                    **state,
                }
            ],
        },
        utcnow(),
    )
    initialise_campaign(tenant.id, "vip-treat", utcnow())
    coupon = db.session.scalar(select(Coupon).where(Coupon.account_id == account.id))
    assert coupon is not None
    return coupon


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def status_of(coupon: Coupon) -> str:
    db.session.expire_all()
    return db.session.get(Coupon, coupon.id).status


def post_and_follow(client, coupon: Coupon, action: str) -> str:
    """Press a coupon's button (its code typed in lower case): back to the coupon's page, whose
    text is returned."""
    response = client.post(f"/coupons/{coupon.code.lower()}/{action}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/coupons/?code={coupon.code}"
    return text_of(client.get(response.headers["Location"]))


@pytest.fixture()
def coupon(tenant):
    return issue_coupon(tenant, "Zoe")


def test_the_page_asks_for_a_code(staff_client):
    page = text_of(staff_client.get("/coupons/"))
    assert '<label for="code">Coupon code</label>' in page


def test_a_code_typed_in_lower_case_with_dashes_finds_the_coupon(staff_client, coupon):
    typed = "-".join([coupon.code[:4], coupon.code[4:]]).lower()
    page = text_of(staff_client.get("/coupons/", query_string={"code": f" {typed} "}))
    assert coupon.code in page
    assert "Valid: it can be used now." in page
    assert f'href="/accounts/{coupon.account_id}"' in page and "Zoe Rossi" in page
    assert "2.50 EUR off" in page
    assert "VIP treat" in page
    assert "Reserve for this order" in page


def test_an_unknown_code_says_so(staff_client, coupon):
    page = text_of(staff_client.get("/coupons/", query_string={"code": "NOPE-NOPE"}))
    assert "No coupon of this restaurant has this code." in page


def test_staff_reserve_and_unlock_a_coupon(staff_client, coupon):
    page = post_and_follow(staff_client, coupon, "lock")
    assert status_of(coupon) == "LOCKED"
    assert "Reserved for this order" in page
    assert "This coupon is reserved (locked) for an order in progress." in page
    assert "Unlock" in page

    staff_client.post(f"/coupons/{coupon.code}/unlock")
    assert status_of(coupon) == "ACTIVE"
    assert "Unlocked: the customer can use the coupon again." in text_of(
        staff_client.get(f"/coupons/?code={coupon.code}")
    )


def test_a_locked_coupon_cannot_be_reserved_twice(owner_client, tenant, coupon):
    lock_coupon(tenant.id, coupon.code, now=utcnow())
    owner_client.post(f"/coupons/{coupon.code}/lock")
    page = text_of(owner_client.get(f"/coupons/?code={coupon.code}"))
    assert "This coupon is reserved (locked) for an order in progress." in page


def test_an_expired_coupon_shows_as_expired(staff_client, tenant, coupon):
    finalise_campaign(tenant.id, "vip-treat", utcnow())
    page = text_of(staff_client.get(f"/coupons/?code={coupon.code}"))
    assert "This coupon has expired." in page
    assert "Reserve for this order" not in page


def test_another_restaurants_code_is_not_found(staff_client, other_tenant):
    theirs = issue_coupon(other_tenant, "Them")
    page = text_of(staff_client.get(f"/coupons/?code={theirs.code}"))
    assert "No coupon of this restaurant has this code." in page
    for action in ("lock", "unlock"):
        assert staff_client.post(f"/coupons/{theirs.code}/{action}").status_code == 404
    assert status_of(theirs) == "ACTIVE"


def test_signed_out_visitors_are_sent_to_sign_in(client, coupon):
    assert client.get("/coupons/").status_code == 302
    assert client.post(f"/coupons/{coupon.code}/lock").status_code == 302


def test_staff_redeem_a_coupon_at_the_till(staff_client, coupon):
    page = text_of(staff_client.get(f"/coupons/?code={coupon.code}"))
    assert f'action="/coupons/{coupon.code}/redeem"' in page
    assert 'data-confirm="Redeem this coupon now? It cannot be used again."' in page
    page = post_and_follow(staff_client, coupon, "redeem")
    assert status_of(coupon) == "USED"
    assert "Redeemed: give the customer what the coupon offers." in page
    assert "This coupon has already been used." in page
    assert "/redeem" not in page and "Reserve for this order" not in page


def test_a_second_redeem_says_the_coupon_was_used(staff_client, coupon):
    staff_client.post(f"/coupons/{coupon.code}/redeem")
    staff_client.get(f"/coupons/?code={coupon.code}")  # shows the first redemption's message
    staff_client.post(f"/coupons/{coupon.code}/redeem")
    page = text_of(staff_client.get(f"/coupons/?code={coupon.code}"))
    assert "This coupon has already been used." in page
    assert "Redeemed: give" not in page


def test_a_coupon_reserved_at_the_till_can_be_redeemed(staff_client, tenant, coupon):
    lock_coupon(tenant.id, coupon.code, now=utcnow())
    page = text_of(staff_client.get(f"/coupons/?code={coupon.code}"))
    assert f'action="/coupons/{coupon.code}/redeem"' in page
    staff_client.post(f"/coupons/{coupon.code}/redeem")
    assert status_of(coupon) == "USED"


def test_redeeming_without_a_csrf_token_is_refused(database_url, staff, coupon):
    with signed_in_checking_csrf(database_url, staff.email) as client:
        refused = client.post(f"/coupons/{coupon.code}/redeem")
        assert refused.status_code == 400
        assert status_of(coupon) == "ACTIVE"
        token = csrf_token(client.get(f"/coupons/?code={coupon.code}").get_data(as_text=True))
        client.post(f"/coupons/{coupon.code}/redeem", data={"csrf_token": token})
    assert status_of(coupon) == "USED"
