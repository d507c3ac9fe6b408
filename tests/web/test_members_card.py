"""The guest's card: points and what they buy, tier progress, coupons (code and QR), expiry
dates, visits and history; "Order online" through Deliverect's sign-on; the restaurant's look."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from loyalty.extensions import db
from loyalty.models import GuestSession, SsoCode, utcnow
from loyalty.rules.brand import contrast_ratio
from loyalty.services.checkout.orders import OrderReport, record_order
from loyalty.services.deliverect.sso import ShopDetails, add_shop, issue_client, update_sso
from loyalty.services.setup.rewards import RewardDetails, create_reward
from loyalty.services.setup.settings import TenantSettings, update_settings
from loyalty.services.setup.tiers import TierDetails, create_tier
from tests.support.accounts import customer, earn
from tests.support.app import make_app
from tests.support.campaigns import running, welcome_series
from tests.support.forms import csrf_token
from tests.support.members import sign_in

CARD = "/m/trattoria/"


@pytest.fixture()
def zoe(tenant):
    return customer(tenant, email="zoe@example.com", first_name="Zoe")


@pytest.fixture()
def zoe_client(client, zoe):
    sign_in(client, "trattoria", zoe)
    return client


def card_page(client) -> str:
    response = client.get(CARD)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start : page.index("</section>", start)]


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_card_shows_spendable_points_and_what_they_buy(zoe_client, tenant, zoe):
    create_reward(tenant.id, RewardDetails("Free espresso", "free_item", 100, item_plu="ESP"))
    create_reward(tenant.id, RewardDetails("Free tiramisu", "free_item", 400, item_plu="TIR"))
    create_reward(tenant.id, RewardDetails("Free pizza", "free_item", 900, item_plu="PIZ"))
    earn(zoe, 250)
    page = card_page(zoe_client)
    assert '<span class="balance-figure">250</span>' in page
    rewards = text(section(page, "rewards"))
    assert "Free espresso 100 points" in rewards
    assert "Free tiramisu" not in rewards.split("more points")[0]
    assert "150 more points for Free tiramisu (400 points)" in rewards
    assert "Free pizza" not in rewards


def test_rewards_for_a_higher_tier_or_not_yet_live_are_not_offered(zoe_client, tenant, zoe):
    gold = create_tier(tenant.id, TierDetails("Gold", 1000))
    create_reward(
        tenant.id, RewardDetails("Gold lounge", "free_item", 10, item_plu="G", min_tier_id=gold.id)
    )
    create_reward(
        tenant.id,
        RewardDetails(
            "Next month", "free_item", 10, item_plu="N", active_from=utcnow() + timedelta(days=30)
        ),
    )
    earn(zoe, 50)
    rewards = text(section(card_page(zoe_client), "rewards"))
    assert "Gold lounge" not in rewards and "Next month" not in rewards


def test_the_tier_and_the_way_to_the_next_one(zoe_client, tenant, zoe):
    create_tier(tenant.id, TierDetails("Silver", 100))
    create_tier(tenant.id, TierDetails("Gold", 500))
    earn(zoe, 300)
    tier = section(card_page(zoe_client), "tier")
    assert "You are Silver" in text(tier)
    assert "200 more lifetime points to reach Gold" in text(tier)
    assert '<progress id="tier-progress" max="100" value="50">' in tier


def test_points_expiry_dates_are_shown(zoe_client, zoe):
    ends = utcnow() + timedelta(days=40)
    earn(zoe, 80, expires_at=ends)
    expiring = section(card_page(zoe_client), "points-heading")
    assert f'<time datetime="{ends.date().isoformat()}">' in expiring
    assert "80 points on" in text(expiring)


def test_an_active_coupon_shows_its_code_as_text_and_qr_with_its_end(zoe_client, tenant, zoe):
    running(tenant, welcome_series(), utcnow())
    coupons = section(card_page(zoe_client), "coupons")
    code = re.search(r'<code class="coupon-code">([A-Z0-9]+)</code>', coupons)[1]
    assert code.startswith("NEW")
    assert f'<svg role="img" aria-label="QR code of coupon {code}"' in coupons
    assert "Valid until" in coupons
    assert "5.00 off your next order" in coupons


def test_visits_and_points_history(zoe_client, tenant, zoe):
    record_order(
        tenant,
        OrderReport("ORD-1", zoe.id, payment_amount=1250, channel_order_display_id="A17"),
        utcnow(),
    )
    earn(zoe, 40, kind="campaign_credit")
    page = card_page(zoe_client)
    assert "Order A17" in text(section(page, "visits"))
    history = text(section(page, "history"))
    assert "Bonus +40" in history


def test_nothing_to_order_online_until_sso_is_ready(zoe_client, tenant):
    add_shop(tenant.id, ShopDetails("Delivery", "chl-roma", "https://order.roma.example/"))
    assert 'id="order-online"' not in card_page(zoe_client)
    update_sso(tenant.id, enabled=True, environment="staging")
    assert 'id="order-online"' not in card_page(zoe_client)  # no client issued yet
    issue_client(tenant.id)
    assert "Order online: Delivery" in card_page(zoe_client)


@pytest.fixture()
def shop(tenant):
    update_sso(tenant.id, enabled=True, environment="staging")
    issue_client(tenant.id)
    return add_shop(tenant.id, ShopDetails("Delivery", "chl-roma", "https://order.roma.example/"))


def test_order_online_sends_the_guest_to_deliverects_sign_on_with_a_code(zoe_client, shop, zoe):
    response = zoe_client.post(f"/m/trattoria/order/{shop.id}")
    assert response.status_code == 303
    address = urlsplit(response.headers["Location"])
    assert (address.scheme, address.netloc) == ("https", "api.staging.deliverect.com")
    assert address.path == "/loyalty/chl-roma/sso"
    query = parse_qs(address.query)
    assert query["returnUrl"] == ["https://order.roma.example/"]
    assert len(query["code"][0]) >= 32
    (row,) = db.session.query(SsoCode).all()
    assert (row.account_id, row.shop_id) == (zoe.id, shop.id)


def test_the_card_lets_its_forms_go_to_deliverect(zoe_client, shop):
    policy = zoe_client.get(CARD).headers["Content-Security-Policy"]
    assert (
        "form-action 'self' https://api.staging.deliverect.com https://api.deliverect.com" in policy
    )


def test_another_restaurants_shop_is_not_offered(zoe_client, shop, other_tenant):
    update_sso(other_tenant.id, enabled=True, environment="production")
    issue_client(other_tenant.id)
    theirs = add_shop(other_tenant.id, ShopDetails("Burgers", "chl-burger", "https://b.example/"))
    response = zoe_client.post(f"/m/trattoria/order/{theirs.id}")
    assert response.status_code == 303
    assert response.headers["Location"] == CARD
    assert db.session.query(SsoCode).count() == 0


def test_order_online_needs_a_signed_in_guest(client, shop):
    response = client.post(f"/m/trattoria/order/{shop.id}")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/m/trattoria/sign-in")
    assert db.session.query(SsoCode).count() == 0


def test_order_online_needs_the_csrf_token(tenant, shop, database_url):
    zoe = customer(tenant, email="zoe@example.com")
    app = make_app(database_url, WTF_CSRF_ENABLED=True)
    with app.test_client() as client:
        token = csrf_token(client.get("/m/trattoria/sign-in").get_data(as_text=True))
        client.post(
            "/m/trattoria/sign-in", data={"contact": zoe.email, "csrf_token": token}
        ).close()  # the code is sent after the answer
        from tests.support.api import last_code

        client.post(
            "/m/trattoria/code",
            data={"login": zoe.email, "code": last_code(zoe), "csrf_token": token},
        )
        assert client.post(f"/m/trattoria/order/{shop.id}").status_code == 400
        assert db.session.query(SsoCode).count() == 0
        sent = client.post(f"/m/trattoria/order/{shop.id}", data={"csrf_token": token})
        assert sent.status_code == 303 and "deliverect.com" in sent.headers["Location"]


def test_the_restaurants_colour_and_logo(zoe_client, tenant):
    update_settings(
        tenant.id,
        TenantSettings(
            "Trattoria Roma",
            "EUR",
            2,
            None,
            brand_colour="#F5D90A",
            logo_url="https://cdn.roma.example/logo.png",
        ),
    )
    response = zoe_client.get(CARD)
    page = response.get_data(as_text=True)
    assert 'src="https://cdn.roma.example/logo.png"' in page
    assert (
        "img-src 'self' data: https://cdn.roma.example;"
        in response.headers["Content-Security-Policy"]
    )
    assert "style=" not in page and "<style" not in page
    stylesheet = re.search(r'href="(/m/trattoria/brand\.css[^"]*)"', page)[1]
    css = zoe_client.get(stylesheet.replace("&amp;", "&")).get_data(as_text=True)
    assert "--brand: #f5d90a;" in css
    on_brand = re.search(r"--on-brand: (#[0-9a-f]{6})", css)[1]
    assert on_brand == "#000000"  # white on yellow would be unreadable
    assert contrast_ratio("#f5d90a", on_brand) >= 4.5


def test_the_card_of_a_signed_out_guest_is_the_sign_in_page(client, tenant):
    response = client.get(CARD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/m/trattoria/sign-in?next=/m/trattoria/"


def test_a_shop_id_past_any_row_is_a_guest_404(zoe_client, shop):
    response = zoe_client.post("/m/trattoria/order/" + "9" * 20)
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_the_brand_stylesheet_never_loads_the_guest_or_sets_a_cookie(zoe_client, tenant):
    db.session.query(GuestSession).update({"expires_at": utcnow() - timedelta(seconds=1)})
    db.session.commit()
    response = zoe_client.get("/m/trattoria/brand.css")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "private, max-age=3600"


def test_dates_on_the_card_are_the_restaurants(zoe_client, tenant, zoe):
    tenant.time_zone = "Pacific/Auckland"  # 13 hours ahead of UTC in December
    db.session.commit()
    late = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)
    record_order(tenant, OrderReport("late-dinner", zoe.id, payment_amount=2500), late)
    page = card_page(zoe_client)
    assert "2026-12-02" in page
    assert "(UTC)" not in page


def test_points_history_shows_ten_points_entries_whatever_credit_came_after(zoe_client, zoe):
    for _ in range(12):
        earn(zoe, 5, kind="campaign_credit")
    for _ in range(5):
        earn(zoe, 100, kind="adjust", unit="cash")  # store credit, not points
    history = section(card_page(zoe_client), "history")
    assert history.count("<li>") == 10
    assert "+100" not in history
