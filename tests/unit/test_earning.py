"""Points earned by an order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.earning import points_for_order


def test_seed_order_paying_16_euros_earns_16_points():
    assert points_for_order(1600, 0, 2, 1) == 16


def test_only_whole_currency_units_earn():
    assert points_for_order(999, 0, 2, 1) == 9
    assert points_for_order(99, 0, 2, 10) == 0


def test_tips_do_not_earn():
    assert points_for_order(2500, 500, 2, 1) == 20


def test_currency_without_decimals_earns_per_unit():
    assert points_for_order(1500, 0, 0, 2) == 3000


def test_points_per_unit_scales_the_points():
    assert points_for_order(1000, 0, 2, 5) == 50


@pytest.mark.parametrize(("multiplier", "points"), [(100, 7), (150, 10), (200, 14), (125, 8)])
def test_tier_multiplier_applies_and_is_floored(multiplier, points):
    assert points_for_order(700, 0, 2, 1, multiplier) == points


def test_a_tip_larger_than_the_payment_earns_nothing_rather_than_negative_points():
    assert points_for_order(500, 800, 2, 1) == 0


def test_a_tip_larger_than_the_payment_earns_nothing_in_a_currency_without_decimals():
    assert points_for_order(500, 800, 0, 1) == 0


def test_a_negative_multiplier_never_takes_points_away():
    assert points_for_order(5000, 0, 2, 1, -100) == 0


@given(
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(0, 4),
    st.integers(0, 100),
    st.integers(0, 500),
)
def test_paying_more_never_earns_fewer_points(paid, more, tip, digits, per_unit, multiplier):
    earned = points_for_order(paid, tip, digits, per_unit, multiplier)
    assert 0 <= earned <= points_for_order(paid + more, tip, digits, per_unit, multiplier)
