"""Reporting periods on the restaurant's clock: buckets tile the period, the previous period
mirrors it, DST days are 23 or 25 hours long, weeks start on Monday, months on the 1st."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.periods import (
    MAX_DAYS,
    Period,
    PeriodError,
    chosen_period,
    day_start,
    local_day,
    preset_period,
)

ZONES = st.sampled_from(["UTC", "Europe/Brussels", "America/New_York", "Asia/Kolkata"])
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


@st.composite
def periods(draw) -> Period:
    first = draw(DAYS)
    length = draw(st.integers(min_value=1, max_value=800))
    return Period(first, first + timedelta(days=length - 1), draw(ZONES))


@given(periods())
def test_buckets_tile_the_period_exactly(period):
    buckets = period.buckets

    assert buckets[0].first_day == period.first_day
    assert buckets[-1].last_day == period.last_day
    assert buckets[0].start == period.start
    assert buckets[-1].end == period.end
    for before, after in zip(buckets, buckets[1:], strict=False):
        assert after.first_day == before.last_day + timedelta(days=1)
        assert after.start == before.end
    assert sum(bucket.days for bucket in buckets) == period.days


@given(periods())
def test_buckets_follow_the_granularity(period):
    for bucket in period.buckets[1:-1]:  # the first and last may be clipped
        if period.granularity == "day":
            assert bucket.days == 1
        elif period.granularity == "week":
            assert bucket.first_day.weekday() == 0 and bucket.days == 7
        else:
            following = bucket.last_day + timedelta(days=1)
            assert bucket.first_day.day == 1 and following.day == 1


@given(periods())
def test_previous_period_has_the_same_days_and_ends_the_day_before(period):
    previous = period.previous()

    assert previous.days == period.days
    assert previous.last_day == period.first_day - timedelta(days=1)
    assert previous.end == period.start
    assert previous.granularity == period.granularity
    assert previous.time_zone == period.time_zone


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)), ZONES)
def test_a_moment_lies_within_its_local_day(moment, zone):
    moment = moment.replace(tzinfo=UTC)
    day = local_day(moment, zone)

    assert day_start(day, zone) <= moment < day_start(day + timedelta(days=1), zone)


def test_dst_days_in_brussels_are_23_and_25_hours_long():
    spring = Period(date(2026, 3, 29), date(2026, 3, 29), "Europe/Brussels")
    autumn = Period(date(2026, 10, 25), date(2026, 10, 25), "Europe/Brussels")

    assert spring.start == datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert spring.end - spring.start == timedelta(hours=23)
    assert autumn.start == datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert autumn.end - autumn.start == timedelta(hours=25)


def test_an_order_at_half_past_eleven_local_is_on_that_day():
    assert local_day(datetime(2026, 7, 1, 21, 30, tzinfo=UTC), "Europe/Brussels") == date(
        2026, 7, 1
    )
    assert local_day(datetime(2026, 7, 1, 22, 30, tzinfo=UTC), "Europe/Brussels") == date(
        2026, 7, 2
    )


def test_granularity_days_weeks_months():
    assert Period(date(2026, 1, 1), date(2026, 1, 31), "UTC").granularity == "day"
    assert Period(date(2026, 1, 1), date(2026, 2, 1), "UTC").granularity == "week"
    assert Period(date(2026, 1, 1), date(2026, 5, 4), "UTC").granularity == "week"
    assert Period(date(2026, 1, 1), date(2026, 5, 5), "UTC").granularity == "month"


def test_week_buckets_start_on_monday_and_clip_at_the_edges():
    # 2026-03-04 is a Wednesday.
    period = Period(date(2026, 3, 4), date(2026, 4, 8), "Europe/Brussels")

    spans = [(bucket.first_day, bucket.last_day) for bucket in period.buckets]
    assert spans[0] == (date(2026, 3, 4), date(2026, 3, 8))
    assert spans[1] == (date(2026, 3, 9), date(2026, 3, 15))
    assert spans[-1] == (date(2026, 4, 6), date(2026, 4, 8))


def test_month_buckets_cross_the_year():
    period = Period(date(2025, 11, 15), date(2026, 3, 31), "UTC")

    assert [bucket.first_day for bucket in period.buckets] == [
        date(2025, 11, 15),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert period.buckets[2].last_day == date(2026, 1, 31)


def test_presets_end_today():
    today = date(2026, 3, 20)

    assert preset_period("7d", today, "UTC").first_day == date(2026, 3, 14)
    assert preset_period("90d", today, "UTC").days == 90
    assert preset_period("year", today, "UTC").first_day == date(2026, 1, 1)
    with pytest.raises(PeriodError) as refused:
        preset_period("5d", today, "UTC")
    assert refused.value.field == "range"


def test_chosen_period_fills_a_missing_end():
    today = date(2026, 3, 20)

    assert chosen_period(None, None, None, today, "UTC").days == 30
    custom = chosen_period(None, date(2026, 3, 1), None, today, "UTC")
    assert (custom.first_day, custom.last_day, custom.preset) == (
        date(2026, 3, 1),
        today,
        "custom",
    )
    assert chosen_period("custom", None, date(2026, 2, 28), today, "UTC").first_day == date(
        2026, 1, 30
    )


def test_refused_periods_name_their_field():
    with pytest.raises(PeriodError) as backwards:
        Period(date(2026, 3, 2), date(2026, 3, 1), "UTC")
    assert backwards.value.field == "to"
    with pytest.raises(PeriodError) as too_long:
        Period(date(2000, 1, 1), date(2000, 1, 1) + timedelta(days=MAX_DAYS), "UTC")
    assert too_long.value.field == "from"
    # Days at the ends of the calendar have no start, end or period before: refused, not a crash.
    for first, last, field in (
        (date(1, 1, 1), date(1, 1, 5), "from"),
        (date(9000, 12, 25), date(9001, 1, 2), "to"),
    ):
        with pytest.raises(PeriodError) as out_of_range:
            Period(first, last, "Asia/Tokyo")
        assert out_of_range.value.field == field
    with pytest.raises(PeriodError) as no_start:
        chosen_period("custom", None, date(1, 1, 15), date(2026, 3, 1), "UTC")
    assert no_start.value.field == "to"
