"""The only writer of ledger entries and cached balances. Callers own the transaction.

Three units, each with its cached column, which always equals the sum of its entries
(`ledger_sum`): points (points_balance), cash (cash_balance) and debt (points_debt, what a
cancel could not take back; see rules.debt). Points and cash never go below zero; debt is
created only by `take_back_points`, and any later points credit pays it first with a pair of
"debt_repayment" entries (points -n, debt -n), so the balance never goes negative and the
customer's net position (balance - debt) moves by exactly what each credit says. Points that
meet a debt otherwise (a merge) pay it with the same pair: `settle_debt`.

Concurrency: `lock_account` comes first, which takes the row lock on PostgreSQL (FOR NO KEY
UPDATE) and the write lock on SQLite, so every read after it (balance, holds, idempotency key)
sees the latest committed state and no other writer can interleave until commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, case, func, insert, select, update
from sqlalchemy.orm.util import identity_key

from ...extensions import db
from ...models import Account, LedgerEntry, Order, utcnow
from ...rules.debt import TakeBack, repayment, still_owed, take_back


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
    # How lifetime points move (earning, its reversal, adjustments); spending never lowers
    # them, and they never go below zero.
    lifetime_delta: int = 0
    # An earn's (or its reversal's) parts: which earning rule gave what (rules.earning).
    breakdown: tuple[dict, ...] | None = None


@dataclass(frozen=True)
class Balances:
    """An account's cached balances as read under its lock."""

    points: int
    cash: int
    lifetime_points: int
    debt: int = 0


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
_INSERT_ENTRY = insert(LedgerEntry.__table__)
_BALANCES = (
    _accounts.points_balance,
    _accounts.cash_balance,
    _accounts.lifetime_points,
    _accounts.points_debt,
)
_LOCK_FOR_UPDATE = (
    select(*_BALANCES)
    .where(_accounts.id == bindparam("account_id"))
    .with_for_update(key_share=True)
)
_LOCK_BY_WRITE = (
    update(Account.__table__)
    .where(_accounts.id == bindparam("account_id"))
    .values(lock_version=_accounts.lock_version + 1)
    .returning(*_BALANCES)
)
_CACHED = {
    "points": Account.points_balance,
    "cash": Account.cash_balance,
    "debt": Account.points_debt,
}


def find_entry(tenant_id: int, key: str) -> LedgerEntry | None:
    return db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.tenant_id == tenant_id, LedgerEntry.idempotency_key == key
        )
    )


def post(tenant_id: int, account_id: int, posting: Posting) -> LedgerEntry:
    """Write the entry and move the cached balance atomically, or return the one already written.

    Call after `lock_account` in the same transaction. A debit larger than the balance raises
    InsufficientBalance and writes nothing. A points credit pays the account's debt first.
    """
    existing = find_entry(tenant_id, posting.key)
    if existing is not None:
        return existing
    column = _CACHED[posting.unit]
    values = {column.key: column + posting.amount}
    if posting.lifetime_delta:
        lifetime = Account.lifetime_points + posting.lifetime_delta
        values["lifetime_points"] = case((lifetime < 0, 0), else_=lifetime)
    row = db.session.execute(
        update(Account)
        .where(Account.id == account_id, Account.tenant_id == tenant_id)
        .where(column + posting.amount >= 0)
        .values(**values)
        .returning(column, Account.points_debt)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        current = db.session.scalar(select(column).where(Account.id == account_id)) or 0
        raise InsufficientBalance(posting.unit, current, posting.amount)
    new_balance, debt = row
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
        breakdown=_parts(posting),
    )
    db.session.add(entry)
    db.session.flush()
    paid = repayment(posting.amount, debt) if posting.unit == "points" else 0
    for repaying in _repayments(posting.key, paid, posting.order_id, posting.user_id):
        post(tenant_id, account_id, repaying)
    _expire_cached_balances(account_id)
    return entry


def _parts(posting: Posting) -> list[dict] | None:
    return list(posting.breakdown) if posting.breakdown is not None else None


def take_back_points(tenant_id: int, account_id: int, posting: Posting) -> TakeBack:
    """Take points back (a debit `posting`) as far as the balance allows; the rest is owed.

    For cancels: what the customer already spent becomes debt, with an entry naming the order,
    instead of being forgotten. Call after `lock_account`. Lifetime points move with whichever
    entry is written last, so they move once.
    """
    balance = db.session.scalar(select(Account.points_balance).where(Account.id == account_id))
    split = take_back(-posting.amount, balance or 0)
    if not split.owed:
        post(tenant_id, account_id, posting)
        return split
    if split.from_balance:
        post(
            tenant_id,
            account_id,
            replace(posting, amount=-split.from_balance, lifetime_delta=0),
        )
    post(
        tenant_id,
        account_id,
        replace(
            posting,
            unit="debt",
            amount=split.owed,
            key=f"{posting.key}:owed",
            reason=f"{posting.reason}: {split.owed:,} points already spent are owed",
            expires_at=None,
            breakdown=None,
        ),
    )
    return split


def settle_debt(tenant_id: int, account_id: int, key: str, user_id: int | None = None) -> int:
    """Pay the account's debt from its balance, as far as the balance goes; returns what it paid.

    For points and a debt that meet without a credit (a merge brings one account's balance to
    the other's debt). Call after `lock_account`; `key` names the occasion, so it pays once.
    """
    balance, debt = db.session.execute(
        select(Account.points_balance, Account.points_debt).where(Account.id == account_id)
    ).one()
    paid = repayment(balance, debt)
    for repaying in _repayments(key, paid, user_id=user_id):
        post(tenant_id, account_id, repaying)
    return paid


def _repayments(
    key: str, paid: int, order_id: int | None = None, user_id: int | None = None
) -> list[Posting]:
    """The pair of entries by which `paid` points settle the debt; `key` is what paid them."""
    if not paid:
        return []
    reason = f"{paid:,} owed points paid back"
    return [
        Posting(
            unit=unit,
            kind="debt_repayment",
            amount=-paid,
            key=f"{key}:repays:{unit}",
            reason=reason,
            order_id=order_id,
            user_id=user_id,
        )
        for unit in ("points", "debt")
    ]


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
    UPDATE (e.g. last_order_at). A points credit pays the debt first, as in `post`. Returns the
    balances after the entries.
    """
    after = {"points": balances.points, "cash": balances.cash, "debt": balances.debt}
    lifetime = balances.lifetime_points
    now = utcnow()
    rows = []
    pending = list(postings)
    while pending:
        posting = pending.pop(0)
        after[posting.unit] += posting.amount
        if after[posting.unit] < 0:
            raise InsufficientBalance(
                posting.unit, after[posting.unit] - posting.amount, posting.amount
            )
        lifetime = max(0, lifetime + posting.lifetime_delta)
        if posting.unit == "points":
            paid = repayment(posting.amount, after["debt"])
            pending[:0] = _repayments(posting.key, paid, posting.order_id, posting.user_id)
        rows.append(
            {
                "tenant_id": tenant_id,
                "account_id": account_id,
                "unit": posting.unit,
                "kind": posting.kind,
                "amount": posting.amount,
                "balance_after": after[posting.unit],
                "idempotency_key": posting.key,
                "reason": posting.reason,
                "order_id": posting.order_id,
                "reward_id": posting.reward_id,
                "user_id": posting.user_id,
                "expires_at": posting.expires_at,
                "breakdown": _parts(posting),
                "created_at": now,
            }
        )
    values: dict[str, Any] = dict(also or {})
    if rows:
        values.update(
            points_balance=after["points"],
            cash_balance=after["cash"],
            lifetime_points=lifetime,
            points_debt=after["debt"],
        )
    if values:
        updated = db.session.execute(
            update(Account.__table__)
            .where(
                _accounts.id == account_id,
                _accounts.tenant_id == tenant_id,
                _accounts.points_balance == balances.points,
                _accounts.cash_balance == balances.cash,
                _accounts.lifetime_points == balances.lifetime_points,
                _accounts.points_debt == balances.debt,
            )
            .values(**values)
        ).rowcount
        if updated != 1:
            raise LedgerConflict(f"account {account_id} changed without holding its lock")
        _expire_cached_balances(account_id, *values)
    if rows:
        # A list of parameter sets for one prepared INSERT: compiled once per process (a
        # multi-VALUES statement would be compiled again for every call), and still sent as
        # one statement on PostgreSQL (SQLAlchemy's insertmanyvalues).
        db.session.execute(_INSERT_ENTRY, rows)
    return Balances(after["points"], after["cash"], lifetime, after["debt"])


def credits_oldest_first(account_id: int, unit: str, *columns: Any) -> Select:
    """`columns` of the account's credits (entries above zero) in `unit`, oldest first: the
    order in which points expire and debts are repaid."""
    return (
        select(*columns)
        .where(
            LedgerEntry.account_id == account_id,
            LedgerEntry.unit == unit,
            LedgerEntry.amount > 0,
        )
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    )


def owed_points(tenant_id: int, account: Account) -> list[tuple[str, int]]:
    """What the customer owes now, as (the cancelled order that left it, points), newest first."""
    if not account.points_debt:
        return []
    debts = db.session.execute(
        credits_oldest_first(
            account.id,
            "debt",
            Order.channel_order_display_id,
            Order.external_id,
            LedgerEntry.amount,
        )
        .outerjoin(Order, Order.id == LedgerEntry.order_id)
        .where(LedgerEntry.tenant_id == tenant_id)
    ).all()
    return still_owed(
        [(display or external or "an adjustment", amount) for display, external, amount in debts],
        account.points_debt,
    )


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
            account,
            list({"points_balance", "cash_balance", "lifetime_points", "points_debt", *also}),
        )
