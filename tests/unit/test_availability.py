"""A reward's availability: one answer for the rewards pages, the catalogue and validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.rules.availability import Availability, availability

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("active_from", "active_to", "archived", "expected"),
    [
        (None, None, False, Availability.LIVE),
        (NOW - HOUR, NOW + HOUR, False, Availability.LIVE),
        (NOW, None, False, Availability.LIVE),  # the start is inclusive
        (NOW + HOUR, None, False, Availability.SCHEDULED),
        (None, NOW, False, Availability.ENDED),  # the end is exclusive
        (None, NOW - HOUR, False, Availability.ENDED),
        (NOW + HOUR, NOW + 2 * HOUR, True, Availability.ARCHIVED),
        (None, None, True, Availability.ARCHIVED),
    ],
)
def test_availability_at_a_moment(active_from, active_to, archived, expected):
    assert availability(active_from, active_to, NOW, archived) is expected
