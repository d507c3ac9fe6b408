"""In Chromium: the guest pages pass axe-core's WCAG 2.1 A/AA rules (as tests/browser/
test_accessibility.py checks the dashboard's), and on a phone none scrolls sideways."""

from __future__ import annotations

from functools import partial

import pytest
from playwright.sync_api import Page

from loyalty.extensions import db
from loyalty.models import Tenant, utcnow
from loyalty.services.accounts.profile import Profile, create_account
from loyalty.services.campaigns.lifecycle import initialise_campaign
from loyalty.services.campaigns.store import save_campaign
from loyalty.services.checkout.orders import OrderReport, record_order
from loyalty.services.deliverect.sso import ShopDetails, add_shop, issue_client, update_sso
from loyalty.services.setup.rewards import RewardDetails, create_reward
from loyalty.services.setup.settings import TenantSettings, update_settings
from loyalty.services.setup.tiers import TierDetails, create_tier
from loyalty.services.wallet.adjustments import adjust_points, new_adjustment_token
from tests.browser.conftest import RUNNING_CAMPAIGN
from tests.browser.test_accessibility import PHONE, axe_violations, settle
from tests.support.api import next_server_code, server_codes
from tests.support.browser import LiveServer, Restaurant
from tests.support.members import sign_in_on_page

pytestmark = pytest.mark.browser


@pytest.fixture()
def member(live_server: LiveServer, restaurant: Restaurant) -> tuple[int, str]:
    """A guest with points, a tier, a reward in reach and one not, a coupon, a visit, and the
    restaurant with its colour, terms and a web shop: every part of the card has something."""
    with live_server.app.app_context():
        tenant = db.session.get(Tenant, restaurant.tenant_id)
        update_settings(
            tenant.id,
            TenantSettings(
                tenant.name,
                "EUR",
                2,
                365,
                brand_colour="#f5d90a",
                terms_url="https://example.com/terms",
            ),
        )
        create_tier(tenant.id, TierDetails("Silver", 50))
        create_tier(tenant.id, TierDetails("Gold", 500))
        create_reward(tenant.id, RewardDetails("Free espresso", "free_item", 100, item_plu="E"))
        create_reward(tenant.id, RewardDetails("Free pizza", "free_item", 900, item_plu="P"))
        account = create_account(
            tenant.id,
            Profile(first_name="Zoë", email="zoe@example.com", tags=["vip"]),
        )
        adjust_points(tenant.id, account.id, 150, "Welcome", None, new_adjustment_token())
        record_order(
            tenant,
            OrderReport("ORD-1", account.id, payment_amount=1200, channel_order_display_id="A1"),
            utcnow(),
        )
        save_campaign(tenant.id, {**RUNNING_CAMPAIGN, "id": "vip-treat"}, utcnow())
        initialise_campaign(tenant.id, "vip-treat", utcnow())
        update_sso(tenant.id, enabled=True, environment="staging")
        issue_client(tenant.id)
        add_shop(tenant.id, ShopDetails("Delivery", "chl-1", "https://order.example.com/"))
        return account.id, tenant.slug


def guest_pages(page: Page, live_server: LiveServer, member: tuple[int, str]) -> dict[str, str]:
    """Each guest page's name -> what axe found on it (and its width), signing in on the way."""
    account_id, slug = member
    found = {}

    def check(name: str) -> None:
        page.wait_for_load_state("networkidle")
        problems = axe_violations(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        if problems or width > page.viewport_size["width"]:
            found[name] = f"{problems} width {width}"

    settle(page, f"/m/{slug}/join")
    check("join")
    page.get_by_role("button", name="Join and get my code").click()  # errors on every field
    check("join with errors")
    settle(page, f"/m/{slug}/sign-in")
    check("sign-in")
    settle(page, f"/m/{slug}/no-such-page")
    check("not found")
    page.goto(f"/m/{slug}/sign-in")
    page.get_by_label("E-mail or phone number").fill("zoe@example.com")
    page.get_by_role("button", name="Send me a code").click()
    check("code")
    page.get_by_label("Sign-in code").fill("000000x")
    page.get_by_role("button", name="Sign in").click()
    check("wrong code")
    earlier = server_codes(live_server.app, account_id)
    read_code = partial(next_server_code, live_server.app, account_id, earlier)
    sign_in_on_page(page, slug, "zoe@example.com", read_code)
    check("card")
    settle(page, f"/m/{slug}/me")
    check("me")
    settle(page, f"/m/{slug}/me/delete")
    check("delete")
    return found


def test_every_guest_page_passes_axe(page: Page, live_server: LiveServer, member):
    page.set_default_timeout(10_000)
    page.set_viewport_size({"width": 1280, "height": 900})
    assert guest_pages(page, live_server, member) == {}


def test_no_guest_page_scrolls_sideways_on_a_phone(page: Page, live_server: LiveServer, member):
    page.set_default_timeout(10_000)
    page.set_viewport_size(PHONE)
    assert guest_pages(page, live_server, member) == {}
