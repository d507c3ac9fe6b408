"""Points an order earns under the restaurant's earning rules (rules.earning)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.basket import Basket, BasketItem
from loyalty.rules.earning import (
    EarningRule,
    Purchase,
    describe,
    earn,
    free_units,
    spend_of,
    units_of,
)
from loyalty.rules.programs import Program
from loyalty.rules.tiers import TierLevel

TUESDAY_4PM = datetime(2026, 12, 1, 16, 0)  # a Tuesday
WEDNESDAY_4PM = datetime(2026, 12, 2, 16, 0)


def per_unit(points: int = 1, digits: int = 2, rule_id: int = 1) -> EarningRule:
    return EarningRule(rule_id, "spend", "spend", points, 10**digits)


def spend(points: int, per_amount: int, rule_id: int = 1) -> EarningRule:
    return EarningRule(rule_id, "spend", "spend", points, per_amount)


def visit(points: int = 5, min_amount: int = 0, per_day: int | None = 1, rule_id: int = 2):
    return EarningRule(rule_id, "visit", "visit", points, min_amount=min_amount, per_day=per_day)


def stamp_card(*plus: str, points: int = 1, rule_id: int = 3) -> EarningRule:
    return EarningRule(rule_id, "item", "stamps", points, plus=plus)


def bonus(multiplier: int = 200, rule_id: int = 4, **fields) -> EarningRule:
    return EarningRule(rule_id, "bonus", "bonus", multiplier_percent=multiplier, **fields)


def line(plu: str, price: int, quantity: int = 1, *subs: BasketItem) -> BasketItem:
    return BasketItem(plu, plu, price, quantity, tuple(subs))


def total(rules, paid: int, digits: int = 2, tier: TierLevel | None = None, **purchase) -> int:
    return earn(rules, Purchase(paid, decimal_digits=digits, **purchase), digits, tier).total


# --- per spend: what every restaurant had before (N points per whole currency unit)


def test_seed_order_paying_16_euros_earns_16_points():
    assert total([per_unit()], 1600) == 16


def test_only_whole_currency_units_earn():
    assert total([per_unit()], 999) == 9
    assert total([per_unit(10)], 99) == 0


def test_tips_do_not_earn():
    assert total([per_unit()], 2500, tips=500) == 20


def test_fees_do_not_earn():
    assert total([per_unit()], 2750, fees=250) == 25


def test_currency_without_decimals_earns_per_unit():
    assert total([per_unit(2, digits=0)], 1500, digits=0) == 3000


def test_points_per_unit_scales_the_points():
    assert total([per_unit(5)], 1000) == 50


def test_a_fractional_rate_counts_whole_steps_of_the_whole_order():
    one_per_2_50 = spend(1, 250)
    assert total([one_per_2_50], 999) == 3
    # Floor of the whole order, not per line: three 2.00 lines are 6.00, two steps.
    lines = (line("A", 200), line("B", 200), line("C", 200))
    assert total([one_per_2_50], 600, items=lines) == 2


def test_three_points_per_euro():
    assert total([spend(3, 100)], 999) == 27


def test_an_order_in_other_digits_is_scaled_to_the_restaurants():
    # The order says 3 digits: 9.990 is 999 in the restaurant's two.
    purchase = Purchase(9990, decimal_digits=3)
    assert earn([per_unit()], purchase, 2).total == 9


@pytest.mark.parametrize(("multiplier", "points"), [(100, 7), (150, 10), (200, 14), (125, 8)])
def test_tier_multiplier_applies_and_is_floored(multiplier, points):
    tier = TierLevel(1, "Gold", 0, multiplier)
    assert total([per_unit()], 700, tier=tier) == points


def test_a_tip_larger_than_the_payment_earns_nothing_rather_than_negative_points():
    assert total([per_unit()], 500, tips=800) == 0
    assert total([per_unit(digits=0)], 500, digits=0, tips=800) == 0


def test_a_multiplier_below_one_never_takes_points_away():
    assert total([per_unit()], 5000, tier=TierLevel(1, "Odd", 0, -100)) == 50


def test_no_rules_earn_nothing():
    assert total([], 5000) == 0


# --- per visit


def test_a_visit_earns_its_points_once_it_reaches_the_minimum():
    assert total([visit(5, min_amount=1000)], 1000) == 5
    assert total([visit(5, min_amount=1000)], 999) == 0


def test_one_visit_a_day_so_a_split_bill_does_not_pay_twice():
    rule = visit(5, per_day=1)
    assert total([rule], 1000, visits_today={rule.id: 1}) == 0
    assert total([visit(5, per_day=2)], 1000, visits_today={rule.id: 1}) == 5
    assert total([visit(5, per_day=None)], 1000, visits_today={rule.id: 40}) == 5


# --- per item: stamp cards


def test_each_unit_of_a_chosen_plu_earns_a_stamp():
    items = (line("COFFEE", 250, 3), line("CAKE", 400, 2))
    assert total([stamp_card("COFFEE")], 1550, items=items) == 3
    assert total([stamp_card("COFFEE", "CAKE", points=2)], 1550, items=items) == 10


def test_sub_items_count_per_unit_of_their_parents():
    shot = line("SHOT", 50, 2)
    items = (line("COFFEE", 250, 3, shot),)
    assert units_of(items, ["SHOT"]) == {"SHOT": 6}
    assert total([stamp_card("SHOT")], 1050, items=items) == 6
    assert total([stamp_card("COFFEE", "SHOT")], 1050, items=items) == 9


def test_reward_lines_never_earn_stamps():
    items = (line("COFFEE", 250, 2),)
    free_coffee = Program("9", "Free coffee", "free_item", 9, 0, item_plu="COFFEE")
    free = free_units([free_coffee], Basket(items))
    assert free == {"COFFEE": 1}
    assert total([stamp_card("COFFEE")], 250, items=items, free_units=free) == 1


def test_the_free_half_of_a_bogof_earns_no_stamp():
    items = (line("PIZZA", 1000, 2),)
    bogof = Program("7", "BOGOF", "buy_one_get_one_free", 100, 0, item_plu="PIZZA")
    assert free_units([bogof], Basket(items)) == {"PIZZA": 1}


def test_a_free_item_not_yet_in_the_basket_frees_nothing_there():
    free_coffee = Program("9", "Free coffee", "free_item", 9, 0, item_plu="COFFEE")
    assert free_units([free_coffee], Basket((line("CAKE", 400),))) == {}


# --- bonus times and items


def test_double_points_on_tuesday_afternoons_in_the_restaurants_time():
    tuesday = bonus(200, weekdays=(1,), starts_at=15 * 60, ends_at=17 * 60)
    rules = [per_unit(), tuesday]
    assert total(rules, 1000, local_time=TUESDAY_4PM) == 20
    assert total(rules, 1000, local_time=WEDNESDAY_4PM) == 10
    assert total(rules, 1000, local_time=TUESDAY_4PM.replace(hour=17)) == 10  # end exclusive
    assert total(rules, 1000, local_time=TUESDAY_4PM.replace(hour=15)) == 20
    assert total(rules, 1000) == 10  # a timed bonus needs to know when


def test_a_bonus_on_chosen_plus_multiplies_only_their_lines():
    items = (line("NEW-PIZZA", 1200), line("COLA", 300))
    rules = [per_unit(), bonus(300, plus=("NEW-PIZZA",))]
    breakdown = earn(rules, Purchase(1500, items=items), 2)
    assert [part.points for part in breakdown.parts] == [15, 24]


def test_a_bonus_on_chosen_plus_never_counts_more_than_was_paid():
    items = (line("NEW-PIZZA", 1200),)
    rules = [per_unit(), bonus(200, plus=("NEW-PIZZA",))]
    assert total(rules, 700, items=items) == 14  # a 5.00 discount: 7 points, doubled


def test_tier_and_bonus_add_their_extras_rather_than_compound():
    rules = [per_unit(), bonus(200)]
    gold = TierLevel(1, "Gold", 0, 150)
    breakdown = earn(rules, Purchase(1000), 2, gold)
    assert [(part.kind, part.points) for part in breakdown.parts] == [
        ("spend", 10),
        ("tier", 5),
        ("bonus", 10),
    ]
    assert breakdown.total == 25  # x(1 + 0.5 + 1), not x3


def test_a_bonus_is_capped_per_order():
    assert total([per_unit(), bonus(300, cap=50)], 10_000) == 150


def test_multipliers_leave_visits_and_stamps_alone():
    items = (line("COFFEE", 250, 4),)
    rules = [visit(5), stamp_card("COFFEE"), bonus(300)]
    assert total(rules, 1000, items=items, tier=TierLevel(1, "Gold", 0, 200)) == 9


def test_several_rules_earn_their_sum_and_the_breakdown_says_who_gave_what():
    items = (line("COFFEE", 250, 2), line("CROISSANT", 200))
    rules = [per_unit(), visit(3), stamp_card("COFFEE")]
    breakdown = earn(rules, Purchase(700, items=items), 2)
    assert breakdown.total == 7 + 3 + 2
    assert breakdown.earned() == [
        {"rule": 1, "kind": "spend", "label": "spend", "points": 7},
        {"rule": 2, "kind": "visit", "label": "visit", "points": 3},
        {"rule": 3, "kind": "item", "label": "stamps", "points": 2},
    ]


def test_parts_of_nothing_are_kept_for_the_preview_but_not_stored():
    breakdown = earn([per_unit(), visit(3, min_amount=5000)], Purchase(700), 2)
    assert [part.points for part in breakdown.parts] == [7, 0]
    assert [part["kind"] for part in breakdown.earned()] == ["spend"]


def test_spend_is_paid_less_tips_and_fees_never_below_zero():
    assert spend_of(Purchase(2000, tips=300, fees=200), 2) == 1500
    assert spend_of(Purchase(100, tips=300, fees=200), 2) == 0


# --- properties

PLUS = st.sampled_from(["A", "B", "C"])


@st.composite
def items(draw, depth: int = 0):
    subs = draw(st.lists(items(depth + 1), max_size=2)) if depth < 2 else []
    return BasketItem(
        draw(PLUS), "x", draw(st.integers(0, 5000)), draw(st.integers(0, 5)), tuple(subs)
    )


def rules_of(kind: str, name: str, **fields):
    """Earning rules of one kind, with ids that may repeat across rules."""
    return st.builds(
        EarningRule, id=st.integers(1, 9), kind=st.just(kind), name=st.just(name), **fields
    )


RULES = st.lists(
    st.one_of(
        rules_of("spend", "spend", points=st.integers(0, 100), per_amount=st.integers(1, 10_000)),
        rules_of(
            "visit",
            "visit",
            points=st.integers(0, 100),
            min_amount=st.integers(0, 5000),
            per_day=st.one_of(st.none(), st.integers(1, 3)),
        ),
        rules_of(
            "item", "stamps", points=st.integers(0, 10), plus=st.lists(PLUS, max_size=2).map(tuple)
        ),
        rules_of(
            "bonus",
            "bonus",
            multiplier_percent=st.integers(-100, 1000),
            plus=st.lists(PLUS, max_size=2).map(tuple),
            weekdays=st.lists(st.integers(0, 6), max_size=3).map(tuple),
            starts_at=st.one_of(st.none(), st.integers(0, 1440)),
            ends_at=st.one_of(st.none(), st.integers(0, 1440)),
            cap=st.one_of(st.none(), st.integers(0, 500)),
        ),
    ),
    max_size=6,
)
PURCHASES = st.builds(
    Purchase,
    paid=st.integers(0, 10**7),
    tips=st.integers(-100, 10**5),
    fees=st.integers(-100, 10**5),
    decimal_digits=st.integers(0, 4),
    items=st.lists(items(), max_size=4).map(tuple),
    free_units=st.dictionaries(PLUS, st.integers(-2, 5)),
    local_time=st.one_of(st.none(), st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1))),
    visits_today=st.dictionaries(st.integers(1, 9), st.integers(0, 4)),
)
TIERS = st.one_of(
    st.none(), st.builds(TierLevel, st.just(1), st.just("T"), st.just(0), st.integers(-100, 1000))
)


@given(RULES, PURCHASES, st.integers(0, 4), TIERS)
def test_no_part_is_ever_negative_and_the_parts_sum_to_the_total(rules, purchase, digits, tier):
    breakdown = earn(rules, purchase, digits, tier)
    assert all(part.points >= 0 for part in breakdown.parts)
    assert breakdown.total == sum(part.points for part in breakdown.parts)
    assert sum(part["points"] for part in breakdown.earned()) == breakdown.total


@given(RULES, PURCHASES, st.integers(0, 10**6), st.integers(0, 4), TIERS)
def test_paying_more_never_earns_fewer_spend_points(rules, purchase, more, digits, tier):
    spend_rules = [rule for rule in rules if rule.kind in ("spend", "bonus")]
    richer = Purchase(**{**purchase.__dict__, "paid": purchase.paid + more})
    assert (
        earn(spend_rules, purchase, digits, tier).total
        <= earn(spend_rules, richer, digits, tier).total
    )


@given(PURCHASES, st.integers(1, 3), st.integers(0, 4))
def test_a_visit_rule_pays_at_most_its_visits_a_day(purchase, per_day, already):
    rule = visit(5, per_day=per_day)
    visited = Purchase(**{**purchase.__dict__, "visits_today": {rule.id: already}})
    points = earn([rule], visited, 2).total
    assert points == (5 if already < per_day else 0)


@given(PURCHASES, st.lists(PLUS, min_size=1, max_size=3))
def test_stamps_count_units_of_the_chosen_plus_only(purchase, plus):
    counted = units_of(purchase.items, plus)
    assert set(counted) <= set(plus)
    freed = sum(
        min(max(0, purchase.free_units.get(plu, 0)), units) for plu, units in counted.items()
    )
    assert earn([stamp_card(*plus)], purchase, 2).total == sum(counted.values()) - freed
    others = [plu for plu in ("A", "B", "C") if plu not in plus]
    if others:
        without = units_of(purchase.items, others)
        assert earn([stamp_card(*plus)], purchase, 2).total <= sum(counted.values())
        assert set(without).isdisjoint(plus)


@given(RULES, PURCHASES, st.integers(0, 500))
def test_a_bonus_never_adds_more_than_its_cap(rules, purchase, cap):
    capped = bonus(1000, cap=cap, rule_id=99)
    parts = earn([*rules, capped], purchase, 2).parts
    assert next(part for part in parts if part.rule_id == 99).points <= cap


def test_the_parts_read_as_a_sum():
    parts = [
        {"rule": 1, "kind": "spend", "label": "spend", "points": 10},
        {"rule": 3, "kind": "item", "label": "stamps", "points": 2},
    ]
    assert describe(parts) == "12 = 10 spend + 2 stamps"
    assert describe([{**part, "points": -part["points"]} for part in parts]) == (
        "-12 = -10 spend - 2 stamps"
    )
    assert describe(parts[:1]) == "10 spend"
    assert describe([]) == ""
    assert describe([parts[0], {**parts[1], "points": 0}]) == "10 = 10 spend + 0 stamps"


# --- edges that keep the rules honest


def test_a_rule_with_nothing_to_give_gives_nothing():
    assert total([spend(5, 0)], 1000) == 0  # no step: nothing, not a division by zero
    assert total([spend(-3, 100)], 1000) == 0
    assert total([visit(-5)], 1000) == 0
    assert total([stamp_card("COFFEE", points=-1)], 250, items=(line("COFFEE", 250),)) == 0
    assert total([visit(1)], 1000) == 1


def test_the_same_plu_on_several_lines_and_under_several_items_adds_up():
    shot = line("SHOT", 50)
    items = (line("COFFEE", 250, 2, shot), line("COFFEE", 300, 1, shot), line("TEA", 200, 1, shot))
    assert units_of(items, ["COFFEE", "SHOT"]) == {"COFFEE": 3, "SHOT": 4}


def test_a_bonus_on_a_modifier_multiplies_its_price_per_unit_of_its_items():
    shot = line("SHOT", 50, 2)
    items = (line("COFFEE", 250, 3, shot), line("LATTE", 300, 1, shot), line("TEA", 200))
    rules = [spend(1, 10), bonus(200, plus=("SHOT",), rule_id=9)]
    parts = earn(rules, Purchase(5000, items=items), 2).parts
    assert parts[-1].points == (50 * 2 * 3 + 50 * 2) // 10  # 400 of modifiers, a point per 0.10
    rules = [spend(1, 10), bonus(200, plus=("COFFEE", "TEA"), rule_id=9)]
    assert earn(rules, Purchase(5000, items=items), 2).parts[-1].points == (350 * 3 + 200) // 10
    per_cent = [spend(1, 1), bonus(200, plus=("SHOT",), rule_id=9)]
    assert earn(per_cent, Purchase(5000, items=items), 2).parts[-1].points == 400


def test_a_bonus_on_a_modifier_of_a_modifier_counts_every_level():
    syrup = line("SYRUP", 30, 1)
    items = (line("COFFEE", 250, 3, line("SHOT", 50, 2, syrup)),)
    rules = [spend(1, 1), bonus(200, plus=("SYRUP",), rule_id=9)]
    assert earn(rules, Purchase(5000, items=items), 2).parts[-1].points == 30 * 2 * 3


@pytest.mark.parametrize(
    ("fields", "moment", "applies"),
    [
        ({"weekdays": (1,)}, TUESDAY_4PM, True),
        ({"weekdays": (1,)}, WEDNESDAY_4PM, False),
        ({"starts_at": 16 * 60 + 30}, TUESDAY_4PM, False),
        ({"starts_at": 16 * 60 + 30}, TUESDAY_4PM.replace(minute=30), True),
        ({"ends_at": 16 * 60 + 30}, TUESDAY_4PM.replace(minute=29), True),
        ({"ends_at": 16 * 60 + 30}, TUESDAY_4PM.replace(minute=30), False),
        ({"ends_at": 60}, TUESDAY_4PM.replace(hour=0, minute=0), True),  # from midnight
        ({"starts_at": 15 * 60, "ends_at": 17 * 60}, TUESDAY_4PM.replace(hour=14), False),
    ],
)
def test_a_bonus_applies_on_its_days_and_within_its_hours(fields, moment, applies):
    rules = [per_unit(), bonus(200, **fields)]
    assert total(rules, 1000, local_time=moment) == (20 if applies else 10)
    assert total(rules, 1000) == 10  # a timed bonus needs to know when


def test_each_part_carries_its_rules_name():
    named = [per_unit(), EarningRule(4, "bonus", "happy hour", multiplier_percent=200)]
    tier = TierLevel(1, "Gold", 0, 150)
    labels = [part.label for part in earn(named, Purchase(1000), 2, tier).parts]
    assert labels == ["spend", "Gold tier", "happy hour"]


def test_a_cap_of_nothing_leaves_nothing_extra():
    assert total([per_unit(), bonus(300, cap=0)], 1000) == 10


def test_only_free_units_of_the_rewards_count_as_reward_lines():
    basket = Basket((line("COFFEE", 250, 3), line("CAKE", 400, 1)))
    half_off = Program("1", "Half a cake", "item_discount_percentage", 9, 5000, item_plu="CAKE")
    free_coffee = Program("9", "Free coffee", "free_item", 9, 0, item_plu="COFFEE")
    assert free_units([half_off], basket) == {}
    assert free_units([half_off, free_coffee, free_coffee], basket) == {"COFFEE": 2}
