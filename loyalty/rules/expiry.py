"""When a customer's points expire, given that spending uses the oldest points first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime


def upcoming_expirations(
    credits: Sequence[tuple[int, datetime | None]], balance: int, now: datetime
) -> list[tuple[date, int]]:
    """(UTC date, points) still to expire, soonest first.

    `credits` are (points, expires_at) oldest first. Spending takes the oldest points, so the
    balance is made of the most recent credits: walk back from the newest until the balance is
    covered. Credits that never expire hold part of the balance but are not listed; those already
    past `now` are left to the expiry job and not listed either.
    """
    by_date: dict[date, int] = defaultdict(int)
    remaining = max(0, balance)
    for amount, expires_at in reversed(credits):
        if remaining <= 0:
            break
        if amount <= 0:
            continue
        held = min(amount, remaining)
        remaining -= held
        if expires_at is not None and expires_at > now:
            by_date[expires_at.date()] += held
    return sorted(by_date.items())
