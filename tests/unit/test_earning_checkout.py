"""The checkout's earning (rules.checkout with rules.earning): which rule gave what travels with
the earning, whether it is credited or held for review, and a cancel takes back each part."""

from __future__ import annotations

from datetime import UTC, datetime

from loyalty.rules.basket import BasketItem
from loyalty.rules.checkout import (
    EarningTerms,
    OrderClaim,
    OrderEntry,
    Wallet,
    earning_for,
    plan_order,
    reversals,
)
from loyalty.rules.earning import EarningRule, Purchase
from loyalty.rules.order_review import MAX_POINTS_PER_ORDER
from loyalty.rules.tiers import TierLevel

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SPEND = EarningRule(1, "spend", "spend", 1, 100)
STAMPS = EarningRule(2, "item", "stamps", 1, plus=("COFFEE",))
VISIT = EarningRule(3, "visit", "visit", 5)
COFFEES = (BasketItem("COFFEE", "Coffee", 250, 2),)


def terms(*rules: EarningRule, max_points: int = 10_000, levels=()) -> EarningTerms:
    return EarningTerms(rules, None, 2, max_points, 10**9, levels)


def test_the_earning_says_which_rule_gave_what():
    earned = earning_for(Purchase(500, items=COFFEES), 0, terms(SPEND, STAMPS), NOW)
    assert earned.points == 7
    assert earned.breakdown.earned() == [
        {"rule": 1, "kind": "spend", "label": "spend", "points": 5},
        {"rule": 2, "kind": "item", "label": "stamps", "points": 2},
    ]


def test_the_tier_reached_before_the_order_is_its_own_part():
    gold = (TierLevel(7, "Gold", 100, 200),)
    earned = earning_for(Purchase(500), 100, terms(SPEND, levels=gold), NOW)
    assert [(part.label, part.points) for part in earned.breakdown.parts] == [
        ("spend", 5),
        ("Gold tier", 5),
    ]
    assert earning_for(Purchase(500), 99, terms(SPEND, levels=gold), NOW).points == 5


def test_an_order_held_for_review_keeps_its_parts_for_a_later_credit():
    earned = earning_for(Purchase(1000), 0, terms(SPEND, VISIT, max_points=14), NOW)
    assert (earned.points, earned.withheld) == (0, 15)
    assert earned.review_reason == "earns 15 points, over the 14 per order"
    assert earned.breakdown.total == 15


def test_the_caps_judge_the_whole_earning_and_the_withheld_points_fit_the_ledger():
    huge = EarningRule(1, "spend", "spend", 10_000, 1)
    earned = earning_for(Purchase(10**6), 0, terms(huge, max_points=MAX_POINTS_PER_ORDER), NOW)
    assert earned.points == 0
    assert earned.withheld == MAX_POINTS_PER_ORDER
    assert earned.review_reason is not None


def test_no_rules_earn_nothing_and_say_nothing():
    earned = earning_for(Purchase(1000), 0, terms(), NOW)
    assert (earned.points, earned.breakdown.earned()) == (0, [])


def test_the_plan_earns_by_every_rule_on_what_the_order_bought():
    claim = OrderClaim(None, (), purchase=Purchase(500, items=COFFEES, visits_today={3: 1}))
    plan = plan_order(claim, [], Wallet(0, 0, 0), terms(SPEND, STAMPS, VISIT), NOW)
    assert plan.earning.points == 5 + 2  # today's visit was already paid


def test_a_cancel_takes_back_each_part_of_the_earn():
    parts = (
        {"rule": 1, "kind": "spend", "label": "spend", "points": 10},
        {"rule": 2, "kind": "item", "label": "stamps", "points": 2},
    )
    entries = [
        OrderEntry(1, "points", "earn", 12, "order:1:earn", breakdown=parts),
        OrderEntry(2, "points", "redeem", -9, "order:1:redeem:4", reward_id=4),
    ]
    earn, redeem = sorted(reversals(entries), key=lambda step: step.entry_id)
    assert earn.amount == -12
    assert earn.breakdown == (
        {"rule": 1, "kind": "spend", "label": "spend", "points": -10},
        {"rule": 2, "kind": "item", "label": "stamps", "points": -2},
    )
    assert sum(part["points"] for part in earn.breakdown) == earn.amount
    assert redeem.breakdown == ()
