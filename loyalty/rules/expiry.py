"""When a customer's points expire, given that spending uses the oldest points first."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PointsMovement:
    """One points ledger entry as the expiry rule sees it."""

    amount: int  # signed
    at: datetime
    expires_at: datetime | None = None
    is_expiry: bool = False  # an earlier run of the expiry job


def points_to_expire(movements: Sequence[PointsMovement], now: datetime) -> int:
    """Points that have expired by `now` and are not yet written off.

    Replays the ledger oldest first as lots: a credit opens a lot, a debit spends the oldest lots
    still valid at that moment, and a lot past its expiry is gone before anything later touches
    it. What expired in that replay, minus what earlier runs already wrote off, is due now, so
    running the job again (or on two hosts) writes off nothing twice.
    """
    lots: deque[list] = deque()  # [points left, expires_at], oldest first
    expired = 0
    written_off = 0

    def drop_expired(moment: datetime) -> int:
        gone = 0
        for lot in lots:
            if lot[0] and lot[1] is not None and lot[1] <= moment:
                gone += lot[0]
                lot[0] = 0
        return gone

    for movement in sorted(movements, key=lambda m: m.at):
        expired += drop_expired(movement.at)
        if movement.is_expiry:
            written_off += -movement.amount
        elif movement.amount > 0:
            lots.append([movement.amount, movement.expires_at])
        else:
            to_spend = -movement.amount
            for lot in lots:
                taken = min(lot[0], to_spend)
                lot[0] -= taken
                to_spend -= taken
                if not to_spend:
                    break
    expired += drop_expired(now)
    return max(0, expired - written_off)
