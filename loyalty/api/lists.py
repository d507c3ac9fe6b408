"""react-admin lists: json-server `_start/_end/_sort/_order` and simple-rest `range/sort/filter`
paging in, a bare JSON array with `X-Total-Count` and `Content-Range` out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from .errors import ApiError

MAX_PAGE = 500
DEFAULT_PAGE = 25
# Far past any real list, and within what the databases take as an OFFSET.
MAX_OFFSET = 10_000_000


class ListQuery(BaseModel):
    """The paging and sorting parameters every list takes; a list's filters extend it."""

    # A filter={...} object may give numbers for text filters (an id typed as 42).
    model_config = ConfigDict(populate_by_name=True, extra="ignore", coerce_numbers_to_str=True)

    start: int | None = Field(None, alias="_start", ge=0, le=MAX_OFFSET)
    end: int | None = Field(None, alias="_end", ge=0, le=MAX_OFFSET)
    sort_field: str | None = Field(None, alias="_sort", max_length=64)
    # Spelled out rather than (?i:...): OpenAPI tools read patterns as ECMAScript regexes.
    sort_order: str | None = Field(
        None, alias="_order", pattern="^([aA][sS][cC]|[dD][eE][sS][cC])$"
    )
    range: str | None = Field(
        None, max_length=64, description='simple-rest paging: "[first, last]", both included'
    )
    sort: str | None = Field(None, max_length=128, description='simple-rest: ["field", "ASC"]')
    filter: str | None = Field(
        None, max_length=4096, description="simple-rest: a JSON object of the list's filters"
    )


@dataclass(frozen=True)
class Paging:
    offset: int
    limit: int
    sort: str
    descending: bool


def paging(query: ListQuery, sortable: Sequence[str], default_sort: str) -> Paging:
    """Where the page starts, how long it is and its order; unknown sort fields are a 400."""
    offset, limit = 0, DEFAULT_PAGE
    if query.range is not None:
        first, last = _json_pair(query.range, "range", int)
        if first < 0 or last < first or last > MAX_OFFSET:
            raise ApiError(
                400, f"range must be [first, last] with 0 <= first <= last <= {MAX_OFFSET}", "range"
            )
        offset, limit = first, last - first + 1
    elif query.start is not None or query.end is not None:
        offset = query.start or 0
        end = query.end if query.end is not None else offset + DEFAULT_PAGE
        if end < offset:
            raise ApiError(400, "_end must not be before _start", "_end")
        limit = end - offset
    sort, order = default_sort, "ASC"
    if query.sort is not None:
        sort, order = _json_pair(query.sort, "sort", str)
        where = "sort"
    else:
        sort = query.sort_field or default_sort
        order = query.sort_order or "ASC"
        where = "_sort"
    if sort not in sortable:
        raise ApiError(400, f"sort by one of {', '.join(sortable)}", where)
    if order.upper() not in ("ASC", "DESC"):
        raise ApiError(400, "the order is ASC or DESC", where)
    return Paging(offset, min(limit, MAX_PAGE), sort, order.upper() == "DESC")


def list_response(items: list, total: int, page: Paging) -> Response:
    response = jsonify(items)
    response.headers["X-Total-Count"] = str(total)
    last = page.offset + len(items) - 1
    response.headers["Content-Range"] = (
        f"items {page.offset}-{last}/{total}" if items else f"items */{total}"
    )
    return response


def _json_pair(text: str, name: str, kind: type) -> tuple:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value)
    ):
        raise ApiError(400, f"{name} must be a JSON pair of {kind.__name__}s", name)
    return tuple(value)
