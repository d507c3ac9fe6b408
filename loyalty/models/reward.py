"""Rewards: what points buy. Listed to Deliverect as loyalty programs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..rules.availability import Availability, availability
from .base import TenantScoped, Timestamps, UTCDateTime
from .tier import Tier


class Reward(TenantScoped, Timestamps, db.Model):
    __tablename__ = "rewards"
    __table_args__ = (UniqueConstraint("tenant_id", "program_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id Deliverect sees (always a string); kept from imports so re-imports update.
    program_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(32))  # rules.programs.REWARD_TYPES
    cost: Mapped[int] = mapped_column(Integer, default=0)  # points
    # Minor units; hundredths of a percent for percentage types; the new price for item_fixed_price.
    value: Mapped[int] = mapped_column(Integer, default=0)
    item_plu: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    min_order_value: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    active_to: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    media_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    media_type: Mapped[str | None] = mapped_column(String(8), nullable=True)  # image | video
    min_tier_id: Mapped[int | None] = mapped_column(
        ForeignKey("tiers.id", ondelete="SET NULL"), nullable=True
    )
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    min_tier: Mapped[Tier | None] = relationship()

    def availability(self, now: datetime) -> Availability:
        """Live, scheduled, ended or archived at `now` (rules.availability)."""
        return availability(self.active_from, self.active_to, now, self.archived_at is not None)
