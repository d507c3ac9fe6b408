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

from sqlalchemy import bindparam, column, delete, func, insert, select, text

from ...extensions import db
from ...models import WebhookCall, utcnow

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
_SECRET_HINTS = ("apikey", "secret", "password", "authorization")
# Exact names (a "token" hint would also hide token_type): the single-use SSO code, and tokens.
_SECRET_KEYS = {
    "code",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "accesstoken",  # accessToken, lowered
    "refreshtoken",
    "idtoken",
}
# "Looks like an e-mail": an @ between two characters that are neither space nor @. Same strings
# as `[^@\s]+@[^@\s]+`, but fixed-width, so a search costs linear time on any input (the
# unbounded form backtracked quadratically on long strings without an @).
_EMAIL = re.compile(r"[^@\s]@[^@\s]")
# International numbers only: bare digit strings are PLUs and ids, which the team needs to see.
_PHONE = re.compile(r"^(\+|00)[\d\s().-]{6,20}$")
SUMMARY_LIMIT = 2000
# Deeper than this, a summary shows "…": the walk recurses, and nobody reads level 40.
SUMMARY_DEPTH = 32
# One call in this many also deletes expired rows, so no cron is needed for the log.
PRUNE_ONE_IN = 200
STATUS_CLASSES = ("2xx", "4xx", "5xx")


def _secret_key(lowered: str) -> bool:
    return lowered in _SECRET_KEYS or any(hint in lowered for hint in _SECRET_HINTS)


def _personal_text(lowered: str, value: str) -> bool:
    if lowered in _PERSONAL_KEYS and value:
        return True
    # Marketplaces send whatever the shopper typed as an id: hide anything that looks personal.
    return bool(_EMAIL.search(value) or _PHONE.match(value.strip()))


def redact(value: Any, key: str = "") -> Any:
    """A copy with secrets and personal data replaced; ids, amounts and PLUs stay readable."""
    lowered = key.lower()
    if _secret_key(lowered):
        return "[secret]" if value not in (None, "") else value
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item, key) for item in value]
    if isinstance(value, str) and _personal_text(lowered, value):
        return "[redacted]"
    return value


# Ids that name each element of a list answer (programs, tiers, orders), first match wins.
_LIST_ID_KEYS = ("programId", "providerId", "orderId", "name", "id")
LIST_IDS_SHOWN = 5


def summarise(value: Any) -> str | None:
    """Redacted, compact JSON, cut to SUMMARY_LIMIT characters.

    Costs what is kept, not what was sent: the JSON is written and redacted piece by piece and
    writing stops at the limit. A list of objects (the programs answer) is summed up as its
    length and the first few ids, plus how many are applicable when the objects say so.
    """
    if value is None:
        return None
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        value = _list_digest(value)
    writer = _SummaryWriter()
    writer.write(value, "", 0)
    text = "".join(writer.parts)
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


def _list_digest(items: list[dict]) -> dict:
    digest: dict[str, Any] = {"count": len(items)}
    id_key = next((key for key in _LIST_ID_KEYS if key in items[0]), None)
    if id_key is not None:
        digest[id_key + "s"] = [item.get(id_key) for item in items[:LIST_IDS_SHOWN]]
    if isinstance(items[0].get("applicable"), bool):
        digest["applicable"] = sum(1 for item in items if item.get("applicable") is True)
    return digest


class _SummaryWriter:
    """Writes redacted compact JSON (as json.dumps of redact() would) until SUMMARY_LIMIT."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def _emit(self, text: str) -> bool:
        """Append; False once the summary is long enough (the caller stops walking)."""
        self.parts.append(text)
        self.size += len(text)
        return self.size <= SUMMARY_LIMIT

    def write(self, value: Any, key: str, depth: int) -> bool:
        lowered = key.lower()
        if _secret_key(lowered) and value not in (None, ""):
            return self._emit('"[secret]"')
        if depth > SUMMARY_DEPTH and isinstance(value, dict | list):
            return self._emit('"…"')
        if isinstance(value, dict):
            if not self._emit("{"):
                return False
            for index, (name, item) in enumerate(value.items()):
                name = str(name)
                if not self._emit(("," if index else "") + _quote(name[: SUMMARY_LIMIT + 1]) + ":"):
                    return False
                if not self.write(item, name, depth + 1):
                    return False
            return self._emit("}")
        if isinstance(value, list):
            if not self._emit("["):
                return False
            for index, item in enumerate(value):
                if index and not self._emit(","):
                    return False
                if not self.write(item, key, depth + 1):
                    return False
            return self._emit("]")
        if isinstance(value, str):
            if _personal_text(lowered, value):
                return self._emit('"[redacted]"')
            # Past the limit nothing is kept, so a 1 MB string costs no more than a short one.
            return self._emit(_quote(value[: SUMMARY_LIMIT + 1]))
        return self._emit(_scalar(value))


def _scalar(value: Any) -> str:
    """json.dumps(value, ensure_ascii=False, default=str) for one scalar, without building an
    encoder per call."""
    if isinstance(value, str):
        return _quote(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return json.dumps(value)
    return _quote(str(value))


_quote = json.encoder.encode_basestring  # the C escaper json.dumps itself uses


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
    """Store one call; a logging failure never fails the webhook.

    A plain Core INSERT committed at once. On PostgreSQL the commit does not wait for the WAL
    flush (`synchronous_commit = off` for this transaction only): a crash may lose the last few
    log rows, never points. The setting is applied only when the transaction has not written
    anything yet, so a view that left a write uncommitted (a bug) still gets a durable commit;
    the same statement sets it and inserts (one round trip per call, not two).
    """
    try:
        postgres = db.session.get_bind().dialect.name == "postgresql"
        db.session.execute(
            _INSERT_CALL_ASYNC if postgres else _INSERT_CALL,
            {
                "tenant_id": tenant_id,
                "endpoint": endpoint[:64],
                "method": method[:8],
                "status": status,
                "latency_ms": max(0, latency_ms),
                "error": (error or None) and error[:SUMMARY_LIMIT],
                "request_summary": request_summary,
                "response_summary": response_summary,
                "created_at": utcnow(),
            },
        )
        db.session.commit()
        if random.randrange(PRUNE_ONE_IN) == 0:
            prune(utcnow(), retention_days)
    except Exception:  # the call already has its answer; losing a log row must not change it
        db.session.rollback()
        log.exception("could not record a webhook call")


_INSERT_CALL = insert(WebhookCall.__table__)
_CALL_COLUMNS = (
    "tenant_id",
    "endpoint",
    "method",
    "status",
    "latency_ms",
    "error",
    "request_summary",
    "response_summary",
    "created_at",
)
# set_config(..., is_local => true) is SET LOCAL: it ends with this transaction. Read in the
# INSERT's own WHERE (an InitPlan, run once before the row is written), so "nothing written
# yet" is judged before this insert; the condition is always true, only its side effect counts.
_ASYNC_IF_NOTHING_WRITTEN = (
    text(
        "SELECT set_config('synchronous_commit', 'off', true) AS v "
        "WHERE pg_current_xact_id_if_assigned() IS NULL"
    )
    .columns(column("v"))
    .subquery("async_commit")
)
_INSERT_CALL_ASYNC = insert(WebhookCall.__table__).from_select(
    _CALL_COLUMNS,
    select(
        *(bindparam(name, type_=WebhookCall.__table__.c[name].type) for name in _CALL_COLUMNS)
    ).where(select(func.count(_ASYNC_IF_NOTHING_WRITTEN.c.v)).scalar_subquery() >= 0),
)


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
