"""Test helpers that play Deliverect: signed calls, a registered link, rewards and points."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

from loyalty.extensions import db
from loyalty.models import Account, Reward, Tenant, Tier
from loyalty.services.checkout.customers import NewCustomer, create_customer
from loyalty.services.setup.tenants import create_tenant
from loyalty.services.wallet.ledger import Posting, lock_account, post
from loyalty.signature import HEADER, sign
from tests.support.app import at_once

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


def registered_tenant(client) -> tuple[Tenant, Deliverect]:
    """A fresh Trattoria Roma registered with Deliverect through `client`, as after set-up;
    its one-time API key and secret kept as `tenant.issued`."""
    tenant, credentials = create_tenant("trattoria", "Trattoria Roma")
    tenant.issued = credentials
    channel = Deliverect(client, tenant)
    channel.register()
    return tenant, channel


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


def checkout_customer(tenant, points: int, **fields) -> Account:
    """A customer as Deliverect's checkout creates one (`fields` of NewCustomer), with `points`."""
    account = create_customer(tenant.id, NewCustomer(**fields))
    give_points(account, points, "opening")
    return account


def give_cash(account: Account, amount: int, key: str):
    lock_account(account.id)
    post(account.tenant_id, account.id, Posting("cash", "adjust", amount, key, reason="test"))
    db.session.commit()


def order_body(customer, order_id="TEST0001", discounts=None, payment=899, **extra):
    """The spec's example order, for `customer` (Jane Doe, jane@x.com)."""
    return {
        "orderId": order_id,
        "channelOrderDisplayId": "T4206",
        "created": "2025-01-01T12:00:00.000000Z",
        "orderType": 1,
        "customer": {
            "email": "jane@x.com",
            "phoneNumber": "",
            "name": "Jane Doe",
            "loyaltyProviderCustomerId": customer.external_id,
        },
        "items": [
            {
                "plu": "P-0009",
                "name": "Two Tub Bundle",
                "price": 1399,
                "quantity": 1,
                "subItems": [],
            }
        ],
        "subTotal": 1399,
        "taxTotal": 0,
        "discountTotal": -500,
        "paymentAmount": payment,
        "decimalDigits": 2,
        "discounts": discounts if discounts is not None else [],
        "serviceCharge": 0,
        "deliveryCost": 0,
        "bagFee": 0,
        "tip": 0,
        "driverTip": 0,
        "smallOrderFee": 0,
        **extra,
    }


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


def run_together(app, tenant, calls) -> list:
    """Each call (fn(deliverect) -> anything) at the same moment, on its own thread, test
    client and database connection, as parallel workers would; their results in order."""
    return at_once(
        app, lambda number: calls[number](Deliverect(app.test_client(), tenant)), len(calls)
    )


def answers(responses) -> list[tuple[int, dict]]:
    """What Deliverect got back from each response: status and JSON body."""
    return [(response.status_code, response.get_json()) for response in responses]
