"""Read-only history of one account for its page: ledger entries and orders, paginated."""

from __future__ import annotations

from sqlalchemy.orm import joinedload

from ...models import LedgerEntry, Order
from ..pagination import Page, paginate


def ledger_page(
    tenant_id: int, account_id: int, page: int = 1, per_page: int = 20
) -> Page[LedgerEntry]:
    """Entries newest first, each with its order, reward and team member loaded."""
    return paginate(
        LedgerEntry,
        (LedgerEntry.tenant_id == tenant_id, LedgerEntry.account_id == account_id),
        (LedgerEntry.created_at.desc(), LedgerEntry.id.desc()),
        page,
        per_page,
        options=(
            joinedload(LedgerEntry.order),
            joinedload(LedgerEntry.reward),
            joinedload(LedgerEntry.user),
        ),
    )


def orders_page(tenant_id: int, account_id: int, page: int = 1, per_page: int = 10) -> Page[Order]:
    return paginate(
        Order,
        (Order.tenant_id == tenant_id, Order.account_id == account_id),
        (Order.ordered_at.desc(), Order.id.desc()),
        page,
        per_page,
    )
