"""Per-call plumbing shared by every Deliverect webhook: which tenant, is it signed, the log.

Order of checks (nothing is parsed beyond reading the context ids, and nothing is written,
before the signature is verified): 0. the body is at most MAX_CONTENT_LENGTH (webhooks.bound_body);
1. find the link (tenant) from the ids in the query, the body or the nested order; 2. verify the
HMAC of the raw body against that tenant's secret, the installation secret and (staging) the
channelLinkId; 3. refuse what cannot be stored (check_body), then validate the payload.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Protocol

from flask import Response, current_app, request

from ..errors import database_unavailable
from ..extensions import db
from ..services.deliverect import call_log as webhook_log
from ..services.deliverect.links import LinkedTenant, tenant_for_link
from ..signature import HEADER, signature_matches
from .responses import (
    NotFound,
    WebhookError,
    bad_request,
    bad_signature,
    error_response,
    no_profile,
    value_response,
)


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
    """The decoded, storable body (`read_json` then `check_body`), or None when not JSON."""
    value = read_json(raw)
    check_body(value)
    return value


def read_json(raw: bytes) -> Any:
    """The decoded body, or None when it is not JSON at all; linear time, nothing refused yet.

    Done before the signature is checked (the ids that find the tenant may be in the body), so
    everything else waits for `check_body`. A body too deep for Python's parser is TOO_DEEP:
    its ids cannot be read, so `refuse_too_deep` answers 400 without finding the tenant.
    """
    if not raw:
        return None
    try:
        return json.loads(
            raw, parse_constant=_not_a_number, parse_float=_finite_float, parse_int=_bounded_int
        )
    except RecursionError:
        return TOO_DEEP
    except ValueError:
        return None


class _TooDeep:
    """The body of `read_json` when JSON nests deeper than Python's recursion limit."""


TOO_DEEP = _TooDeep()


class _NotStorableNumber:
    """NaN, Infinity, a float beyond 1.8e308 or an integer of more than MAX_INT_DIGITS digits:
    Python reads them (or fails to, past 4300 digits), no JSON column should store them."""

    def __init__(self, problem: str):
        self.problem = problem


# Ids and amounts never need more; 4300+ digits would make json.loads itself fail.
MAX_INT_DIGITS = 64


def _not_a_number(name: str) -> _NotStorableNumber:
    return _NotStorableNumber(f"{name} is not a JSON number")


def _finite_float(text: str) -> float | _NotStorableNumber:
    number = float(text)
    if math.isfinite(number):
        return number
    return _NotStorableNumber(f"{text[:32]}: number out of range")


def _bounded_int(text: str) -> int | _NotStorableNumber:
    if len(text) > MAX_INT_DIGITS:
        return _NotStorableNumber(f"{text[:32]}…: number out of range")
    return int(text)


UNSTORABLE = "strings must not contain NUL (\\u0000) characters or lone surrogates"
# Deliverect nests an order about a dozen levels (items, sub-items ten deep); much deeper is
# garbage, and every later walk (pydantic, the JSON column, the log) then stays far from
# Python's recursion limit.
MAX_JSON_DEPTH = 48
TOO_DEEP_MESSAGE = f"body: nested more than {MAX_JSON_DEPTH} levels deep"


def refuse_too_deep(body: Any) -> None:
    """400 for a body nested beyond what Python parses: no ids, so no tenant to verify with."""
    if body is TOO_DEEP:
        raise bad_request(TOO_DEEP_MESSAGE)


def check_body(value: Any) -> None:
    """Refuse (400) a body no database can store or no walk should follow.

    Strings with NUL characters: PostgreSQL would otherwise fail the transaction deep inside a
    write; lone surrogates cannot be UTF-8. NaN and infinite numbers: PostgreSQL's JSON column
    refuses them. Nesting beyond MAX_JSON_DEPTH. One pass, no recursion.
    """
    pending = [(value, 0)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, str):
            if _unstorable(current):
                raise bad_request(UNSTORABLE)
        elif isinstance(current, _NotStorableNumber):
            raise bad_request(current.problem)
        elif isinstance(current, dict | list) or current is TOO_DEEP:
            if depth >= MAX_JSON_DEPTH or current is TOO_DEEP:
                raise bad_request(TOO_DEEP_MESSAGE)
            if isinstance(current, dict):
                pending.extend((key, depth) for key in current)
                current = current.values()
            pending.extend((item, depth + 1) for item in current)


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate such as "\ud800"
        return True
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
    """Authenticate a webhook that follows registration and return its tenant and body.

    Before the signature matches, the body is only parsed for its ids (linear time) and the log
    keeps only its size and those ids: a forged call costs the HMAC and nothing more.
    """
    raw = request.get_data(cache=True)  # at most MAX_CONTENT_LENGTH: see webhooks.bound_body
    query = {key: value for key, value in request.args.items()}
    check_body(query)
    body = read_json(raw) if request.method != "GET" else {}
    refuse_too_deep(body)
    account_id, profile_id, channel_link_id = context_ids(body, query)
    call.request_data = unverified_summary(raw, account_id, profile_id)
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
    check_body(body)
    # A GET has no body (it reads as {}): its ids are in the query.
    if request.method == "GET":
        call.request_data = query
    else:
        call.request_data = body if isinstance(body, dict) else None
    if request.method != "GET" and not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return Context(tenant=tenant, body=body, query=query)


def unverified_summary(raw: bytes, account_id: str | None, profile_id: str | None) -> dict:
    """What the log keeps of a body whose signature is not (yet) verified: its size and ids."""
    ids = {"accountId": account_id, "loyaltyProfileId": profile_id}
    return {
        "bytes": len(raw),
        # Cut, and only when storable: a refused call must not cost a failed log write.
        **{name: value[:64] for name, value in ids.items() if value and not _unstorable(value)},
    }


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
            except Exception as failure:
                if database_unavailable(failure):
                    raise  # loyalty.errors answers 503 in our shape; no log row can be written
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
