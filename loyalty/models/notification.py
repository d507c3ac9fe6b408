"""Notifications: the outbox of messages waiting for a sender, customers' push devices, and each
restaurant's choice of sender, quiet hours and daily limit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TenantScoped, UTCDateTime, utcnow

# Messages a campaign sends: they need marketing consent, wait out quiet hours and count
# towards the daily limit. The others (a test, a one-time sign-in code) go straight away.
CAMPAIGN_KINDS = ("campaign_message", "coupon_expiry", "dynamic_join", "specific_time")
MESSAGE_KINDS = (*CAMPAIGN_KINDS, "test", "one_time_code")
SENDER_KINDS = ("log", "smtp", "webhook")
SMTP_SECURITY = ("none", "starttls", "ssl")
PUSH_PLATFORMS = ("ios", "android", "web")


class OutboxMessage(TenantScoped, db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        # The delivery scan reads only what is still waiting, in due order; sent and failed
        # rows, the vast majority, stay out of the index.
        Index(
            "ix_outbox_messages_due",
            "next_attempt_at",
            sqlite_where=text("status IN ('queued', 'held')"),
            postgresql_where=text("status IN ('queued', 'held')"),
        ),
        # The daily limit counts an account's campaign messages sent since local midnight.
        Index("ix_outbox_messages_account_sent", "account_id", "sent_at"),
        # The Notifications page lists the latest; a campaign page counts its own by status.
        Index("ix_outbox_messages_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_outbox_messages_tenant_campaign", "tenant_id", "campaign_key", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a test message, which goes to the team member who asked for it.
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True
    )
    campaign_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    membership_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_memberships.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # queued: waiting for its next attempt; held: waiting out quiet hours or the daily limit;
    # sent; failed: out of attempts, or the customer can no longer be written to.
    status: Mapped[str] = mapped_column(String(8), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a delivery run took it for sending (cleared when the outcome is written): the daily
    # limit counts it from then, so two hosts cannot both send an account its one message.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What went wrong, in a few words written by the sender: never an address or a secret.
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account = relationship("Account")


class PushDevice(TenantScoped, db.Model):
    """A phone or browser a customer's app registered for push messages."""

    __tablename__ = "push_devices"
    __table_args__ = (UniqueConstraint("account_id", "token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(512))
    platform: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationSettings(db.Model):
    """How one restaurant's messages are sent; no row means the defaults (the log sender)."""

    __tablename__ = "notification_settings"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    sender: Mapped[str] = mapped_column(String(8), default="log")
    smtp_host: Mapped[str | None] = mapped_column(String(253), nullable=True)
    smtp_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    smtp_security: Mapped[str] = mapped_column(String(8), default="starttls")
    smtp_username: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # Secrets are kept as given, since they must be presented to the server; pages show only
    # whether one is set (and the secret's first characters), logs never show them.
    smtp_password: Mapped[str | None] = mapped_column(String(256), nullable=True)
    smtp_from: Mapped[str | None] = mapped_column(String(254), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Local hours in the tenant's time zone: no campaign message from start until end.
    quiet_hours_start: Mapped[int] = mapped_column(Integer, default=21)
    quiet_hours_end: Mapped[int] = mapped_column(Integer, default=9)
    # Campaign messages per account per local day; None = no limit (so no column default: the
    # ORM would write it over an explicit None; new rows get 1 from services.notifications).
    daily_campaign_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
