"""Tenants and their integration credentials."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from ...extensions import db
from ...models import Tenant
from ...models.tenant import SLUG_PATTERN
from .earning import add_default_rule


class TenantError(ValueError):
    pass


@dataclass(frozen=True)
class IssuedCredentials:
    """Shown to the owner once; only the API key's hash is kept."""

    api_key: str | None
    webhook_secret: str | None


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def create_tenant(
    slug: str, name: str, *, decimal_digits: int = 2, currency: str = "EUR"
) -> tuple[Tenant, IssuedCredentials]:
    if not re.fullmatch(SLUG_PATTERN, slug):
        raise TenantError("slug must be 3-64 letters, digits, '_' or '-'")
    if db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise TenantError(f"tenant {slug!r} already exists")
    tenant = Tenant(slug=slug, name=name or slug, decimal_digits=decimal_digits, currency=currency)
    db.session.add(tenant)
    credentials = IssuedCredentials(_set_api_key(tenant), _set_webhook_secret(tenant))
    db.session.flush()
    add_default_rule(tenant.id, decimal_digits)
    db.session.commit()
    return tenant, credentials


def rotate_api_key(tenant_id: int) -> str:
    key = _set_api_key(db.session.get(Tenant, tenant_id))
    db.session.commit()
    return key


def rotate_webhook_secret(tenant_id: int) -> str:
    secret = _set_webhook_secret(db.session.get(Tenant, tenant_id))
    db.session.commit()
    return secret


def tenant_by_api_key(api_key: str) -> Tenant | None:
    if not api_key:
        return None
    return db.session.scalar(select(Tenant).where(Tenant.api_key_hash == hash_api_key(api_key)))


def tenant_by_slug(slug: str) -> Tenant | None:
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug))


def _set_api_key(tenant: Tenant) -> str:
    key = "lk_" + secrets.token_urlsafe(32)
    tenant.api_key_hash = hash_api_key(key)
    tenant.api_key_hint = key[:7] + "…"
    return key


def _set_webhook_secret(tenant: Tenant) -> str:
    secret = secrets.token_hex(32)
    tenant.webhook_secret = secret
    return secret
