"""In Chromium: build a three-state campaign (coupon → order → points) in the editor, preview
it, initialise it and see its members."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from loyalty.services.accounts.profile import Profile, create_account
from tests.support.browser import LiveServer, Restaurant

pytestmark = pytest.mark.browser


def settled(page: Page) -> None:
    """htmx has swapped what it was asked for and is idle."""
    expect(page.locator(".htmx-request")).to_have_count(0)


def press(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    settled(page)


def choose(page: Page, scope: str, label: str, value: str) -> None:
    select = page.locator(scope).get_by_label(label, exact=True)
    if select.input_value() != value:
        select.select_option(value)
    settled(page)


@pytest.fixture()
def vips(live_server: LiveServer, restaurant: Restaurant) -> list[str]:
    with live_server.app.app_context():
        names = []
        for number in range(3):
            create_account(
                restaurant.tenant_id,
                Profile(first_name=f"Vip{number}", last_name="Rossi", tags=["vip"]),
            )
            names.append(f"Vip{number} Rossi")
        create_account(restaurant.tenant_id, Profile(first_name="Plain", last_name="Guest"))
        return names


def test_build_preview_and_initialise_a_three_state_campaign(owner_page: Page, vips: list[str]):
    page = owner_page
    page.goto("/campaigns/")
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Campaign id").fill("vip-series")
    page.get_by_label("Name", exact=True).fill("VIP series")

    press(page, "Add a constraint")
    constraint = "#constraints-0"
    choose(page, constraint, "Field", "tags")
    page.locator(constraint).get_by_label("Name").fill("vip")
    choose(page, constraint, "Comparison", "EXISTS")
    expect(page.locator(f"{constraint} .sentence")).to_contain_text("vip")

    for _ in range(3):
        press(page, "Add a state")
    expect(page.locator("fieldset.state-card")).to_have_count(3)
    page.locator("#states-0").get_by_label("Percent off").fill("10")
    page.locator("#states-0").get_by_label("Valid for (days)").fill("30")
    choose(page, "#states-1", "What it does", "ORDER")
    choose(page, "#states-2", "What it does", "WALLET")
    page.locator("#states-2").get_by_label("Points to credit").fill("200")
    choose(page, "#states-0", "Then go to", "s2")
    choose(page, "#states-1", "Then go to", "s3")

    outline = page.get_by_role("list", name="Outline of the flow")
    expect(outline).to_contain_text("Gives a coupon: 10% off, valid 30 days")
    expect(outline).to_contain_text("Waits for 1 order")
    expect(outline).to_contain_text("Credits 200 points")

    page.get_by_role("button", name="Save draft").first.click()
    expect(page.get_by_text("Campaign “VIP series” saved.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/campaigns/vip-series/edit$"))

    preview = page.locator("#preview")
    expect(preview).to_contain_text("3 accounts match now.")
    expect(preview).to_contain_text("0 of them ordered in the last 30 days.")
    for name in vips:
        expect(preview.get_by_role("link", name=name)).to_be_visible()
    expect(preview).not_to_contain_text("Plain Guest")

    page.get_by_role("link", name="Initialise…").click()
    page.get_by_role("button", name="Initialise the campaign").click()
    expect(page.get_by_text("Campaign “VIP series” is running.")).to_be_visible()
    counts = page.locator("table.state-counts tbody tr")
    expect(counts).to_have_count(3)
    expect(counts.nth(0).locator('td[data-label="Members now"]')).to_have_text("3")
    expect(counts.nth(1).locator('td[data-label="Members now"]')).to_have_text("0")
    members = page.locator("#members")
    for name in vips:
        expect(members.get_by_role("link", name=name)).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    expect(page.locator("#campaign-vip-series")).to_contain_text("running")
    expect(page.locator("#campaign-vip-series")).to_contain_text("s1: 3")


def test_a_draft_refused_at_initialisation_lists_its_reasons(owner_page: Page):
    page = owner_page
    page.goto("/campaigns/new")
    page.get_by_label("Campaign id").fill("unfinished")
    page.get_by_role("button", name="Save draft").first.click()
    page.get_by_role("link", name="Initialise…").click()
    expect(page.get_by_role("heading", name="It cannot be initialised yet")).to_be_visible()
    expect(page.locator(".reasons")).to_contain_text("Name: is required")
    expect(page.get_by_role("button", name="Initialise the campaign")).to_have_count(0)
