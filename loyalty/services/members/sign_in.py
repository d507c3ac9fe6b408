"""A guest signs in with a one-time code (the same codes as the API's customer grant): asked for
by e-mail or phone, sent through the notification outbox after the answer
(`sign_in_codes.send_code`), redeemed once into a session."""

from __future__ import annotations

from datetime import datetime, timedelta

from ...extensions import db
from ..accounts import sign_in_codes
from .join import JoinChoices, activate
from .sessions import start_session


def sign_in_with_code(
    tenant_id: int,
    login: str,
    code: str,
    *,
    now: datetime,
    max_attempts: int,
    session_lifetime: timedelta,
    joining: JoinChoices | None = None,
) -> str | None:
    """A new session's token when `code` is a live code sent to `login`'s account; None
    otherwise (the wrong try counted against the account's codes). The code's use, the join
    choices `joining` made for this login (when the account is still pending) and the session
    commit together: a code opens one session, however often it is sent at once."""
    account = sign_in_codes.redeem_code(tenant_id, login, code, now=now, max_attempts=max_attempts)
    if account is None:
        db.session.rollback()
        return None
    if joining is not None and joining.login == login:
        activate(account, joining, now=now)
    token = start_session(tenant_id, account.id, now=now, lifetime=session_lifetime)
    db.session.commit()
    return token
