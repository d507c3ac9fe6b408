"""Customer, wallet and tiers webhooks (spec §1-§4, §8)."""

from datetime import timedelta

import pytest

from loyalty.extensions import db
from loyalty.models import Account, utcnow
from loyalty.webhooks.simulator import PROFILE_KEYS
from tests.support.deliverect import add_tier, give_cash, give_points

NEW_CUSTOMER = {
    "firstName": "John",
    "lastName": "Doe",
    "email": "John@X.com",
    "phoneNumber": "+32 470 12 34 56",
    "dateOfBirth": "1970-01-01T00:00:00+00:00",
}


@pytest.fixture()
def john(deliverect):
    response = deliverect.post("/customer", NEW_CUSTOMER, with_ids=True)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_create_customer_answers_the_profile_with_balance(john):
    assert set(john) == PROFILE_KEYS | {"balance"}
    assert john["email"] == "john@x.com"
    assert john["phoneNumber"] == "+32470123456"
    assert john["dateOfBirth"] == "1970-01-01T00:00:00Z"
    assert john["status"] == "active"
    assert john["acceptedTCAt"] is not None
    assert (john["balance"], john["lifetimePointsBalance"], john["tier"]) == (0, 0, None)


def test_creating_an_existing_customer_answers_409_with_that_profile(deliverect, john):
    response = deliverect.post(
        "/customer", {**NEW_CUSTOMER, "email": "JOHN@x.com", "phoneNumber": None}, with_ids=True
    )
    assert response.status_code == 409
    assert response.get_json()["providerId"] == john["providerId"]
    assert db.session.query(Account).count() == 1


@pytest.mark.parametrize(
    "query",
    [
        {"providerId": "PROVIDER"},
        {"email": "JOHN@x.com"},
        {"phoneNumber": "+32470123456"},
        {"providerId": "john@x.com"},  # marketplaces send whatever the shopper typed
    ],
)
def test_get_customer_by_any_identifier(deliverect, john, query):
    if query.get("providerId") == "PROVIDER":
        query = {"providerId": john["providerId"]}
    response = deliverect.get("/customer", **query)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == PROFILE_KEYS
    assert body["providerId"] == john["providerId"]


def test_unknown_customer_is_404_value(deliverect):
    response = deliverect.get("/customer", email="nobody@x.com")
    assert response.status_code == 404
    assert response.get_json() == {"value": ""}


def test_customer_lookup_without_identifier_is_400_naming_it(deliverect):
    response = deliverect.get("/customer")
    assert response.status_code == 400
    assert "providerId" in response.get_json()["description"]


def test_create_with_a_bad_phone_is_400_naming_the_field(deliverect):
    response = deliverect.post("/customer", {**NEW_CUSTOMER, "phoneNumber": "abc"}, with_ids=True)
    assert response.status_code == 400
    assert response.get_json()["description"].startswith("phoneNumber:")
    assert db.session.query(Account).count() == 0


def test_create_without_email_or_phone_is_400(deliverect):
    response = deliverect.post("/customer", {"firstName": "A"}, with_ids=True)
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"


def test_customer_tier_has_requirements_inside_media(deliverect, john, tenant):
    add_tier(tenant, "Bronze", 0)
    add_tier(tenant, "Gold", 1000, 150)
    tier = deliverect.get("/customer", providerId=john["providerId"]).get_json()["tier"]
    assert tier["name"] == "Bronze"
    assert tier["media"]["requirements"] == {"minLifetimePoints": 0, "maxLifetimePoints": 999}


def test_tiers_are_listed_lowest_first_with_requirements(deliverect, tenant):
    add_tier(tenant, "Gold", 1000, 150)
    add_tier(tenant, "Bronze", 0)
    add_tier(tenant, "Silver", 300, 120)
    response = deliverect.get("/tiers")
    assert response.status_code == 200
    tiers = response.get_json()
    assert [t["name"] for t in tiers] == ["Bronze", "Silver", "Gold"]
    assert tiers[2]["media"]["requirements"] == {
        "minLifetimePoints": 1000,
        "maxLifetimePoints": None,
    }
    assert set(tiers[0]) == {"name", "description", "media"}


def test_wallet_shows_spendable_points_with_expirations_and_cash(deliverect, john, tenant):
    account = db.session.query(Account).one()
    soon = utcnow() + timedelta(days=10)
    give_points(account, 500, "t1", expires_at=soon)
    give_points(account, 200, "t2")
    give_cash(account, 1000, "c1")
    response = deliverect.get("/customer/wallet", providerId=john["providerId"])
    assert response.status_code == 200
    assert response.get_json() == {
        "points": {
            "balance": 700,
            "expirations": [{"amount": 500, "date": soon.date().isoformat()}],
        },
        "cash": {"balanceAmount": 1000, "expirations": []},
    }


def test_wallet_of_unknown_customer_is_404(deliverect):
    response = deliverect.get("/customer/wallet", providerId="nobody")
    assert (response.status_code, response.get_json()) == (404, {"value": ""})


def test_validate_wallet_accepts_cash_up_to_balance_and_order_total(deliverect, john):
    give_cash(db.session.query(Account).one(), 1000, "c1")
    order = {
        "customer": {"loyaltyProviderCustomerId": john["providerId"]},
        "items": [{"plu": "A", "name": "A", "price": 800, "quantity": 1}],
        "paymentAmount": 800,
    }
    ok = deliverect.post(
        "/wallet/validate",
        {"order": order, "wallet": {"type": "cash", "amount": 500}},
        with_ids=True,
    )
    assert ok.status_code == 200
    assert ok.get_json() == {
        "validationErrors": [],
        "discounts": [
            {
                "provider": "loyalty",
                "externalId": "wallet_cash",
                "offer": {"type": "flat_off", "value": 500},
                "scope": {"type": "order"},
            }
        ],
        "maxRedeemableAmount": 800,
    }
    too_much = deliverect.post(
        "/wallet/validate",
        {"order": order, "wallet": {"type": "cash", "amount": 1500}},
        with_ids=True,
    ).get_json()
    assert too_much["discounts"] == [] and too_much["validationErrors"]


@pytest.mark.parametrize(
    "wallet, field",
    [
        ({"type": "points", "amount": 5}, "wallet.type"),
        ({"type": "cash", "amount": 0}, "wallet.amount"),
        ({"type": "cash", "amount": 2.5}, "wallet.amount"),
        ({"type": "cash"}, "wallet.amount"),
    ],
)
def test_validate_wallet_rejects_bad_wallets_naming_the_field(deliverect, john, wallet, field):
    response = deliverect.post("/wallet/validate", {"order": {}, "wallet": wallet}, with_ids=True)
    assert response.status_code == 400
    assert response.get_json()["description"].startswith(field)
