"""The absolute webhook URLs handed to Deliverect (and shown on the Integration page)."""

from __future__ import annotations

from flask import current_app, request, url_for

from ..models import Tenant
from ..services.deliverect.sso import sso_ready

# Every Deliverect webhook is below this path.
PREFIX = "/webhooks/deliverect"
# Registration answer field -> view endpoint; the order is the order shown to people.
WEBHOOK_URLS = (
    ("customerURL", "webhooks.customer"),
    ("customerWalletURL", "webhooks.customer_wallet"),
    ("validateWalletURL", "webhooks.validate_wallet"),
    ("loyaltyProgramsURL", "webhooks.programs"),
    ("loyaltyValidateProgramsURL", "webhooks.validate_programs"),
    ("orderURL", "webhooks.orders"),
    ("cancelOrderURL", "webhooks.cancel_order"),
    ("tiersURL", "webhooks.tiers"),
)


def public_url(endpoint: str, **values) -> str:
    """PUBLIC_BASE_URL (the app's root as the internet sees it) when configured, else the
    request's own root, which ProxyFix corrects behind a proxy."""
    path = url_for(endpoint, **values)
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + path[len(request.script_root) :]
    return request.url_root.rstrip("/") + path[len(request.script_root) :]


def registration_url() -> str:
    return public_url("webhooks.registration")


def webhook_urls() -> dict[str, str]:
    return {name: public_url(endpoint) for name, endpoint in WEBHOOK_URLS}


def oauth_url() -> str:
    """Registration's `oauthUrl` (single sign-on): Deliverect posts to `{oauthUrl}/token`."""
    return public_url("webhooks.sso_token").removesuffix("/token")


def sso_urls(tenant: Tenant) -> dict[str, str]:
    """The single sign-on address registration adds when the tenant's SSO is ready."""
    return {"oauthUrl": oauth_url()} if sso_ready(tenant) else {}
