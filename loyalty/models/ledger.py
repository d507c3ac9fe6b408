"""The append-only points and cash ledger, and the holds that reserve points during checkout."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TenantScoped, UTCDateTime, utcnow

# "debt" entries move Account.points_debt: points a cancel could not take back (rules.debt).
UNITS = ("points", "cash", "debt")
KINDS = (
    "earn",
    "redeem",
    "adjust",
    "expire",
    "reversal",
    "campaign_credit",
    "opening",
    "merge",
    "debt_repayment",
)


class LedgerEntry(TenantScoped, db.Model):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_ledger_account_created", "account_id", "created_at"),
        Index("ix_ledger_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    unit: Mapped[str] = mapped_column(String(8), default="points")
    kind: Mapped[str] = mapped_column(String(24))
    amount: Mapped[int] = mapped_column(Integer)  # signed: credits positive, debits negative
    balance_after: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), nullable=True, index=True
    )
    reward_id: Mapped[int | None] = mapped_column(
        ForeignKey("rewards.id", ondelete="SET NULL"), nullable=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # An earn (or its reversal): which rule gave what, as it was when written, e.g.
    # [{"rule": 3, "kind": "spend", "label": "spend", "points": 10}, ...]; None for other kinds.
    breakdown: Mapped[list | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    # Earned points expire at this time (None = never).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User")
    reward = relationship("Reward")
    order = relationship("Order")


HOLD_STATUSES = ("held", "committed", "released", "expired")


class Hold(TenantScoped, db.Model):
    """Points reserved by a validated program during one checkout session."""

    __tablename__ = "holds"
    __table_args__ = (
        Index("ix_holds_account_status", "account_id", "status"),
        Index("ix_holds_tenant_session", "tenant_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(128))
    points: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="held")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    reward = relationship("Reward")
