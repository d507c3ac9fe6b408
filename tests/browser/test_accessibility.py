"""In Chromium: every dashboard page passes axe-core's WCAG 2.1 A/AA rules, and on a phone none
scrolls sideways.

axe-core comes from the npm registry (package.json, installed by scripts/test.sh); it is
evaluated through the DevTools protocol, so the pages' Content-Security-Policy stays as served.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 375, "height": 740}
# The stats pages, each with the range form's other answers too (a longer range, custom days).
STATS_PAGES = (
    "/stats/",
    "/stats/?range=90d",
    "/stats/?range=year",
    "/stats/?range=custom&from=2026-01-01&to=2026-01-31",
    "/stats/?range=custom&from=2026-02-01&to=2026-01-01",
    "/stats/cohorts",
    "/stats/campaigns",
    "/stats/segments",
)


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


def test_every_page_passes_axe(owner_page: Page, dashboard_pages: list[str]):
    problems = {}
    for path in [*dashboard_pages, *STATS_PAGES]:
        settle(owner_page, path)
        found = axe_violations(owner_page)
        if found:
            problems[path] = found
    assert problems == {}


def test_the_login_page_passes_axe(page: Page):
    settle(page, "/login")
    assert axe_violations(page) == []


def test_no_page_scrolls_sideways_on_a_phone(owner_page: Page, dashboard_pages: list[str]):
    owner_page.set_viewport_size(PHONE)
    wide = {}
    for path in [*dashboard_pages, *STATS_PAGES]:
        settle(owner_page, path)
        width = owner_page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[path] = width
    assert wide == {}


def test_the_navigation_folds_behind_a_menu_on_a_phone(owner_page: Page):
    owner_page.set_viewport_size(PHONE)
    settle(owner_page, "/")
    menu = owner_page.get_by_role("button", name="Menu")
    rewards = owner_page.get_by_role("navigation", name="Main").get_by_role("link", name="Rewards")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(rewards).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    rewards.click()
    expect(owner_page).to_have_url(re.compile(r"/rewards/$"))
    assert axe_violations(owner_page) == []


def test_on_a_wide_screen_the_navigation_is_always_open(owner_page: Page):
    settle(owner_page, "/")
    expect(owner_page.get_by_role("button", name="Menu")).to_be_hidden()
    nav = owner_page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Rewards")).to_be_visible()


def test_on_a_phone_the_menu_leads_to_your_account(owner_page: Page):
    owner_page.set_viewport_size(PHONE)
    settle(owner_page, "/")
    owner_page.get_by_role("button", name="Menu").click()
    owner_page.get_by_role("link", name="Your account").click()
    expect(owner_page.get_by_role("heading", name="Your account")).to_be_visible()


def test_a_new_api_clients_secret_page_passes_axe_on_a_phone(owner_page: Page):
    """The page that shows a client's secret once, reached by the form (no JavaScript needed)."""
    owner_page.set_viewport_size(PHONE)
    settle(owner_page, "/api-clients/")
    owner_page.get_by_label("Name").fill("Till at the bar")
    owner_page.get_by_role("button", name="Create client").click()
    expect(owner_page.get_by_label("Client secret")).to_have_value(re.compile(r".{40,}"))
    assert axe_violations(owner_page) == []
    assert owner_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
