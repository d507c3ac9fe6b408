"""Guests' own side: their sign-in sessions on the member pages, the restaurant's web shops,
and the Deliverect single sign-on codes and tokens that carry a signed-in guest into a shop."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TenantScoped, Timestamps, UTCDateTime, utcnow


class GuestSession(TenantScoped, db.Model):
    """One phone signed in to the member pages. Only a hash of its token is kept; deleting the
    row (sign out, erasure, merge) ends every copy of the cookie that names it."""

    __tablename__ = "guest_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebShop(TenantScoped, Timestamps, db.Model):
    """A Deliverect web shop of the restaurant: the guest pages offer "Order online" to each."""

    __tablename__ = "web_shops"
    __table_args__ = (UniqueConstraint("tenant_id", "channel_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    channel_link_id: Mapped[str] = mapped_column(String(64))
    # Where Deliverect sends the guest after signing them in (the SSO returnUrl).
    shop_url: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)


class SsoCode(TenantScoped, db.Model):
    """A single-use code that a guest's "Order online" hands to Deliverect, which exchanges it
    at our token endpoint for an access token; only its hash is kept."""

    __tablename__ = "sso_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    shop_id: Mapped[int | None] = mapped_column(
        ForeignKey("web_shops.id", ondelete="SET NULL"), nullable=True, index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SsoToken(TenantScoped, db.Model):
    """An access token (and its refresh token) issued to Deliverect for one guest: Get Customer
    with `Authorization: Bearer` answers that guest. Only hashes are kept."""

    __tablename__ = "sso_tokens"
    __table_args__ = (Index("ix_sso_tokens_account", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    scope: Mapped[str] = mapped_column(String(64), default="")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
