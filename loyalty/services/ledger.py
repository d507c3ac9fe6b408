"""The only writer of ledger entries and cached balances. Callers own the transaction.

Concurrency: `lock_account` comes first, which takes the row lock on PostgreSQL (FOR NO KEY
UPDATE) and the write lock on SQLite, so every read after it (balance, holds, idempotency key)
sees the latest committed state and no other writer can interleave until commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm.util import identity_key

from ..extensions import db
from ..models import Account, LedgerEntry, utcnow


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


@dataclass(frozen=True)
class Balances:
    """An account's cached balances as read under its lock."""

    points: int
    cash: int
    lifetime_points: int


class LedgerConflict(RuntimeError):
    """The balances changed under a caller that claimed to hold the account lock (a bug)."""


def lock_account(account_id: int) -> Balances | None:
    """Take the account lock; returns the balances as of the lock (None: no such account).

    PostgreSQL: SELECT ... FOR NO KEY UPDATE, a row lock that writes nothing (an UPDATE would
    write a new row version and an entry in each of the accounts indexes on every call); after
    waiting for another holder it returns the row as that holder committed it. SQLite has no
    row locks: bumping lock_version takes the database write lock. Either way the balances
    come back from the locking statement itself, no extra round trip.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        statement = _LOCK_FOR_UPDATE
    else:
        statement = _LOCK_BY_WRITE
    row = db.session.execute(statement, {"account_id": account_id}).first()
    return Balances(*row) if row is not None else None


_accounts = Account.__table__.c
_LOCK_FOR_UPDATE = (
    select(_accounts.points_balance, _accounts.cash_balance, _accounts.lifetime_points)
    .where(_accounts.id == bindparam("account_id"))
    .with_for_update(key_share=True)
)
_LOCK_BY_WRITE = (
    update(Account.__table__)
    .where(_accounts.id == bindparam("account_id"))
    .values(lock_version=_accounts.lock_version + 1)
    .returning(_accounts.points_balance, _accounts.cash_balance, _accounts.lifetime_points)
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


def post_new(
    tenant_id: int,
    account_id: int,
    balances: Balances,
    postings: Sequence[Posting],
    also: Mapping[str, Any] | None = None,
) -> Balances:
    """Write entries whose keys cannot exist yet, and move the cached balances: one INSERT of
    every entry and one UPDATE of the account, whatever the number of entries.

    Only for a caller that, in this transaction,
    1. took the account lock with `lock_account` and passes the `balances` it returned (or
       that an earlier `post_new` returned), and
    2. derives every key from a row it has just inserted under that lock (a new order's id):
       no entry with such a key can exist, so the look-up `post` makes is skipped.
    The unique (tenant, key) constraint stays the backstop: a duplicate key fails the INSERT
    and the whole transaction rolls back. Raises InsufficientBalance, writing nothing, when an
    entry would take a balance below zero; raises LedgerConflict if the balances in the
    database are not `balances` (rule 1 broken). `also` sets other account columns in the same
    UPDATE (e.g. last_order_at). Returns the balances after the entries.
    """
    points, cash, lifetime = balances.points, balances.cash, balances.lifetime_points
    now = utcnow()
    rows = []
    for posting in postings:
        if posting.unit == "points":
            points += posting.amount
            after = points
        else:
            cash += posting.amount
            after = cash
        if after < 0:
            raise InsufficientBalance(posting.unit, after - posting.amount, posting.amount)
        lifetime += posting.lifetime_delta
        rows.append(
            {
                "tenant_id": tenant_id,
                "account_id": account_id,
                "unit": posting.unit,
                "kind": posting.kind,
                "amount": posting.amount,
                "balance_after": after,
                "idempotency_key": posting.key,
                "reason": posting.reason,
                "order_id": posting.order_id,
                "reward_id": posting.reward_id,
                "user_id": posting.user_id,
                "expires_at": posting.expires_at,
                "created_at": now,
            }
        )
    values: dict[str, Any] = dict(also or {})
    if rows:
        values.update(points_balance=points, cash_balance=cash, lifetime_points=lifetime)
    if values:
        updated = db.session.execute(
            update(Account.__table__)
            .where(
                _accounts.id == account_id,
                _accounts.tenant_id == tenant_id,
                _accounts.points_balance == balances.points,
                _accounts.cash_balance == balances.cash,
                _accounts.lifetime_points == balances.lifetime_points,
            )
            .values(**values)
        ).rowcount
        if updated != 1:
            raise LedgerConflict(f"account {account_id} changed without holding its lock")
        _expire_cached_balances(account_id, *values)
    if rows:
        db.session.execute(insert(LedgerEntry.__table__).values(rows))
    return Balances(points, cash, lifetime)


def ledger_sum(account_id: int, unit: str = "points") -> int:
    """The balance as the ledger says it is: the cached column must always equal this."""
    return db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.account_id == account_id, LedgerEntry.unit == unit
        )
    )


def _expire_cached_balances(account_id: int, *also: str) -> None:
    """The UPDATE bypassed the ORM: make a loaded Account re-read its balances."""
    account = db.session.identity_map.get(identity_key(Account, account_id))
    if account is not None:
        db.session.expire(
            account, list({"points_balance", "cash_balance", "lifetime_points", *also})
        )
