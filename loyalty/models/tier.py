"""Tiers: reached by lifetime points, they multiply what an order earns."""

from __future__ import annotations

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TenantScoped, Timestamps


class Tier(TenantScoped, Timestamps, db.Model):
    __tablename__ = "tiers"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    # Lifetime points needed to reach the tier.
    threshold_points: Mapped[int] = mapped_column(Integer, default=0)
    # Earning multiplier in hundredths: 150 = ×1.5.
    multiplier_percent: Mapped[int] = mapped_column(Integer, default=100)
    media_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
