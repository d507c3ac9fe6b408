"""The webhook call log: one short row per call, personal data redacted, kept for a bounded time."""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from ..extensions import db
from ..models import WebhookCall, utcnow

log = logging.getLogger(__name__)

# Keys whose values identify a person or unlock something; matched case-insensitively.
_PERSONAL_KEYS = {
    "email",
    "phonenumber",
    "phoenumber",  # a typo Deliverect's own examples carry
    "phone",
    "name",
    "firstname",
    "lastname",
    "dateofbirth",
    "birthdate",
    "address",
    "street",
    "note",
}
_SECRET_HINTS = ("apikey", "secret", "token", "password", "authorization")
_SECRET_KEYS = {"code"}  # the single-use SSO code
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
# International numbers only: bare digit strings are PLUs and ids, which the team needs to see.
_PHONE = re.compile(r"^(\+|00)[\d\s().-]{6,20}$")
SUMMARY_LIMIT = 2000
# One call in this many also deletes expired rows, so no cron is needed for the log.
PRUNE_ONE_IN = 200
STATUS_CLASSES = ("2xx", "4xx", "5xx")


def redact(value: Any, key: str = "") -> Any:
    """A copy with secrets and personal data replaced; ids, amounts and PLUs stay readable."""
    lowered = key.lower()
    if lowered in _SECRET_KEYS or any(hint in lowered for hint in _SECRET_HINTS):
        return "[secret]" if value not in (None, "") else value
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item, key) for item in value]
    if isinstance(value, str):
        if lowered in _PERSONAL_KEYS and value:
            return "[redacted]"
        # Marketplaces send whatever the shopper typed as an id: hide anything that looks personal.
        if _EMAIL.search(value) or _PHONE.match(value.strip()):
            return "[redacted]"
    return value


def summarise(value: Any) -> str | None:
    """Redacted, compact JSON, cut to SUMMARY_LIMIT characters."""
    if value is None:
        return None
    text = json.dumps(redact(value), separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


def record_call(
    *,
    tenant_id: int | None,
    endpoint: str,
    method: str,
    status: int,
    latency_ms: int,
    error: str | None = None,
    request_summary: str | None = None,
    response_summary: str | None = None,
    retention_days: int = 14,
) -> None:
    """Store one call in its own short transaction; a logging failure never fails the webhook."""
    try:
        db.session.add(
            WebhookCall(
                tenant_id=tenant_id,
                endpoint=endpoint[:64],
                method=method[:8],
                status=status,
                latency_ms=max(0, latency_ms),
                error=(error or None) and error[:SUMMARY_LIMIT],
                request_summary=request_summary,
                response_summary=response_summary,
            )
        )
        db.session.commit()
        if random.randrange(PRUNE_ONE_IN) == 0:
            prune(utcnow(), retention_days)
    except Exception:  # the call already has its answer; losing a log row must not change it
        db.session.rollback()
        log.exception("could not record a webhook call")


def prune(now: datetime, retention_days: int) -> int:
    """Delete calls older than the retention period; returns how many went."""
    cutoff = now - timedelta(days=max(0, retention_days))
    deleted = db.session.execute(
        delete(WebhookCall)
        .where(WebhookCall.created_at < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return deleted or 0


@dataclass(frozen=True)
class CallFilter:
    endpoint: str | None = None
    status_class: str | None = None  # "2xx" | "4xx" | "5xx"


def recent_calls(tenant_id: int, filters: CallFilter, limit: int = 100) -> list[WebhookCall]:
    query = select(WebhookCall).where(WebhookCall.tenant_id == tenant_id)
    if filters.endpoint:
        query = query.where(WebhookCall.endpoint == filters.endpoint)
    if filters.status_class in STATUS_CLASSES:
        low = int(filters.status_class[0]) * 100
        query = query.where(WebhookCall.status >= low, WebhookCall.status < low + 100)
    query = query.order_by(WebhookCall.created_at.desc(), WebhookCall.id.desc()).limit(limit)
    return list(db.session.scalars(query))


def endpoints_seen(tenant_id: int) -> list[str]:
    rows: Iterable[str] = db.session.scalars(
        select(WebhookCall.endpoint).where(WebhookCall.tenant_id == tenant_id).distinct()
    )
    return sorted(rows)
