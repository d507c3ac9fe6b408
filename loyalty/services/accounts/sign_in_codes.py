"""Customers' one-time sign-in codes: sent through the notification outbox, redeemed once.

Used by the API's customer grant and the guest pages. Nothing here says whether a login
belongs to an account: an unknown login is asked for and refused like a known one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import func, select, update

from ...extensions import db
from ...models import Account, CustomerCode, Tenant, utcnow
from ..notifications.outbox import deliver_due, enqueue
from ..wallet.ledger import lock_account
from .profile import find_account

CODE_DIGITS = 6
# Customers sign in with what they can receive a code at, never a card or an account id.
CONTACT_FIELDS = frozenset({"email", "phone"})
MAX_LOGIN_LENGTH = 320


def send_code(app: Flask, tenant_id: int, login: str) -> None:
    """Issue a code for the account `login` names, under the configured caps, and send it at
    once rather than at the next `tick` (the code would be stale by then; a failed send stays
    queued for `tick` to retry).

    Doors schedule it after their answer (`response.call_on_close`) for every request, known
    login or not, so neither the answer nor its timing tells them apart, and a slow sender does
    not delay it. It runs in its own app context, the request's being gone by then.
    """
    with app.app_context():
        config = app.config
        now = utcnow()
        message_id = request_code(
            tenant_id,
            login,
            now=now,
            lifetime=timedelta(minutes=int(config["CUSTOMER_CODE_MINUTES"])),
            per_hour=int(config["CUSTOMER_CODES_PER_HOUR"]),
            per_day=int(config["CUSTOMER_CODES_PER_DAY"]),
        )
        if message_id is not None:
            deliver_due(now, message_ids=(message_id,))


def request_code(
    tenant_id: int,
    login: str,
    *,
    now: datetime,
    lifetime: timedelta,
    per_hour: int,
    per_day: int,
) -> int | None:
    """Issue a code for the account `login` (an e-mail or phone) names and queue it for its
    sender; commits. Returns the queued message's id, or None when nothing was sent: no such
    account, or `per_hour` codes already went to it in the last hour, or `per_day` in the
    last day (with CUSTOMER_CODE_ATTEMPTS wrong tries each, that bounds the guesses at one
    account a day, whoever makes them)."""
    account = _account(tenant_id, login, lock=True)
    if account is None:
        db.session.commit()  # ends the transaction (and the account's lock)
        return None
    if _codes_since(account.id, now - timedelta(hours=1)) >= per_hour or (
        _codes_since(account.id, now - timedelta(days=1)) >= per_day
    ):
        db.session.commit()  # ends the transaction (and the account's lock)
        return None
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = CustomerCode(
        tenant_id=tenant_id,
        account_id=account.id,
        code_hash=_hash(account.id, code),
        attempts=0,
        created_at=now,
        expires_at=now + lifetime,
    )
    db.session.add(row)
    db.session.flush()
    restaurant = db.session.get(Tenant, tenant_id).name
    minutes = max(1, int(lifetime.total_seconds() // 60))
    queued = enqueue(
        tenant_id,
        account.id,
        "one_time_code",
        f"Your sign-in code for {restaurant}: {code}"[:256],
        f"Enter {code} to sign in. It works once, within {minutes} minutes. "
        "If you did not ask for it, ignore this message.",
        {"code": code},
        f"one_time_code:{row.id}",
        now=now,
    )
    db.session.commit()
    return queued.message.id if queued.message is not None else None


def _codes_since(account_id: int, moment: datetime) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(CustomerCode)
        .where(CustomerCode.account_id == account_id, CustomerCode.created_at > moment)
    )


def redeem_code(
    tenant_id: int, login: str, code: str, *, now: datetime, max_attempts: int
) -> Account | None:
    """The account when `code` is a live code sent to it; None otherwise.

    On success the code is marked used but not committed: the caller commits that with what
    the code grants (a token, a session), so two uses at once give exactly one. A wrong code
    counts an attempt against each live code of the account (committed), and a code dies at
    `max_attempts`. Spaces and hyphens typed into the code ("123 456", "123-456") are ignored.
    """
    code = "".join(char for char in code or "" if not char.isspace() and char != "-")
    account = _account(tenant_id, login)
    if account is None:
        return None
    live = (
        CustomerCode.account_id == account.id,
        CustomerCode.used_at.is_(None),
        CustomerCode.expires_at > now,
        CustomerCode.attempts < max_attempts,
    )
    offered = _hash(account.id, code)
    matching = next(
        (
            row.id
            for row in db.session.execute(
                select(CustomerCode.id, CustomerCode.code_hash).where(*live)
            )
            if hmac.compare_digest(row.code_hash, offered)
        ),
        None,
    )
    if matching is None:
        db.session.execute(
            update(CustomerCode).where(*live).values(attempts=CustomerCode.attempts + 1)
        )
        db.session.commit()
        return None
    # Conditional: a concurrent redeemer that got here first has set used_at (PostgreSQL makes
    # this wait for its commit, SQLite's write lock does the same), and this one finds nothing.
    claimed = db.session.execute(
        update(CustomerCode)
        .where(CustomerCode.id == matching, *live)
        .values(used_at=now)
        .returning(CustomerCode.id)
    ).scalar()
    return account if claimed is not None else None


def _account(tenant_id: int, login: str, *, lock: bool = False) -> Account | None:
    login = (login or "").strip()
    if not login or len(login) > MAX_LOGIN_LENGTH or "\x00" in login:  # no such text is stored
        return None
    account = find_account(tenant_id, login, CONTACT_FIELDS)
    if account is None or account.retired:
        return None
    if lock:  # codes for one account are counted one request at a time, on both databases
        lock_account(account.id)
    return account


def _hash(account_id: int, code: str) -> str:
    return hashlib.sha256(f"{account_id}:{code}".encode()).hexdigest()
