"""Deliverect registrations linking their account/profile to a tenant, and the webhook call log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import Timestamps, UTCDateTime, utcnow


class DeliverectLink(Timestamps, db.Model):
    __tablename__ = "deliverect_links"
    __table_args__ = (UniqueConstraint("deliverect_account_id", "loyalty_profile_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    deliverect_account_id: Mapped[str] = mapped_column(String(64), index=True)
    loyalty_profile_id: Mapped[str] = mapped_column(String(64))
    registration_count: Mapped[int] = mapped_column(Integer, default=1)


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
