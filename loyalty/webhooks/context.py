"""Per-call plumbing shared by every Deliverect webhook: which tenant, is it signed, the log.

Order of checks (nothing is parsed beyond reading the context ids, and nothing is written,
before the signature is verified): 1. find the link (tenant) from the ids in the query, the body
or the nested order; 2. verify the HMAC of the raw body against that tenant's secret, the
installation secret and (staging) the channelLinkId; 3. validate the payload.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Protocol

from flask import Response, current_app, request

from ..extensions import db
from ..services import webhook_log
from ..services.deliverect import LinkedTenant, tenant_for_link
from .responses import (
    NotFound,
    WebhookError,
    bad_request,
    bad_signature,
    error_response,
    no_profile,
    value_response,
)
from .signature import HEADER, signature_matches

MAX_BODY_BYTES = 1_000_000


class HasWebhookSecret(Protocol):
    """A Tenant (registration) or a LinkedTenant (every later call)."""

    webhook_secret: str | None


@dataclass
class Call:
    """What the log keeps about one call; views add notes (such as the team-only reasons)."""

    endpoint: str
    tenant_id: int | None = None
    notes: list[str] = field(default_factory=list)
    request_data: Any = None
    response_data: Any = None


@dataclass(frozen=True)
class Context:
    tenant: LinkedTenant
    body: dict  # {} for GET
    query: dict[str, str]


def json_body(raw: bytes) -> Any:
    """The decoded body, or None when it is not JSON at all.

    Strings with NUL characters are refused here: no database can store them, and PostgreSQL
    would otherwise fail the transaction deep inside a write. Lone surrogates cannot be UTF-8.
    NaN and Infinity (which Python's json reads) are refused for the same reason.
    """
    if not raw:
        return None
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None
    if _has_unstorable_text(value):
        raise bad_request(UNSTORABLE)
    return value


def _refuse_constant(name: str) -> Any:
    """Python reads NaN and Infinity, which are not JSON: no database would store them."""
    raise bad_request(f"{name} is not a JSON number")


UNSTORABLE = "strings must not contain NUL (\\u0000) characters or lone surrogates"


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate such as "\ud800"
        return True
    return False


def _has_unstorable_text(value: Any) -> bool:
    pending = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, str):
            if _unstorable(current):
                return True
        elif isinstance(current, dict):
            pending.extend(current.keys())
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return False


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def context_ids(body: Any, query: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    """(accountId, loyaltyProfileId, channelLinkId) wherever Deliverect put them, aliases too."""
    sources: list[dict] = []
    if isinstance(body, dict):
        sources.append(body)
        if isinstance(body.get("order"), dict):
            sources.append(body["order"])
    sources.append(query)

    def first(*keys: str) -> str | None:
        for source in sources:
            for key in keys:
                value = _text(source.get(key))
                if value:
                    return value
        return None

    return (
        first("accountId", "account"),
        first("loyaltyProfileId"),
        first("channelLinkId"),
    )


def verify_signature(
    raw: bytes, tenant: HasWebhookSecret | None, channel_link_id: str | None, call: Call
) -> None:
    config = current_app.config
    candidates = [config.get("DELIVERECT_WEBHOOK_SECRET")]
    if tenant is not None:
        candidates.append(tenant.webhook_secret)
    if config.get("DELIVERECT_ALLOW_CHANNEL_LINK_SECRET") and channel_link_id:
        candidates.append(channel_link_id)
    given = request.headers.get(HEADER)
    if signature_matches(raw, given, candidates):
        return
    problem = (
        f"missing {HEADER} header"
        if not given
        else "signature does not match the request body and the shared secret"
    )
    if config.get("DELIVERECT_SIGNATURE_MODE") == "log":
        call.notes.append(f"signature not verified ({problem}); accepted in log-only mode")
        return
    raise bad_signature(problem)


def linked_request(call: Call) -> Context:
    """Authenticate a webhook that follows registration and return its tenant and body."""
    raw = request.get_data(cache=True)
    query = {key: value for key, value in request.args.items()}
    if _has_unstorable_text(query):
        raise bad_request(UNSTORABLE)
    if len(raw) > MAX_BODY_BYTES:
        raise WebhookError(413, "payload_too_large", "request body is larger than 1 MB")
    body = json_body(raw) if request.method != "GET" else {}
    call.request_data = body if isinstance(body, dict) else None
    if call.request_data is None and request.method == "GET":
        call.request_data = query
    account_id, profile_id, channel_link_id = context_ids(body, query)
    if not account_id and not profile_id:
        if request.method != "GET" and not isinstance(body, dict):
            verify_signature(raw, None, channel_link_id, call)
            raise bad_request("request body must be a JSON object")
        raise no_profile("no active loyalty profile found: accountId or loyaltyProfileId required")
    tenant = tenant_for_link(account_id, profile_id)
    if tenant is None:
        raise no_profile()
    call.tenant_id = tenant.id
    verify_signature(raw, tenant, channel_link_id, call)
    if request.method != "GET" and not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return Context(tenant=tenant, body=body, query=query)


def logged(endpoint: str) -> Callable:
    """Wrap a webhook view: contract-shaped errors, no partial writes, one log row per call."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(view)
        def wrapped(*args, **kwargs) -> Response:
            started = time.perf_counter()
            call = Call(endpoint)
            error: str | None = None
            try:
                response = view(call, *args, **kwargs)
            except WebhookError as refused:
                db.session.rollback()
                response, error = refused.response(), refused.description
            except NotFound as missing:
                db.session.rollback()
                response, error = value_response(404), missing.description
            except Exception:
                db.session.rollback()
                current_app.logger.exception("webhook %s failed", endpoint)
                response = error_response(
                    500, "internal_error", "The server could not process the request"
                )
                error = "internal error (see the server log)"
            latency_ms = int((time.perf_counter() - started) * 1000)
            notes = "; ".join(filter(None, [error, *call.notes])) or None
            webhook_log.record_call(
                tenant_id=call.tenant_id,
                endpoint=endpoint,
                method=request.method,
                status=response.status_code,
                latency_ms=latency_ms,
                error=notes,
                request_summary=webhook_log.summarise(call.request_data),
                response_summary=webhook_log.summarise(
                    call.response_data if call.response_data is not None else response.get_json()
                ),
                retention_days=current_app.config["WEBHOOK_LOG_RETENTION_DAYS"],
            )
            return response

        return wrapped

    return decorate
