"""Team members: creation, roles, deactivation and throttled password login."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import FailedLogin, Tenant, User, utcnow
from ..models.user import ROLES

MIN_PASSWORD_LENGTH = 8


class TeamError(ValueError):
    pass


class LoginThrottled(Exception):
    """Too many recent failures for this email or this address."""


def team_members(tenant: Tenant) -> list[User]:
    """Everyone with a login, those who can still sign in first, then by email."""
    return list(
        db.session.scalars(
            select(User).where(User.tenant_id == tenant.id).order_by(User.active.desc(), User.email)
        )
    )


def create_user(
    tenant: Tenant, email: str, password: str, role: str = "staff", name: str = ""
) -> User:
    email = email.strip().lower()
    if role not in ROLES:
        raise TeamError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        raise TeamError("enter a valid email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise TeamError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise TeamError(f"{email} already has a login")
    user = User(
        tenant_id=tenant.id,
        email=email,
        name=name,
        role=role,
        password_hash=generate_password_hash(password),
    )
    db.session.add(user)
    db.session.commit()
    return user


def set_role(tenant: Tenant, user: User, role: str, acting: User) -> None:
    if role not in ROLES:
        raise TeamError(f"role must be one of {', '.join(ROLES)}")
    if user.id == acting.id and role != "owner":
        raise TeamError("you cannot remove your own owner role")
    user.role = role
    db.session.commit()


def set_active(tenant: Tenant, user: User, active: bool, acting: User) -> None:
    if user.id == acting.id and not active:
        raise TeamError("you cannot deactivate yourself")
    user.active = active
    db.session.commit()


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise TeamError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = generate_password_hash(password)
    db.session.commit()


def authenticate(
    email: str, password: str, address: str, *, max_failures: int, window_seconds: int
) -> User | None:
    """The user when the password is right, None when wrong; LoginThrottled when locked out.

    Failures are counted per email and per client address in the database, so every worker
    and host sees the same count; a success clears the email's count.
    """
    email = (email or "").strip().lower()
    keys = [f"email:{email}", f"ip:{address}"]
    since = utcnow() - timedelta(seconds=window_seconds)
    for key in keys:
        failures = db.session.scalar(
            select(func.count())
            .select_from(FailedLogin)
            .where(FailedLogin.key == key, FailedLogin.created_at >= since)
        )
        if failures >= max_failures:
            raise LoginThrottled()
    user = db.session.scalar(select(User).where(User.email == email))
    # Hash even for unknown emails so response time does not reveal which emails exist.
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    if user is None or not valid or not user.active:
        db.session.add_all(FailedLogin(key=key) for key in keys)
        db.session.commit()
        return None
    db.session.execute(delete(FailedLogin).where(FailedLogin.key == keys[0]))
    user.last_login_at = utcnow()
    db.session.commit()
    return user


_DUMMY_HASH = generate_password_hash("not-a-real-password")
