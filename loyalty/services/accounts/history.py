"""Read-only history of one account for its page: ledger entries and orders, paginated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import joinedload
from sqlalchemy.sql.base import ExecutableOption

from ...models import LedgerEntry, Order
from ..pagination import Page, paginate

Row = TypeVar("Row")


def account_page(
    model: type[Row],
    moment: Any,
    tenant_id: int,
    account_id: int,
    page: int,
    per_page: int,
    options: Sequence[ExecutableOption] = (),
) -> Page[Row]:
    """One page of the account's `model` rows, latest `moment` first (newest id on a tie)."""
    return paginate(
        model,
        (model.tenant_id == tenant_id, model.account_id == account_id),
        (moment.desc(), model.id.desc()),
        page,
        per_page,
        options=options,
    )


def ledger_page(
    tenant_id: int, account_id: int, page: int = 1, per_page: int = 20
) -> Page[LedgerEntry]:
    """Entries newest first, each with its order, reward and team member loaded."""
    options = (
        joinedload(LedgerEntry.order),
        joinedload(LedgerEntry.reward),
        joinedload(LedgerEntry.user),
    )
    return account_page(
        LedgerEntry, LedgerEntry.created_at, tenant_id, account_id, page, per_page, options
    )


def orders_page(tenant_id: int, account_id: int, page: int = 1, per_page: int = 10) -> Page[Order]:
    return account_page(Order, Order.ordered_at, tenant_id, account_id, page, per_page)
