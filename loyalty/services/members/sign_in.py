"""A guest signs in with a one-time code (the same codes as the API's customer grant): asked for
by e-mail or phone, sent through the notification outbox, redeemed once into a session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ...extensions import db
from ..accounts import sign_in_codes
from .join import contact_login
from .sessions import start_session


@dataclass(frozen=True)
class CodeRequest:
    login: str  # the e-mail or phone as stored (lower case, E.164), shown back to the guest
    message_id: int | None  # for sign_in_codes.deliver_code; None when nothing was sent


def send_code(
    tenant_id: int,
    contact: str,
    *,
    now: datetime,
    lifetime: timedelta,
    per_hour: int,
    phone_region: str | None,
) -> CodeRequest:
    """Queue a code for the account the e-mail or phone `contact` names (commits), if there is
    one and it had fewer than `per_hour` codes in the last hour. The guest is told the same
    either way; only something that is no e-mail or phone at all is refused (FieldErrors)."""
    _kind, login = contact_login(contact, phone_region)
    message_id = sign_in_codes.request_code(
        tenant_id, login, now=now, lifetime=lifetime, per_hour=per_hour
    )
    return CodeRequest(login, message_id)


def sign_in_with_code(
    tenant_id: int,
    login: str,
    code: str,
    *,
    now: datetime,
    max_attempts: int,
    session_lifetime: timedelta,
) -> str | None:
    """A new session's token when `code` is a live code sent to `login`'s account; None
    otherwise (the wrong try counted against the account's codes). The code's use and the
    session commit together: a code opens one session, however often it is sent at once."""
    account = sign_in_codes.redeem_code(tenant_id, login, code, now=now, max_attempts=max_attempts)
    if account is None:
        db.session.rollback()
        return None
    token = start_session(tenant_id, account.id, now=now, lifetime=session_lifetime)
    db.session.commit()
    return token
