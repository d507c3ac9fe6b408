"""In Chromium: every dashboard page passes axe-core's WCAG 2.1 A/AA rules, and on a phone none
scrolls sideways.

axe-core comes from the npm registry (package.json, installed by scripts/test.sh); it is
evaluated through the DevTools protocol, so the pages' Content-Security-Policy stays as served.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from loyalty.extensions import db
from loyalty.models import Tenant
from loyalty.services.account_admin import adjust_points, new_adjustment_token
from loyalty.services.accounts import Profile, create_account
from loyalty.services.rewards import RewardDetails, create_reward
from loyalty.services.tiers import TierDetails, create_tier

from .conftest import LiveServer, Restaurant

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 375, "height": 740}


@pytest.fixture()
def pages(live_server: LiveServer, restaurant: Restaurant) -> list[str]:
    """Every page a team member can open, with data on it."""
    with live_server.app.app_context():
        tenant = db.session.get(Tenant, restaurant.tenant_id)
        reward = create_reward(tenant, RewardDetails("Free espresso", "free_item", 100, 0,
                                                     item_plu="ESP-1"))
        tier = create_tier(tenant, TierDetails("Gold", 500, 150))
        account = create_account(
            tenant.id,
            Profile(external_id="zoe", first_name="Zoë", last_name="Rossi",
                    email="zoe@example.com", tags=["vip"]),
        )
        adjust_points(tenant.id, account.id, 120, "Welcome gift", None, new_adjustment_token())
        ids = {"reward": reward.id, "tier": tier.id, "account": account.id}
    return [
        "/",
        "/rewards/",
        "/rewards/new",
        f"/rewards/{ids['reward']}",
        "/tiers/",
        "/tiers/new",
        f"/tiers/{ids['tier']}",
        "/accounts/",
        "/accounts/?q=ros",
        f"/accounts/{ids['account']}",
        f"/accounts/{ids['account']}/merge?other=nobody",
        f"/accounts/{ids['account']}/erase",
        "/segments/",
        "/integration/",
        "/settings/",
        "/team/",
    ]


def axe_violations(page: Page) -> list[str]:
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    return [
        f"{violation['id']}: {node['target']} {violation['help']}"
        for violation in result["violations"]
        for node in violation["nodes"]
    ]


def settle(page: Page, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")  # lazy counts and sections loaded by htmx


def test_every_page_passes_axe(owner_page: Page, pages: list[str]):
    problems = {}
    for path in pages:
        settle(owner_page, path)
        found = axe_violations(owner_page)
        if found:
            problems[path] = found
    assert problems == {}


def test_the_login_page_passes_axe(page: Page):
    settle(page, "/login")
    assert axe_violations(page) == []


def test_no_page_scrolls_sideways_on_a_phone(owner_page: Page, pages: list[str]):
    owner_page.set_viewport_size(PHONE)
    wide = {}
    for path in pages:
        settle(owner_page, path)
        width = owner_page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[path] = width
    assert wide == {}
