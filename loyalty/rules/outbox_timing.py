"""When a message may go: quiet hours and days in the restaurant's time zone, and the retry
back-off. Pure functions of aware datetimes; the clock is always passed in."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# After the n-th failed attempt the next one waits BACKOFF[n - 1]; after the last, it failed.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1


def retry_at(attempts: int, failed_at: datetime) -> datetime | None:
    """When to try again after `attempts` attempts, the last of which just failed; None: give up."""
    if attempts < 1 or attempts > len(BACKOFF):
        return None
    return failed_at + BACKOFF[attempts - 1]


def quiet_until(now: datetime, tz: ZoneInfo, start: int, end: int) -> datetime | None:
    """The end of the quiet hours `now` falls in (start <= local hour < end, across midnight when
    start > end), as UTC; None when sending is allowed. start == end: no quiet hours."""
    if start == end:
        return None
    local = now.astimezone(tz)
    hour = local.hour
    quiet = start <= hour < end if start < end else hour >= start or hour < end
    if not quiet:
        return None
    day = local.date() if hour < end else local.date() + timedelta(days=1)
    return _local_moment(day, end, tz)


def next_local_day(now: datetime, tz: ZoneInfo) -> datetime:
    """The next local midnight after `now`, as UTC."""
    return _local_moment(now.astimezone(tz).date() + timedelta(days=1), 0, tz)


def local_day_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Local midnight of the day `now` falls in, as UTC."""
    return _local_moment(now.astimezone(tz).date(), 0, tz)


def _local_moment(day, hour: int, tz: ZoneInfo) -> datetime:
    # A wall time skipped by a clock change (02:30 in spring) is read with the offset before
    # the change, so it lands just after the jump: never earlier than asked.
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
