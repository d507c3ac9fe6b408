"""Reporting periods: which local days a range covers, how they are bucketed, and the period
before it, on the restaurant's clock.

Pure: the caller passes today's local date and the restaurant's time zone name. A period is a
run of whole local days (both ends included); its UTC `start` and `end` (exclusive) are where
those days begin and end in the time zone, so an order at 23:30 local time counts on that day
whatever the UTC date. Buckets are days up to a month, calendar weeks (Monday first) up to
about four months, calendar months beyond; the first and last are clipped to the period, and a
bucket is named by the first day it counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property

from ..time import zone

# The presets an owner picks from; "custom" takes explicit first and last days.
PRESET_DAYS = {"7d": 7, "30d": 30, "90d": 90}
PRESETS = (*PRESET_DAYS, "year", "custom")
DEFAULT_PRESET = "30d"
# Longer ranges are refused: months as buckets keep a chart readable up to about ten years.
MAX_DAYS = 3660
# Days outside these are refused: nothing happened before, and far ends of the calendar have
# no period before them or no month after.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9000, 12, 31)
DAILY_UP_TO = 31
WEEKLY_UP_TO = 124


class PeriodError(ValueError):
    """A range that cannot be shown: unknown preset, last day before first, too long."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Bucket:
    first_day: date
    last_day: date  # included
    start: datetime  # UTC, where first_day begins
    end: datetime  # UTC, exclusive: where the day after last_day begins

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date  # included
    time_zone: str
    preset: str = "custom"

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise PeriodError("the last day is before the first", "to")
        if self.days > MAX_DAYS:
            raise PeriodError(f"a period is at most {MAX_DAYS} days", "from")
        for day, field in ((self.first_day, "from"), (self.last_day, "to")):
            _check_in_range(day, field)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def start(self) -> datetime:
        return day_start(self.first_day, self.time_zone)

    @property
    def end(self) -> datetime:
        return day_start(self.last_day + timedelta(days=1), self.time_zone)

    @property
    def granularity(self) -> str:
        if self.days <= DAILY_UP_TO:
            return "day"
        return "week" if self.days <= WEEKLY_UP_TO else "month"

    @cached_property
    def buckets(self) -> tuple[Bucket, ...]:
        return tuple(
            Bucket(
                first,
                last,
                day_start(first, self.time_zone),
                day_start(last + timedelta(days=1), self.time_zone),
            )
            for first, last in _bucket_days(self.first_day, self.last_day, self.granularity)
        )

    def previous(self) -> Period:
        """The same number of days just before, bucketed as this one is, for comparison."""
        last = self.first_day - timedelta(days=1)
        return _PreviousPeriod(
            last - timedelta(days=self.days - 1), last, self.time_zone, "previous", self.granularity
        )

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


@dataclass(frozen=True)
class _PreviousPeriod(Period):
    """The comparison period: buckets like its period's, even where its length would differ."""

    bucketed_by: str = "day"

    @property
    def granularity(self) -> str:
        return self.bucketed_by


def preset_period(preset: str, today: date, time_zone: str) -> Period:
    """The last 7 / 30 / 90 days including today, or this year up to today."""
    if preset in PRESET_DAYS:
        return Period(today - timedelta(days=PRESET_DAYS[preset] - 1), today, time_zone, preset)
    if preset == "year":
        return Period(date(today.year, 1, 1), today, time_zone, preset)
    raise PeriodError(f"choose one of {', '.join(PRESETS)}", "range")


def chosen_period(
    preset: str | None, first: date | None, last: date | None, today: date, time_zone: str
) -> Period:
    """What a range form or query asks for: a preset, or custom days (either end missing means
    the default's end: 30 days back, or today)."""
    preset = preset or ("custom" if first or last else DEFAULT_PRESET)
    if preset != "custom":
        return preset_period(preset, today, time_zone)
    for day, field in ((first, "from"), (last, "to")):
        if day is not None:
            _check_in_range(day, field)
    last = last or today
    first = first or last - timedelta(days=PRESET_DAYS[DEFAULT_PRESET] - 1)
    return Period(first, last, time_zone)


def day_start(day: date, time_zone: str) -> datetime:
    """Where the local `day` begins, in UTC (zoneinfo settles days that skip or repeat an hour)."""
    return datetime.combine(day, time.min, tzinfo=zone(time_zone)).astimezone(UTC)


def local_day(moment: datetime, time_zone: str) -> date:
    """The restaurant's calendar day of an aware moment."""
    return moment.astimezone(zone(time_zone)).date()


def _check_in_range(day: date, field: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise PeriodError(f"choose a day from {FIRST_DAY} to {LAST_DAY}", field)


def _bucket_days(first: date, last: date, granularity: str) -> list[tuple[date, date]]:
    spans = []
    start = first
    while start <= last:
        end = min(_bucket_last_day(start, granularity), last)
        spans.append((start, end))
        start = end + timedelta(days=1)
    return spans


def _bucket_last_day(day: date, granularity: str) -> date:
    if granularity == "day":
        return day
    if granularity == "week":
        return day + timedelta(days=6 - day.weekday())
    following = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
    return following - timedelta(days=1)
