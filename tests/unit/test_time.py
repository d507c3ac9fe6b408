"""The one ISO 8601 writer and parser, and how pages show moments (all UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.rules.money import format_points
from loyalty.time import (
    MissingOffset,
    format_date,
    format_datetime,
    format_time,
    parse_iso,
    to_iso,
    to_iso_or_none,
)

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
moments = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30), timezones=offsets
)


@given(moments)
def test_what_the_writer_writes_the_parser_reads_back_exactly(moment):
    assert parse_iso(to_iso(moment)) == moment


@given(moments)
def test_every_moment_is_written_in_utc_ending_in_z(moment):
    text = to_iso(moment)
    assert text.endswith("Z") and "+" not in text
    assert parse_iso(text).utcoffset() == timedelta(0)


def test_whole_seconds_are_written_without_a_fraction():
    assert to_iso(datetime(2030, 7, 1, 2, tzinfo=timezone(timedelta(hours=2)))) == (
        "2030-07-01T00:00:00Z"
    )
    assert to_iso(datetime(2030, 7, 1, 0, 0, 0, 5000, tzinfo=UTC)) == "2030-07-01T00:00:00.005000Z"
    assert to_iso_or_none(None) is None


def test_naive_datetimes_are_refused_by_the_writer_and_the_page_filters():
    naive = datetime(2030, 7, 1)
    for write in (to_iso, format_date, format_datetime, format_time):
        with pytest.raises(ValueError, match="naive"):
            write(naive)


def test_text_without_an_offset_is_refused_unless_the_contract_says_it_is_utc():
    with pytest.raises(MissingOffset):
        parse_iso("2030-07-01T00:00:00")
    assert parse_iso("2030-07-01T00:00:00", naive_is_utc=True) == datetime(2030, 7, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2025-01-01T12:00:00.000000Z", datetime(2025, 1, 1, 12, tzinfo=UTC)),
        ("2024-01-01T00:00:00+00:00", datetime(2024, 1, 1, tzinfo=UTC)),
        (" 2024-01-01T02:30:00+02:30 ", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_the_parser_reads_any_offset_as_utc(text, moment):
    parsed = parse_iso(text)
    assert parsed == moment and parsed.tzinfo is UTC


@pytest.mark.parametrize("text", ["", "tomorrow", "2030-13-01T00:00:00Z", "1/7/2030"])
def test_the_parser_refuses_what_is_not_iso_8601(text):
    with pytest.raises(ValueError):
        parse_iso(text)


def test_pages_show_moments_in_utc():
    evening_in_brussels = datetime(2026, 12, 31, 23, 30, 15, tzinfo=timezone(timedelta(hours=1)))
    assert format_date(evening_in_brussels) == "2026-12-31"
    assert format_datetime(evening_in_brussels) == "2026-12-31 22:30"
    assert format_datetime(evening_in_brussels, seconds=True) == "2026-12-31 22:30:15"
    assert format_time(evening_in_brussels) == "22:30"
    assert format_date(date(1990, 5, 17)) == "1990-05-17"
    assert (format_date(None), format_datetime(None), format_time(None)) == ("", "", "")


def test_points_read_with_thousands_separators_and_changes_with_their_sign():
    assert format_points(1234567) == "1,234,567"
    assert format_points(0) == "0"
    assert format_points(1500, signed=True) == "+1,500"
    assert format_points(-50, signed=True) == "-50"
