"""Deliverect single sign-on in tests: a restaurant with SSO on, a guest's code, token requests."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from loyalty.models import Account, WebShop, utcnow
from loyalty.services.deliverect import sso
from tests.support.deliverect import ACCOUNT_ID, PROFILE_ID

TOKEN_URL = "/webhooks/deliverect/oauth/token"


@dataclass(frozen=True)
class SsoSetUp:
    client_id: str
    client_secret: str
    shop: WebShop


def turn_on_sso(tenant, environment: str = "staging", channel_link_id: str = "shop-1") -> SsoSetUp:
    """SSO on, a client issued and one web shop, as an owner sets them up in Settings."""
    sso.update_sso(tenant.id, enabled=True, environment=environment)
    issued = sso.issue_client(tenant.id)
    shop = sso.add_shop(
        tenant.id,
        sso.ShopDetails("Trattoria online", channel_link_id, "https://order.trattoria.test/menu"),
    )
    return SsoSetUp(issued.client_id, issued.client_secret, shop)


def code_for(account: Account, shop: WebShop) -> str:
    """The code a guest's "Order online" hands to Deliverect (read back from the SSO address)."""
    address = sso.start_sso(account.tenant_id, account.id, shop.id, now=utcnow())
    return parse_qs(urlsplit(address).query)["code"][0]


def exchange(client, set_up: SsoSetUp, code: str, **fields):
    """Deliverect's token request: a JSON body with the client in it (client_secret_post)."""
    body = {
        "grant_type": "authorization_code",
        "client_id": set_up.client_id,
        "client_secret": set_up.client_secret,
        "code": code,
        "accountId": ACCOUNT_ID,
        "loyaltyProfileId": PROFILE_ID,
        **fields,
    }
    return client.post(TOKEN_URL, json={k: v for k, v in body.items() if v is not None})
