"""`flask loyalty rewards export|import`: rewards as a Deliverect program list."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from loyalty.services.setup.rewards import (
    RewardDetails,
    archive_reward,
    create_reward,
    reward_by_program_id,
    rewards_for,
)
from loyalty.services.setup.tiers import TierDetails, create_tier

ESPRESSO = RewardDetails(
    title="Free espresso", type="free_item", cost=60, item_plu="DRK-ESPR", description="On us."
)
FIVE_OFF = RewardDetails(
    title="€5 off", type="discount_amount", cost=250, value=500, min_order_value=2500
)
SPRITZ = RewardDetails(
    title="Spritz for €5",
    type="item_fixed_price",
    cost=140,
    value=500,
    item_plu="DRK-SPRI",
    quantity=2,
    active_to=datetime(2030, 1, 1, tzinfo=UTC),
    media_url="https://cdn.example.com/spritz.jpg",
)


def export(runner, slug: str) -> list[dict]:
    result = runner.invoke(args=["loyalty", "rewards", "export", "--tenant", slug])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def import_file(runner, scratch_dir, programs, slug: str = "trattoria"):
    path = scratch_dir / "programs.json"
    path.write_text(programs if isinstance(programs, str) else json.dumps(programs))
    return runner.invoke(args=["loyalty", "rewards", "import", str(path), "--tenant", slug])


def test_export_lists_live_rewards_in_the_program_list_shape(runner, tenant):
    create_reward(tenant.id, ESPRESSO, program_id="espresso")
    create_reward(tenant.id, SPRITZ, program_id="spritz")
    archive_reward(tenant.id, create_reward(tenant.id, FIVE_OFF, program_id="old").id)

    assert export(runner, "trattoria") == [
        {
            "programId": "espresso",
            "title": "Free espresso",
            "description": "On us.",
            "type": "free_item",
            "cost": 60,
            "discount": 0,
            "itemPLU": "DRK-ESPR",
            "quantity": None,
            "minOrderValue": None,
            "expiresAt": None,
            "media": None,
        },
        {
            "programId": "spritz",
            "title": "Spritz for €5",
            "description": "",
            "type": "item_fixed_price",
            "cost": 140,
            "discount": 500,
            "itemPLU": "DRK-SPRI",
            "quantity": 2,
            "minOrderValue": None,
            "expiresAt": "2030-01-01T00:00:00Z",
            "media": {"url": "https://cdn.example.com/spritz.jpg", "mediaType": "image"},
        },
    ]


def test_export_then_import_into_another_restaurant_exports_the_same(
    runner, tenant, other_tenant, scratch_dir
):
    for program_id, details in (("espresso", ESPRESSO), ("five", FIVE_OFF), ("spritz", SPRITZ)):
        create_reward(tenant.id, details, program_id=program_id)
    exported = export(runner, "trattoria")

    result = import_file(runner, scratch_dir, exported, slug="burgerbar")

    assert result.exit_code == 0, result.output
    assert "3 rewards created, 0 updated for burgerbar" in result.output
    assert export(runner, "burgerbar") == exported
    assert len(rewards_for(tenant.id)) == 3


def test_export_writes_to_a_file_and_needs_a_tenant_when_there_are_several(
    runner, tenant, other_tenant, scratch_dir
):
    create_reward(tenant.id, ESPRESSO)
    target = scratch_dir / "out.json"

    written = runner.invoke(
        args=["loyalty", "rewards", "export", "--tenant", "trattoria", "-o", str(target)]
    )
    ambiguous = runner.invoke(args=["loyalty", "rewards", "export"])

    assert written.exit_code == 0
    assert [p["title"] for p in json.loads(target.read_text())] == ["Free espresso"]
    assert ambiguous.exit_code == 1 and "pass --tenant SLUG" in ambiguous.output


def test_reimport_updates_by_program_id_and_keeps_what_the_list_cannot_say(
    runner, tenant, scratch_dir
):
    gold = create_tier(tenant.id, TierDetails("Gold", 2000, 150))
    reward = create_reward(
        tenant.id,
        RewardDetails(
            title="Gold: 15% off",
            type="discount_percentage",
            cost=600,
            value=1500,
            min_tier_id=gold.id,
            active_from=datetime(2024, 1, 1, tzinfo=UTC),
        ),
        program_id="gold15",
    )
    archive_reward(tenant.id, reward.id)
    programs = [
        {
            "programId": "gold15",
            "title": "Gold: 20% off",
            "type": "discount_percentage",
            "cost": 700,
            "discount": 2000,
        },
        {
            "programId": 42,
            "title": "Free espresso",
            "type": "free_item",
            "cost": 50,
            "itemPLU": "DRK-ESPR",
            "applicable": True,
        },
    ]

    first = import_file(runner, scratch_dir, programs)
    second = import_file(runner, scratch_dir, programs)

    assert "1 rewards created, 1 updated" in first.output
    assert "0 rewards created, 2 updated" in second.output
    updated = reward_by_program_id(tenant.id, "gold15")
    assert (updated.title, updated.cost, updated.value) == ("Gold: 20% off", 700, 2000)
    assert updated.min_tier_id == gold.id
    assert updated.active_from == datetime(2024, 1, 1, tzinfo=UTC)
    assert updated.archived_at is None  # listed in the file: listed to customers again
    assert reward_by_program_id(tenant.id, "42").title == "Free espresso"
    assert len(rewards_for(tenant.id)) == 2


def test_any_invalid_entry_imports_nothing_and_names_its_index_and_field(
    runner, tenant, scratch_dir
):
    create_reward(tenant.id, ESPRESSO, program_id="espresso")
    programs = [
        {
            "programId": "espresso",
            "title": "Changed",
            "type": "free_item",
            "cost": 10,
            "itemPLU": "DRK-ESPR",
        },
        {
            "programId": "espresso",
            "title": "",
            "type": "discount_amount",
            "cost": -1,
            "discount": 100,
        },
        {
            "title": "No PLU",
            "type": "item_fixed_price",
            "cost": 5,
            "discount": 300,
            "minOrderVal": 3,
        },
        {"title": "Odd", "type": "bogus", "cost": "5", "expiresAt": "tomorrow"},
        {
            "title": "Half",
            "type": "discount_percentage",
            "cost": 5,
            "discount": 20000,
            "expiresAt": "2030-01-01T00:00:00",
        },
        7,
    ]

    result = import_file(runner, scratch_dir, programs)

    assert result.exit_code == 1
    lines = [line.strip() for line in result.output.splitlines()]
    assert lines[:-1] == [
        "[1]: programId: 'espresso' is also [0]",
        "[1]: title: give the reward a title customers will recognise",
        "[1]: cost: enter a cost from 0 to 100,000,000 points",
        "[2]: minOrderVal: is not a program-list field",
        "[2]: itemPLU: enter the PLU of the item, as the POS knows it",
        "[3]: cost: must be a whole number",
        "[3]: expiresAt: must be an ISO 8601 time such as 2025-12-31T23:00:00Z",
        "[3]: type: choose one of: discount_amount, discount_percentage, item_discount_amount, "
        "item_discount_percentage, item_fixed_price, buy_one_get_one_free, free_item",
        "[4]: expiresAt: give a time zone, such as Z for UTC",
        "[4]: discount: enter a percentage above 0 and at most 100",
        "[5]: program: must be an object",
    ]
    assert (
        lines[-1]
        == f"Error: 11 problem(s) in {scratch_dir / 'programs.json'}; nothing was imported"
    )
    assert [r.title for r in rewards_for(tenant.id)] == ["Free espresso"]


def test_a_file_that_is_not_a_program_list_is_refused(runner, tenant, scratch_dir):
    not_json = import_file(runner, scratch_dir, '[{"title": "x",}]')
    not_a_list = import_file(runner, scratch_dir, {"programs": []})
    unknown_tenant = import_file(runner, scratch_dir, [], slug="nope")

    assert not_json.exit_code == 1 and "is not valid JSON" in not_json.output
    assert "line 1, column 16" in not_json.output
    assert not_a_list.exit_code == 1 and "must be a JSON array of programs" in not_a_list.output
    assert unknown_tenant.exit_code == 1 and "no tenant 'nope'" in unknown_tenant.output


def test_rewards_commands_have_help(runner, app):
    for command in ("export", "import"):
        result = runner.invoke(args=["loyalty", "rewards", command, "--help"])
        assert result.exit_code == 0 and "programId" in result.output
