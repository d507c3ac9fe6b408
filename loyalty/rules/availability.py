"""Whether customers can have a reward now: archived, not yet started, ended, or live."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class Availability(StrEnum):
    LIVE = "live"
    SCHEDULED = "scheduled"  # before active_from
    ENDED = "ended"  # from active_to on (the end is exclusive)
    ARCHIVED = "archived"  # the team stopped listing it


def availability(
    active_from: datetime | None,
    active_to: datetime | None,
    now: datetime,
    archived: bool = False,
) -> Availability:
    if archived:
        return Availability.ARCHIVED
    if active_from is not None and now < active_from:
        return Availability.SCHEDULED
    if active_to is not None and now >= active_to:
        return Availability.ENDED
    return Availability.LIVE
