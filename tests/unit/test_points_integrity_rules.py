"""The pure decisions behind points integrity: debt from cancels, lifetime points, order caps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.debt import TakeBack, repayment, still_owed, take_back
from loyalty.rules.lifetime import lifetime_after_debit
from loyalty.rules.order_review import review_reason, scaled_amount

points = st.integers(min_value=0, max_value=10**7)


def test_taking_back_more_than_the_balance_owes_the_rest():
    assert take_back(300, 75) == TakeBack(from_balance=75, owed=225)
    assert take_back(300, 500) == TakeBack(from_balance=300, owed=0)
    assert take_back(300, 0) == TakeBack(from_balance=0, owed=300)


@given(points, points)
def test_a_take_back_is_always_taken_in_full_and_never_below_zero(wanted, balance):
    split = take_back(wanted, balance)
    assert split.from_balance + split.owed == wanted
    assert 0 <= split.from_balance <= balance and split.owed >= 0
    assert split.owed == 0 or split.from_balance == balance


@given(points, points)
def test_a_credit_pays_the_debt_first_and_never_more_than_it(credit, debt):
    paid = repayment(credit, debt)
    assert paid == min(credit, debt)
    assert repayment(-credit, debt) == 0  # debits repay nothing


def test_what_is_still_owed_names_the_newest_debts():
    debts = [("E-1", 225), ("F-2", 100)]
    assert still_owed(debts, 325) == [("F-2", 100), ("E-1", 225)]
    assert still_owed(debts, 150) == [("F-2", 100), ("E-1", 50)]
    assert still_owed(debts, 0) == []


def test_a_negative_adjustment_lowers_lifetime_but_not_below_what_orders_earned():
    assert lifetime_after_debit(1_000_000, 1_000_000, 0) == 0
    assert lifetime_after_debit(400, 350, 300) == 300
    assert lifetime_after_debit(400, 50, 300) == 350
    assert lifetime_after_debit(100, 50, 300) == 100  # never raised by a debit


@given(points, points, points)
def test_lifetime_after_a_debit_stays_between_its_floor_and_where_it_was(lifetime, debit, earned):
    after = lifetime_after_debit(lifetime, debit, earned)
    assert min(lifetime, earned) <= after <= lifetime
    assert after >= lifetime - debit and after >= 0


def test_orders_over_either_cap_need_review():
    assert review_reason(10_000, 1_000_000, 10_000, 1_000_000) is None
    assert review_reason(10_001, 100, 10_000, 1_000_000) == (
        "earns 10,001 points, over the 10,000 per order"
    )
    assert "amount" in review_reason(0, 1_000_001, 10_000, 1_000_000)


def test_amounts_are_compared_in_the_restaurants_minor_units():
    assert scaled_amount(899, 2, 2) == 899
    assert scaled_amount(9, 0, 2) == 900
    assert scaled_amount(89_999, 4, 2) == 899


def test_expiry_treats_a_debt_repayment_as_spending_from_the_credit_that_paid_it():
    from datetime import UTC, datetime, timedelta

    from loyalty.rules.expiry import PointsMovement, points_to_expire

    start = datetime(2025, 1, 1, tzinfo=UTC)
    expires = start + timedelta(days=30)
    movements = [
        PointsMovement(100, start, expires),  # earned, then spent on a reward
        PointsMovement(-100, start + timedelta(hours=1)),
        PointsMovement(250, start + timedelta(days=2), expires),  # a later order
        PointsMovement(-100, start + timedelta(days=2)),  # repays the 100 a cancel left owed
    ]
    assert points_to_expire(movements, expires - timedelta(days=1)) == 0
    assert points_to_expire(movements, expires) == 150
