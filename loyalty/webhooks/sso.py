"""Deliverect single sign-on, our side: the token endpoint Deliverect exchanges a guest's code at,
what registration adds for it, and the Bearer token Get Customer may carry.

Deliverect sends the token request as JSON (`client_id` and `client_secret` in the body, as
client_secret_post); form bodies and HTTP Basic work too. This door parses the body; Authlib
(services.deliverect.sso_exchange) answers it. Every answer is in the Deliverect error shape
(webhooks.responses), never cached, and the call log keeps it with the secrets redacted.

Authlib answers only over https (or to this computer). The address it checks is the public one
(PUBLIC_BASE_URL when configured, else the request's, which ProxyFix corrects behind a proxy):
behind a TLS-terminating proxy, set LOYALTY_PUBLIC_BASE_URL to the https address (or
PROXY_FIX_HOPS) and the token endpoint works as the other webhooks do.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

from ..models import Account, Tenant, utcnow
from ..services.deliverect import sso
from ..services.deliverect.sso_exchange import exchange
from . import webhooks
from .context import Call, check_body, logged, read_json, refuse_too_deep
from .responses import WebhookError, bad_request
from .urls import PREFIX, public_url, sso_urls

# The fields a token request may carry; anything else in the body is ignored.
FIELDS = (
    "grant_type",
    "client_id",
    "client_secret",
    "code",
    "refresh_token",
    "accountId",
    "loyaltyProfileId",
    "redirect_uri",
    "scope",
)
INVALID_REQUEST = "invalid_request"


# --- the token endpoint -------------------------------------------------------------------------


@webhooks.post(f"{PREFIX}/oauth/token")
@logged("sso.token")
def sso_token(call: Call) -> Response:
    """A token pair for a guest's code (or a refresh token)."""
    fields = token_fields()
    call.request_data = fields  # the log redacts the secret, the code and the tokens
    answer = exchange(
        fields,
        url=public_url("webhooks.sso_token"),
        authorization=request.headers.get("Authorization"),
        now=utcnow(),
    )
    call.tenant_id = answer.tenant_id
    if answer.note:
        call.notes.append(answer.note)
    if answer.token is None:
        raise WebhookError(answer.status, answer.error, answer.description)
    return jsonify(answer.token)


@webhooks.after_request
def never_cache_token_answers(response: Response) -> Response:
    """Every answer of the token endpoint, refusals included, is no-store (RFC 6749 §5.1)."""
    if request.endpoint == "webhooks.sso_token":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        if response.status_code == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="loyalty"'
    return response


def token_fields() -> dict[str, str]:
    """The token request's fields from a JSON or form body; 400 for anything else."""
    raw = request.get_data(cache=True)  # at most MAX_CONTENT_LENGTH: see webhooks.bound_body
    if request.mimetype == "application/x-www-form-urlencoded":
        form = request.form
        repeated = [name for name in FIELDS if len(form.getlist(name)) > 1]
        if repeated:
            raise bad_request(f"{repeated[0]}: give it once", INVALID_REQUEST)
        body: Any = {name: form[name] for name in FIELDS if name in form}
    else:
        body = read_json(raw)
    try:
        refuse_too_deep(body)
        check_body(body)
    except WebhookError as refused:
        raise bad_request(refused.description, INVALID_REQUEST) from None
    if not isinstance(body, dict):
        raise bad_request("send the token request as a JSON object (or a form)", INVALID_REQUEST)
    fields: dict[str, str] = {}
    for name in FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise bad_request(f"{name} must be a string", INVALID_REQUEST)
        if len(value) > sso.MAX_SECRET_FIELD:
            raise bad_request(f"{name}: at most {sso.MAX_SECRET_FIELD} characters", INVALID_REQUEST)
        fields[name] = value
    if "grant_type" not in fields:
        raise bad_request("grant_type is required: authorization_code", INVALID_REQUEST)
    return fields


# --- what registration and Get Customer add for SSO ----------------------------------------------


def registration_fields(tenant: Tenant) -> dict[str, str]:
    """The SSO part of the registration answer: empty unless SSO is ready."""
    urls = sso_urls(tenant)
    if not urls:
        return {}
    return {
        **urls,
        "oauthClientId": tenant.sso_client_id,
        "oauthClientSecret": tenant.sso_client_secret,
    }


def bearer_guest(call: Call, tenant_id: int) -> Account | None:
    """The guest an `Authorization: Bearer` token names, None without a Bearer header; 401
    `invalid_token` for a token that is not a live one of this tenant."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    guest = sso.guest_for_token(tenant_id, token.strip(), now=utcnow())
    if guest is None:
        call.notes.append("bearer token refused")
        raise WebhookError(401, "invalid_token", "the access token is unknown or expired")
    call.notes.append("customer named by the SSO access token")
    return guest
