"""Guests signed in to the member pages: one GuestSession row per phone, of one tenant.

The browser keeps a random token (in a cookie of its own); only its SHA-256 is stored, so a
copy of the database opens no card. Deleting the row (sign out, erasure, merge) ends the sign-in
wherever the cookie went.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from ...extensions import db
from ...models import Account, CustomerCode, GuestSession

MAX_TOKEN_LENGTH = 128  # a token we issue is 43 characters; anything longer is not ours


def start_session(tenant_id: int, account_id: int, *, now: datetime, lifetime: timedelta) -> str:
    """Add (not commit) a session for the account; the token for the cookie. The caller
    commits it together with the code's use, so a code opens exactly one session."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        GuestSession(
            tenant_id=tenant_id,
            account_id=account_id,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


def signed_in_account(tenant_id: int, token: object, now: datetime) -> Account | None:
    """The account a live session of this tenant names; None for no, an expired or another
    tenant's token, and for an account merged away or erased since."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    account = db.session.scalar(
        select(Account)
        .join(GuestSession, GuestSession.account_id == Account.id)
        .where(
            GuestSession.token_hash == _hash(token),
            GuestSession.tenant_id == tenant_id,
            GuestSession.expires_at > now,
            Account.tenant_id == tenant_id,
        )
    )
    if account is None or account.retired:
        return None
    return account


def signed_in_since(tenant_id: int, token: object) -> datetime | None:
    """When the session a token names began: a page that cannot be undone (erasure) wants a
    recent proof of the address, not a sign-in a month old on a shared phone."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(
        select(GuestSession.created_at).where(
            GuestSession.token_hash == _hash(token), GuestSession.tenant_id == tenant_id
        )
    )


def end_session(tenant_id: int, token: object) -> None:
    """Sign out: the session's row goes (commits); an unknown token changes nothing."""
    if isinstance(token, str) and token and len(token) <= MAX_TOKEN_LENGTH:
        db.session.execute(
            delete(GuestSession).where(
                GuestSession.tenant_id == tenant_id, GuestSession.token_hash == _hash(token)
            )
        )
    db.session.commit()


def end_account_sessions(account_ids: Iterable[int]) -> None:
    """Every session of these accounts ends, in the caller's transaction (erasure, merge)."""
    ids = list(account_ids)
    if ids:
        db.session.execute(
            delete(GuestSession)
            .where(GuestSession.account_id.in_(ids))
            .execution_options(synchronize_session=False)
        )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Pruned:
    guest_sessions: int
    customer_codes: int


# Rows are kept this long past their end, so a code or session that just ended still explains
# itself ("no longer works") to whoever looks at the database that day.
PRUNE_AFTER = timedelta(days=1)


def prune_expired(now: datetime) -> Pruned:
    """Delete guest sessions and customer sign-in codes that ended more than a day ago, in every
    tenant (commits). Run by `tick`, beside services.deliverect.sso.prune_sso."""
    cutoff = now - PRUNE_AFTER
    sessions = db.session.execute(delete(GuestSession).where(GuestSession.expires_at < cutoff))
    # The newest code stays: SQLite would hand its id out again, and the outbox knows a code's
    # message by "one_time_code:<id>", so a reused id would find the old message, not send.
    newest = select(func.max(CustomerCode.id)).scalar_subquery()
    codes = db.session.execute(
        delete(CustomerCode).where(CustomerCode.expires_at < cutoff, CustomerCode.id < newest)
    )
    db.session.commit()
    return Pruned(sessions.rowcount, codes.rowcount)
