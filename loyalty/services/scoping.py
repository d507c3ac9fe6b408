"""The one tenant-scoping helper: fetch a row only if it belongs to the tenant, else 404."""

from __future__ import annotations

from typing import TypeVar

from werkzeug.exceptions import NotFound

from ..extensions import db

Model = TypeVar("Model")

# Row ids are 32-bit on PostgreSQL (SERIAL); a larger number names no row, and passing it to the
# database would be an overflow error (SQLite) rather than "not found".
MAX_ROW_ID = 2**31 - 1


def parse_row_id(text: str | None) -> int | None:
    """A row id typed into a form or query string: ASCII digits within range, else None."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None


def get_for_tenant(model: type[Model], row_id: int, tenant_id: int) -> Model:
    """Another tenant's row answers 404 exactly like a missing one: existence is not leaked."""
    row = db.session.get(model, row_id) if 0 < row_id <= MAX_ROW_ID else None
    if row is None or row.tenant_id != tenant_id:
        raise NotFound()
    return row
