"""ISO 8601 durations as campaigns use them: state timeouts (`P7D`) and relative dates (`-P30D`).

isodate is not a dependency, and campaigns need only a small part of the standard, so it is
parsed here: `[+-]P[nY][nM][nW][nD][T[nH][nM][nS]]`, whole numbers only, each with a few digits.
The pattern is anchored and has no nested repetition, and the text is length-checked first, so a
hostile string costs linear time. Years and months are calendar steps (31 January + P1M is the
last day of February), everything else a fixed length.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_DURATION_LENGTH = 40
_DURATION = re.compile(
    r"([+-])?P(?:(\d{1,4})Y)?(?:(\d{1,4})M)?(?:(\d{1,4})W)?(?:(\d{1,5})D)?"
    r"(?:T(?:(\d{1,5})H)?(?:(\d{1,6})M)?(?:(\d{1,7})S)?)?"
)


class DurationError(ValueError):
    """Text that is not a duration of the subset we read."""


@dataclass(frozen=True)
class Duration:
    negative: bool = False
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @property
    def is_zero(self) -> bool:
        return not any(
            (self.years, self.months, self.weeks, self.days, self.hours, self.minutes, self.seconds)
        )

    def shift(self, moment: datetime) -> datetime:
        """`moment` moved by the duration (backwards when it is negative)."""
        sign = -1 if self.negative else 1
        moved = _add_months(moment, sign * (self.years * 12 + self.months))
        fixed = timedelta(
            weeks=self.weeks,
            days=self.days,
            hours=self.hours,
            minutes=self.minutes,
            seconds=self.seconds,
        )
        try:
            return moved + sign * fixed
        except OverflowError:
            raise DurationError("moves the date outside the calendar") from None

    def to_text(self) -> str:
        """The canonical spelling: zero parts left out, `P0D` for nothing at all."""
        if self.is_zero:
            return "-P0D" if self.negative else "P0D"
        date_part = "".join(
            f"{number}{unit}"
            for number, unit in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"))
            + ((self.days, "D"),)
            if number
        )
        time_part = "".join(
            f"{number}{unit}"
            for number, unit in ((self.hours, "H"), (self.minutes, "M"), (self.seconds, "S"))
            if number
        )
        text = "P" + date_part + (f"T{time_part}" if time_part else "")
        return f"-{text}" if self.negative else text


def parse_duration(text: str, *, signed: bool = False) -> Duration:
    """Read a duration; a sign is accepted only where the value is relative (`signed`)."""
    if not isinstance(text, str) or len(text) > MAX_DURATION_LENGTH:
        raise DurationError("must be an ISO 8601 duration such as P7D or PT12H")
    match = _DURATION.fullmatch(text)
    # "P" alone and a dangling "T" match the pattern but name no length at all.
    if match is None or text.rstrip("+-") in ("P", "PT") or text.endswith("T"):
        raise DurationError("must be an ISO 8601 duration such as P7D or PT12H")
    sign = match.group(1)
    if sign and not signed:
        raise DurationError("must not have a sign")
    years, months, weeks, days, hours, minutes, seconds = (
        int(group or 0) for group in match.groups()[1:]
    )
    return Duration(sign == "-", years, months, weeks, days, hours, minutes, seconds)


def _add_months(moment: datetime, months: int) -> datetime:
    if not months:
        return moment
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise DurationError("moves the date outside the calendar")
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
