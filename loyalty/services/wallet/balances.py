"""A customer's wallet: spendable points with their expirations, and store credit (cash)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ...extensions import db
from ...models import Account, LedgerEntry
from ...rules.expiry import upcoming_expirations
from ..checkout.redemption import held_points
from .ledger import credits_oldest_first


@dataclass(frozen=True)
class Wallet:
    points_balance: int
    points_held: int
    points_expirations: list[tuple[date, int]]
    cash_balance: int

    @property
    def points_spendable(self) -> int:
        """What the customer can still spend: the balance less points held by open baskets."""
        return max(0, self.points_balance - self.points_held)


def wallet_for(account: Account, now: datetime) -> Wallet:
    credits = db.session.execute(
        credits_oldest_first(account.id, "points", LedgerEntry.amount, LedgerEntry.expires_at)
    ).all()
    return Wallet(
        points_balance=account.points_balance,
        points_held=held_points(account.id, now),
        points_expirations=upcoming_expirations(
            [(amount, expires_at) for amount, expires_at in credits], account.points_balance, now
        ),
        cash_balance=account.cash_balance,
    )
