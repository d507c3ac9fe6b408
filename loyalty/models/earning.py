"""A restaurant's earning rules: per spend, per visit, per item (stamps) and bonus multipliers.

One row per rule, read into rules.earning.EarningRule; which columns matter depends on `kind`
(see there). What an order earned is stored with its earn entry (LedgerEntry.breakdown) and
its order (Order.earning_breakdown), so editing or deleting a rule never changes points
already earned.
"""

from __future__ import annotations

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TenantScoped, Timestamps


class EarningRule(TenantScoped, Timestamps, db.Model):
    __tablename__ = "earning_rules"
    __table_args__ = (Index("ix_earning_rules_tenant_position", "tenant_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)  # the order the team sees them in
    points: Mapped[int] = mapped_column(Integer, default=0)
    per_amount: Mapped[int] = mapped_column(Integer, default=0)  # spend: minor units per step
    min_amount: Mapped[int] = mapped_column(Integer, default=0)  # visit: minor units
    per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)  # visit; None: no limit
    plus: Mapped[list] = mapped_column(JSON, default=list)  # item and bonus: PLUs
    multiplier_percent: Mapped[int] = mapped_column(Integer, default=100)  # bonus
    weekdays: Mapped[list] = mapped_column(JSON, default=list)  # bonus: 0 Monday .. 6 Sunday
    starts_at: Mapped[int | None] = mapped_column(Integer, nullable=True)  # minutes, local
    ends_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cap: Mapped[int | None] = mapped_column(Integer, nullable=True)  # bonus: per order

    def __repr__(self) -> str:
        return f"<EarningRule {self.kind} {self.name!r}>"
