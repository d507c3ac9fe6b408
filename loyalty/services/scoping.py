"""The one tenant-scoping helper: fetch a row only if it belongs to the tenant, else 404."""
from __future__ import annotations

from typing import TypeVar

from werkzeug.exceptions import NotFound

from ..extensions import db

Model = TypeVar("Model")


def get_for_tenant(model: type[Model], row_id: int, tenant_id: int) -> Model:
    """Another tenant's row answers 404 exactly like a missing one: existence is not leaked."""
    row = db.session.get(model, row_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound()
    return row
