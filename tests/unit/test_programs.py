"""Programs: who may use them, what they take off a basket, and how validation stacks them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.basket import Basket, BasketItem, basket_from_order
from loyalty.rules.programs import (
    ITEM_TYPES,
    PERCENT_TYPES,
    REWARD_TYPES,
    Customer,
    Discount,
    Program,
    ProgramResult,
    check_program,
    discounts_for,
    percent_of,
    points_to_hold,
    validate_programs,
)
from tests.support.seeds import SEED_001_ORDER, SEED_003_BURGER_ORDER, SEED_004_ORDER

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
RICH = Customer(points_available=1_000_000, tier_rank=None)


def item(plu: str, price: int, quantity: int = 1, *subs: BasketItem) -> BasketItem:
    return BasketItem(plu, plu, price, quantity, tuple(subs))


def basket(*items: BasketItem) -> Basket:
    return Basket(items=tuple(items))


def program(type_: str, value: int = 0, program_id: str = "1", cost: int = 100, **kw) -> Program:
    return Program(program_id=program_id, title=type_, type=type_, cost=cost, value=value, **kw)


def amounts(discounts: list[Discount]) -> list[int]:
    return [discount.amount for discount in discounts]


# --- the constants other modules rely on


def test_item_and_percent_types_are_reward_types():
    assert set(ITEM_TYPES) <= set(REWARD_TYPES)
    assert set(PERCENT_TYPES) == {"discount_percentage", "item_discount_percentage"}
    assert "discount_amount" not in ITEM_TYPES


# --- order discounts


def test_amount_discount_takes_its_value_off_the_order():
    [discount] = discounts_for(program("discount_amount", 200), basket(item("A", 1000)))

    assert discount.amount == 200
    assert discount.to_wire() == {
        "provider": "loyalty",
        "externalId": "program_1",
        "offer": {"type": "flat_off", "value": 200},
        "scope": {"type": "order"},
    }


def test_an_order_discount_is_scoped_to_the_order():
    assert discounts_for(program("discount_amount", 200), basket(item("A", 1000))) == [
        Discount("1", "flat_off", 200, "order", None, None, None, 200)
    ]


def test_an_amount_discount_of_nothing_or_less_gives_nothing():
    assert discounts_for(program("discount_amount", 0), basket(item("A", 1000))) == []
    assert discounts_for(program("discount_amount", -100), basket(item("A", 1000))) == []


def test_amount_discount_never_exceeds_the_order_total():
    [discount] = discounts_for(program("discount_amount", 5000), basket(item("A", 1200)))

    assert discount.amount == 1200
    assert discount.to_wire()["offer"] == {"type": "flat_off", "value": 1200}


def test_percentage_discount_is_floored():
    [discount] = discounts_for(program("discount_percentage", 5000), basket(item("A", 999)))

    assert discount.amount == 499
    assert discount.to_wire()["offer"] == {"type": "percent_off", "value": 5000}


def test_fractional_percentage_is_floored_too():
    # 33.33 % of 1.00 is 33.33 cents: the customer gets 33, never 34.
    [discount] = discounts_for(program("discount_percentage", 3333), basket(item("A", 100)))

    assert discount.amount == 33


def test_percentage_discount_never_exceeds_the_order_total():
    [discount] = discounts_for(program("discount_percentage", 15000), basket(item("A", 800)))

    assert discount.amount == 800


def test_order_discounts_ignore_delivery_service_and_tip():
    with_fees = Basket(items=(item("A", 1000),), delivery_cost=500, service_charge=300, tip=200)

    [discount] = discounts_for(program("discount_percentage", 10000), with_fees)

    assert discount.amount == 1000


def test_order_discount_on_an_empty_basket_is_nothing():
    assert discounts_for(program("discount_amount", 200), basket()) == []
    assert discounts_for(program("discount_percentage", 5000), basket()) == []


def test_percent_of_is_the_floor_of_the_exact_fraction():
    assert percent_of(1999, 1250) == 249  # 249.875
    assert percent_of(0, 5000) == 0
    assert percent_of(100, -10) == 0
    assert percent_of(20_000, 0) == 0


# --- item discounts


def test_item_amount_discount_covers_one_unit_by_default():
    [discount] = discounts_for(
        program("item_discount_amount", 200, item_plu="COKE"),
        basket(item("BURGER", 900), item("COKE", 300, 3)),
    )

    assert discount.amount == 200
    assert discount.to_wire()["scope"] == {"type": "item", "lineIndex": 1}
    assert discount.to_wire()["offer"] == {"type": "flat_off", "value": 200}


def test_an_item_discount_names_its_line_and_item_and_covers_no_quantity():
    assert discounts_for(
        program("item_discount_amount", 100, item_plu="COKE"), basket(item("COKE", 300))
    ) == [Discount("1", "flat_off", 100, "item", 0, "COKE", None, 100)]


def test_an_item_amount_discount_of_a_whole_line_is_sent_as_flat_off():
    [discount] = discounts_for(
        program("item_discount_amount", 100, item_plu="COKE"), basket(item("COKE", 300))
    )

    assert discount.to_wire()["offer"] == {"type": "flat_off", "value": 100}


def test_an_item_amount_discount_of_nothing_gives_nothing():
    nothing_off_coke = program("item_discount_amount", 0, item_plu="COKE")
    assert discounts_for(nothing_off_coke, basket(item("COKE", 300))) == []


def test_item_amount_discount_is_capped_at_the_unit_price():
    # Seed 001 "Coke $10 off" on a 3.00 Coke takes 3.00.
    [discount] = discounts_for(
        program("item_discount_amount", 1000, item_plu="1282933778"),
        basket(item("1282933778", 300, 2)),
    )

    assert discount.amount == 300


def test_item_discount_quantity_covers_several_units_across_lines():
    discounts = discounts_for(
        program("item_discount_amount", 100, item_plu="COKE", quantity=3),
        basket(item("COKE", 300, 2), item("FRIES", 250), item("COKE", 350, 5)),
    )

    assert [(d.line_index, d.amount) for d in discounts] == [(0, 200), (2, 100)]


def test_item_discount_needs_the_item():
    coke_off = program("item_discount_amount", 100, item_plu="COKE")
    assert discounts_for(coke_off, basket(item("FANTA", 300))) == []


def test_item_discount_without_a_plu_gives_nothing():
    assert discounts_for(program("item_discount_percentage", 5000), basket(item("A", 300))) == []


def test_item_discount_matches_lines_not_modifiers():
    burger = item("BURGER", 900, 1, item("COKE", 300))

    assert (
        discounts_for(program("item_discount_amount", 100, item_plu="COKE"), basket(burger)) == []
    )


def test_item_percentage_on_a_whole_line_is_sent_as_percent_off_that_line():
    [discount] = discounts_for(
        program("item_discount_percentage", 5000, item_plu="COKE"),
        basket(item("A", 100), item("COKE", 301)),
    )

    assert discount.amount == 150
    assert discount.to_wire()["offer"] == {"type": "percent_off", "value": 5000}
    assert discount.to_wire()["scope"] == {"type": "item", "lineIndex": 1}


def test_item_percentage_on_part_of_a_line_is_sent_as_the_exact_flat_amount():
    # Item scope has no quantity: percent_off would discount all three Cokes.
    [discount] = discounts_for(
        program("item_discount_percentage", 5000, item_plu="COKE"), basket(item("COKE", 300, 3))
    )

    assert discount.amount == 150
    assert discount.to_wire()["offer"] == {"type": "flat_off", "value": 150}


def test_item_percentage_covering_a_whole_line_of_two_takes_its_percent_of_both():
    [discount] = discounts_for(
        program("item_discount_percentage", 5000, item_plu="COKE", quantity=2),
        basket(item("COKE", 300, 2)),
    )

    assert discount.amount == 300
    assert discount.to_wire()["offer"] == {"type": "percent_off", "value": 5000}


def test_item_percentage_includes_the_items_modifiers():
    burger = item("BURGER", 1000, 1, item("BACON", 200))

    [discount] = discounts_for(
        program("item_discount_percentage", 5000, item_plu="BURGER"), basket(burger)
    )

    assert discount.amount == 600


def test_fixed_price_takes_the_difference_and_sends_the_new_price():
    [discount] = discounts_for(
        program("item_fixed_price", 500, item_plu="BURGER", quantity=2),
        basket(item("BURGER", 1200, 2)),
    )

    assert discount.amount == 1400
    assert discount.to_wire()["offer"] == {"type": "fixed_amount", "value": 500}
    assert discount.to_wire()["scope"] == {"type": "item", "lineIndex": 0}


def test_fixed_price_still_charges_paid_modifiers():
    burger = item("BURGER", 1200, 1, item("BACON", 200))

    [discount] = discounts_for(program("item_fixed_price", 500, item_plu="BURGER"), basket(burger))

    assert discount.amount == 700


def test_a_fixed_price_of_zero_makes_the_item_free():
    [discount] = discounts_for(
        program("item_fixed_price", 0, item_plu="BURGER"), basket(item("BURGER", 1200))
    )

    assert discount.amount == 1200
    assert discount.to_wire()["offer"] == {"type": "fixed_amount", "value": 0}


def test_a_line_the_fixed_price_does_not_lower_is_skipped_not_the_lines_after_it():
    discounts = discounts_for(
        program("item_fixed_price", 1000, item_plu="BURGER", quantity=2),
        basket(item("BURGER", 800), item("BURGER", 1500)),
    )

    assert [(d.line_index, d.amount) for d in discounts] == [(1, 500)]


def test_fixed_price_above_the_item_price_gives_nothing():
    burger_at_15 = program("item_fixed_price", 1500, item_plu="BURGER")
    assert discounts_for(burger_at_15, basket(item("BURGER", 1200))) == []


def test_fixed_price_on_part_of_a_line_is_sent_as_the_exact_flat_amount():
    [discount] = discounts_for(
        program("item_fixed_price", 500, item_plu="BURGER"), basket(item("BURGER", 1200, 2))
    )

    assert discount.amount == 700
    assert discount.to_wire()["offer"] == {"type": "flat_off", "value": 700}


# --- buy one get one free


def test_bogof_gives_one_unit_free_on_the_line_of_the_item():
    [discount] = discounts_for(
        program("buy_one_get_one_free", item_plu="DRN-02"),
        basket(item("BURGER", 900), item("DRN-02", 250, 2)),
    )

    assert discount.amount == 250
    assert discount.to_wire() == {
        "provider": "loyalty",
        "externalId": "program_1",
        "offer": {"type": "free", "quantity": 1},
        "scope": {"type": "item", "lineIndex": 1},
    }


def test_bogof_needs_two_units():
    bogof = program("buy_one_get_one_free", item_plu="DRN-02")
    assert discounts_for(bogof, basket(item("DRN-02", 250))) == []


def test_bogof_gives_one_free_unit_per_redemption_unless_quantity_says_more():
    four = basket(item("DRN-02", 250, 4))

    assert amounts(discounts_for(program("buy_one_get_one_free", item_plu="DRN-02"), four)) == [250]
    assert amounts(
        discounts_for(program("buy_one_get_one_free", item_plu="DRN-02", quantity=5), four)
    ) == [500]


def test_bogof_counts_units_across_lines():
    [discount] = discounts_for(
        program("buy_one_get_one_free", item_plu="DRN-02"),
        basket(item("DRN-02", 250), item("DRN-02", 260)),
    )

    assert (discount.line_index, discount.quantity, discount.amount) == (0, 1, 250)


# --- free item


def test_free_item_not_in_the_basket_is_added_by_product_scope_at_no_cost_to_us():
    [discount] = discounts_for(program("free_item", item_plu="DRN-01"), basket(item("A", 900)))

    assert discount.amount == 0
    assert discount.to_wire() == {
        "provider": "loyalty",
        "externalId": "program_1",
        "offer": {"type": "free", "quantity": 1},
        "scope": {"type": "product", "plu": "DRN-01", "quantity": 1},
    }


def test_free_item_already_in_the_basket_takes_its_price():
    [discount] = discounts_for(
        program("free_item", item_plu="DRN-01", quantity=2), basket(item("DRN-01", 300, 3))
    )

    assert discount.amount == 600
    assert discount.to_wire()["scope"] == {"type": "product", "plu": "DRN-01", "quantity": 2}


def test_a_free_item_without_a_plu_gives_nothing():
    assert discounts_for(program("free_item"), basket(item("A", 900))) == []


def test_product_scope_always_carries_the_quantity_key():
    wire = Discount("9", "free", None, "product", None, "X", None, 0).to_wire()

    assert wire["scope"] == {"type": "product", "plu": "X", "quantity": None}
    assert wire["offer"] == {"type": "free"}


def test_unknown_program_type_gives_nothing():
    assert discounts_for(program("unknown", 100), basket(item("A", 900))) == []
    assert discounts_for(program("unknown", 100, item_plu="A"), basket(item("A", 900))) == []


def test_unknown_program_type_is_listed_as_unsupported():
    verdict = check_program(program("unknown", 100), RICH, None, NOW)

    assert verdict.reason == "unsupported type unknown"


# --- check_program (the programs list)


def test_customer_only_listing_checks_points():
    customer = Customer(points_available=40, tier_rank=None)

    verdict = check_program(program("discount_amount", 200, cost=150), customer, None, NOW)

    assert verdict == check_program(
        program("discount_amount", 200, cost=150), customer, basket(), NOW
    )
    assert not verdict.applicable
    assert verdict.reason == "needs 150 points, customer has 40"


def test_customer_only_listing_ignores_basket_rules():
    bogof = program("buy_one_get_one_free", item_plu="DRN-02", min_order_value=5000)

    assert check_program(bogof, RICH, None, NOW).applicable


def test_exactly_enough_points_is_enough():
    customer = Customer(points_available=150, tier_rank=None)

    assert check_program(program("discount_amount", 200, cost=150), customer, None, NOW).applicable


def test_program_expires_at_its_end_instant():
    ending = program("discount_amount", 200, active_to=NOW)

    assert check_program(ending, RICH, None, NOW).reason == "expired"
    assert check_program(ending, RICH, None, NOW - timedelta(seconds=1)).applicable


def test_program_not_yet_active_before_its_start():
    starting = program("discount_amount", 200, active_from=NOW)

    assert (
        check_program(starting, RICH, None, NOW - timedelta(seconds=1)).reason == "not yet active"
    )
    assert check_program(starting, RICH, None, NOW).applicable


@pytest.mark.parametrize(
    ("tier_rank", "applicable"), [(None, False), (0, False), (1, True), (2, True)]
)
def test_tier_restricted_program_needs_that_tier_or_higher(tier_rank, applicable):
    gold_only = program("discount_amount", 200, min_tier_rank=1)

    verdict = check_program(gold_only, Customer(1000, tier_rank), None, NOW)

    assert verdict.applicable is applicable
    assert verdict.reason == (None if applicable else "requires a higher tier")


def test_listing_with_a_basket_checks_the_minimum_order_value():
    minimum = program("discount_amount", 200, min_order_value=1000)

    assert check_program(minimum, RICH, basket(item("A", 999)), NOW).reason == (
        "order below minimum 10.00"
    )
    assert check_program(minimum, RICH, basket(item("A", 1000)), NOW).applicable


def test_listing_with_a_basket_checks_the_item_is_there():
    verdict = check_program(
        program("item_discount_amount", 100, item_plu="ABC-123"), RICH, basket(item("A", 9)), NOW
    )

    assert verdict.reason == "item ABC-123 not in basket"


def test_listing_with_a_basket_says_bogof_needs_two_units():
    verdict = check_program(
        program("buy_one_get_one_free", item_plu="DRN-02"), RICH, basket(item("DRN-02", 250)), NOW
    )

    assert verdict.reason == "needs 2 of item DRN-02 in basket"


def test_free_item_is_listed_as_applicable_without_the_item():
    assert check_program(
        program("free_item", item_plu="DRN-01"), RICH, basket(item("A", 900)), NOW
    ).applicable


def test_listing_with_a_basket_refuses_a_program_that_discounts_nothing():
    verdict = check_program(
        program("item_fixed_price", 2000, item_plu="B"), RICH, basket(item("B", 1000)), NOW
    )

    assert verdict.reason == "nothing to discount"


def test_listing_with_a_basket_keeps_the_programs_own_reasons_too():
    verdict = check_program(
        program("discount_amount", 200, active_to=NOW, min_order_value=1000),
        RICH,
        basket(item("A", 999)),
        NOW,
    )

    assert verdict.reason == "expired; order below minimum 10.00"


def test_listing_with_a_basket_of_exactly_two_says_bogof_applies():
    two = basket(item("DRN-02", 250, 2))

    assert check_program(
        program("buy_one_get_one_free", item_plu="DRN-02"), RICH, two, NOW
    ).applicable


def test_listing_gives_every_reason_at_once():
    verdict = check_program(
        program("discount_amount", 200, cost=500, active_to=NOW, min_tier_rank=2),
        Customer(10, 0),
        None,
        NOW,
    )

    assert verdict.reason == "expired; requires a higher tier; needs 500 points, customer has 10"


# --- validate_programs


def test_validation_answers_each_requested_program_in_order():
    requested = [
        program("discount_amount", 100, program_id="b"),
        program("item_discount_amount", 100, program_id="a", item_plu="NOPE"),
    ]

    results = validate_programs(requested, RICH, basket(item("A", 1000)), NOW)

    assert [result.program_id for result in results] == ["b", "a"]
    assert [result.ok for result in results] == [True, False]
    assert results[1].errors == ("Item not in basket",)
    assert results[1].discounts == ()


def test_points_are_consumed_across_the_requested_programs():
    customer = Customer(points_available=150, tier_rank=None)
    requested = [
        program("discount_amount", 100, program_id="1", cost=100),
        program("discount_amount", 100, program_id="2", cost=100),
    ]

    first, second = validate_programs(requested, customer, basket(item("A", 1000)), NOW)

    assert first.ok
    assert second.errors == ("Not enough points",)
    assert second.discounts == ()


def test_a_refused_program_does_not_use_up_points():
    customer = Customer(points_available=100, tier_rank=None)
    requested = [
        program("discount_amount", 100, program_id="1", cost=100, active_to=NOW),
        program("discount_amount", 100, program_id="2", cost=100),
    ]

    first, second = validate_programs(requested, customer, basket(item("A", 1000)), NOW)

    assert first.errors == ("Program expired",)
    assert second.ok


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"active_to": NOW}, "Program expired"),
        ({"active_from": NOW + timedelta(days=1)}, "Program not active yet"),
        ({"min_tier_rank": 3}, "Requires a higher tier"),
        ({"min_order_value": 1001}, "Order total below the minimum of 10.01"),
        ({"cost": 1_000_001}, "Not enough points"),
        ({"type": "unknown"}, "Program not available"),
    ],
)
def test_validation_errors_are_short_customer_facing_sentences(changes, error):
    refused = replace(program("discount_amount", 100), **changes)

    [result] = validate_programs([refused], RICH, basket(item("A", 1000)), NOW)

    assert result.errors == (error,)


def test_validation_keeps_the_programs_own_problems_when_the_basket_has_problems_too():
    refused = program("discount_amount", 100, active_to=NOW, min_order_value=1001)

    [result] = validate_programs([refused], RICH, basket(item("A", 1000)), NOW)

    assert result.errors == ("Program expired", "Order total below the minimum of 10.01")


def test_an_item_program_without_a_plu_is_refused_as_item_not_in_basket():
    [result] = validate_programs(
        [program("item_discount_amount", 100)], RICH, basket(item("A", 1000)), NOW
    )

    assert result.errors == ("Item not in basket",)


def test_validation_grants_a_tier_program_to_a_customer_of_that_tier():
    gold_only = program("discount_amount", 100, min_tier_rank=1)

    [result] = validate_programs([gold_only], Customer(1000, 2), basket(item("A", 1000)), NOW)

    assert result.ok


def test_validation_grants_bogof_on_exactly_two_units():
    bogof = program("buy_one_get_one_free", item_plu="DRN-02")

    [result] = validate_programs([bogof], RICH, basket(item("DRN-02", 250, 2)), NOW)

    assert result.ok and amounts(list(result.discounts)) == [250]


def test_a_line_used_up_by_an_earlier_program_is_skipped_not_the_lines_after_it():
    requested = [
        program("item_discount_amount", 1000, program_id="1", item_plu="A"),
        program("item_discount_amount", 500, program_id="2", item_plu="A", quantity=2),
    ]

    first, second = validate_programs(
        requested, RICH, basket(item("A", 1000), item("A", 1000)), NOW
    )

    assert first.ok and second.ok
    assert [(d.line_index, d.amount) for d in second.discounts] == [(1, 500)]


def test_minimum_order_message_uses_the_currency_digits():
    minimum = program("discount_amount", 100, min_order_value=1000)

    [result] = validate_programs([minimum], RICH, Basket((item("A", 5),), decimal_digits=0), NOW)

    assert result.errors == ("Order total below the minimum of 1000",)


def test_already_applied_program_is_confirmed_without_discounts():
    applied = program("discount_amount", 300, program_id="7")

    [result] = validate_programs([applied], RICH, basket(item("A", 1000)), NOW, frozenset({"7"}))

    assert result.ok
    assert result.discounts == ()


def test_already_applied_program_that_no_longer_fits_is_reported():
    applied = program("item_discount_amount", 300, program_id="7", item_plu="COKE")

    [result] = validate_programs([applied], RICH, basket(item("A", 1000)), NOW, frozenset({"7"}))

    assert result.errors == ("Item not in basket",)


def test_already_applied_program_keeps_its_points_over_a_new_one():
    customer = Customer(points_available=100, tier_rank=None)
    new = program("discount_amount", 100, program_id="new", cost=100)
    applied = program("discount_amount", 100, program_id="old", cost=100)

    results = validate_programs(
        [new, applied], customer, basket(item("A", 1000)), NOW, frozenset({"old"})
    )

    assert [result.errors for result in results] == [("Not enough points",), ()]


def test_already_applied_discount_still_uses_up_the_basket():
    applied = program("discount_amount", 800, program_id="old")
    new = program("discount_amount", 800, program_id="new")

    _, result = validate_programs(
        [applied, new], RICH, basket(item("A", 1000)), NOW, frozenset({"old"})
    )

    assert [discount.to_wire()["offer"] for discount in result.discounts] == [
        {"type": "flat_off", "value": 200}
    ]


def test_stacked_discounts_never_take_the_basket_below_zero():
    requested = [program("discount_amount", 800, program_id=str(n)) for n in range(3)]

    results = validate_programs(requested, RICH, basket(item("A", 1000)), NOW)

    assert [amounts(list(result.discounts)) for result in results] == [[800], [200], []]
    assert results[2].errors == ("Discount exceeds the order total",)


def test_capped_percentage_discount_is_sent_as_the_flat_amount_left():
    requested = [
        program("discount_amount", 700, program_id="1"),
        program("discount_percentage", 5000, program_id="2"),
    ]

    _, capped = validate_programs(requested, RICH, basket(item("A", 1000)), NOW)

    assert capped.discounts[0].to_wire()["offer"] == {"type": "flat_off", "value": 300}
    assert capped.discounts[0].to_wire()["scope"] == {"type": "order"}


def test_two_item_discounts_on_one_line_never_exceed_that_line():
    requested = [
        program("item_discount_percentage", 7500, program_id="1", item_plu="COKE"),
        program("item_discount_amount", 1000, program_id="2", item_plu="COKE"),
    ]

    first, second = validate_programs(
        requested, RICH, basket(item("COKE", 400), item("B", 900)), NOW
    )

    assert amounts(list(first.discounts)) == [300]
    assert second.discounts[0].to_wire() == {
        "provider": "loyalty",
        "externalId": "program_2",
        "offer": {"type": "flat_off", "value": 100},
        "scope": {"type": "item", "lineIndex": 0},
    }


def test_free_item_added_by_the_pos_is_valid_even_when_the_basket_is_used_up():
    requested = [
        program("discount_percentage", 10000, program_id="1"),
        program("free_item", program_id="2", item_plu="DRN-01"),
    ]

    _, free = validate_programs(requested, RICH, basket(item("A", 1000)), NOW)

    assert free.ok
    assert free.discounts[0].to_wire()["scope"]["type"] == "product"


def test_the_same_program_is_used_once_per_order():
    twice = [program("discount_amount", 100), program("discount_amount", 100)]

    first, second = validate_programs(twice, RICH, basket(item("A", 1000)), NOW)

    assert first.ok
    assert second.errors == ("Program can only be used once per order",)


def test_order_discount_on_an_empty_basket_is_refused():
    [result] = validate_programs([program("discount_amount", 100)], RICH, basket(), NOW)

    assert result.errors == ("Nothing to discount on this order",)


def test_points_to_hold_counts_only_new_programs_that_validated():
    programs = [
        program("discount_amount", 1, program_id="ok", cost=100),
        program("discount_amount", 1, program_id="bad", cost=30),
        program("discount_amount", 1, program_id="held", cost=50),
    ]
    results = [
        ProgramResult("ok", (), ()),
        ProgramResult("bad", ("Not enough points",), ()),
        ProgramResult("held", (), ()),
    ]

    assert points_to_hold(results, programs, frozenset({"held"})) == 100
    assert points_to_hold(results, programs) == 150


# --- the seed examples


SEED_001_PROGRAMS = [
    program("discount_amount", 100, program_id="1", cost=100),
    program("free_item", program_id="2", cost=500, item_plu="DRN-01"),
    program("buy_one_get_one_free", program_id="3", cost=100, item_plu="DRN-02"),
    program("discount_percentage", 100, program_id="4", cost=200),
    program("item_discount_amount", 1000, program_id="5", cost=150, item_plu="1282933778"),
    program("item_discount_percentage", 5000, program_id="6", cost=150, item_plu="1282933778"),
]


def test_seed_001_programs_on_the_seed_001_basket():
    seed_basket = basket_from_order(SEED_001_ORDER)

    wire = {
        p.program_id: [d.to_wire() for d in discounts_for(p, seed_basket)]
        for p in SEED_001_PROGRAMS
    }
    verdicts = {
        p.program_id: check_program(p, RICH, seed_basket, NOW).applicable for p in SEED_001_PROGRAMS
    }

    assert wire["1"][0]["offer"] == {"type": "flat_off", "value": 100}
    assert wire["2"][0]["scope"] == {"type": "product", "plu": "DRN-01", "quantity": 1}
    assert wire["3"] == wire["5"] == wire["6"] == []
    assert amounts(discounts_for(SEED_001_PROGRAMS[3], seed_basket)) == [17]  # 1 % of 17.00
    assert verdicts == {"1": True, "2": True, "3": False, "4": True, "5": False, "6": False}


def test_seed_001_revalidation_confirms_the_applied_program_without_discounts():
    seed_basket = basket_from_order(SEED_001_ORDER)
    applied = program("discount_amount", 100, program_id="1234")

    [result] = validate_programs(
        [applied], RICH, seed_basket, NOW, frozenset(seed_basket.applied_program_ids)
    )

    assert result == ProgramResult("1234", (), ())


SEED_004_EXPIRES = datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)
SEED_004_PROGRAMS = [
    program("discount_amount", 1000, program_id="1234", active_to=SEED_004_EXPIRES),
    program("discount_percentage", 5000, program_id="4578", active_to=SEED_004_EXPIRES),
    program("free_item", program_id="765", cost=200, item_plu="DRN-01", active_to=SEED_004_EXPIRES),
    program("buy_one_get_one_free", program_id="12456", cost=500, item_plu="DRN-02"),
    program(
        "item_discount_amount",
        500,
        program_id="36996",
        cost=150,
        item_plu="ABC-123",
        min_order_value=1000,
    ),
    program("item_discount_percentage", 5000, program_id="36998", cost=150, item_plu="ABC-123"),
]


def test_seed_004_programs_on_the_seed_004_basket_before_they_expire():
    before = datetime(2024, 6, 1, tzinfo=UTC)

    results = validate_programs(SEED_004_PROGRAMS, RICH, basket_from_order(SEED_004_ORDER), before)

    assert [amounts(list(result.discounts)) for result in results] == [
        [1000],
        [100],
        [0],
        [],
        [],
        [],
    ]
    assert [result.errors for result in results] == [
        (),
        (),
        (),
        ("Add two of this item to get one free",),
        ("Item not in basket",),
        ("Item not in basket",),
    ]


def test_seed_004_percentage_alone_takes_half_the_beef_opor():
    [discount] = discounts_for(SEED_004_PROGRAMS[1], basket_from_order(SEED_004_ORDER))

    assert discount.amount == 550


def test_seed_004_programs_that_expired_in_2024_are_not_applicable_in_2025():
    verdicts = [check_program(p, RICH, None, NOW) for p in SEED_004_PROGRAMS]

    assert [verdict.applicable for verdict in verdicts] == [False, False, False, True, True, True]
    assert verdicts[0].reason == "expired"


def test_seed_003_case_1_lists_the_two_dollar_program_for_a_customer_with_points():
    two_off = program("discount_amount", 200, program_id="1", cost=10, min_order_value=1000)
    empty = basket_from_order({"orderType": 2, "items": []})

    # The minimum order value waits for the basket (case 2); only points matter here.
    assert check_program(two_off, Customer(10, None), empty, NOW).applicable
    assert not check_program(two_off, Customer(9, None), empty, NOW).applicable


def test_seed_003_case_2_burger_basket_gets_two_dollars_off():
    two_off = program("discount_amount", 200, program_id="1", cost=10, min_order_value=1000)
    burger = basket_from_order(SEED_003_BURGER_ORDER)

    [result] = validate_programs([two_off], Customer(10, None), burger, NOW)

    assert [d.to_wire() for d in result.discounts] == [
        {
            "provider": "loyalty",
            "externalId": "program_1",
            "offer": {"type": "flat_off", "value": 200},
            "scope": {"type": "order"},
        }
    ]


# --- properties


plus = st.sampled_from(["A", "B", "C"])
leaf_items = st.builds(item, plus, st.integers(0, 5000), st.integers(0, 4))
items = st.builds(
    lambda base, subs: replace(base, sub_items=tuple(subs)),
    leaf_items,
    st.lists(leaf_items, max_size=2),
)
baskets = st.builds(lambda lines: basket(*lines), st.lists(items, max_size=5))
programs = st.builds(
    lambda type_, value, plu, quantity, program_id: program(
        type_, value, program_id=program_id, item_plu=plu, quantity=quantity
    ),
    st.sampled_from(REWARD_TYPES),
    st.integers(0, 20_000),
    st.none() | plus,
    st.none() | st.integers(1, 5),
    st.text("0123456789", min_size=1, max_size=3),
)


@given(programs, baskets)
def test_a_discount_never_exceeds_what_it_applies_to(prog, cart):
    for discount in discounts_for(prog, cart):
        assert 0 <= discount.amount <= cart.items_total
        if discount.line_index is not None:
            assert discount.amount <= cart.items[discount.line_index].line_total
        if discount.offer_type != "free":
            assert isinstance(discount.offer_value, int)


@given(st.lists(programs, max_size=6), baskets)
def test_stacked_discounts_never_exceed_the_basket_or_any_line(requested, cart):
    results = validate_programs(requested, RICH, cart, NOW)
    granted = [d for result in results for d in result.discounts]

    assert len(results) == len(requested)
    assert sum(d.amount for d in granted) <= cart.items_total
    for index, line in enumerate(cart.items):
        assert sum(d.amount for d in granted if d.line_index == index) <= line.line_total


@given(
    st.sampled_from(["discount_amount", "discount_percentage"]),
    st.integers(0, 20_000),
    baskets,
    items,
)
def test_a_bigger_basket_never_gives_a_smaller_order_discount(type_, value, cart, extra):
    bigger = basket(*cart.items, extra)

    def taken(b: Basket) -> int:
        return sum(amounts(discounts_for(program(type_, value), b)))

    assert taken(bigger) >= taken(cart)


@given(st.integers(0, 10_000), baskets)
def test_percentage_discount_is_the_floor_of_the_exact_percentage(percent, cart):
    taken = sum(amounts(discounts_for(program("discount_percentage", percent), cart)))

    assert isinstance(taken, int)
    assert taken == cart.items_total * percent // 10_000
    assert taken * 10_000 <= cart.items_total * percent < (taken + 1) * 10_000


@given(programs, baskets)
def test_applicable_with_a_basket_means_validation_would_grant_it(prog, cart):
    verdict = check_program(prog, RICH, cart, NOW)
    [result] = validate_programs([prog], RICH, cart, NOW)

    if not cart.is_empty:
        assert verdict.applicable == result.ok
