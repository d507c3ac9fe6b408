"""Deliverect registrations linking their account/profile to a tenant, and the webhook call log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import Timestamps, UTCDateTime, utcnow


class DeliverectAccount(Timestamps, db.Model):
    """A Deliverect account and the one tenant it belongs to, whatever its loyalty profiles.

    Calls that carry only the accountId (tiers, orders) find their tenant through it, so a
    second tenant registering the same account would make them ambiguous: the unique account
    id, and the links' foreign key to (tenant, account), let the database refuse that.
    """

    __tablename__ = "deliverect_accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "deliverect_account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    deliverect_account_id: Mapped[str] = mapped_column(String(64), unique=True)


class DeliverectLink(Timestamps, db.Model):
    __tablename__ = "deliverect_links"
    __table_args__ = (
        UniqueConstraint("deliverect_account_id", "loyalty_profile_id"),
        # The link's tenant is its account's tenant.
        ForeignKeyConstraint(
            ["tenant_id", "deliverect_account_id"],
            ["deliverect_accounts.tenant_id", "deliverect_accounts.deliverect_account_id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    deliverect_account_id: Mapped[str] = mapped_column(String(64), index=True)
    loyalty_profile_id: Mapped[str] = mapped_column(String(64))
    registration_count: Mapped[int] = mapped_column(Integer, default=1)


class RefusedRegistration(Timestamps, db.Model):
    """A tenant's registration refused because its Deliverect account belongs to another tenant;
    both Integration pages show it. created_at is the first attempt, updated_at the last."""

    __tablename__ = "deliverect_refused_registrations"
    __table_args__ = (UniqueConstraint("tenant_id", "deliverect_account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    owner_tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    deliverect_account_id: Mapped[str] = mapped_column(String(64))
    loyalty_profile_id: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=1)


class WebhookCall(db.Model):
    """One call to a webhook: kept for a bounded time, personal data redacted, no secrets."""

    __tablename__ = "webhook_calls"
    __table_args__ = (Index("ix_webhook_calls_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True
    )
    endpoint: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    status: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    request_summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
