"""The rewards service with plain values, as the CLI importer calls it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from loyalty.extensions import db
from loyalty.models import Reward
from loyalty.services.setup.rewards import (
    RewardDetails,
    archive_reward,
    create_reward,
    details_of,
    restore_reward,
    reward_by_program_id,
    rewards_for,
    update_reward,
)
from loyalty.services.setup.tiers import TierDetails, create_tier, delete_tier
from loyalty.validation import FieldErrors

FIVE_OFF = RewardDetails("€5 off", "discount_amount", cost=100, value=500)


def reward_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Reward))


def test_program_ids_are_generated_short_and_unique(tenant):
    first = create_reward(tenant.id, FIVE_OFF)
    second = create_reward(tenant.id, FIVE_OFF)
    assert first.program_id == str(first.id)
    assert second.program_id == str(second.id)


def test_imported_program_ids_are_kept_and_never_reused(tenant):
    imported = create_reward(tenant.id, FIVE_OFF, program_id="2")
    generated = create_reward(tenant.id, FIVE_OFF)
    assert imported.program_id == "2"
    assert generated.id == 2
    assert generated.program_id not in ("2", "new")
    assert reward_by_program_id(tenant.id, generated.program_id).id == generated.id


def test_a_program_id_is_unique_per_restaurant_only(tenant, other_tenant):
    create_reward(tenant.id, FIVE_OFF, program_id="P-1")
    with pytest.raises(FieldErrors) as refused:
        create_reward(tenant.id, FIVE_OFF, program_id="P-1")
    assert refused.value.errors == {"program_id": "another reward already uses this program id"}
    assert create_reward(other_tenant.id, FIVE_OFF, program_id="P-1").program_id == "P-1"


def test_all_problems_are_reported_together_and_nothing_is_written(tenant):
    bad = RewardDetails(
        "",
        "item_discount_percentage",
        cost=-1,
        value=10_001,
        quantity=0,
        min_order_value=-5,
        active_from=datetime(2030, 1, 2, tzinfo=UTC),
        active_to=datetime(2030, 1, 1, tzinfo=UTC),
        media_url="ftp://example.com/x.png",
    )
    with pytest.raises(FieldErrors) as refused:
        create_reward(tenant.id, bad)
    assert set(refused.value.errors) == {
        "title",
        "cost",
        "value",
        "item_plu",
        "quantity",
        "min_order_value",
        "active_to",
        "media_url",
    }
    assert reward_count() == 0


def test_unknown_type_is_refused(tenant):
    with pytest.raises(FieldErrors) as refused:
        create_reward(tenant.id, replace(FIVE_OFF, type="cashback"))
    assert "type" in refused.value.errors


def test_naive_times_are_refused_rather_than_guessed(tenant):
    with pytest.raises(FieldErrors) as refused:
        create_reward(tenant.id, replace(FIVE_OFF, active_to=datetime(2030, 1, 1)))
    assert "active_to" in refused.value.errors


def test_free_types_ignore_a_value_and_order_types_drop_item_fields(tenant):
    free = create_reward(
        tenant.id, RewardDetails("Free coffee", "free_item", 50, value=999, item_plu="COF")
    )
    assert free.value == 0
    order = create_reward(tenant.id, replace(FIVE_OFF, item_plu="COF", quantity=3))
    assert (order.item_plu, order.quantity) == (None, None)


def test_update_replaces_details_but_keeps_the_program_id(tenant):
    reward = create_reward(tenant.id, FIVE_OFF, program_id="legacy-7")
    update_reward(tenant.id, reward.id, replace(details_of(reward), title="€6 off", value=600))
    db.session.expire_all()
    assert (reward.title, reward.value, reward.program_id) == ("€6 off", 600, "legacy-7")


def test_a_refused_update_leaves_the_reward_as_it_was(tenant):
    reward = create_reward(tenant.id, FIVE_OFF)
    with pytest.raises(FieldErrors):
        update_reward(tenant.id, reward.id, replace(FIVE_OFF, title="€6 off", cost=-3))
    db.session.expire_all()
    assert (reward.title, reward.cost) == ("€5 off", 100)


def test_another_restaurants_reward_or_tier_cannot_be_used(tenant, other_tenant):
    theirs = create_reward(other_tenant.id, FIVE_OFF)
    with pytest.raises(NotFound):
        update_reward(tenant.id, theirs.id, FIVE_OFF)
    with pytest.raises(NotFound):
        archive_reward(tenant.id, theirs.id)
    assert theirs.archived_at is None
    their_tier = create_tier(other_tenant.id, TierDetails("Gold", 100, 150))
    with pytest.raises(FieldErrors) as refused:
        create_reward(tenant.id, replace(FIVE_OFF, min_tier_id=their_tier.id))
    assert refused.value.errors == {"min_tier_id": "choose one of your tiers"}


def test_archive_and_restore_move_the_reward_between_lists(tenant):
    reward = create_reward(tenant.id, FIVE_OFF)
    archive_reward(tenant.id, reward.id)
    archived_at = reward.archived_at
    archive_reward(tenant.id, reward.id)  # twice changes nothing
    assert reward.archived_at == archived_at
    assert rewards_for(tenant.id) == []
    assert rewards_for(tenant.id, archived=True) == [reward]
    restore_reward(tenant.id, reward.id)
    assert rewards_for(tenant.id) == [reward]


def test_a_tier_required_by_a_reward_cannot_be_deleted(tenant):
    gold = create_tier(tenant.id, TierDetails("Gold", 100, 150))
    create_reward(tenant.id, replace(FIVE_OFF, min_tier_id=gold.id))
    with pytest.raises(FieldErrors):
        delete_tier(tenant.id, gold.id)
