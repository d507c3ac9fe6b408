"""Rewards editor: typed amounts become stored units, rules show inline, the listing matches."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import Reward
from loyalty.services.checkout.catalogue import listing
from loyalty.services.setup.rewards import RewardDetails, create_reward
from loyalty.services.setup.settings import TenantSettings, update_settings
from loyalty.services.setup.tiers import TierDetails, create_tier
from tests.support.forms import csrf_token, errors_for, reward_form, signed_in_checking_csrf


def only_reward() -> Reward:
    (reward,) = db.session.scalars(select(Reward)).all()
    return reward


def no_rewards() -> bool:
    return db.session.scalar(select(Reward.id)) is None


def test_empty_list_invites_the_owner_to_create_a_reward(owner_client):
    page = owner_client.get("/rewards/")
    assert page.status_code == 200
    assert b"No rewards yet" in page.data
    assert b'href="/rewards/new"' in page.data


def test_amounts_typed_as_money_are_stored_in_minor_units(owner_client, tenant):
    response = owner_client.post(
        "/rewards/new", data=reward_form(value="2.50", min_order_value="20", cost="150")
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/rewards/"
    reward = only_reward()
    assert (reward.value, reward.min_order_value, reward.cost) == (250, 2000, 150)
    assert reward.tenant_id == tenant.id
    listed = owner_client.get("/rewards/")
    assert b"\xe2\x82\xac2.50 off" in listed.data
    assert b"2.50 EUR off the order" in listed.data
    assert b"order from 20.00 EUR" in listed.data


def test_percentages_typed_as_50_are_stored_as_5000(owner_client):
    response = owner_client.post(
        "/rewards/new", data=reward_form(type="discount_percentage", value="50", title="Half off")
    )
    assert response.status_code == 303
    assert only_reward().value == 5000
    assert b"50% off the order" in owner_client.get("/rewards/").data


def test_fractional_percentages_keep_their_hundredths(owner_client):
    owner_client.post("/rewards/new", data=reward_form(type="discount_percentage", value="12.5"))
    assert only_reward().value == 1250


@pytest.mark.parametrize(
    ("reward_type", "typed", "stored"),
    [
        ("discount_amount", {"value": "5"}, {"value": 500, "item_plu": None}),
        ("discount_percentage", {"value": "10"}, {"value": 1000, "item_plu": None}),
        (
            "item_discount_amount",
            {"value": "1.20", "item_plu": "COKE", "quantity": "2"},
            {"value": 120, "item_plu": "COKE", "quantity": 2},
        ),
        (
            "item_discount_percentage",
            {"value": "25", "item_plu": "PIZ-1"},
            {"value": 2500, "item_plu": "PIZ-1", "quantity": None},
        ),
        (
            "item_fixed_price",
            {"value": "3.99", "item_plu": "BURGER"},
            {"value": 399, "item_plu": "BURGER"},
        ),
        (
            "buy_one_get_one_free",
            {"value": "", "item_plu": "FRIES", "quantity": "3"},
            {"value": 0, "item_plu": "FRIES", "quantity": 3},
        ),
        ("free_item", {"item_plu": "DESSERT"}, {"value": 0, "item_plu": "DESSERT"}),
    ],
)
def test_each_of_the_seven_types_is_created_with_its_own_fields(
    owner_client, reward_type, typed, stored
):
    response = owner_client.post("/rewards/new", data=reward_form(type=reward_type, **typed))
    assert response.status_code == 303, errors_for(response, "value")
    reward = only_reward()
    assert reward.type == reward_type
    for name, value in stored.items():
        assert getattr(reward, name) == value, name
    assert listing(reward)["type"] == reward_type


def test_percentage_above_100_is_refused_next_to_the_value(owner_client):
    response = owner_client.post(
        "/rewards/new", data=reward_form(type="discount_percentage", value="150")
    )
    assert response.status_code == 422
    assert errors_for(response, "value") == ["enter a percentage above 0 and at most 100"]
    assert no_rewards()


def test_money_finer_than_the_currency_is_refused_not_rounded(owner_client):
    response = owner_client.post("/rewards/new", data=reward_form(value="2.505"))
    assert response.status_code == 422
    assert errors_for(response, "value") == ["use at most 2 decimal places"]
    assert 'value="2.505"' in response.get_data(as_text=True)  # what was typed stays
    assert no_rewards()


def test_money_uses_the_restaurants_decimal_digits(owner_client, tenant):
    update_settings(tenant.id, TenantSettings("Trattoria Roma", "JPY", 0, None))
    refused = owner_client.post("/rewards/new", data=reward_form(value="2.50"))
    assert errors_for(refused, "value") == ["use at most 0 decimal places"]
    owner_client.post("/rewards/new", data=reward_form(value="500"))
    assert only_reward().value == 500


def test_minimum_order_value_is_parsed_as_money_too(owner_client):
    response = owner_client.post("/rewards/new", data=reward_form(min_order_value="ten"))
    assert errors_for(response, "min_order_value") == ["enter a number such as 2.50"]
    assert no_rewards()


def test_text_as_a_percentage_gets_a_percentage_example(owner_client):
    response = owner_client.post(
        "/rewards/new", data=reward_form(type="discount_percentage", value="half")
    )
    assert errors_for(response, "value") == ["enter a number such as 50"]


def test_item_types_need_the_items_plu(owner_client):
    response = owner_client.post("/rewards/new", data=reward_form(type="free_item", item_plu="  "))
    assert response.status_code == 422
    assert errors_for(response, "item_plu") == ["enter the PLU of the item, as the POS knows it"]
    assert no_rewards()


def test_negative_cost_is_refused(owner_client):
    response = owner_client.post("/rewards/new", data=reward_form(cost="-5"))
    assert errors_for(response, "cost") == ["enter a cost from 0 to 100,000,000 points"]


def test_cost_must_be_a_whole_number(owner_client):
    response = owner_client.post("/rewards/new", data=reward_form(cost="ten"))
    assert errors_for(response, "cost") == ["enter a whole number of points"]


def test_end_before_start_is_refused_next_to_the_end(owner_client):
    response = owner_client.post(
        "/rewards/new",
        data=reward_form(active_from="2030-06-10T12:00", active_to="2030-06-01T12:00"),
    )
    assert errors_for(response, "active_to") == ["must be after the start"]
    assert no_rewards()


def test_active_window_is_stored_in_utc_and_sent_as_expires_at(owner_client):
    owner_client.post(
        "/rewards/new",
        data=reward_form(active_from="2030-06-01T09:00", active_to="2030-07-01T00:00"),
    )
    reward = only_reward()
    assert reward.active_from.isoformat() == "2030-06-01T09:00:00+00:00"
    assert listing(reward)["expiresAt"] == "2030-07-01T00:00:00Z"
    assert b"scheduled" in owner_client.get("/rewards/").data


def test_several_problems_are_all_shown_at_once(owner_client):
    response = owner_client.post(
        "/rewards/new",
        data=reward_form(title="", type="item_discount_amount", value="0", item_plu="", cost="-1"),
    )
    assert errors_for(response, "title")
    assert errors_for(response, "value") == ["enter an amount above 0"]
    assert errors_for(response, "item_plu")
    assert errors_for(response, "cost")


def test_fixed_price_needs_a_new_price_but_may_be_zero(owner_client):
    missing = owner_client.post(
        "/rewards/new", data=reward_form(type="item_fixed_price", value="", item_plu="X")
    )
    assert errors_for(missing, "value") == ["enter the new price (0 makes the item free)"]
    owner_client.post(
        "/rewards/new", data=reward_form(type="item_fixed_price", value="0", item_plu="X")
    )
    assert only_reward().value == 0


def test_media_address_must_be_a_web_address(owner_client):
    response = owner_client.post("/rewards/new", data=reward_form(media_url="javascript:alert(1)"))
    assert errors_for(response, "media_url") == ["enter a full address starting with https://"]
    owner_client.post(
        "/rewards/new",
        data=reward_form(media_url="https://cdn.example.com/tiramisu.jpg", media_type="image"),
    )
    assert listing(only_reward())["media"] == {
        "url": "https://cdn.example.com/tiramisu.jpg",
        "mediaType": "image",
    }


def test_minimum_tier_offers_only_this_restaurants_tiers(owner_client, tenant, other_tenant):
    gold = create_tier(tenant.id, TierDetails("Gold", 1000, 150))
    elsewhere = create_tier(other_tenant.id, TierDetails("Platinum", 5000, 200))
    form_page = owner_client.get("/rewards/new").get_data(as_text=True)
    assert "Gold (1,000 points)" in form_page
    assert "Platinum" not in form_page
    refused = owner_client.post("/rewards/new", data=reward_form(min_tier_id=str(elsewhere.id)))
    assert refused.status_code == 422
    assert no_rewards()
    owner_client.post("/rewards/new", data=reward_form(min_tier_id=str(gold.id)))
    assert only_reward().min_tier_id == gold.id


def test_edit_page_shows_the_exact_deliverect_listing(owner_client, tenant):
    reward = create_reward(
        tenant.id,
        RewardDetails(
            "Free tiramisu", "free_item", 300, item_plu="TIRAMISU", description="Sweet <end>"
        ),
    )
    page = owner_client.get(f"/rewards/{reward.id}").get_data(as_text=True)
    shown = re.search(r'<pre class="json">(.*?)</pre>', page, re.S)[1]
    assert json.loads(html.unescape(shown)) == listing(reward)
    assert "Sweet &lt;end&gt;" in page  # escaped, never raw HTML


def test_edit_shows_stored_units_as_typed_and_saves_changes(owner_client, tenant):
    half_pizza = RewardDetails("Half pizza", "item_discount_percentage", 200, 5000, item_plu="PIZ")
    reward = create_reward(tenant.id, half_pizza)
    page = owner_client.get(f"/rewards/{reward.id}").get_data(as_text=True)
    assert 'name="value" type="text" value="50"' in page
    response = owner_client.post(
        f"/rewards/{reward.id}",
        data=reward_form(
            title="Third off pizza", type="item_discount_percentage", value="33.33", item_plu="PIZ"
        ),
    )
    assert response.status_code == 303
    db.session.refresh(reward)
    assert (reward.title, reward.value, reward.program_id) == ("Third off pizza", 3333, "1")


def test_changing_to_an_order_discount_drops_the_item(owner_client, tenant):
    coke = RewardDetails("Coke", "item_discount_amount", 50, 100, item_plu="COKE", quantity=2)
    reward = create_reward(tenant.id, coke)
    owner_client.post(f"/rewards/{reward.id}", data=reward_form(type="discount_amount"))
    db.session.refresh(reward)
    assert (reward.item_plu, reward.quantity) == (None, None)
    assert listing(reward)["itemPLU"] is None


def test_an_invalid_edit_changes_nothing(owner_client, tenant):
    reward = create_reward(tenant.id, RewardDetails("€5 off", "discount_amount", 100, 500))
    response = owner_client.post(f"/rewards/{reward.id}", data=reward_form(title="", value="9"))
    assert response.status_code == 422
    db.session.expire_all()
    assert (reward.title, reward.value) == ("€5 off", 500)


def test_archived_rewards_leave_the_list_and_can_be_restored(owner_client, tenant):
    reward = create_reward(tenant.id, RewardDetails("Old promo", "discount_amount", 100, 500))
    response = owner_client.post(f"/rewards/{reward.id}/archive")
    assert response.status_code == 303
    row = f'id="reward-{reward.id}"'.encode()
    live = owner_client.get("/rewards/")
    assert b"archived: customers no longer see it" in live.data
    assert row not in live.data
    archived = owner_client.get("/rewards/?archived=1")
    assert row in archived.data
    assert b"Archived (1)" in archived.data
    owner_client.post(f"/rewards/{reward.id}/restore")
    assert row in owner_client.get("/rewards/").data
    db.session.refresh(reward)
    assert reward.archived_at is None


def test_type_fields_for_an_item_type_ask_for_the_plu_and_a_percentage(owner_client):
    fragment = owner_client.get(
        "/rewards/fields", query_string={"type": "item_discount_percentage"}
    ).get_data(as_text=True)
    assert 'name="item_plu"' in fragment
    assert "Discount (%)" in fragment
    assert "<html" not in fragment


def test_type_fields_for_an_order_amount_ask_for_money_and_no_plu(owner_client):
    fragment = owner_client.get(
        "/rewards/fields", query_string={"type": "discount_amount"}
    ).get_data(as_text=True)
    assert 'name="item_plu"' not in fragment
    assert "Discount (EUR)" in fragment


def test_type_fields_for_free_items_have_no_value(owner_client):
    fragment = owner_client.get("/rewards/fields", query_string={"type": "free_item"}).get_data(
        as_text=True
    )
    assert 'name="value"' not in fragment
    assert 'name="item_plu"' in fragment


def test_switching_between_money_and_percent_clears_the_typed_value(owner_client):
    kept = owner_client.get(
        "/rewards/fields",
        query_string={"type": "item_fixed_price", "fields_for": "discount_amount", "value": "3"},
    ).get_data(as_text=True)
    assert 'name="value" type="text" value="3"' in kept
    cleared = owner_client.get(
        "/rewards/fields",
        query_string={"type": "discount_percentage", "fields_for": "discount_amount", "value": "3"},
    ).get_data(as_text=True)
    assert 'name="value" type="text" value=""' in cleared


def test_without_javascript_the_refresh_button_redraws_fields_without_saving(owner_client):
    response = owner_client.post(
        "/rewards/new",
        data=reward_form(type="free_item", fields_for="discount_amount", refresh="1"),
    )
    assert response.status_code == 200
    assert 'name="item_plu"' in response.get_data(as_text=True)
    assert 'class="error"' not in response.get_data(as_text=True)
    assert no_rewards()


def test_reward_of_another_restaurant_is_not_found(owner_client, other_tenant):
    theirs = create_reward(other_tenant.id, RewardDetails("Theirs", "discount_amount", 1, 100))
    assert owner_client.get(f"/rewards/{theirs.id}").status_code == 404
    assert b"Theirs" not in owner_client.get("/rewards/").data


def test_reward_post_without_csrf_token_is_rejected(database_url, owner):
    with signed_in_checking_csrf(database_url, owner.email) as client:
        assert client.post("/rewards/new", data=reward_form()).status_code == 400
        assert no_rewards()
        token = csrf_token(client.get("/rewards/new").get_data(as_text=True))
        accepted = client.post("/rewards/new", data=reward_form(csrf_token=token))
        assert accepted.status_code == 303
