"""The resource side: who the bearer token of this API request speaks for, or a 401/403."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from ...extensions import db
from ...models import Account, ApiClient, ApiToken, Tenant, User, utcnow
from ..errors import ApiError
from ..principal import Principal
from .server import member_roles
from .signing import BadToken, read_claims

NO_TOKEN = "send an access token: Authorization: Bearer <token>"
DEAD_TOKEN = "the access token is invalid, expired or revoked"
OTHER_TENANT = "the token is for another tenant"


def principal_from_request() -> Principal:
    """The caller: a valid, unexpired JWT whose token row is live, of a live client, member or
    account (one indexed read), and of the tenant `x-tenant` names, if it names one."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, NO_TOKEN)
    try:
        claims = read_claims(token.strip())
    except BadToken:
        raise ApiError(401, DEAD_TOKEN) from None
    found = db.session.execute(
        select(
            ApiToken.id,
            ApiToken.tenant_id,
            ApiToken.subject_kind,
            ApiToken.user_id,
            ApiToken.account_id,
            ApiToken.roles,
            ApiToken.expires_at,
            ApiToken.revoked_at,
            ApiToken.client_row_id,
            ApiClient.revoked_at.label("client_revoked_at"),
            ApiClient.roles.label("client_roles"),
            Tenant.slug,
            User.active.label("user_active"),
            User.tenant_id.label("user_tenant_id"),
            User.role.label("user_role"),
            Account.tenant_id.label("account_tenant_id"),
            Account.retired.label("account_retired"),
        )
        .join(ApiClient, ApiClient.id == ApiToken.client_row_id)
        .join(Tenant, Tenant.id == ApiToken.tenant_id)
        .outerjoin(User, User.id == ApiToken.user_id)
        .outerjoin(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.jti == str(claims["jti"])[:64])
    ).first()
    if found is None or not _live(found) or found.slug != claims["tenant"]:
        raise ApiError(401, DEAD_TOKEN)
    named = request.headers.get("x-tenant")
    if named and named != found.slug:
        raise ApiError(403, OTHER_TENANT)
    if found.subject_kind == "user":
        roles = member_roles(found.user_role)  # a changed team role counts at once
    elif found.subject_kind == "client":
        roles = tuple(found.client_roles or ())
    else:
        roles = tuple(found.roles or ())
    return Principal(
        tenant_id=found.tenant_id,
        tenant_slug=found.slug,
        subject_kind=found.subject_kind,
        roles=frozenset(roles),
        client_row_id=found.client_row_id,
        token_id=found.id,
        user_id=found.user_id,
        account_id=found.account_id,
    )


def _live(found) -> bool:
    if found.revoked_at is not None or found.client_revoked_at is not None:
        return False
    if found.expires_at <= utcnow():
        return False
    if found.subject_kind == "user":
        return bool(found.user_active) and found.user_tenant_id == found.tenant_id
    if found.subject_kind == "customer":
        return found.account_tenant_id == found.tenant_id and not found.account_retired
    return True
