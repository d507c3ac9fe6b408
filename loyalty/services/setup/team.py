"""Team members: creation, roles, deactivation, throttled password login and sign-in sessions."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ...extensions import db
from ...models import LoginSession, LoginThrottle, User, utcnow
from ...models.base import UTCDateTime
from ...models.user import ROLES
from ...validation import CONFLICT, FieldErrors
from ..scoping import get_for_tenant

MIN_PASSWORD_LENGTH = 8
# Logins are unique per email across the installation (the login form asks for no
# restaurant), so an address used elsewhere must be refused without saying where or by whom.
EMAIL_NOT_AVAILABLE = "this email cannot be used for a new login: ask them for another address"


class TeamError(ValueError):
    """A change to the team that is refused as a whole (not a field of a form): flashed."""


class LoginThrottled(Exception):
    """Too many recent failures for this email or this address."""


def team_members(tenant_id: int) -> list[User]:
    """Everyone with a login, those who can still sign in first, then by email."""
    return list(
        db.session.scalars(
            select(User).where(User.tenant_id == tenant_id).order_by(User.active.desc(), User.email)
        )
    )


def create_user(
    tenant_id: int, email: str, password: str, role: str = "staff", name: str = ""
) -> User:
    """A new login; FieldErrors on role, email or password when it cannot be made."""
    email = email.strip().lower()
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = f"must be one of {', '.join(ROLES)}"
    if "@" not in email:
        errors["email"] = "enter a valid email address"
    password_problem = _new_password_problem(password)
    if password_problem:
        errors["password"] = password_problem
    if errors:
        raise FieldErrors(errors)
    _refuse_taken_email(tenant_id, email)
    user = User(
        tenant_id=tenant_id,
        email=email,
        name=name,
        role=role,
        password_hash=generate_password_hash(password),
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # the same email added at the same moment elsewhere
        db.session.rollback()
        _refuse_taken_email(tenant_id, email)
        raise FieldErrors({"email": EMAIL_NOT_AVAILABLE}, CONFLICT) from None
    return user


def _refuse_taken_email(tenant_id: int, email: str) -> None:
    owner_tenant = db.session.scalar(select(User.tenant_id).where(User.email == email))
    if owner_tenant == tenant_id:
        raise FieldErrors({"email": f"{email} is already on your team"}, CONFLICT)
    if owner_tenant is not None:
        raise FieldErrors({"email": EMAIL_NOT_AVAILABLE}, CONFLICT)


def set_role(tenant_id: int, user_id: int, role: str, acting: User) -> None:
    user = get_for_tenant(User, user_id, tenant_id)
    if role not in ROLES:
        raise TeamError(f"role must be one of {', '.join(ROLES)}")
    if user.id == acting.id and role != "owner":
        raise TeamError("you cannot remove your own owner role")
    user.role = role
    db.session.commit()


def set_active(tenant_id: int, user_id: int, active: bool, acting: User) -> None:
    user = get_for_tenant(User, user_id, tenant_id)
    if user.id == acting.id and not active:
        raise TeamError("you cannot deactivate yourself")
    user.active = active
    if not active:
        _delete_sessions(user)
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """The user's own change: needs the current password; their other browsers are signed out.
    FieldErrors on "current" or "new", the fields of the password form."""
    if not check_password_hash(user.password_hash, current or ""):
        raise FieldErrors({"current": "that is not your current password"})
    problem = _new_password_problem(new)
    if problem:
        raise FieldErrors({"new": problem})
    user.password_hash = generate_password_hash(new)
    _delete_sessions(user, keep_token=user.session_token)
    db.session.commit()


def _new_password_problem(password: str) -> str | None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return f"use at least {MIN_PASSWORD_LENGTH} characters"
    return None


def authenticate(
    email: str, password: str, address: str, *, max_failures: int, window_seconds: int
) -> User | None:
    """The user when the password is right, None when wrong; LoginThrottled when locked out.

    Failures are counted per email and per client address in the database, so every worker
    and host sees the same count. An attempt is counted (as pending) before its password is
    checked, in the same atomic step that refuses attempts over the limit, so parallel wrong
    passwords cannot all read a count below it. A right password takes its attempt back and
    clears the email's failures.
    """
    email = (email or "").strip().lower()
    email_key, address_key = f"email:{email}", f"ip:{address}"
    _reserve_attempt([email_key, address_key], max_failures, window_seconds)
    user = db.session.scalar(select(User).where(User.email == email))
    # Hash even for unknown emails so response time does not reveal which emails exist.
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    succeeded = user is not None and valid and user.active
    for key in sorted((email_key, address_key)):
        if succeeded:
            failures = 0 if key == email_key else LoginThrottle.failures
        else:
            failures = LoginThrottle.failures + 1
        db.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(
                failures=failures,
                pending=case((LoginThrottle.pending > 0, LoginThrottle.pending - 1), else_=0),
            )
        )
    if succeeded:
        user.last_login_at = utcnow()
    db.session.commit()
    return user if succeeded else None


# How long an attempt waits for attempts still being checked before it is refused: right
# passwords typed at the same moment behind one address are let in one after the other.
PENDING_WAIT_SECONDS = 3.0


def _reserve_attempt(keys: list[str], max_failures: int, window_seconds: int) -> None:
    """Count one pending attempt on every key, or on none, in one transaction.

    Each key's conditional UPDATE locks its row (PostgreSQL) or the database (SQLite) until
    the commit, so a concurrent attempt waits and then sees this one's count. Refused while
    other attempts are pending, it retries until they are settled; refused by failures alone,
    it raises LoginThrottled. A window that is over starts again from zero (which also drops
    pending counts left by a worker that died mid-check).
    """
    keys = sorted(keys)  # one lock order for every attempt: no deadlocks
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    insert = postgresql_insert if postgresql else sqlite_insert
    deadline = time.monotonic() + PENDING_WAIT_SECONDS
    while True:
        now = utcnow()
        db.session.execute(
            insert(LoginThrottle)
            .values(
                [
                    {"key": key, "failures": 0, "pending": 0, "window_started_at": now}
                    for key in keys
                ]
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
        window_over = LoginThrottle.window_started_at < now - timedelta(seconds=window_seconds)
        failures = case((window_over, 0), else_=LoginThrottle.failures)
        pending = case((window_over, 0), else_=LoginThrottle.pending)
        refused_by = None
        for key in keys:
            counted = db.session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == key, failures + pending < max_failures)
                .values(
                    failures=failures,
                    pending=pending + 1,
                    window_started_at=case(
                        (window_over, literal(now, UTCDateTime)),
                        else_=LoginThrottle.window_started_at,
                    ),
                )
                .returning(LoginThrottle.key)
            ).first()
            if counted is None:
                refused_by = db.session.get(LoginThrottle, key, populate_existing=True)
                break
        if refused_by is None:
            db.session.commit()
            return
        still_checking = refused_by.pending > 0
        db.session.rollback()
        if not still_checking or time.monotonic() > deadline:
            raise LoginThrottled()
        time.sleep(0.05)


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def start_session(user: User, *, remember: bool, lifetime: timedelta) -> None:
    """Record a new signed-in browser for `user`; its token becomes part of `user.get_id()`."""
    now = utcnow()
    db.session.execute(
        delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            user_id=user.id, token_hash=_hash(token), remember=remember, expires_at=now + lifetime
        )
    )
    db.session.commit()
    user.session_token = token


def resume_session(user_id: str) -> User | None:
    """The user a session or remember cookie's id names, if that session still exists."""
    number, _, token = (user_id or "").partition(":")
    if not (number.isascii() and number.isdigit()) or not token:
        return None
    login = db.session.scalar(select(LoginSession).where(LoginSession.token_hash == _hash(token)))
    if login is None or login.user_id != int(number) or login.expires_at <= utcnow():
        return None
    user = db.session.get(User, login.user_id)
    if user is None or not user.active:
        return None
    user.session_token = token
    return user


def rotate_session(user: User) -> timedelta:
    """A new token for the same session (expiry kept); returns how long it has left.

    Used when a remember cookie restores a session: the cookie copy just used stops working.
    """
    login = _current_login(user)
    token = secrets.token_urlsafe(32)
    login.token_hash = _hash(token)
    db.session.commit()
    user.session_token = token
    return login.expires_at - utcnow()


def end_session(user: User) -> None:
    """Sign out this browser: its session and remember cookies, and any copy of them, stop."""
    db.session.execute(
        delete(LoginSession).where(LoginSession.token_hash == _hash(user.session_token or ""))
    )
    db.session.commit()


def end_all_sessions(tenant_id: int, user_id: int) -> None:
    """Sign the member out of every browser ("sign out everywhere")."""
    _delete_sessions(get_for_tenant(User, user_id, tenant_id))
    db.session.commit()


def _current_login(user: User) -> LoginSession:
    return db.session.scalars(
        select(LoginSession).where(LoginSession.token_hash == _hash(user.session_token or ""))
    ).one()


def _delete_sessions(user: User, keep_token: str | None = None) -> None:
    condition = LoginSession.user_id == user.id
    if keep_token:
        condition &= LoginSession.token_hash != _hash(keep_token)
    db.session.execute(delete(LoginSession).where(condition))


def prune_logins(now: datetime, window_seconds: int) -> int:
    """Delete expired sign-in sessions and throttle rows whose window is over with nothing
    being checked; returns how many rows went. Run by `tick`."""
    ended = db.session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    idle = db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.window_started_at < now - timedelta(seconds=window_seconds),
            LoginThrottle.pending == 0,
        )
    )
    db.session.commit()
    return ended.rowcount + idle.rowcount


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
