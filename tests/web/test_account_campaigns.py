"""The account page's campaigns: memberships with their history and coupons, read in a fixed
number of queries however many there are."""

from __future__ import annotations

import re

import pytest

from loyalty.extensions import db
from loyalty.time import utcnow
from tests.support.accounts import customer
from tests.support.campaigns import coupons_of, running, welcome_series
from tests.support.deliverect import order_body
from tests.web.test_account_holds import counted_queries


@pytest.fixture()
def jane(tenant):
    return customer(tenant, external_id="jane-1", email="jane@x.com", first_name="Jane")


def place(deliverect, tenant, account, order_id: str, discounts=()):
    body = order_body(account, order_id, discounts=list(discounts))
    assert deliverect.post("/orders", body, with_ids=True).status_code == 200
    db.session.expire_all()


def percent_off(key: str) -> dict:
    """A one-state campaign giving 12.5 % off."""
    coupon = {
        "id": "gift",
        "type": "COUPON",
        "couponType": "PERCENT",
        "value": 12.5,
        "validDays": 30,
        "codePrefix": "PCT",
        "title": "12.5 % off",
    }
    return welcome_series(id=key, name=f"Treat {key}", states=[coupon])


def section_of(html: str, element_id: str) -> str:
    return re.search(rf'<section class="card" id="{element_id}">(.*?)</section>', html, re.S)[1]


def text_of(html: str, element_id: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section_of(html, element_id)))


def test_the_account_page_shows_memberships_with_history_and_coupons(
    owner_client, deliverect, tenant, jane
):
    welcome = running(tenant, welcome_series(), utcnow())
    [used] = coupons_of(jane)
    place(deliverect, tenant, jane, "O1", [{"programId": used.code, "amount": 500}])
    place(deliverect, tenant, jane, "O2")
    running(tenant, percent_off("treat"), utcnow())
    active = next(c for c in coupons_of(jane) if c.code != used.code)

    html = owner_client.get(f"/accounts/{jane.id}").get_data(as_text=True)
    assert 'href="/campaigns/welcome">Welcome series</a>' in html
    assert 'href="/campaigns/treat">Treat treat</a>' in html
    campaigns = text_of(html, "campaigns")
    # Newest first: the treat waits in its coupon state; the welcome series is done.
    assert re.search(r"Treat treat gift Give a coupon active", campaigns)
    assert re.search(r"Welcome series — completed", campaigns)
    assert "4 steps" in campaigns and "1 step " in campaigns
    history = campaigns[campaigns.index("4 steps") :]
    for step in (
        "start → coupon joined",
        "coupon → order coupon used, order T4206",
        "order → bonus ordered, order T4206",
        "bonus → end points credited",
    ):
        assert step in history
    assert welcome.key == "welcome"
    # Coupons: code, what it gives, status and end date; newest first.
    assert campaigns.index(active.code) < campaigns.index(used.code)
    assert f"{active.code} 12.5 % off 12.5% off active" in campaigns
    assert f"{used.code} 5.00 off your next order 5.00 EUR off used" in campaigns
    assert used.valid_to.strftime("%Y-%m-%d") in campaigns


def test_an_account_without_campaigns_says_so(owner_client, jane):
    html = owner_client.get(f"/accounts/{jane.id}").get_data(as_text=True)
    campaigns = text_of(html, "campaigns")
    assert "Not in any campaign." in campaigns and "No coupons." in campaigns


def test_campaigns_and_coupons_are_read_in_a_fixed_number_of_queries(owner_client, tenant, jane):
    running(tenant, percent_off("one"), utcnow())
    owner_client.get(f"/accounts/{jane.id}")  # warm caches (tiers, session, user)
    with counted_queries() as one:
        owner_client.get(f"/accounts/{jane.id}")
    for key in ("two", "three", "four"):
        running(tenant, percent_off(key), utcnow())
    with counted_queries() as four:
        html = owner_client.get(f"/accounts/{jane.id}").get_data(as_text=True)
    # Four memberships and four coupons, each linking to its campaign.
    assert section_of(html, "campaigns").count('href="/campaigns/') == 8
    assert len(four) == len(one)


def test_another_restaurants_campaigns_are_not_shown(owner_client, tenant, other_tenant, jane):
    theirs = customer(other_tenant, external_id="jane-1", email="jane@x.com")
    running(other_tenant, percent_off("theirs"), utcnow())
    assert coupons_of(theirs)
    html = owner_client.get(f"/accounts/{jane.id}").get_data(as_text=True)
    assert "Not in any campaign." in text_of(html, "campaigns")
