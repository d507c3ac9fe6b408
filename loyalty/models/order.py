"""Orders Deliverect reported: what they earned and spent, and whether they were cancelled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TenantScoped, UTCDateTime, utcnow

# placed: recorded; cancelled: reversed; cancel_pending: a cancel that arrived before its order.
ORDER_STATUSES = ("placed", "cancelled", "cancel_pending")
REVIEW_STATUSES = ("flagged", "credited", "dismissed")


class Order(TenantScoped, db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        Index("ix_orders_account_ordered", "account_id", "ordered_at"),
        Index("ix_orders_tenant_ordered", "tenant_id", "ordered_at"),
        # Members' placed orders by time, with the account and location: active members (of
        # one location too) counted from the index alone.
        Index(
            "ix_orders_member_activity",
            "tenant_id",
            "ordered_at",
            "account_id",
            "location_id",
            sqlite_where=text("status = 'placed' AND account_id IS NOT NULL"),
            postgresql_where=text("status = 'placed' AND account_id IS NOT NULL"),
        ),
        # Only the few orders waiting for the team: Home counts them on every load.
        Index(
            "ix_orders_held_for_review",
            "tenant_id",
            "ordered_at",
            sqlite_where=text("review_status = 'flagged'"),
            postgresql_where=text("review_status = 'flagged'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128))  # Deliverect orderId
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), default="placed")
    channel_order_display_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    location_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel_link_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    order_type: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decimal_digits: Mapped[int] = mapped_column(Integer, default=2)
    sub_total: Mapped[int] = mapped_column(Integer, default=0)
    discount_total: Mapped[int] = mapped_column(Integer, default=0)  # negative, as sent
    payment_amount: Mapped[int] = mapped_column(Integer, default=0)
    tip: Mapped[int] = mapped_column(Integer, default=0)
    points_earned: Mapped[int] = mapped_column(Integer, default=0)
    points_spent: Mapped[int] = mapped_column(Integer, default=0)
    cash_spent: Mapped[int] = mapped_column(Integer, default=0)
    # Points the order named but the customer no longer had: recorded for the team to review.
    shortfall_points: Mapped[int] = mapped_column(Integer, default=0)
    # An order over the restaurant's caps credits nothing: "flagged" for the team, then
    # "credited" if an owner credits the withheld points anyway, or "dismissed" if an owner
    # decides it earns nothing (None: never needed review).
    review_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    review_reason: Mapped[str | None] = mapped_column(String(128), nullable=True)
    points_withheld: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What each earning rule gave it (rules.earning.Breakdown.earned), credited or withheld:
    # a later credit writes these parts, and a visit rule counts the visits of the day here.
    earning_breakdown: Mapped[list | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    cancellation_reason: Mapped[str | None] = mapped_column(String(256), nullable=True)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)

    account = relationship("Account")
