"""API clients: the OAuth2 clients a restaurant issues to its apps, tills and back offices.

The secret is shown once, when issued; only its SHA-256 is kept (it is 256 random bits, so a
slow hash would add nothing). Revoking a client ends every token it was given, at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from ...extensions import db
from ...models import ApiClient, ApiToken, utcnow
from ...models.api import CLIENT_KINDS, ROLES
from ...time import to_iso_or_none
from ...validation import FieldErrors, text_problem
from ..scoping import get_for_tenant

CLIENT_ID_PREFIX = "lc_"


@dataclass(frozen=True)
class IssuedClient:
    client: ApiClient
    client_secret: str  # shown once

    def as_json(self) -> dict[str, str]:
        return {"clientId": self.client.client_id, "clientSecret": self.client_secret}


def create_client(
    tenant_id: int,
    name: str,
    roles: Sequence[str] = (),
    kind: str = "service",
    *,
    created_by_id: int | None = None,
    now: datetime | None = None,
) -> IssuedClient:
    """A new client of the tenant. Roles matter only to `service` clients: an admin app's
    tokens carry the signed-in member's roles, a customer app's none."""
    name = (name or "").strip()
    roles = list(dict.fromkeys(role.strip() for role in roles if role.strip()))
    errors: dict[str, str] = {}
    if problem := text_problem(name, 128, "give the client a name"):
        errors["name"] = problem
    if kind not in CLIENT_KINDS:
        errors["kind"] = f"kind must be one of {', '.join(CLIENT_KINDS)}"
    if unknown := [role for role in roles if role not in ROLES]:
        errors["roles"] = f"unknown role {unknown[0]}; roles are {', '.join(ROLES)}"
    elif kind == "service" and not roles:
        errors["roles"] = "a service client needs at least one role"
    if errors:
        raise FieldErrors(errors)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        tenant_id=tenant_id,
        client_id=CLIENT_ID_PREFIX + secrets.token_urlsafe(18),
        secret_hash=hash_secret(secret),
        name=name,
        kind=kind,
        roles=roles if kind == "service" else [],
        created_by_id=created_by_id,
        created_at=now or utcnow(),
    )
    db.session.add(client)
    db.session.commit()
    return IssuedClient(client, secret)


def list_clients(tenant_id: int) -> list[ApiClient]:
    """Live clients first, newest first within each."""
    return list(
        db.session.scalars(
            select(ApiClient)
            .where(ApiClient.tenant_id == tenant_id)
            .order_by(ApiClient.revoked_at.is_not(None), ApiClient.created_at.desc())
        )
    )


def find_client(client_id: str) -> ApiClient | None:
    """The client with this public id, revoked or not (the caller decides)."""
    if not client_id or len(client_id) > 48:
        return None
    return db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))


def secret_matches(client: ApiClient, secret: str) -> bool:
    return hmac.compare_digest(client.secret_hash, hash_secret(secret or ""))


def revoke_client(tenant_id: int, client_row_id: int, now: datetime | None = None) -> ApiClient:
    """Revoke the client and every token it holds; revoking again changes nothing."""
    client = get_for_tenant(ApiClient, client_row_id, tenant_id)
    now = now or utcnow()
    if client.revoked_at is None:
        client.revoked_at = now
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.client_row_id == client.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.commit()
    return client


def client_status(client: ApiClient) -> str:
    """live, or revoked: a revoked client's tokens no longer work."""
    return "revoked" if client.revoked_at is not None else "live"


def describe(client: ApiClient) -> dict:
    """What a listing shows of a client (API field spelling); never its secret or hash."""
    return {
        "clientId": client.client_id,
        "name": client.name,
        "kind": client.kind,
        "roles": list(client.roles or ()),
        "status": client_status(client),
        "createdAt": to_iso_or_none(client.created_at),
        "lastUsedAt": to_iso_or_none(client.last_used_at),
    }


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
