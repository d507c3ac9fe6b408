"""Team members who log in to the dashboard, and the failed-login record that throttles them."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Index, String
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

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of deactivated members
        return self.active

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


class FailedLogin(db.Model):
    """One failed attempt, keyed by 'email:<address>' or 'ip:<address>'; shared by all workers."""

    __tablename__ = "failed_logins"
    __table_args__ = (Index("ix_failed_logins_key_created", "key", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
