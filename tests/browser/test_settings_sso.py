"""In Chromium, on a phone: the owner sets up single sign-on (on, client, a web shop) through the
Settings page's forms, each answer passing axe and none scrolling sideways."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_accessibility import PHONE, axe_violations, settle

pytestmark = pytest.mark.browser


def fits_and_passes_axe(page: Page) -> None:
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_owner_sets_up_single_sign_on_on_a_phone(owner_page: Page):
    page = owner_page
    page.set_viewport_size(PHONE)
    settle(page, "/settings/")
    section = page.locator("#sso")
    section.get_by_label("Guests may order online already signed in").check()
    section.get_by_label("Deliverect environment").select_option("staging")
    section.get_by_role("button", name="Save single sign-on").click()
    expect(page.get_by_text("Issue the client below so Deliverect can use it")).to_be_visible()
    fits_and_passes_axe(page)

    page.locator("#sso").get_by_role("button", name="Issue client").click()
    expect(page.get_by_label("Client secret")).to_have_value(re.compile(r".{40,}"))
    fits_and_passes_axe(page)

    settle(page, "/settings/")
    shops = page.locator("#web-shops")
    shops.get_by_label("Shop name").fill("Trattoria delivery")
    shops.get_by_label("Channel link id").fill("5f3b2c-delivery")
    shops.get_by_label("Shop address").fill("order.trattoria.test")
    shops.get_by_role("button", name="Add web shop").click()
    expect(page.locator("#field-new-shop-shop_url .error")).to_have_text("start with https://")
    fits_and_passes_axe(page)
    page.locator("#web-shops").get_by_label("Shop address").fill("https://order.trattoria.test/")
    page.locator("#web-shops").get_by_role("button", name="Add web shop").click()
    expect(page.get_by_text("Web shop Trattoria delivery added.")).to_be_visible()
    page.locator("#web-shops summary").first.click()
    expect(page.get_by_role("button", name="Save Trattoria delivery")).to_be_visible()
    expect(page.locator("#sso")).to_contain_text("on: registration offers single sign-on")
    fits_and_passes_axe(page)
