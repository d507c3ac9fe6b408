"""Points a cancel could not take back: the customer's debt, which later credits pay first.

Cancelling an order takes back what it earned. When the customer has already spent those
points, the part the balance cannot cover is not forgotten (that would let cancels create
points) but owed: the account keeps a non-negative `points_debt` beside a non-negative
balance, and every later points credit pays the debt before it adds to the balance. So the
customer's net position, balance minus debt, moves by exactly what each entry says, and
cancelling every order puts it back where it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

Source = TypeVar("Source")


@dataclass(frozen=True)
class TakeBack:
    """How taking back `points` splits between the balance and the debt."""

    from_balance: int
    owed: int


def take_back(points: int, balance: int) -> TakeBack:
    """Take `points` (>= 0) back from a `balance`: what it cannot cover becomes debt."""
    from_balance = max(0, min(points, balance))
    return TakeBack(from_balance, points - from_balance)


def repayment(credit: int, debt: int) -> int:
    """How much of a points credit goes to the debt: all of it, up to what is owed."""
    return max(0, min(credit, debt))


def still_owed(debts: Sequence[tuple[Source, int]], debt: int) -> list[tuple[Source, int]]:
    """Which debts make up what is owed now, newest first, as (source, points still owed).

    `debts` are (source, points) as they arose, oldest first; the source is whatever names
    the cancelled order. Repayments settle the oldest debt first, so what is still owed is the
    newest ones: walk back until `debt` is covered.
    """
    owed: list[tuple[Source, int]] = []
    remaining = max(0, debt)
    for source, points in reversed(debts):
        if remaining <= 0:
            break
        part = min(points, remaining)
        if part > 0:
            owed.append((source, part))
            remaining -= part
    return owed
