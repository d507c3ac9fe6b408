"""Browser tests: the real app on a local port (CSRF on, SQLite file) driven by Debian's Chromium.

One server and one browser for the whole session; every test gets its own restaurant and owner
(so tests never see each other's rewards) and its own page in a fresh browser context (so no
cookies leak between tests). Uses pytest-playwright's `page`; `playwright install` is never run.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page
from werkzeug.serving import make_server

from loyalty import create_app
from loyalty.extensions import db
from loyalty.models import Tenant, utcnow
from loyalty.services.accounts.profile import Profile, create_account
from loyalty.services.accounts.search import SearchCriteria
from loyalty.services.accounts.segments import save_segment
from loyalty.services.campaigns.coupons import coupons_of
from loyalty.services.campaigns.lifecycle import initialise_campaign
from loyalty.services.campaigns.store import save_campaign
from loyalty.services.checkout.orders import OrderReport, record_order
from loyalty.services.setup.api_clients import create_client, revoke_client
from loyalty.services.setup.rewards import RewardDetails, create_reward
from loyalty.services.setup.team import create_user
from loyalty.services.setup.tenants import create_tenant
from loyalty.services.setup.tiers import TierDetails, create_tier
from loyalty.services.wallet.adjustments import adjust_points, new_adjustment_token
from tests.support.app import PASSWORD
from tests.support.browser import LiveServer, Restaurant, sign_in

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
_restaurant_numbers = itertools.count(1)
RUNNING_CAMPAIGN = {
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
            "transitionTo": "thanks",
        },
        {"id": "thanks", "type": "WALLET", "points": 50},
    ],
}
# Incomplete (no name), with one state of each type and a notification of each type.
DRAFT_CAMPAIGN = {
    "type": "BIRTHDAY",
    "constraints": [{"field": "header.lastOrder", "op": "LT", "value": ["-P30D"]}],
    "states": [
        {
            "id": "gift",
            "type": "COUPON",
            "couponType": "PRODUCT",
            "product": "ESP-1",
            "transitionTo": "wait",
        },
        {
            "id": "wait",
            "type": "ORDER",
            "constraints": [{"field": "order.total", "op": "GTE", "value": ["1000"]}],
            "timeout": "P7D",
            "timeoutTransitionTo": "hello",
            "transitionTo": "points",
        },
        {"id": "points", "type": "WALLET", "points": 100, "transitionTo": "hello"},
        {
            "id": "hello",
            "type": "MESSAGE",
            "title": "Hello",
            "message": "Thanks!",
            "transitionTo": "match",
        },
        {
            "id": "match",
            "type": "ACCOUNT",
            "constraints": [{"field": "tags.vip", "op": "EXISTS", "value": []}],
        },
    ],
    "notifications": [
        {"type": "COUPON_EXPIRATION", "daysBefore": 3, "title": "Soon", "message": "Ends soon"},
        {"type": "DYNAMIC_JOIN", "title": "Welcome", "message": "You joined"},
        {"type": "SPECIFIC_TIME", "at": "2030-01-01T09:00:00Z", "title": "Hi", "message": "Hi"},
    ],
}


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("browser") / "loyalty.db"
    app = create_app(
        {
            "SECRET_KEY": "browser-test-secret-key",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "WTF_CSRF_ENABLED": True,  # as in production
        }
    )
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """pytest-playwright opens every page relative to this."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture()
def restaurant(live_server: LiveServer) -> Restaurant:
    """A fresh restaurant with an owner, made through the services."""
    number = next(_restaurant_numbers)
    with live_server.app.app_context():
        tenant, _credentials = create_tenant(f"trattoria-{number}", f"Trattoria {number}")
        owner = create_user(
            tenant.id, f"owner{number}@trattoria.test", PASSWORD, role="owner", name="Olivia"
        )
        return Restaurant(tenant.id, tenant.slug, owner.email, PASSWORD)


@pytest.fixture()
def owner_page(page: Page, restaurant: Restaurant) -> Page:
    """A page signed in as the restaurant's owner."""
    page.set_default_timeout(10_000)
    sign_in(page, restaurant)
    return page


@pytest.fixture()
def dashboard_pages(live_server: LiveServer, restaurant: Restaurant) -> list[str]:
    """Every page a team member can open, each with something on it, in the owner's restaurant."""
    with live_server.app.app_context():
        tenant = db.session.get(Tenant, restaurant.tenant_id)
        reward = create_reward(
            tenant.id, RewardDetails("Free espresso", "free_item", 100, 0, item_plu="ESP-1")
        )
        tier = create_tier(tenant.id, TierDetails("Gold", 500, 150))
        account = create_account(
            tenant.id,
            Profile(
                external_id="zoe",
                first_name="Zoë",
                last_name="Rossi",
                email="zoe@example.com",
                tags=["vip"],
            ),
        )
        adjust_points(tenant.id, account.id, 120, "Welcome gift", None, new_adjustment_token())
        # Over the caps: held for review, so on Home and on the held-orders list.
        record_order(tenant, OrderReport("HUGE-1", account.id, payment_amount=5_000_000), utcnow())
        segment = save_segment(tenant.id, "Rossis", SearchCriteria(q="rossi"), None)
        reward_id, tier_id, account_id, segment_id = reward.id, tier.id, account.id, segment.id
        # A running campaign (Zoë holds its coupon) and a draft with every kind of state.
        save_campaign(tenant.id, {**RUNNING_CAMPAIGN, "id": "vip-treat"}, utcnow())
        initialise_campaign(tenant.id, "vip-treat", utcnow())
        save_campaign(tenant.id, {**DRAFT_CAMPAIGN, "id": "every-state"}, utcnow())
        (coupon_code,) = [c.code for c in coupons_of(tenant.id, account.id)]
        create_client(tenant.id, "Till at the bar", ["ROLE_LOYALTY", "ROLE_LOYALTY_STATS"])
        create_client(tenant.id, "Back office", kind="admin-app")
        old = create_client(tenant.id, "Old kiosk", ["ROLE_LOYALTY"])
        revoke_client(tenant.id, old.client.id)
    return [
        "/",
        "/rewards/",
        "/rewards/new",
        f"/rewards/{reward_id}",
        "/tiers/",
        "/tiers/new",
        f"/tiers/{tier_id}",
        "/accounts/",
        "/accounts/?q=ros",
        f"/accounts/{account_id}",
        f"/accounts/{account_id}/merge?other=nobody",
        f"/accounts/{account_id}/erase",
        "/accounts/held-orders",
        "/segments/",
        f"/segments/{segment_id}",
        "/campaigns/",
        "/campaigns/new",
        "/campaigns/every-state/edit",
        "/campaigns/every-state/initialise",
        "/campaigns/vip-treat",
        "/campaigns/vip-treat/edit",
        "/campaigns/vip-treat/finalise",
        "/coupons/",
        f"/coupons/?code={coupon_code.lower()}",
        "/integration/",
        "/api-clients/",
        "/settings/",
        "/settings/earning",
        "/settings/notifications/",
        "/team/",
        "/account",
    ]
