"""URL converters of the dashboard's routes."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

from ..services.scoping import MAX_ROW_ID


class RowIdConverter(IntegerConverter):
    """`<int:…>` in our routes names a row: a number past any row id is 404, not an overflow."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002  (werkzeug's name)
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)
