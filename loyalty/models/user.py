"""Team members who log in to the dashboard, their sign-in sessions and the login throttle."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TenantScoped, Timestamps, UTCDateTime, utcnow
from .tenant import Tenant

ROLES = ("owner", "staff")


class User(UserMixin, TenantScoped, Timestamps, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="staff")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    tenant: Mapped[Tenant] = relationship(lazy="joined")

    # The token of the sign-in session this object was loaded for (not a column): Flask-Login
    # keeps get_id() in the session and remember cookies, so ending that LoginSession row
    # ends every copy of those cookies.
    session_token = None

    def get_id(self) -> str:
        if not self.session_token:
            raise RuntimeError("sign the user in through services.setup.team.start_session first")
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of deactivated members
        return self.active

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


class LoginSession(db.Model):
    """One signed-in browser. Only a hash of its token is kept, so a database copy opens none."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginThrottle(db.Model):
    """Login attempts in the current window for 'email:<address>' or 'ip:<address>'.

    One row per key, changed by a single conditional UPDATE, so counting an attempt and
    refusing one over the limit is one atomic step for every worker and host. `pending` counts
    attempts whose password is being checked right now: they count against the limit until
    they turn out right (and are taken back) or wrong (and become failures).
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
