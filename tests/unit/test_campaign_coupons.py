"""Campaign coupons: codes that survive being read aloud, their life, and what they take off."""

from __future__ import annotations

import math
import random
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.rules.basket import Basket, BasketItem
from loyalty.rules.coupons import (
    COUPON_ALPHABET,
    RANDOM_LENGTH,
    Coupon,
    CouponRefused,
    CouponStatus,
    coupon_amount,
    expire,
    lock,
    new_code,
    normalise_code,
    refusal,
    restore,
    unlock,
    use,
    valid_to,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
ACTIVE = Coupon("SUMABCDEFGHJK", "acc-1", CouponStatus.ACTIVE, valid_to=NOW + timedelta(days=7))


# --- codes


def test_the_alphabet_leaves_out_look_alikes():
    assert not set("01OIL") & set(COUPON_ALPHABET)
    assert len(COUPON_ALPHABET) == len(set(COUPON_ALPHABET)) == 31


def test_a_code_has_at_least_40_bits_of_randomness():
    assert RANDOM_LENGTH * math.log2(len(COUPON_ALPHABET)) >= 40


def test_a_new_code_is_its_prefix_and_random_letters_already_normalised():
    code = new_code("SUM", secrets.randbelow)
    assert code.startswith("SUM") and len(code) == 3 + RANDOM_LENGTH
    assert normalise_code(code) == code
    assert new_code(None, lambda n: 0) == "2" * RANDOM_LENGTH


def test_new_codes_do_not_repeat():
    source = random.Random(7)
    codes = {new_code("", source.randrange) for _ in range(2000)}
    assert len(codes) == 2000


@pytest.mark.parametrize(
    ("typed", "code"),
    [("sum-abcd-efgh", "SUMABCDEFGH"), (" 23 45 ", "2345"), ("Sum\tabc", "SUMABC")],
)
def test_codes_are_read_without_case_spaces_or_dashes(typed, code):
    assert normalise_code(typed) == code


@pytest.mark.parametrize(
    "typed", ["", " - ", "SUM0", "SUMO", "SUMI", "SUML", "SUM1", "ÉTÉ", "A" * 17, "A" * 65, None, 5]
)
def test_what_cannot_be_a_code_is_refused(typed):
    assert normalise_code(typed) is None


@settings(max_examples=200)
@given(st.text(max_size=80))
def test_normalising_never_raises_and_is_stable(text):
    code = normalise_code(text)
    assert code is None or normalise_code(code) == code


# --- validity


def test_a_coupon_is_valid_to_its_state_date_or_days_after_issue():
    until = datetime(2025, 9, 1, tzinfo=UTC)
    assert valid_to(None, until, NOW) == until
    assert valid_to(14, None, NOW) == NOW + timedelta(days=14)
    assert valid_to(None, None, NOW) is None


# --- refusals


def test_a_coupon_is_refused_for_each_reason_of_the_spec():
    assert refusal(None, "acc-1", NOW) == "unknown"
    assert refusal(ACTIVE, "acc-2", NOW) == "not_yours"
    assert refusal(ACTIVE, "acc-1", LATER) == "expired"
    assert refusal(expire(ACTIVE), "acc-1", NOW) == "expired"
    assert refusal(lock(ACTIVE, "acc-1", NOW), "acc-1", NOW) == "locked"
    assert refusal(use(ACTIVE, "acc-1", "o1", NOW), "acc-1", NOW) == "used"
    assert refusal(ACTIVE, "acc-1", NOW) is None


def test_a_stranger_learns_nothing_about_someone_elses_coupon():
    used = use(ACTIVE, "acc-1", "o1", NOW)
    assert refusal(used, "acc-2", NOW) == "not_yours"


# --- life


def test_lock_then_use_then_cancel_gives_the_coupon_back():
    locked = lock(ACTIVE, "acc-1", NOW)
    assert locked.status is CouponStatus.LOCKED and locked.locked_at == NOW
    used = use(locked, "acc-1", "o1", NOW)
    assert used.status is CouponStatus.USED and used.used_by_order == "o1"
    back = restore(used, "o1", NOW)
    assert back.status is CouponStatus.ACTIVE and back.used_by_order is None


def test_locking_a_locked_coupon_is_refused():
    with pytest.raises(CouponRefused) as raised:
        lock(lock(ACTIVE, "acc-1", NOW), "acc-1", NOW)
    assert raised.value.reason == "locked"


def test_unlocking_releases_the_lock_and_repeating_it_changes_nothing():
    unlocked = unlock(lock(ACTIVE, "acc-1", NOW), NOW)
    assert unlocked == ACTIVE
    assert unlock(unlocked, NOW) == ACTIVE
    assert unlock(lock(ACTIVE, "acc-1", NOW), LATER).status is CouponStatus.EXPIRED


def test_an_active_coupon_can_be_used_without_a_lock_and_only_once():
    used = use(ACTIVE, "acc-1", "o1", NOW)
    assert use(used, "acc-1", "o1", NOW) == used  # the same order again: a repeat
    with pytest.raises(CouponRefused) as raised:
        use(used, "acc-1", "o2", NOW)
    assert raised.value.reason == "used"


@pytest.mark.parametrize(
    ("coupon", "account", "now", "reason"),
    [
        (ACTIVE, "acc-2", NOW, "not_yours"),
        (ACTIVE, "acc-1", LATER, "expired"),
        (Coupon("X", "acc-1", CouponStatus.EXPIRED), "acc-1", NOW, "expired"),
    ],
)
def test_use_and_lock_refuse_with_the_reason(coupon, account, now, reason):
    for move in (lambda: use(coupon, account, "o1", now), lambda: lock(coupon, account, now)):
        with pytest.raises(CouponRefused) as raised:
            move()
        assert raised.value.reason == reason


def test_a_cancelled_order_after_the_date_leaves_the_coupon_expired():
    used = use(ACTIVE, "acc-1", "o1", NOW)
    assert restore(used, "o1", LATER).status is CouponStatus.EXPIRED


def test_only_the_order_that_used_a_coupon_can_give_it_back():
    used = use(ACTIVE, "acc-1", "o1", NOW)
    assert restore(used, "o2", NOW) == used
    assert restore(ACTIVE, "o1", NOW) == ACTIVE


def test_expiring_ends_unused_coupons_and_leaves_used_ones():
    assert expire(ACTIVE).status is CouponStatus.EXPIRED
    assert expire(lock(ACTIVE, "acc-1", NOW)).status is CouponStatus.EXPIRED
    used = use(ACTIVE, "acc-1", "o1", NOW)
    assert expire(used) == used
    assert expire(expire(ACTIVE)) == expire(ACTIVE)


# --- what a coupon gives


def item(plu: str, price: int, quantity: int = 1, *subs: BasketItem) -> BasketItem:
    return BasketItem(plu, plu, price, quantity, tuple(subs))


LUNCH = Basket(
    items=(item("BURGER", 1000, 2, item("CHEESE", 100)), item("COLA", 250)),
    delivery_cost=300,
    tip=100,
)


def test_an_amount_coupon_takes_its_value_but_never_more_than_the_items():
    assert coupon_amount("AMOUNT", 500, None, LUNCH) == 500
    assert coupon_amount("AMOUNT", 10_000, None, LUNCH) == LUNCH.items_total == 2450


def test_a_percent_coupon_is_floored():
    assert coupon_amount("PERCENT", 1250, None, LUNCH) == 306  # 12.5 % of 2450 = 306.25
    assert coupon_amount("PERCENT", 10_000, None, LUNCH) == 2450


def test_a_product_coupon_gives_one_unit_as_configured_when_it_is_in_the_basket():
    assert coupon_amount("PRODUCT", None, "BURGER", LUNCH) == 1100
    assert coupon_amount("PRODUCT", None, "FRIES", LUNCH) == 0
    assert coupon_amount("PRODUCT", None, None, LUNCH) == 0


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B"]), st.integers(0, 5000), st.integers(0, 4)), max_size=5
    ),
    st.sampled_from(["AMOUNT", "PERCENT", "PRODUCT"]),
    st.integers(1, 10_000),
)
def test_a_coupon_never_takes_more_than_the_items(lines, coupon_type, value):
    basket = Basket(items=tuple(item(plu, price, quantity) for plu, price, quantity in lines))
    amount = coupon_amount(coupon_type, value, "A", basket)
    assert 0 <= amount <= basket.items_total
