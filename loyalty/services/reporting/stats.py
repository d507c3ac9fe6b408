"""Read-only figures for the dashboard, computed set-based in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ...extensions import db
from ...models import Account, LedgerEntry, Order


@dataclass(frozen=True)
class Headline:
    accounts: int
    new_accounts: int
    points_earned: int
    points_redeemed: int
    orders: int
    days: int


def headline(tenant_id: int, now: datetime, days: int = 30) -> Headline:
    since = now - timedelta(days=days)
    accounts = db.session.scalar(
        select(func.count())
        .select_from(Account)
        .where(Account.tenant_id == tenant_id, ~Account.retired)
    )
    new_accounts = db.session.scalar(
        select(func.count())
        .select_from(Account)
        .where(
            Account.tenant_id == tenant_id,
            ~Account.retired,
            Account.created_at >= since,
        )
    )
    recent_points = (
        LedgerEntry.tenant_id == tenant_id,
        LedgerEntry.unit == "points",
        LedgerEntry.created_at >= since,
    )
    earned = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            *recent_points, LedgerEntry.kind.in_(("earn", "campaign_credit"))
        )
    )
    redeemed = db.session.scalar(
        select(func.coalesce(func.sum(-LedgerEntry.amount), 0)).where(
            *recent_points, LedgerEntry.kind == "redeem"
        )
    )
    orders = db.session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.tenant_id == tenant_id, Order.status == "placed", Order.ordered_at >= since)
    )
    return Headline(accounts, new_accounts, earned, redeemed, orders, days)
