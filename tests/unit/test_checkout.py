"""Checkout rules: what an order paid, what it redeems, earns and ends, what its cancel reverses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.basket import Basket, BasketItem
from loyalty.rules.checkout import (
    CUSTOMER_NOT_FOUND,
    NOT_ENOUGH_CREDIT,
    OVER_ORDER_TOTAL,
    WALLET_EXTERNAL_ID,
    DiscountLine,
    EarningTerms,
    LiveHold,
    NamedReward,
    OrderClaim,
    OrderEntry,
    Payment,
    Wallet,
    amount_paid,
    check_store_credit,
    earned_points_expire_at,
    earning_for,
    is_store_credit,
    order_total,
    plan_order,
    reversals,
    sessions_ended,
    store_credit_used,
)
from loyalty.rules.debt import repayment, take_back
from loyalty.rules.earning import EarningRule, Purchase
from loyalty.rules.tiers import TierLevel

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ONE_PER_UNIT = (EarningRule(1, "spend", "spend", 1, 100),)  # a point per whole unit
TERMS = EarningTerms(
    rules=ONE_PER_UNIT,
    points_validity_days=None,
    decimal_digits=2,
    max_points_per_order=10_000,
    max_order_amount=10_000_000,
)
BASKET = Basket(items=(BasketItem("A", "A", 1500, 1, ()),), delivery_cost=200, service_charge=50)
FIRST, SECOND, THIRD = NamedReward(1, 100), NamedReward(2, 150), NamedReward(3, 200)


def hold(hold_id: int, reward: NamedReward, session: str = "s1") -> LiveHold:
    return LiveHold(hold_id, reward.id, session, reward.cost)


def plan(rewards, holds=(), points=1000, cash=0, session=None, **claim):
    return plan_order(
        OrderClaim(session, tuple(rewards), **claim),
        list(holds),
        Wallet(points, cash, 0),
        TERMS,
        NOW,
    )


# --- what an order paid


@pytest.mark.parametrize(
    "line",
    [
        DiscountLine(provider="loyalty", amount=300),
        DiscountLine(type="cash", amount=300),
        DiscountLine(type="wallet", amount=300),
        DiscountLine(external_id=WALLET_EXTERNAL_ID, amount=300),
        DiscountLine(reference_id="cash", amount=300),
    ],
)
def test_store_credit_is_a_loyalty_discount_that_is_no_program(line):
    assert is_store_credit(line)


def test_a_program_discount_is_never_store_credit():
    assert not is_store_credit(DiscountLine(program_id="1", provider="loyalty", type="cash"))
    assert not is_store_credit(DiscountLine(provider="channel", type="voucher", amount=300))


def test_store_credit_used_adds_amounts_or_values_whatever_their_sign():
    lines = [
        DiscountLine(provider="loyalty", amount=-300),
        DiscountLine(type="cash", value=200),
        DiscountLine(type="cash"),
        DiscountLine(program_id="1", amount=500),
        DiscountLine(provider="loyalty", amount=0, value=900),
    ]
    assert store_credit_used(lines) == 500


@pytest.mark.parametrize(
    "payment, paid",
    [
        (Payment(payment_amount=899, payment=1000, sub_total=1399), 899),
        (Payment(payment_amount=-5, payment=1000), 0),
        (Payment(payment=1000, sub_total=1399), 1000),
        (Payment(payment=-1, sub_total=1399), 0),
        (Payment(sub_total=1399, discount_total=-500), 899),
        (Payment(sub_total=1399, discount_total=200), 1399),  # a positive "discount" adds nothing
        (Payment(sub_total=300, discount_total=-500), 0),
        (Payment(), 1500),
    ],
)
def test_amount_paid_prefers_what_the_order_states(payment, paid):
    assert amount_paid(payment, BASKET) == paid


def test_order_total_is_the_stated_payment_else_items_and_fees():
    assert order_total(Payment(payment_amount=700), BASKET) == 700
    assert order_total(Payment(payment=800), BASKET) == 800
    assert order_total(Payment(payment_amount=-1), BASKET) == 0
    assert order_total(Payment(sub_total=100, discount_total=-50), BASKET) == 1750


def test_store_credit_up_to_the_balance_and_the_total_is_granted():
    check = check_store_credit(1000, 500, Payment(payment_amount=1500), BASKET, [])
    assert (check.errors, check.amount, check.max_redeemable) == ((), 500, 1000)


def test_store_credit_beyond_the_balance_or_the_total_is_refused():
    poor = check_store_credit(400, 500, Payment(payment_amount=1500), BASKET, [])
    assert (poor.errors, poor.amount, poor.max_redeemable) == ((NOT_ENOUGH_CREDIT,), 0, 400)
    small = check_store_credit(1000, 500, Payment(payment_amount=300), BASKET, [])
    assert (small.errors, small.amount, small.max_redeemable) == ((OVER_ORDER_TOTAL,), 0, 300)
    assert NOT_ENOUGH_CREDIT == "Not enough wallet balance"
    assert OVER_ORDER_TOTAL == "Amount exceeds the order total"


def test_store_credit_of_exactly_the_balance_or_exactly_the_total_is_granted():
    whole_balance = check_store_credit(500, 500, Payment(payment_amount=1500), BASKET, [])
    assert (whole_balance.errors, whole_balance.amount) == ((), 500)
    whole_total = check_store_credit(2000, 1500, Payment(payment_amount=1500), BASKET, [])
    assert (whole_total.errors, whole_total.amount, whole_total.max_redeemable) == ((), 1500, 1500)


def test_store_credit_without_a_stated_payment_is_capped_by_items_and_fees():
    # BASKET: items 1500, delivery 200, service 50; a subtotal is no payment.
    check = check_store_credit(5000, 1750, Payment(sub_total=100), BASKET, [])
    assert (check.errors, check.amount, check.max_redeemable) == ((), 1750, 1750)
    over = check_store_credit(5000, 1751, Payment(), BASKET, [])
    assert (over.errors, over.amount, over.max_redeemable) == ((OVER_ORDER_TOTAL,), 0, 1750)


def test_an_empty_wallet_or_a_free_order_has_nothing_to_redeem():
    empty = check_store_credit(0, 1, Payment(payment_amount=1500), BASKET, [])
    assert (empty.errors, empty.amount, empty.max_redeemable) == ((NOT_ENOUGH_CREDIT,), 0, 0)
    free = check_store_credit(1000, 1, Payment(payment_amount=0), BASKET, [])
    assert (free.errors, free.amount, free.max_redeemable) == ((OVER_ORDER_TOTAL,), 0, 0)


def test_store_credit_for_nobody_is_refused():
    check = check_store_credit(None, 1, Payment(), BASKET, [])
    assert (check.errors, check.amount, check.max_redeemable) == ((CUSTOMER_NOT_FOUND,), 0, 0)
    assert CUSTOMER_NOT_FOUND == "Loyalty customer not found"


def test_store_credit_already_applied_is_confirmed_without_discounting_twice():
    applied = [DiscountLine(provider="loyalty", amount=500)]
    check = check_store_credit(1000, 500, Payment(payment_amount=1000), BASKET, applied)
    # The basket's total already has the credit off: 1000 + 500 is what it costs.
    assert (check.errors, check.amount, check.max_redeemable) == ((), 0, 1000)


# --- redemptions and holds


def test_a_held_program_commits_its_hold():
    result = plan([FIRST], [hold(7, FIRST)], session="s1")
    [redemption] = result.redemptions
    assert (redemption.reward_id, redemption.taken, redemption.hold_id) == (1, 100, 7)
    assert result.committed_holds == (7,)
    assert (result.points_spent, result.shortfall) == (100, 0)


def test_an_order_ends_the_checkout_whose_hold_it_commits_even_without_a_session():
    result = plan([FIRST], [hold(7, FIRST), hold(8, SECOND)])
    assert result.committed_holds == (7,)
    assert result.sessions_ended == {"s1"}


def test_an_order_with_a_session_ends_that_session_only():
    result = plan([FIRST], [hold(7, FIRST, "s2")], session="s1")
    assert result.committed_holds == (7,)
    assert result.sessions_ended == {"s1"}


def test_an_order_with_a_session_prefers_that_sessions_hold():
    result = plan([FIRST], [hold(7, FIRST, "s2"), hold(8, FIRST, "s1")], session="s1")
    assert result.committed_holds == (8,)


# Session names in either order: the choice never depends on how baskets are named.
NAMES_EITHER_WAY = pytest.mark.parametrize(
    ("first_name", "second_name"), [("s1", "s2"), ("b", "a")], ids=["a-z", "z-a"]
)


@NAMES_EITHER_WAY
def test_without_a_session_the_basket_holding_most_of_the_order_is_its_own(first_name, second_name):
    holds = [hold(7, FIRST, first_name), hold(8, FIRST, second_name), hold(9, SECOND, second_name)]
    result = plan([FIRST, SECOND], holds)
    assert result.committed_holds == (8, 9)
    assert result.sessions_ended == {second_name}


@NAMES_EITHER_WAY
def test_without_a_session_a_tie_goes_to_the_oldest_basket(first_name, second_name):
    result = plan([FIRST], [hold(7, FIRST, first_name), hold(8, FIRST, second_name)])
    assert result.committed_holds == (7,)
    assert result.sessions_ended == {first_name}


def test_without_a_session_or_a_hold_nothing_ends():
    result = plan([FIRST], [hold(8, SECOND, "s2")])
    assert result.sessions_ended == frozenset()
    assert result.committed_holds == ()


def test_a_held_program_takes_only_what_the_balance_has_and_the_rest_is_short():
    result = plan([SECOND], [hold(7, SECOND)], points=120, session="s1")
    assert (result.points_spent, result.shortfall) == (120, 30)


def test_a_program_without_a_hold_leaves_other_baskets_their_points():
    result = plan([FIRST], [hold(8, THIRD, "other")], points=250, session="mine")
    [redemption] = result.redemptions
    assert (redemption.taken, redemption.short, redemption.hold_id) == (50, 50, None)


def test_a_program_without_a_hold_may_use_what_its_own_checkout_released():
    # s1 ends with this order: its hold for the third program no longer reserves anything.
    result = plan([FIRST, SECOND], [hold(7, FIRST), hold(9, THIRD)], points=300)
    assert result.committed_holds == (7,)
    assert (result.points_spent, result.shortfall) == (250, 0)


def test_held_programs_go_before_programs_without_a_hold():
    result = plan([SECOND, FIRST], [hold(7, FIRST)], points=150, session="s1")
    assert [(r.reward_id, r.taken) for r in result.redemptions] == [(1, 100), (2, 50)]


def test_store_credit_is_capped_by_the_cash_balance():
    assert plan([], cash=300, store_credit=500).cash == 300
    assert plan([], cash=900, store_credit=500).cash == 500


def test_sessions_ended_by_an_order_whose_cancel_came_first_are_those_it_would_commit():
    holds = [hold(7, FIRST, "s1"), hold(8, SECOND, "s1"), hold(9, THIRD, "s2")]
    assert sessions_ended(None, [FIRST], holds) == {"s1"}
    assert sessions_ended("s9", [FIRST], holds) == {"s9"}
    assert sessions_ended(None, [NamedReward(4, 10)], holds) == frozenset()


# --- earning


def test_points_are_earned_on_what_was_paid_without_tips():
    earned = earning_for(Purchase(2599, tips=600), 0, TERMS, NOW)
    assert (earned.points, earned.expires_at, earned.withheld, earned.review_reason) == (
        19,
        None,
        0,
        None,
    )


def test_points_are_earned_at_the_tier_reached_before_the_order():
    levels = (TierLevel(1, "Bronze", 0, 100), TierLevel(2, "Gold", 1000, 200))
    terms = EarningTerms(ONE_PER_UNIT, None, 2, 10_000, 10_000_000, levels)
    assert earning_for(Purchase(1000), 999, terms, NOW).points == 10
    assert earning_for(Purchase(1000), 1000, terms, NOW).points == 20


def test_earned_points_expire_after_the_restaurants_validity():
    terms = EarningTerms(ONE_PER_UNIT, 30, 2, 10_000, 10_000_000)
    assert earning_for(Purchase(1000), 0, terms, NOW).expires_at == NOW + timedelta(days=30)
    assert earned_points_expire_at(None, NOW) is None
    assert earned_points_expire_at(0, NOW) is None
    assert earned_points_expire_at(1, NOW) == NOW + timedelta(days=1)


def test_an_order_over_the_caps_earns_nothing_and_waits_for_review():
    terms = EarningTerms(ONE_PER_UNIT, 30, 2, 50, 10_000_000)
    earned = earning_for(Purchase(10_000), 0, terms, NOW)
    assert (earned.points, earned.expires_at, earned.withheld) == (0, None, 100)
    assert earned.review_reason == "earns 100 points, over the 50 per order"
    pricey = EarningTerms(ONE_PER_UNIT, 30, 2, 10_000, 5_000)
    # The order says 3 digits: 6.000 is 600 in the restaurant's 2 digits, under 5,000.
    assert earning_for(Purchase(6_000, decimal_digits=3), 0, pricey, NOW).review_reason is None
    assert earning_for(Purchase(6_000), 0, pricey, NOW).review_reason is not None


def test_the_plan_carries_its_earning():
    result = plan([], purchase=Purchase(1599, tips=100))
    assert result.earning.points == 14


def test_the_plan_earns_at_the_customers_tier():
    levels = (TierLevel(1, "Bronze", 0, 100), TierLevel(2, "Gold", 1000, 200))
    terms = EarningTerms(ONE_PER_UNIT, None, 2, 10_000, 10_000_000, levels)
    claim = OrderClaim(None, (), purchase=Purchase(1000))
    assert plan_order(claim, [], Wallet(0, 0, 999), terms, NOW).earning.points == 10
    assert plan_order(claim, [], Wallet(0, 0, 1000), terms, NOW).earning.points == 20


# --- cancel


def test_a_cancel_refunds_first_then_takes_back_the_earn():
    entries = [
        OrderEntry(3, "points", "earn", 8, "order:1:earn"),
        OrderEntry(1, "points", "redeem", -100, "order:1:redeem:5", reward_id=5),
        OrderEntry(2, "cash", "redeem", -300, "order:1:cash"),
        OrderEntry(4, "points", "reversal", 5, "something else"),
    ]
    steps = reversals(entries)
    assert [(s.entry_id, s.unit, s.amount, s.takes_back) for s in steps] == [
        (2, "cash", 300, False),
        (1, "points", 100, False),
        (3, "points", -8, True),
    ]
    assert [s.key for s in steps] == [
        "order:1:cash:reversal",
        "order:1:redeem:5:reversal",
        "order:1:earn:reversal",
    ]
    assert [s.lifetime_delta for s in steps] == [0, 0, -8]
    assert steps[1].reward_id == 5


def test_a_cancel_takes_back_even_a_single_earned_point():
    [step] = reversals([OrderEntry(1, "points", "earn", 1, "order:1:earn")])
    assert (step.amount, step.lifetime_delta, step.takes_back) == (-1, -1, True)


# --- properties

rewards = st.lists(
    st.builds(NamedReward, st.integers(1, 6), st.integers(0, 500)),
    max_size=5,
    unique_by=lambda reward: reward.id,
)
sessions = st.sampled_from(["s1", "s2", "s3"])
holds_of = st.lists(
    st.builds(LiveHold, st.integers(1, 10_000), st.integers(1, 6), sessions, st.integers(0, 500)),
    max_size=6,
    unique_by=lambda hold: hold.id,
)
claims = st.builds(
    OrderClaim,
    st.none() | sessions,
    rewards.map(tuple),
    st.integers(0, 5000),
    st.builds(
        Purchase, st.integers(0, 10**7), st.integers(0, 10**4), decimal_digits=st.integers(0, 3)
    ),
)
wallets = st.builds(Wallet, st.integers(0, 3000), st.integers(0, 3000), st.integers(0, 10**5))
terms = st.builds(
    EarningTerms,
    st.integers(1, 20).map(lambda points: (EarningRule(1, "spend", "spend", points, 100),)),
    st.none() | st.integers(0, 400),
    st.integers(0, 3),
    st.integers(0, 10**6),
    st.integers(0, 10**8),
)


@given(claims, holds_of, wallets, terms)
def test_what_is_redeemed_plus_the_shortfall_is_what_was_named(claim, holds, wallet, rule):
    result = plan_order(claim, holds, wallet, rule, NOW)
    held = {hold.id: hold.points for hold in holds}
    cost = {reward.id: reward.cost for reward in claim.rewards}
    # A held program names what its hold reserved; one without a hold, its cost.
    named = sum(
        held[r.hold_id] if r.hold_id is not None else cost[r.reward_id] for r in result.redemptions
    )
    assert result.points_spent + result.shortfall == named
    assert sorted(r.reward_id for r in result.redemptions) == sorted(n.id for n in claim.rewards)
    assert all(r.taken >= 0 and r.short >= 0 for r in result.redemptions)


@given(claims, holds_of, wallets, terms)
def test_an_order_never_takes_points_below_zero(claim, holds, wallet, rule):
    result = plan_order(claim, holds, wallet, rule, NOW)
    assert 0 <= result.points_spent <= wallet.points
    assert 0 <= result.cash <= min(wallet.cash, claim.store_credit)


@given(claims, holds_of, wallets, terms)
def test_programs_without_a_hold_never_take_what_other_baskets_still_hold(
    claim, holds, wallet, rule
):
    result = plan_order(claim, holds, wallet, rule, NOW)
    still_held = sum(
        hold.points
        for hold in holds
        if hold.session_id not in result.sessions_ended and hold.id not in result.committed_holds
    )
    unbacked = sum(r.taken for r in result.redemptions if r.hold_id is None)
    backed = sum(r.taken for r in result.redemptions if r.hold_id is not None)
    assert unbacked == 0 or unbacked <= wallet.points - backed - still_held


@given(claims, holds_of, wallets, terms)
def test_each_hold_is_committed_once_and_only_for_its_reward(claim, holds, wallet, rule):
    result = plan_order(claim, holds, wallet, rule, NOW)
    by_id = {hold.id: hold for hold in holds}
    assert len(set(result.committed_holds)) == len(result.committed_holds)
    for redemption in result.redemptions:
        if redemption.hold_id is not None:
            assert by_id[redemption.hold_id].reward_id == redemption.reward_id


@given(claims, holds_of, wallets, terms)
def test_an_order_ends_its_session_or_the_sessions_of_the_holds_it_commits(
    claim, holds, wallet, rule
):
    result = plan_order(claim, holds, wallet, rule, NOW)
    committed = {hold.session_id for hold in holds if hold.id in result.committed_holds}
    if claim.session_id:
        assert result.sessions_ended == {claim.session_id}
    else:
        assert result.sessions_ended == committed
    assert sessions_ended(claim.session_id, claim.rewards, holds) == result.sessions_ended


@given(claims, holds_of, wallets, terms)
def test_earned_points_are_never_negative_and_capped(claim, holds, wallet, rule):
    earned = plan_order(claim, holds, wallet, rule, NOW).earning
    assert earned.points >= 0 and earned.withheld >= 0
    assert earned.points <= rule.max_points_per_order
    if earned.review_reason is None:
        assert earned.withheld == 0
    else:
        assert earned.points == 0 and earned.expires_at is None
    if earned.points:
        assert earned.expires_at == earned_points_expire_at(rule.points_validity_days, NOW)


amounts = st.integers(0, 2000)


@given(
    st.lists(amounts, max_size=3),
    st.integers(0, 500),
    amounts,
    st.integers(0, 3000),
    st.integers(0, 500),
    st.integers(0, 3000),
)
def test_a_full_cancel_reverses_exactly_what_the_order_wrote(
    redeemed, cash, earned, balance, debt, spent_since
):
    """Whatever the customer did since, the net position (balance - debt) and cash come back."""
    entries = [
        OrderEntry(n + 1, "points", "redeem", -points, f"r{n}", reward_id=n)
        for n, points in enumerate(redeemed)
        if points
    ]
    if cash:
        entries.append(OrderEntry(90, "cash", "redeem", -cash, "cash"))
    if earned:
        entries.append(OrderEntry(99, "points", "earn", earned, "earn"))
    points, owed = balance, debt
    spent_since = min(spent_since, points)
    points -= spent_since
    cash_back = 0
    lifetime = 0
    for step in reversals(entries):
        lifetime += step.lifetime_delta
        if step.unit == "cash":
            cash_back += step.amount
        elif step.takes_back:
            split = take_back(-step.amount, points)
            points -= split.from_balance
            owed += split.owed
        else:
            paid = repayment(step.amount, owed)
            owed -= paid
            points += step.amount - paid
        assert points >= 0 and owed >= 0
    assert points - owed == balance - spent_since - debt + sum(redeemed) - earned
    assert cash_back == cash
    assert lifetime == -earned
    assert len(reversals(entries)) == len(entries)
