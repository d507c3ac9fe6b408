"""Every date-time the webhooks send is written one way: ISO 8601 in UTC, ending in "Z"."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from loyalty.extensions import db
from loyalty.models import Account
from tests.support.deliverect import add_reward, add_tier, basket_order, give_points, item

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def date_times(body, path: str = "") -> dict[str, str]:
    """Every string in a JSON body that reads as a date-time, by where it is."""
    found = {}
    if isinstance(body, dict):
        for key, value in body.items():
            found.update(date_times(value, f"{path}.{key}"))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            found.update(date_times(value, f"{path}[{index}]"))
    elif isinstance(body, str) and DATE_TIME.match(body):
        found[path] = body
    return found


def test_every_date_time_the_webhooks_send_ends_in_z(app, tenant, deliverect):
    add_tier(tenant, "Gold", 0)
    add_reward(
        tenant,
        "1",
        "discount_amount",
        100,
        200,
        active_to=datetime(2030, 7, 1, tzinfo=UTC),
    )
    created = deliverect.post(
        "/customer",
        {
            "firstName": "Ana",
            "email": "ana@example.com",
            "dateOfBirth": "1990-05-17T00:00:00+00:00",
            "acceptedTCAt": "2024-01-01T02:00:00+02:00",
        },
        with_ids=True,
    ).get_json()
    account = db.session.query(Account).filter_by(external_id=created["providerId"]).one()
    give_points(account, 500, "opening", expires_at=datetime(2031, 1, 1, tzinfo=UTC))
    customer = account.external_id
    order = basket_order(customer, [item("A", 900)])
    answers = [
        created,
        deliverect.get("/customer", providerId=customer).get_json(),
        deliverect.get("/customer/wallet", providerId=customer).get_json(),
        deliverect.get("/tiers").get_json(),
        deliverect.post("/programs", {"order": order}, with_ids=True).get_json(),
        deliverect.post(
            "/programs/validate",
            {"sessionId": "s1", "programIds": ["1"], "order": order},
            with_ids=True,
        ).get_json(),
        deliverect.post("/wallet/validate", {"order": order}, with_ids=True).get_json(),
        deliverect.post(
            "/orders",
            {
                **order,
                "orderId": "O-1",
                "sessionId": "s1",
                "paymentAmount": 700,
                "discounts": [{"programId": "1", "amount": 200}],
            },
            with_ids=True,
        ).get_json(),
        deliverect.get("/customer", providerId=customer).get_json(),  # after the order
    ]
    sent = date_times(answers)
    assert {path.rsplit(".", 1)[-1] for path in sent} >= {
        "dateOfBirth",
        "acceptedTCAt",
        "expiresAt",
    }, sent
    assert all(value.endswith("Z") and "+" not in value for value in sent.values()), sent
    assert sent["[0].acceptedTCAt"] == "2024-01-01T00:00:00Z"
    assert sent["[4][0].expiresAt"] == "2030-07-01T00:00:00Z"
