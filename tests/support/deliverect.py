"""Test helpers that play Deliverect: signed calls, a registered link, rewards and points."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

from loyalty.extensions import db
from loyalty.models import Account, Reward, Tier
from loyalty.services.wallet.ledger import Posting, lock_account, post
from loyalty.webhooks.signature import HEADER, sign

BASE = "/webhooks/deliverect"
ACCOUNT_ID = "6401c934c43f86ebfedaeb9c"
PROFILE_ID = "67acb1893b57bab8866dfa4c"


class Deliverect:
    """Sends webhooks the way Deliverect does, signed with the tenant's secret by default."""

    def __init__(self, client, tenant, account_id: str = ACCOUNT_ID, profile_id: str = PROFILE_ID):
        self.client = client
        self.tenant = tenant
        self.secret = tenant.issued.webhook_secret
        self.ids = {"accountId": account_id, "loyaltyProfileId": profile_id}

    def register(self):
        response = self.post("/registration", {**self.ids, "apiKey": self.tenant.issued.api_key})
        assert response.status_code == 200, response.get_json()
        return response

    def post(
        self,
        path: str,
        body,
        *,
        secret: str | None = "default",
        raw: bytes | None = None,
        headers: dict | None = None,
        with_ids: bool = False,
    ):
        if with_ids and isinstance(body, dict):
            body = {**self.ids, **body}
        body_bytes = raw if raw is not None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", "User-Agent": "Deliverect/test"}
        key = self.secret if secret == "default" else secret
        if key is not None:
            all_headers[HEADER] = sign(key, body_bytes)
        all_headers.update(headers or {})
        url = path if path.startswith("/loyalty/") else BASE + path
        return self.client.post(url, data=body_bytes, headers=all_headers)

    def get(self, path: str, *, secret: str | None = "default", **query):
        params = {**self.ids, **query}
        headers = {"User-Agent": "Deliverect/test"}
        key = self.secret if secret == "default" else secret
        if key is not None:
            headers[HEADER] = sign(key, b"")
        return self.client.get(f"{BASE}{path}?{urlencode(params)}", headers=headers)


def add_reward(tenant, program_id: str, type_: str, cost: int, value: int = 0, **fields) -> Reward:
    reward = Reward(
        tenant_id=tenant.id,
        program_id=program_id,
        title=fields.pop("title", f"Program {program_id}"),
        description=fields.pop("description", ""),
        type=type_,
        cost=cost,
        value=value,
        **fields,
    )
    db.session.add(reward)
    db.session.commit()
    return reward


def add_tier(tenant, name: str, threshold: int, multiplier: int = 100) -> Tier:
    tier = Tier(
        tenant_id=tenant.id, name=name, threshold_points=threshold, multiplier_percent=multiplier
    )
    db.session.add(tier)
    db.session.commit()
    return tier


def give_points(account: Account, points: int, key: str, expires_at: datetime | None = None):
    lock_account(account.id)
    post(
        account.tenant_id,
        account.id,
        Posting("points", "adjust", points, key, reason="test", expires_at=expires_at),
    )
    db.session.commit()


def give_cash(account: Account, amount: int, key: str):
    lock_account(account.id)
    post(account.tenant_id, account.id, Posting("cash", "adjust", amount, key, reason="test"))
    db.session.commit()


def basket_order(customer_id: str, items: list[dict], discounts: list | None = None, **extra):
    return {
        "customer": {"loyaltyProviderCustomerId": customer_id},
        "orderType": 1,
        "items": items,
        "discounts": discounts or [],
        "decimalDigits": 2,
        **extra,
    }


def item(plu: str, price: int, quantity: int = 1, name: str = "Item") -> dict:
    return {"plu": plu, "name": name, "price": price, "quantity": quantity, "subItems": []}
