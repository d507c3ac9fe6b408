"""Deliverect single sign-on: the restaurant's web shops, its SSO client, the single-use codes
that carry a signed-in guest into a shop, and the access tokens Deliverect exchanges them for.

The shop and client functions commit. The code and token functions used by the token endpoint
(`claim_code`, `claim_refresh_token`, `record_token`, `revoke_replaced_pair`) do not: its one
transaction is `sso_exchange.exchange`. Codes and tokens are random and only their SHA-256 is
kept; a token names the guest it was issued for and follows them when they are merged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode, urlsplit

from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from ...extensions import db
from ...models import Account, DeliverectLink, SsoCode, SsoToken, Tenant, WebShop, utcnow
from ...validation import CONFLICT, FieldErrors, text_problem
from ..accounts.profile import resolve_merged
from ..scoping import get_for_tenant

ENVIRONMENTS = ("staging", "production")
MAX_SHOPS = 20
SHOP_NAME_MAX = 128
SHOP_URL_MAX = 500
CHANNEL_LINK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
LOCAL_HOSTS = ("localhost", "127.0.0.1")
# Codes and tokens we issue are 43 characters; anything much longer is not one of them.
MAX_SECRET_FIELD = 320
# Spent codes and tokens are kept this long past their expiry or revocation, then pruned.
PRUNE_AFTER = timedelta(days=1)


class SsoUnavailable(Exception):
    """SSO is off, no client is issued, or the shop (or guest) is not this tenant's."""


# --- web shops ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopDetails:
    """A web shop as the team types it."""

    name: str
    channel_link_id: str
    shop_url: str


def list_shops(tenant_id: int) -> list[WebShop]:
    """The tenant's web shops, in the order the guest pages show them."""
    return list(
        db.session.scalars(
            select(WebShop)
            .where(WebShop.tenant_id == tenant_id)
            .order_by(WebShop.position, WebShop.id)
        )
    )


def add_shop(tenant_id: int, details: ShopDetails) -> WebShop:
    """A new web shop, listed last; FieldErrors when a field is wrong, the channelLinkId is the
    tenant's already, or the tenant has MAX_SHOPS."""
    cleaned = _checked(details)
    count = db.session.scalar(
        select(func.count()).select_from(WebShop).where(WebShop.tenant_id == tenant_id)
    )
    if count >= MAX_SHOPS:
        raise FieldErrors({"name": f"at most {MAX_SHOPS} web shops; remove one first"})
    _refuse_taken_channel_link(tenant_id, cleaned.channel_link_id, None)
    last = db.session.scalar(
        select(func.max(WebShop.position)).where(WebShop.tenant_id == tenant_id)
    )
    shop = WebShop(
        tenant_id=tenant_id,
        name=cleaned.name,
        channel_link_id=cleaned.channel_link_id,
        shop_url=cleaned.shop_url,
        position=(last or 0) + 1,
    )
    db.session.add(shop)
    db.session.commit()
    return shop


def update_shop(tenant_id: int, shop_id: int, details: ShopDetails) -> WebShop:
    """Change a shop (404 for another tenant's); FieldErrors as add_shop."""
    shop = get_for_tenant(WebShop, shop_id, tenant_id)
    cleaned = _checked(details)
    _refuse_taken_channel_link(tenant_id, cleaned.channel_link_id, shop.id)
    shop.name, shop.channel_link_id, shop.shop_url = (
        cleaned.name,
        cleaned.channel_link_id,
        cleaned.shop_url,
    )
    db.session.commit()
    return shop


def remove_shop(tenant_id: int, shop_id: int) -> None:
    """Remove a shop (404 for another tenant's) and the codes not yet exchanged for it: a guest
    on their way to a shop that is gone must not arrive signed in."""
    shop = get_for_tenant(WebShop, shop_id, tenant_id)
    db.session.execute(
        delete(SsoCode).where(
            SsoCode.tenant_id == tenant_id, SsoCode.shop_id == shop.id, SsoCode.used_at.is_(None)
        )
    )
    db.session.delete(shop)
    db.session.commit()


def _checked(details: ShopDetails) -> ShopDetails:
    name, link, url = (
        details.name.strip(),
        details.channel_link_id.strip(),
        details.shop_url.strip(),
    )
    errors: dict[str, str] = {}
    if problem := text_problem(name, SHOP_NAME_MAX, "enter the shop's name, as guests know it"):
        errors["name"] = problem
    if not CHANNEL_LINK_ID.fullmatch(link):
        errors["channel_link_id"] = (
            "enter the channel link id from Deliverect: up to 64 letters, digits, _ or -"
        )
    if problem := shop_url_problem(url):
        errors["shop_url"] = problem
    if errors:
        raise FieldErrors(errors)
    return ShopDetails(name, link, url)


def shop_url_problem(url: str) -> str | None:
    """Why `url` cannot be a shop address (an https:// address; http only on this computer)."""
    if not url:
        return "enter the shop's address, e.g. https://order.example.com"
    if len(url) > SHOP_URL_MAX:
        return f"use at most {SHOP_URL_MAX} characters"
    if any(character.isspace() or not character.isprintable() for character in url):
        return "an address has no spaces"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # reading it checks it
    except ValueError:
        return "this is not a web address"
    if parts.scheme == "http" and host in LOCAL_HOSTS:
        return None
    if parts.scheme != "https" or not url.lower().startswith("https://"):
        return "start with https://"
    if not host or "@" in parts.netloc:
        return "give an address such as https://order.example.com"
    return None


def _refuse_taken_channel_link(tenant_id: int, channel_link_id: str, shop_id: int | None) -> None:
    taken = db.session.scalar(
        select(WebShop.id).where(
            WebShop.tenant_id == tenant_id, WebShop.channel_link_id == channel_link_id
        )
    )
    if taken is not None and taken != shop_id:
        raise FieldErrors(
            {"channel_link_id": "another of your shops has this channel link id"}, CONFLICT
        )


# --- the restaurant's SSO settings and client ----------------------------------------------------


@dataclass(frozen=True)
class IssuedSsoClient:
    """Shown to the owner once; Deliverect receives it in the registration answer."""

    client_id: str
    client_secret: str


def sso_ready(tenant: Tenant) -> bool:
    """SSO is on and a client is issued: registration hands it over, guests may order online."""
    return bool(tenant.sso_enabled and tenant.sso_client_id and tenant.sso_client_secret)


def update_sso(tenant_id: int, *, enabled: bool, environment: str) -> Tenant:
    """Turn SSO on or off and choose the Deliverect environment guests are sent to. Turning it
    off revokes every token issued: turning it on again does not bring them back."""
    if environment not in ENVIRONMENTS:
        raise FieldErrors({"environment": "choose staging or production"})
    tenant = db.session.get(Tenant, tenant_id)
    tenant.sso_enabled, tenant.sso_environment = enabled, environment
    if not enabled:
        _revoke_all_tokens(tenant_id)
    db.session.commit()
    return tenant


def issue_client(tenant_id: int) -> IssuedSsoClient:
    """A new client secret (and a client id the first time). The old secret, and every token
    issued under it, stop working at once; Deliverect receives the new secret when it registers
    again."""
    tenant = db.session.get(Tenant, tenant_id)
    if not tenant.sso_client_id:
        tenant.sso_client_id = _new_client_id()
    tenant.sso_client_secret = secrets.token_urlsafe(32)
    _revoke_all_tokens(tenant_id)
    db.session.commit()
    return IssuedSsoClient(tenant.sso_client_id, tenant.sso_client_secret)


def secret_hint(tenant: Tenant) -> str | None:
    """The secret's last 4 characters, so the owner can tell which one Deliverect holds."""
    return "…" + tenant.sso_client_secret[-4:] if tenant.sso_client_secret else None


def _revoke_all_tokens(tenant_id: int) -> None:
    db.session.execute(
        update(SsoToken)
        .where(SsoToken.tenant_id == tenant_id, SsoToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def _new_client_id() -> str:
    while True:
        client_id = "dlv-" + secrets.token_hex(16)
        if db.session.scalar(select(Tenant.id).where(Tenant.sso_client_id == client_id)) is None:
            return client_id


# --- codes: a signed-in guest's way into a shop -------------------------------------------------


def start_sso(tenant_id: int, account_id: int, shop_id: int, *, now: datetime) -> str:
    """Create a single-use, short-lived SSO code for the guest (commits) and return the absolute
    Deliverect address https://api[.staging].deliverect.com/loyalty/{channelLinkId}/sso
    ?code={code}&returnUrl={shop_url, urlencoded}. Raises SsoUnavailable."""
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None or not sso_ready(tenant):
        raise SsoUnavailable("single sign-on is not set up")
    shop = db.session.get(WebShop, shop_id)
    account = db.session.get(Account, account_id)
    if shop is None or shop.tenant_id != tenant_id:
        raise SsoUnavailable("no such shop")
    if account is None or account.tenant_id != tenant_id or account.retired:
        raise SsoUnavailable("no such guest")
    code = secrets.token_urlsafe(32)
    lifetime = timedelta(seconds=int(current_app.config["SSO_CODE_SECONDS"]))
    db.session.add(
        SsoCode(
            tenant_id=tenant_id,
            account_id=account_id,
            shop_id=shop.id,
            code_hash=_hash(code),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    db.session.commit()
    base = current_app.config["DELIVERECT_SSO_BASE_URLS"][tenant.sso_environment]
    query = urlencode({"code": code, "returnUrl": shop.shop_url}, quote_via=quote, safe="")
    return f"{base.rstrip('/')}/loyalty/{quote(shop.channel_link_id, safe='')}/sso?{query}"


# --- the token endpoint's storage ---------------------------------------------------------------


@dataclass(frozen=True)
class SsoClient:
    """A tenant's SSO client, as the token endpoint authenticates it."""

    tenant_id: int
    client_id: str
    client_secret: str = field(repr=False)

    def secret_matches(self, given: str) -> bool:
        return hmac.compare_digest(
            self.client_secret.encode(), given.encode("utf-8", "surrogatepass")
        )


def client_for(client_id: str) -> SsoClient | None:
    """The client with this id, if its tenant has SSO turned on."""
    if not client_id or len(client_id) > 48 or "\x00" in client_id:
        return None
    row = db.session.execute(
        select(Tenant.id, Tenant.sso_client_id, Tenant.sso_client_secret).where(
            Tenant.sso_client_id == client_id,
            Tenant.sso_enabled.is_(True),
            Tenant.sso_client_secret.is_not(None),
        )
    ).first()
    return SsoClient(*row) if row else None


def link_is_tenants(tenant_id: int, account_id: str | None, profile_id: str | None) -> bool:
    """Whether the Deliverect account and/or loyalty profile named are registered to the
    tenant (at least one is named)."""
    query = select(DeliverectLink.id).where(DeliverectLink.tenant_id == tenant_id)
    if account_id:
        query = query.where(DeliverectLink.deliverect_account_id == account_id)
    if profile_id:
        query = query.where(DeliverectLink.loyalty_profile_id == profile_id)
    return db.session.scalar(query.limit(1)) is not None


def claim_code(tenant_id: int, code: str, *, now: datetime) -> int | None:
    """The guest (account id, after merges) of a live code of the tenant, marking the code used
    in the same statement: of two exchanges at once, the second finds it used. None for an
    unknown, used, expired or other tenant's code, or an erased guest. Does not commit."""
    if not code or len(code) > MAX_SECRET_FIELD:
        return None
    account_id = db.session.execute(
        update(SsoCode)
        .where(
            SsoCode.tenant_id == tenant_id,
            SsoCode.code_hash == _hash(code),
            SsoCode.used_at.is_(None),
            SsoCode.expires_at > now,
        )
        .values(used_at=now)
        .returning(SsoCode.account_id)
    ).scalar()
    return _guest_after_merges(tenant_id, account_id)


def claim_refresh_token(tenant_id: int, refresh_token: str, *, now: datetime) -> int | None:
    """The guest (after merges) of a live refresh token of the tenant, revoking its token pair
    at `now` in the same statement (rotation: a refresh token works once; the pair that replaces
    it is recorded as issued at `now`, which is how a replay finds it). Does not commit."""
    if not refresh_token or len(refresh_token) > MAX_SECRET_FIELD:
        return None
    account_id = db.session.execute(
        update(SsoToken)
        .where(
            SsoToken.tenant_id == tenant_id,
            SsoToken.refresh_token_hash == _hash(refresh_token),
            SsoToken.revoked_at.is_(None),
            SsoToken.refresh_expires_at > now,
        )
        .values(revoked_at=now)
        .returning(SsoToken.account_id)
    ).scalar()
    return _guest_after_merges(tenant_id, account_id)


def revoke_replaced_pair(tenant_id: int, refresh_token: str, *, now: datetime) -> bool:
    """A refresh token already rotated, presented again: it was copied, or Deliverect lost the
    newer pair. Either way the pairs that replaced it stop working (down the whole chain), and
    the guest is signed in again through their next "Order online". False, and nothing changes,
    for a refresh token that was never rotated. Does not commit."""
    if not refresh_token or len(refresh_token) > MAX_SECRET_FIELD:
        return False
    rotated_at = db.session.scalar(
        select(SsoToken.revoked_at).where(
            SsoToken.tenant_id == tenant_id,
            SsoToken.refresh_token_hash == _hash(refresh_token),
            SsoToken.revoked_at.is_not(None),
        )
    )
    revoked = False
    # Revocations for other reasons (SSO off, a new secret) stamp a moment no pair was issued at.
    while rotated_at is not None:
        newer = db.session.scalar(
            select(SsoToken).where(
                SsoToken.tenant_id == tenant_id, SsoToken.issued_at == rotated_at
            )
        )
        if newer is None:
            break
        if newer.revoked_at is None:
            newer.revoked_at = now
            revoked = True
            break
        rotated_at = newer.revoked_at
    return revoked


def record_token(
    tenant_id: int,
    account_id: int,
    access_token: str,
    refresh_token: str | None,
    *,
    issued_at: datetime,
    expires_in: int,
) -> None:
    """Keep the hashes of an issued token pair. Does not commit."""
    refresh_days = int(current_app.config["SSO_REFRESH_TOKEN_DAYS"])
    db.session.add(
        SsoToken(
            tenant_id=tenant_id,
            account_id=account_id,
            access_token_hash=_hash(access_token),
            refresh_token_hash=_hash(refresh_token) if refresh_token else None,
            issued_at=issued_at,
            expires_at=issued_at + timedelta(seconds=expires_in),
            refresh_expires_at=issued_at + timedelta(days=refresh_days) if refresh_token else None,
        )
    )


def guest_for_token(tenant_id: int, access_token: str, *, now: datetime) -> Account | None:
    """The guest (after merges) a live access token of the tenant names, while the tenant's SSO
    is on (Get Customer with a Bearer token)."""
    if not access_token or len(access_token) > MAX_SECRET_FIELD:
        return None
    account_id = db.session.scalar(
        select(SsoToken.account_id)
        .join(Tenant, Tenant.id == SsoToken.tenant_id)
        .where(
            SsoToken.tenant_id == tenant_id,
            SsoToken.access_token_hash == _hash(access_token),
            SsoToken.revoked_at.is_(None),
            SsoToken.expires_at > now,
            Tenant.sso_enabled.is_(True),
        )
    )
    live = _guest_after_merges(tenant_id, account_id)
    return db.session.get(Account, live) if live is not None else None


def new_token() -> str:
    """An opaque access or refresh token (only its hash is kept)."""
    return secrets.token_urlsafe(32)


def prune_sso(now: datetime) -> int:
    """Delete codes and tokens more than PRUNE_AFTER past their expiry or revocation (a token
    whose refresh token still works is kept); commits and returns the rows deleted."""
    cutoff = now - PRUNE_AFTER
    codes = db.session.execute(delete(SsoCode).where(SsoCode.expires_at < cutoff)).rowcount
    tokens = db.session.execute(
        delete(SsoToken).where(
            or_(
                SsoToken.revoked_at < cutoff,
                (SsoToken.expires_at < cutoff)
                & or_(SsoToken.refresh_expires_at.is_(None), SsoToken.refresh_expires_at < cutoff),
            )
        )
    ).rowcount
    db.session.commit()
    return codes + tokens


def _guest_after_merges(tenant_id: int, account_id: int | None) -> int | None:
    """The account a guest's code or token names now: a merged guest's survivor, None when the
    guest was erased (or is not the tenant's)."""
    account = resolve_merged(db.session.get(Account, account_id)) if account_id else None
    if account is None or account.tenant_id != tenant_id or account.retired:
        return None
    return account.id


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
