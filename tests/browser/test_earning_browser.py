"""In Chromium: the Earning page's preview, and its refusals, pass axe-core and fit a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_accessibility import PHONE, axe_violations, settle

pytestmark = pytest.mark.browser


def test_a_preview_and_a_refusal_pass_axe_on_a_phone(owner_page: Page, dashboard_pages):
    owner_page.set_viewport_size(PHONE)
    settle(owner_page, "/settings/earning")
    owner_page.get_by_label("Basket").last.fill("COFFEE 2 2.50\n+ SHOT 1 0.50\nCAKE 1 4.00")
    owner_page.get_by_role("button", name="Preview", exact=True).click()
    expect(owner_page.get_by_role("heading", name="This basket earns 10 points")).to_be_visible()
    assert axe_violations(owner_page) == []
    assert owner_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    owner_page.get_by_label("Points", exact=True).fill("0")
    owner_page.get_by_role("button", name="Add rule").click()
    expect(owner_page.locator(".error").first).to_be_visible()
    assert axe_violations(owner_page) == []
    assert owner_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
