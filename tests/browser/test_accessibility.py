"""In Chromium: every dashboard page passes axe-core's WCAG 2.1 A/AA rules, and on a phone none
scrolls sideways.

axe-core comes from the npm registry (package.json, installed by scripts/test.sh); it is
evaluated through the DevTools protocol, so the pages' Content-Security-Policy stays as served.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 375, "height": 740}


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
    for path in dashboard_pages:
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
    for path in dashboard_pages:
        settle(owner_page, path)
        width = owner_page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[path] = width
    assert wide == {}
