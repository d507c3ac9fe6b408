"""Tiers editor: multipliers typed as "1.5", unique names, ranges shown lowest first."""

from __future__ import annotations

from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import Tier
from loyalty.services.setup.rewards import RewardDetails, create_reward
from loyalty.services.setup.tiers import TierDetails, create_tier
from tests.support.forms import errors_for


def tier_form(**overrides) -> dict:
    form = {"name": "Gold", "threshold_points": "1000", "multiplier": "1.5", "description": ""}
    form.update(overrides)
    return form


def tier_names() -> list[str]:
    return list(db.session.scalars(select(Tier.name).order_by(Tier.id)))


def test_multiplier_typed_as_1_5_is_stored_as_150(owner_client, tenant):
    response = owner_client.post("/tiers/new", data=tier_form())
    assert response.status_code == 303
    (tier,) = db.session.scalars(select(Tier)).all()
    assert (tier.name, tier.threshold_points, tier.multiplier_percent) == ("Gold", 1000, 150)
    assert tier.tenant_id == tenant.id


def test_list_shows_tiers_lowest_first_with_their_point_ranges(owner_client, tenant):
    create_tier(tenant.id, TierDetails("Gold", 2000, 200))
    create_tier(tenant.id, TierDetails("Bronze", 0, 100))
    create_tier(tenant.id, TierDetails("Silver", 500, 125))
    page = owner_client.get("/tiers/").get_data(as_text=True)
    assert page.index("Bronze") < page.index("Silver") < page.index("Gold")
    assert "0 – 499" in page
    assert "500 – 1,999" in page
    assert "2,000 and more" in page
    assert "×1.25" in page
    assert "×2" in page


def test_tier_names_are_unique_per_restaurant_ignoring_case(owner_client, tenant, other_tenant):
    create_tier(tenant.id, TierDetails("Gold", 1000, 150))
    create_tier(other_tenant.id, TierDetails("Silver", 100, 110))
    response = owner_client.post("/tiers/new", data=tier_form(name="gold", threshold_points="5"))
    assert response.status_code == 422
    assert errors_for(response, "name") == ["there is already a tier called gold"]
    # Another restaurant's tier names do not count.
    accepted = owner_client.post("/tiers/new", data=tier_form(name="Silver", threshold_points="5"))
    assert accepted.status_code == 303


def test_two_tiers_cannot_start_at_the_same_points(owner_client, tenant):
    create_tier(tenant.id, TierDetails("Gold", 1000, 150))
    response = owner_client.post("/tiers/new", data=tier_form(name="Platinum"))
    assert errors_for(response, "threshold_points") == ["Gold already starts at 1000 points"]


def test_multiplier_must_be_a_number_from_1_to_10(owner_client):
    text = owner_client.post("/tiers/new", data=tier_form(multiplier="fast"))
    assert errors_for(text, "multiplier") == ["enter a number such as 1.5"]
    low = owner_client.post("/tiers/new", data=tier_form(multiplier="0.5"))
    assert errors_for(low, "multiplier") == ["enter a multiplier from 1 to 10, such as 1.5"]
    high = owner_client.post("/tiers/new", data=tier_form(multiplier="15"))
    assert errors_for(high, "multiplier")
    fine = owner_client.post("/tiers/new", data=tier_form(multiplier="1.125"))
    assert errors_for(fine, "multiplier") == ["use at most 2 decimal places"]
    assert tier_names() == []


def test_threshold_must_be_whole_non_negative_points(owner_client):
    negative = owner_client.post("/tiers/new", data=tier_form(threshold_points="-1"))
    assert errors_for(negative, "threshold_points") == [
        "enter a number of points from 0 to 1,000,000,000"
    ]
    text = owner_client.post("/tiers/new", data=tier_form(threshold_points="lots"))
    assert errors_for(text, "threshold_points") == ["enter a whole number of points"]


def test_badge_picture_must_be_a_web_address(owner_client):
    refused = owner_client.post("/tiers/new", data=tier_form(media_url="gold.png"))
    assert errors_for(refused, "media_url") == ["enter a full address starting with https://"]
    owner_client.post("/tiers/new", data=tier_form(media_url="https://cdn.example.com/gold.png"))
    (tier,) = db.session.scalars(select(Tier)).all()
    assert tier.media_url == "https://cdn.example.com/gold.png"


def test_edit_shows_the_multiplier_as_typed_and_saves(owner_client, tenant):
    tier = create_tier(tenant.id, TierDetails("Gold", 1000, 150))
    page = owner_client.get(f"/tiers/{tier.id}").get_data(as_text=True)
    assert 'value="1.5"' in page
    response = owner_client.post(
        f"/tiers/{tier.id}", data=tier_form(name="Gold", threshold_points="1200", multiplier="2")
    )
    assert response.status_code == 303
    db.session.refresh(tier)
    assert (tier.threshold_points, tier.multiplier_percent) == (1200, 200)


def test_a_tier_may_keep_its_own_name_and_threshold_when_edited(owner_client, tenant):
    tier = create_tier(tenant.id, TierDetails("Gold", 1000, 150))
    response = owner_client.post(f"/tiers/{tier.id}", data=tier_form(description="Our best"))
    assert response.status_code == 303
    assert tier_names() == ["Gold"]
    assert "Our best" in owner_client.get("/tiers/").get_data(as_text=True)


def test_deleting_a_tier_removes_it(owner_client, tenant):
    tier = create_tier(tenant.id, TierDetails("Gold", 1000, 150))
    response = owner_client.post(f"/tiers/{tier.id}/delete")
    assert response.status_code == 303
    assert tier_names() == []


def test_a_tier_that_rewards_require_is_not_deleted(owner_client, tenant):
    tier = create_tier(tenant.id, TierDetails("Gold", 1000, 150))
    create_reward(
        tenant.id, RewardDetails("Gold dessert", "free_item", 0, item_plu="D1", min_tier_id=tier.id)
    )
    response = owner_client.post(f"/tiers/{tier.id}/delete", follow_redirects=True)
    assert "rewards require this tier: Gold dessert" in response.get_data(as_text=True)
    assert tier_names() == ["Gold"]
