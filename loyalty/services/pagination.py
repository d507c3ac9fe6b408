"""Lists shown a page at a time: one page of rows and the total that numbers the pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.sql.base import ExecutableOption

from ..extensions import db

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


def paginate(
    model: type[Row],
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    page: int,
    per_page: int,
    options: Sequence[ExecutableOption] = (),
) -> Page[Row]:
    """Rows `page` (from 1; lower numbers read as 1) of `model` matching `where`."""
    page = max(page, 1)
    items = list(
        db.session.scalars(
            select(model)
            .where(*where)
            .options(*options)
            .order_by(*order_by)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    total = db.session.scalar(select(func.count()).select_from(model).where(*where))
    return Page(items, total, page, per_page)
