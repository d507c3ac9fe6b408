"""The only writer of ledger entries and cached balances. Callers own the transaction.

Concurrency: `lock_account` bumps the account row first, which takes the row lock on PostgreSQL
and the write lock on SQLite, so every read after it (balance, holds, idempotency key) sees the
latest committed state and no other writer can interleave until commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm.util import identity_key

from ..extensions import db
from ..models import Account, LedgerEntry


class InsufficientBalance(Exception):
    """The entry would take a balance below zero."""

    def __init__(self, unit: str, balance: int, amount: int):
        super().__init__(f"not enough {unit}: balance {balance}, change {amount}")
        self.unit, self.balance, self.amount = unit, balance, amount


@dataclass(frozen=True)
class Posting:
    """What one ledger entry should say; the key makes writing it twice a no-op."""

    unit: str  # "points" | "cash"
    kind: str
    amount: int
    key: str
    reason: str = ""
    order_id: int | None = None
    reward_id: int | None = None
    user_id: int | None = None
    expires_at: datetime | None = None
    # How lifetime points move (earning and its reversal); spending never lowers them.
    lifetime_delta: int = 0


def lock_account(account_id: int) -> None:
    db.session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(lock_version=Account.lock_version + 1)
        .execution_options(synchronize_session=False)
    )


def find_entry(tenant_id: int, key: str) -> LedgerEntry | None:
    return db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.tenant_id == tenant_id, LedgerEntry.idempotency_key == key
        )
    )


def post(tenant_id: int, account_id: int, posting: Posting) -> LedgerEntry:
    """Write the entry and move the cached balance atomically, or return the one already written.

    Call after `lock_account` in the same transaction. A debit larger than the balance raises
    InsufficientBalance and writes nothing.
    """
    existing = find_entry(tenant_id, posting.key)
    if existing is not None:
        return existing
    column = Account.points_balance if posting.unit == "points" else Account.cash_balance
    values = {column.key: column + posting.amount}
    if posting.lifetime_delta:
        values["lifetime_points"] = Account.lifetime_points + posting.lifetime_delta
    new_balance = db.session.execute(
        update(Account)
        .where(Account.id == account_id, Account.tenant_id == tenant_id)
        .where(column + posting.amount >= 0)
        .values(**values)
        .returning(column)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if new_balance is None:
        current = db.session.scalar(select(column).where(Account.id == account_id)) or 0
        raise InsufficientBalance(posting.unit, current, posting.amount)
    entry = LedgerEntry(
        tenant_id=tenant_id,
        account_id=account_id,
        unit=posting.unit,
        kind=posting.kind,
        amount=posting.amount,
        balance_after=new_balance,
        idempotency_key=posting.key,
        reason=posting.reason,
        order_id=posting.order_id,
        reward_id=posting.reward_id,
        user_id=posting.user_id,
        expires_at=posting.expires_at,
    )
    db.session.add(entry)
    db.session.flush()
    _expire_cached_balances(account_id)
    return entry


def ledger_sum(account_id: int, unit: str = "points") -> int:
    """The balance as the ledger says it is: the cached column must always equal this."""
    return db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.account_id == account_id, LedgerEntry.unit == unit
        )
    )


def _expire_cached_balances(account_id: int) -> None:
    """The UPDATE bypassed the ORM: make a loaded Account re-read its balances."""
    account = db.session.identity_map.get(identity_key(Account, account_id))
    if account is not None:
        db.session.expire(account, ["points_balance", "cash_balance", "lifetime_points"])
