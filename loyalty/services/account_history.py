"""Read-only history of one account for its page: ledger entries and orders, paginated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import LedgerEntry, Order

Row = TypeVar("Row")


@dataclass(frozen=True)
class Page(Generic[Row]):
    items: list[Row]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def ledger_page(
    tenant_id: int, account_id: int, page: int = 1, per_page: int = 20
) -> Page[LedgerEntry]:
    """Entries newest first, each with its order, reward and team member loaded."""
    where = (LedgerEntry.tenant_id == tenant_id, LedgerEntry.account_id == account_id)
    page = max(page, 1)
    entries = list(
        db.session.scalars(
            select(LedgerEntry)
            .where(*where)
            .options(
                joinedload(LedgerEntry.order),
                joinedload(LedgerEntry.reward),
                joinedload(LedgerEntry.user),
            )
            .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    total = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(*where))
    return Page(entries, total, page, per_page)


def orders_page(tenant_id: int, account_id: int, page: int = 1, per_page: int = 10) -> Page[Order]:
    where = (Order.tenant_id == tenant_id, Order.account_id == account_id)
    page = max(page, 1)
    orders = list(
        db.session.scalars(
            select(Order)
            .where(*where)
            .order_by(Order.ordered_at.desc(), Order.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    total = db.session.scalar(select(func.count()).select_from(Order).where(*where))
    return Page(orders, total, page, per_page)
