"""In Chromium: live search as you type, filters, the address bar, the back button, and an
adjustment that a double click does not apply twice."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from loyalty.extensions import db
from loyalty.services.accounts.profile import Profile, create_account
from loyalty.services.wallet.ledger import ledger_sum
from tests.support.browser import LiveServer, Restaurant

pytestmark = pytest.mark.browser


@pytest.fixture()
def regulars(live_server: LiveServer, restaurant: Restaurant) -> dict[str, int]:
    people = {
        "zoe": Profile(
            external_id="zoe",
            first_name="Zoë",
            last_name="Rossi",
            email="zoe@example.com",
            tags=["vip"],
        ),
        "mario": Profile(
            external_id="mario", first_name="Mario", last_name="Rossini", phone="+39 333 123 4567"
        ),
        "anna": Profile(external_id="anna", first_name="Anna", last_name="Bianchi", tags=["vip"]),
    }
    with live_server.app.app_context():
        return {
            key: create_account(restaurant.tenant_id, profile).id for key, profile in people.items()
        }


def rows(page: Page):
    return page.locator("#results table.accounts tbody tr")


def test_results_follow_the_typing_and_the_back_button_restores_each_search(
    owner_page: Page, regulars
):
    page = owner_page
    page.goto("/accounts/")
    expect(rows(page)).to_have_count(3)
    box = page.get_by_placeholder("Name, email, phone, card or account id")

    box.press_sequentially("ross", delay=30)
    expect(rows(page)).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/accounts/\?q=ross$"))

    box.press_sequentially("in", delay=30)
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Mario Rossini")
    expect(page).to_have_url(re.compile(r"\?q=rossin$"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"\?q=ross$"))
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_placeholder("Name, email, phone, card or account id")).to_have_value("ross")

    page.go_forward()
    expect(page).to_have_url(re.compile(r"\?q=rossin$"))
    expect(rows(page)).to_have_count(1)


def test_a_phone_typed_any_way_and_a_filter_update_the_list(owner_page: Page, regulars):
    page = owner_page
    page.goto("/accounts/")
    page.get_by_placeholder("Name, email, phone, card or account id").fill("0039 333 1234567")
    page.keyboard.press("Enter")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Mario Rossini")

    page.goto("/accounts/")
    page.get_by_text("Filters and sorting").click()
    page.get_by_label("Tag").fill("vip")
    page.get_by_label("Tag").press("Tab")  # change event: the form searches
    expect(rows(page)).to_have_count(2)
    expect(page).to_have_url(re.compile(r"tag=vip"))
    expect(page.locator(".result-count")).to_contain_text("2 accounts match")


def test_a_double_clicked_adjustment_is_applied_once(
    owner_page: Page, regulars, live_server: LiveServer
):
    page = owner_page
    page.goto(f"/accounts/{regulars['zoe']}")
    page.get_by_label("Points").fill("40")
    page.get_by_label("Reason").fill("points missing from last order")
    page.get_by_role("button", name="Adjust").dblclick()
    expect(page.locator('[data-figure="points"]')).to_have_text("40")
    page.reload()
    expect(page.locator('[data-figure="points"]')).to_have_text("40")
    with live_server.app.app_context():
        assert ledger_sum(regulars["zoe"]) == 40
        db.session.remove()
