"""Time in one place: the clock, the one ISO 8601 writer and parser, and how pages show moments.

Every moment is timezone-aware UTC. On every wire (Deliverect JSON, CSV exports, the CLI) a
moment is written by `to_iso` and always ends in "Z"; a naive datetime is refused, never guessed.
Pages show moments in UTC too, through the `date`, `datetime` and `time` template filters.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class MissingOffset(ValueError):
    """A date-time written without "Z" or an offset, where the contract does not say it is UTC."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def zone(name: str | None) -> ZoneInfo:
    """A restaurant's time zone; UTC for a name zoneinfo does not know (names are checked when
    saved, so this only happens when a system loses a zone)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(time_zone: str | None, moment: datetime) -> datetime:
    """`moment` (aware) on the restaurant's clock, as a naive wall time."""
    return moment.astimezone(zone(time_zone)).replace(tzinfo=None)


def to_iso(moment: datetime) -> str:
    """2026-12-01T20:31:13Z; microseconds only when there are any, so parsing gives it back."""
    return _utc(moment).isoformat().replace("+00:00", "Z")


def to_iso_or_none(moment: datetime | None) -> str | None:
    return to_iso(moment) if moment is not None else None


def parse_iso(text: str, *, naive_is_utc: bool = False) -> datetime:
    """An ISO 8601 date-time ("Z" or any offset) as aware UTC; ValueError if it is not one.

    Text without an offset is refused (MissingOffset) unless the caller's contract says its
    times are UTC (`naive_is_utc`, as Deliverect's are). A bare date reads as midnight.
    """
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        if not naive_is_utc:
            raise MissingOffset(f"{text!r} has no UTC offset")
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_date(moment: date | datetime | None) -> str:
    """2026-12-01 (the UTC day for a moment); empty for None."""
    if moment is None:
        return ""
    day = _utc(moment).date() if isinstance(moment, datetime) else moment
    return day.isoformat()


def format_datetime(moment: datetime | None, seconds: bool = False) -> str:
    """2026-12-01 20:31 in UTC (or 20:31:13 with seconds); empty for None."""
    if moment is None:
        return ""
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_time(moment: datetime | None) -> str:
    """20:31 in UTC; empty for None."""
    return _utc(moment).strftime("%H:%M") if moment is not None else ""


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every moment in loyalty is timezone-aware UTC")
    return moment.astimezone(UTC)
