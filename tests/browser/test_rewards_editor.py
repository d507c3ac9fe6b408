"""In Chromium: sign in, create a reward of every type, see inline errors and type-driven fields."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import Reward
from tests.support.browser import LiveServer, Restaurant, sign_in

pytestmark = pytest.mark.browser

# type -> (title, what to type, what is stored as (value, item_plu, quantity))
EVERY_TYPE = {
    "discount_amount": ("€5 off", {"value": "5"}, (500, None, None)),
    "discount_percentage": ("10% off", {"value": "10"}, (1000, None, None)),
    "item_discount_amount": (
        "€1 off a Coke",
        {"value": "1.00", "item_plu": "COKE", "quantity": "2"},
        (100, "COKE", 2),
    ),
    "item_discount_percentage": (
        "Half-price pizza",
        {"value": "50", "item_plu": "PIZ-MARG"},
        (5000, "PIZ-MARG", None),
    ),
    "item_fixed_price": (
        "Burger for €3.99",
        {"value": "3.99", "item_plu": "BURGER"},
        (399, "BURGER", None),
    ),
    "buy_one_get_one_free": ("2 for 1 fries", {"item_plu": "FRIES"}, (0, "FRIES", None)),
    "free_item": ("Free tiramisu", {"item_plu": "TIRAMISU"}, (0, "TIRAMISU", None)),
}


def choose_type(page: Page, reward_type: str) -> None:
    select = page.get_by_label("Reward type")
    # Playwright fires `change` even for the value already chosen; that would start a redraw
    # that could land after the next fill and wipe it.
    if select.input_value() != reward_type:
        select.select_option(reward_type)
    # htmx swaps the type-specific fields; wait until they are the new type's and it is idle.
    expect(page.locator("#type-fields")).to_have_attribute("data-type", reward_type)
    expect(page.locator(".htmx-request")).to_have_count(0)


def submit_new_reward(
    page: Page, title: str, reward_type: str, cost: str, typed: dict[str, str]
) -> None:
    """The new-reward form filled and sent as an owner would: `typed` maps the labels of the
    type's own fields to what is typed in them."""
    page.goto("/rewards/new")
    page.get_by_label("Title").fill(title)
    choose_type(page, reward_type)
    for label, text in typed.items():
        page.get_by_label(label).fill(text)
    page.get_by_label("Cost in points").fill(cost)
    page.get_by_role("button", name="Create reward").click()


def stored_rewards(live_server: LiveServer, restaurant: Restaurant) -> list[Reward]:
    with live_server.app.app_context():
        rewards = db.session.scalars(
            select(Reward).where(Reward.tenant_id == restaurant.tenant_id).order_by(Reward.id)
        ).all()
        db.session.expunge_all()
        return list(rewards)


def test_owner_signs_in_and_out(page: Page, restaurant: Restaurant):
    sign_in(page, restaurant)
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Rewards")
    ).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/rewards/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_owner_creates_one_reward_of_each_type(
    owner_page: Page, live_server: LiveServer, restaurant: Restaurant
):
    page = owner_page
    for reward_type, (title, typed, _) in EVERY_TYPE.items():
        page.goto("/rewards/new")
        page.get_by_label("Title").fill(title)
        choose_type(page, reward_type)
        fields = page.locator("#type-fields")
        if "value" in typed:
            fields.locator("input[name=value]").fill(typed["value"])
        if "item_plu" in typed:
            page.get_by_label("Item PLU").fill(typed["item_plu"])
        if "quantity" in typed:
            fields.locator("input[name=quantity]").fill(typed["quantity"])
        page.get_by_label("Cost in points").fill("100")
        page.get_by_role("button", name="Create reward").click()
        expect(page.get_by_text(f"Reward “{title}” created.")).to_be_visible()
        expect(page.get_by_role("link", name=title)).to_be_visible()

    expect(page.locator("table.rewards tbody tr")).to_have_count(len(EVERY_TYPE))
    stored = {reward.type: reward for reward in stored_rewards(live_server, restaurant)}
    assert set(stored) == set(EVERY_TYPE)
    for reward_type, (_, _, (value, plu, quantity)) in EVERY_TYPE.items():
        reward = stored[reward_type]
        assert (reward.value, reward.item_plu, reward.quantity, reward.cost) == (
            value,
            plu,
            quantity,
            100,
        ), reward_type


def test_an_invalid_percentage_shows_an_inline_error_and_keeps_the_form(
    owner_page: Page, live_server: LiveServer, restaurant: Restaurant
):
    page = owner_page
    submit_new_reward(page, "Too generous", "discount_percentage", "10", {"Discount (%)": "150"})
    value_field = page.locator("#field-value")
    expect(value_field.locator(".error")).to_have_text("enter a percentage above 0 and at most 100")
    expect(page.get_by_label("Discount (%)")).to_have_value("150")
    expect(page.get_by_label("Title")).to_have_value("Too generous")
    assert stored_rewards(live_server, restaurant) == []


def test_the_fields_follow_the_type(owner_page: Page):
    page = owner_page
    page.goto("/rewards/new")
    plu = page.get_by_label("Item PLU")

    choose_type(page, "discount_amount")
    expect(page.get_by_label("Discount (EUR)")).to_be_visible()
    expect(plu).to_have_count(0)

    choose_type(page, "item_discount_percentage")
    expect(plu).to_be_visible()
    expect(page.get_by_label("Discount (%)")).to_be_visible()
    expect(page.get_by_label("Discount per item (EUR)")).to_have_count(0)

    choose_type(page, "item_fixed_price")
    expect(page.get_by_label("New price (EUR)")).to_be_visible()

    choose_type(page, "free_item")
    expect(plu).to_be_visible()
    expect(page.locator("#type-fields input[name=value]")).to_have_count(0)
    expect(page.get_by_label("Free items")).to_be_visible()


def test_a_typed_amount_survives_a_switch_within_money_types(owner_page: Page):
    page = owner_page
    page.goto("/rewards/new")
    choose_type(page, "discount_amount")
    page.get_by_label("Discount (EUR)").fill("4.50")
    choose_type(page, "item_discount_amount")
    expect(page.get_by_label("Discount per item (EUR)")).to_have_value("4.50")
    choose_type(page, "item_discount_percentage")
    expect(page.get_by_label("Discount (%)")).to_have_value("")


def test_the_edit_page_shows_the_deliverect_listing(owner_page: Page):
    page = owner_page
    submit_new_reward(page, "Free coffee", "free_item", "80", {"Item PLU": "ESPRESSO"})
    page.get_by_role("link", name="Free coffee").click()
    listing = page.locator("pre.json")
    expect(listing).to_contain_text('"type": "free_item"')
    expect(listing).to_contain_text('"itemPLU": "ESPRESSO"')
    expect(listing).to_contain_text('"cost": 80')
