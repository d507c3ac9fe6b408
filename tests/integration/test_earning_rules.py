"""Setting up earning rules (services.setup.earning): what is refused, what is kept, the
preview, and the migration that turned each restaurant's one rate into a per-spend rule."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from loyalty.extensions import db
from loyalty.rules.earning import EarningRule as Rule
from loyalty.rules.tiers import TierLevel
from loyalty.services.checkout.orders import OrderReport, record_order
from loyalty.services.setup.earning import (
    MAX_RULES,
    RuleDetails,
    add_rule,
    checked_rule,
    delete_rule,
    earning_rules,
    preview_earning,
    recent_orders,
    rule_rows,
    time_zone_problem,
    update_rule,
)
from loyalty.time import utcnow
from loyalty.validation import FieldErrors
from tests.integration.test_migrations import fresh_database_url  # noqa: F401
from tests.support.app import make_app
from tests.support.deliverect import add_reward, checkout_customer

TUESDAY_4PM = datetime(2026, 12, 1, 16, 0)


def refusal(details: RuleDetails) -> dict[str, str]:
    with pytest.raises(FieldErrors) as refused:
        checked_rule(details)
    return refused.value.errors


def test_a_new_restaurant_starts_with_a_point_per_whole_unit(tenant):
    assert earning_rules(tenant.id) == (Rule(rule_rows(tenant.id)[0].id, "spend", "spend", 1, 100),)


def test_each_kind_refuses_what_it_cannot_use_field_by_field():
    assert refusal(RuleDetails("cashback")) == {"kind": "choose what the rule rewards"}
    assert refusal(RuleDetails("spend", points=0, per_amount=0)) == {
        "points": "must be from 1 to 10,000",
        "per_amount": "must be from 1 to 100,000,000",
    }
    assert refusal(RuleDetails("visit", points=5, min_amount=-1, per_day=0)) == {
        "min_amount": "must be from 0 to 100,000,000",
        "per_day": "must be from 1 to 100",
    }
    assert refusal(RuleDetails("item", points=1, plus=" , ")) == {
        "plus": "enter the PLU of at least one item that earns stamps"
    }
    assert refusal(
        RuleDetails("bonus", multiplier_percent=100, starts_at=17 * 60, ends_at=15 * 60, cap=0)
    ) == {
        "multiplier_percent": "enter a multiplier above 1 and at most 10, such as 2",
        "ends_at": "must be after the start (a bonus ends by midnight)",
        "cap": "must be from 1 to 100,000,000, or empty for no cap",
    }
    assert "name" in refusal(RuleDetails("spend", "x" * 65, points=1, per_amount=100))


def test_a_rule_keeps_only_the_fields_of_its_kind_and_a_default_name():
    rule = checked_rule(
        RuleDetails("item", points=1, plus="COFFEE, TEA\nCOFFEE", per_amount=5, cap=3)
    )
    assert rule == Rule(0, "item", "stamps", 1, plus=("COFFEE", "TEA"), per_day=None)


def test_rules_are_added_changed_and_deleted_in_the_teams_order(tenant):
    visit = add_rule(tenant.id, RuleDetails("visit", "visit", points=5, per_day=None))
    stamps = add_rule(tenant.id, RuleDetails("item", "stamps", points=1, plus="COFFEE"))
    assert [rule.kind for rule in earning_rules(tenant.id)] == ["spend", "visit", "item"]
    update_rule(tenant.id, visit.id, RuleDetails("visit", "a visit", points=7))
    assert earning_rules(tenant.id)[1].name == "a visit"
    assert earning_rules(tenant.id)[1].per_day == 1
    delete_rule(tenant.id, stamps.id)
    assert [rule.kind for rule in earning_rules(tenant.id)] == ["spend", "visit"]


def test_another_restaurants_rule_cannot_be_changed(tenant, other_tenant):
    theirs = rule_rows(other_tenant.id)[0]
    with pytest.raises(LookupError):
        update_rule(tenant.id, theirs.id, RuleDetails("spend", points=9, per_amount=100))
    delete_rule(tenant.id, theirs.id)
    assert rule_rows(other_tenant.id)


def test_a_restaurant_has_a_bounded_number_of_rules(tenant):
    for _ in range(MAX_RULES - 1):
        add_rule(tenant.id, RuleDetails("visit", points=1))
    with pytest.raises(FieldErrors) as refused:
        add_rule(tenant.id, RuleDetails("visit", points=1))
    assert refused.value.errors == {"kind": f"a restaurant has at most {MAX_RULES} earning rules"}


def test_time_zones_are_iana_names():
    assert time_zone_problem("Europe/Brussels") is None
    assert time_zone_problem("UTC") is None
    assert time_zone_problem("Mars/Olympus") == "enter a time zone such as Europe/Brussels"
    assert time_zone_problem("") is not None


# --- the preview


def test_the_preview_shows_each_rules_part_of_a_typed_basket(tenant):
    add_rule(tenant.id, RuleDetails("item", "stamps", points=1, plus="COFFEE SHOT"))
    add_rule(tenant.id, RuleDetails("visit", "visit", points=5, min_amount=5000))
    preview = preview_earning(
        tenant.id, "COFFEE 2 2.50\n+ SHOT 1 0.50\nCAKE 1 4.00", None, TUESDAY_4PM
    )
    assert [(part.label, part.points) for part in preview.parts] == [
        ("spend", 10),
        ("stamps", 4),
        ("visit", 0),
    ]
    assert (preview.total, preview.spend) == (14, 1000)


def test_the_preview_reads_a_pasted_order_tips_fees_and_rewards_included(tenant):
    add_rule(tenant.id, RuleDetails("item", "stamps", points=1, plus="COFFEE"))
    add_reward(tenant, "9", "free_item", 0, item_plu="COFFEE")
    order = {
        "items": [{"plu": "COFFEE", "price": 250, "quantity": 2}],
        "discounts": [{"programId": "9", "amount": 250}],
        "paymentAmount": 1250,
        "tip": 500,
        "deliveryCost": 500,
        "decimalDigits": 2,
    }
    preview = preview_earning(tenant.id, json.dumps(order), None, TUESDAY_4PM)
    assert [(part.label, part.points) for part in preview.parts] == [("spend", 2), ("stamps", 1)]


def test_the_preview_tries_a_rule_before_it_is_saved(tenant):
    spend = rule_rows(tenant.id)[0]
    draft = checked_rule(RuleDetails("spend", "spend", points=1, per_amount=250), spend.id)
    preview = preview_earning(tenant.id, "PIZZA 1 9.99", None, TUESDAY_4PM, draft=draft)
    assert [(part.points, part.draft) for part in preview.parts] == [(3, True)]
    bonus = checked_rule(RuleDetails("bonus", "Tuesday", multiplier_percent=200, weekdays=(1,)))
    gold = TierLevel(1, "Gold", 0, 150)
    preview = preview_earning(tenant.id, "PIZZA 1 9.99", None, TUESDAY_4PM, gold, bonus)
    assert [(part.label, part.points) for part in preview.parts] == [
        ("spend", 9),
        ("Gold tier", 4),
        ("Tuesday", 9),
    ]
    assert earning_rules(tenant.id)[0].per_amount == 100  # nothing saved


def test_the_preview_can_use_a_recent_order(tenant):
    jane = checkout_customer(tenant, 0, first_name="Jane", email="jane@x.com")
    payload = {"items": [{"plu": "PIZZA", "price": 2000, "quantity": 1}], "paymentAmount": 2000}
    record_order(
        tenant,
        OrderReport(
            "R-1", jane.id, payment_amount=2000, channel_order_display_id="#12", payload=payload
        ),
        utcnow(),
    )
    [recent] = recent_orders(tenant.id)
    assert recent.label.startswith("#12 (")
    assert preview_earning(tenant.id, "", recent.id, TUESDAY_4PM).total == 20


@pytest.mark.parametrize(
    ("basket", "message"),
    [
        ("", "type a basket, paste an order, or choose a recent order"),
        ("{oops", "this is not valid JSON"),
        ("COFFEE two 2.50", "line 1: the quantity is a whole number"),
        ("COFFEE 1", "line 1: write PLU, quantity and price"),
        ("COFFEE 1 2.505", "line 1: use at most 2 decimal places"),
        ("+ SHOT 1 0.50", "line 1: a modifier needs a line above"),
        (
            '{"items": [{"plu": "A", "price": -1, "quantity": 1}]}',
            "order.items[0].price: must be a non-negative integer",
        ),
    ],
)
def test_a_basket_the_preview_cannot_read_is_refused_on_its_field(tenant, basket, message):
    with pytest.raises(FieldErrors) as refused:
        preview_earning(tenant.id, basket, None, TUESDAY_4PM)
    assert refused.value.errors == {"basket": message}


def test_an_order_of_another_restaurant_cannot_be_previewed(tenant, other_tenant):
    jane = checkout_customer(other_tenant, 0, first_name="Jane", email="jane@x.com")
    record_order(other_tenant, OrderReport("THEIRS", jane.id, payload={"items": []}), utcnow())
    [theirs] = recent_orders(other_tenant.id)
    with pytest.raises(FieldErrors) as refused:
        preview_earning(tenant.id, "", theirs.id, TUESDAY_4PM)
    assert refused.value.errors == {"order": "choose one of the recent orders"}


# --- the migration


def test_upgrading_turns_each_restaurants_rate_into_a_per_spend_rule_and_back(
    fresh_database_url,  # noqa: F811
):
    app = make_app(fresh_database_url)
    with app.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as connection:
            for number, slug, per_unit, digits in (
                (1, "trattoria", 3, 2),
                (2, "sushibar", 1, 0),
                (3, "paused", 0, 2),
            ):
                connection.execute(
                    text(
                        "INSERT INTO tenants (id, slug, name, currency, decimal_digits,"
                        " points_per_unit, created_at, updated_at) VALUES"
                        " (:id, :slug, :slug, 'EUR', :digits, :per_unit, :at, :at)"
                    ),
                    {
                        "id": number,
                        "slug": slug,
                        "digits": digits,
                        "per_unit": per_unit,
                        "at": "2026-01-01 00:00:00+00:00",
                    },
                )
            # A row that belongs to a tenant: it must survive the tenants column going away.
            connection.execute(
                text(
                    "INSERT INTO tiers (name, description, threshold_points, multiplier_percent,"
                    " tenant_id, created_at, updated_at) VALUES ('Gold', '', 100, 150, 1, :at, :at)"
                ),
                {"at": "2026-01-01 00:00:00+00:00"},
            )
        upgrade()
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM tiers")).scalar() == 1
            rules = connection.execute(
                text(
                    "SELECT tenant_id, kind, points, per_amount FROM earning_rules"
                    " ORDER BY tenant_id"
                )
            ).all()
        assert [tuple(row) for row in rules] == [(1, "spend", 3, 100), (2, "spend", 1, 1)]
        downgrade(revision="0004")
        with db.engine.connect() as connection:
            rates = connection.execute(
                text("SELECT id, points_per_unit FROM tenants ORDER BY id")
            ).all()
            assert connection.execute(text("SELECT count(*) FROM tiers")).scalar() == 1
        assert [tuple(row) for row in rates] == [(1, 3), (2, 1), (3, 0)]
        downgrade(revision="base")
        db.engine.dispose()
