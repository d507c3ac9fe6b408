"""Which points expire when, given that spending uses the oldest points first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.expiry import PointsMovement, points_to_expire, upcoming_expirations

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def on(day: int, month: int = 7, year: int = 2025) -> datetime:
    return datetime(year, month, day, 9, 30, tzinfo=UTC)


def test_spent_points_are_taken_from_the_oldest_credits():
    credits = [(100, on(1)), (200, on(2)), (300, on(3))]

    # 350 held: all of the newest 300 and 50 of the 200.
    assert upcoming_expirations(credits, 350, NOW) == [
        (date(2025, 7, 2), 50),
        (date(2025, 7, 3), 300),
    ]


def test_credits_that_never_expire_hold_balance_but_are_not_listed():
    credits = [(100, on(1)), (500, None)]

    assert upcoming_expirations(credits, 550, NOW) == [(date(2025, 7, 1), 50)]


def test_credits_already_past_their_expiry_are_not_listed():
    credits = [(100, NOW - timedelta(days=1)), (100, NOW), (100, on(5))]

    assert upcoming_expirations(credits, 300, NOW) == [(date(2025, 7, 5), 100)]


def test_expirations_on_the_same_day_are_added_up_soonest_first():
    credits = [(40, on(9, 8)), (10, on(1)), (20, on(1).replace(hour=23))]

    assert upcoming_expirations(credits, 70, NOW) == [
        (date(2025, 7, 1), 30),
        (date(2025, 8, 9), 40),
    ]


def test_no_balance_means_nothing_to_expire():
    assert upcoming_expirations([(100, on(1))], 0, NOW) == []
    assert upcoming_expirations([(100, on(1))], -5, NOW) == []


def test_a_balance_above_the_credits_lists_every_credit():
    assert upcoming_expirations([(100, on(1))], 500, NOW) == [(date(2025, 7, 1), 100)]


def test_non_positive_credit_rows_are_ignored():
    assert upcoming_expirations([(100, on(1)), (0, on(2)), (-50, on(3))], 100, NOW) == [
        (date(2025, 7, 1), 100)
    ]


def test_a_balance_of_one_point_lists_that_point():
    assert upcoming_expirations([(100, on(1))], 1, NOW) == [(date(2025, 7, 1), 1)]


def test_a_credit_of_one_point_is_listed():
    assert upcoming_expirations([(1, on(1))], 1, NOW) == [(date(2025, 7, 1), 1)]


credit_lists = st.lists(
    st.tuples(
        st.integers(1, 1000),
        st.none() | st.integers(-30, 400).map(lambda days: NOW + timedelta(days=days)),
    ),
    max_size=8,
)


@given(credit_lists, st.integers(0, 5000))
def test_never_more_expires_than_the_balance_or_the_credits(credits, balance):
    upcoming = upcoming_expirations(credits, balance, NOW)

    total = sum(amount for _, amount in upcoming)
    assert total <= min(balance, sum(amount for amount, _ in credits))
    assert [day for day, _ in upcoming] == sorted({day for day, _ in upcoming})
    assert all(day >= NOW.date() and amount > 0 for day, amount in upcoming)


# --- points_to_expire: the expiry job's rule -------------------------------------------------


def _at(day: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)


def test_unspent_points_expire_once_their_date_has_passed():
    movements = [PointsMovement(100, _at(0), expires_at=_at(30))]
    assert points_to_expire(movements, _at(29)) == 0
    assert points_to_expire(movements, _at(30)) == 100


def test_spending_uses_the_oldest_points_first():
    movements = [
        PointsMovement(100, _at(0), expires_at=_at(30)),
        PointsMovement(100, _at(10), expires_at=_at(40)),
        PointsMovement(-150, _at(20)),
    ]
    assert points_to_expire(movements, _at(31)) == 0
    assert points_to_expire(movements, _at(41)) == 50


def test_points_already_written_off_are_not_written_off_again():
    movements = [
        PointsMovement(100, _at(0), expires_at=_at(30)),
        PointsMovement(-100, _at(31), is_expiry=True),
    ]
    assert points_to_expire(movements, _at(60)) == 0


def test_spending_after_an_expiry_cannot_use_the_expired_points():
    movements = [
        PointsMovement(100, _at(0), expires_at=_at(30)),
        PointsMovement(80, _at(35)),
        PointsMovement(-50, _at(40)),
    ]
    assert points_to_expire(movements, _at(41)) == 100


def test_credits_expiring_together_all_expire():
    movements = [
        PointsMovement(100, _at(0), expires_at=_at(30)),
        PointsMovement(50, _at(1), expires_at=_at(31)),
    ]
    assert points_to_expire(movements, _at(40)) == 150


def test_every_earlier_write_off_counts():
    movements = [
        PointsMovement(100, _at(0), expires_at=_at(30)),
        PointsMovement(100, _at(1), expires_at=_at(50)),
        PointsMovement(-100, _at(31), is_expiry=True),
        PointsMovement(-100, _at(51), is_expiry=True),
    ]
    assert points_to_expire(movements, _at(60)) == 0


def test_a_credit_of_one_point_expires_like_any_other():
    assert points_to_expire([PointsMovement(1, _at(0), expires_at=_at(30))], _at(30)) == 1


def test_points_without_an_expiry_never_expire():
    movements = [PointsMovement(70, _at(0)), PointsMovement(-20, _at(5))]
    assert points_to_expire(movements, _at(10_000)) == 0


@given(
    st.lists(
        st.tuples(
            st.integers(-200, 200), st.integers(0, 100), st.one_of(st.none(), st.integers(1, 60))
        ),
        max_size=30,
    ),
    st.integers(0, 200),
)
def test_never_expires_more_than_was_ever_credited_with_an_expiry(raw, now_day):
    movements = [
        PointsMovement(amount, _at(day), expires_at=_at(day + ttl) if ttl and amount > 0 else None)
        for amount, day, ttl in raw
    ]
    credited = sum(m.amount for m in movements if m.amount > 0 and m.expires_at is not None)
    assert 0 <= points_to_expire(movements, _at(now_day)) <= credited
