"""Channel-compatible endpoints for a restaurant's own web shop (seed 004)."""

import pytest

from loyalty.extensions import db
from loyalty.models import Hold
from loyalty.services.checkout.customers import NewCustomer, create_customer
from tests.support.deliverect import add_reward, give_points
from tests.support.seeds import SEED_004_ORDER

SEED_004_BASKET = {"order": SEED_004_ORDER}
SEED_004_CUSTOMER_ONLY = {
    "order": {
        "customer": {"email": "customer@loyalty.com", "phoneNumber": "+31201234567"},
        "orderType": 1,
    }
}
URL = "/loyalty/6403c0baea6956b6f6970c5c/programs"


@pytest.fixture()
def shop(client, tenant):
    account = create_customer(
        tenant.id, NewCustomer(email="customer@loyalty.com", phone="+31201234567")
    )
    give_points(account, 1000, "opening")
    add_reward(tenant, "1234", "discount_amount", 100, 1000)
    add_reward(tenant, "765", "free_item", 200, item_plu="DRN-01")
    add_reward(tenant, "12456", "buy_one_get_one_free", 500, item_plu="DRN-02")
    headers = {"Authorization": f"Bearer {tenant.issued.api_key}"}

    def post(path, body, **extra):
        return client.post(URL + path, json=body, headers={**headers, **extra})

    return post


@pytest.mark.parametrize("body", [SEED_004_BASKET, SEED_004_CUSTOMER_ONLY])
def test_seed_004_retrieve_answers_the_program_list(shop, body):
    response = shop("/retrieve", body)
    assert response.status_code == 200, response.get_json()
    programs = response.get_json()
    assert [p["programId"] for p in programs] == ["1234", "765", "12456"]
    # Buy-one-get-one needs two DRN-02 in a basket; with no basket only the points count.
    expected_bogof = body is SEED_004_CUSTOMER_ONLY
    assert {p["programId"]: p["applicable"] for p in programs}["12456"] is expected_bogof
    assert all(
        {"programId", "title", "description", "cost", "type", "discount", "applicable", "expiresAt"}
        <= set(p)
        for p in programs
    )


@pytest.mark.parametrize("order_type", [None, "1", 9, True])
def test_missing_or_invalid_order_type_is_422(shop, order_type):
    order = {**SEED_004_BASKET["order"], "orderType": order_type}
    if order_type is None:
        del order["orderType"]
    response = shop("/retrieve", {"order": order})
    assert response.status_code == 422
    assert response.get_json()["error"] == "invalid_order_type"
    assert response.get_json()["http_code"] == 422


def test_unknown_customer_is_404_loyalty_customer_not_found(shop):
    body = {"order": {"customer": {"email": "nobody@loyalty.com"}, "orderType": 1}}
    response = shop("/retrieve", body)
    assert response.status_code == 404
    assert response.get_json()["error"] == "loyalty customer not found"


def test_missing_or_wrong_api_key_is_401(client, shop):
    assert client.post(URL + "/retrieve", json=SEED_004_BASKET).status_code == 401
    response = client.post(
        URL + "/retrieve", json=SEED_004_BASKET, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    assert set(response.get_json()) == {"error", "http_code", "description"}


def test_channel_validate_holds_points_like_the_webhook(shop):
    body = {"sessionId": "web-1", "programIds": ["1234"], **SEED_004_BASKET}
    response = shop("/validate", body)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer[0]["discounts"][0]["offer"] == {"type": "flat_off", "value": 1000}
    assert db.session.query(Hold).one().session_id == "web-1"


def test_unknown_channel_route_answers_in_the_error_shape(client, shop):
    response = client.post("/loyalty/x/unknown", json={})
    assert response.status_code == 404
    assert set(response.get_json()) == {"error", "http_code", "description"}
