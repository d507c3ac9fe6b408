"""Fuzz: thousands of malformed, random, signed bodies per endpoint never cause a 500.

Every refusal is in the contract's shape and the ledger stays consistent afterwards.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.extensions import db
from loyalty.models import Account
from loyalty.services.deliverect import NewCustomer, create_customer
from loyalty.services.ledger import ledger_sum
from tests.support.deliverect import Deliverect, add_reward, give_points

POST_ENDPOINTS = [
    "/customer",
    "/wallet/validate",
    "/programs",
    "/programs/validate",
    "/orders",
    "/orders/cancel",
    "/loyalty/cancelOrder",
    "/registration",
]
# Thousands of bodies per endpoint in all: 1000 on SQLite; parsing is database-independent, so
# PostgreSQL gets a quarter to keep the suite's time reasonable on a small machine.
EXAMPLES = 1000

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["1", "2", "cust", "", "+32470123456", "a@b.co", "cash", "loyalty"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "plu",
                    "price",
                    "quantity",
                    "subItems",
                    "programId",
                    "amount",
                    "type",
                    "items",
                    "customer",
                    "discounts",
                    "orderId",
                    "wallet",
                    "order",
                    "programIds",
                    "x",
                ]
            ),
            children,
            max_size=5,
        ),
    ),
    max_leaves=20,
)
order_like = st.fixed_dictionaries(
    {},
    optional={
        "customer": st.one_of(
            json_values,
            st.fixed_dictionaries({"loyaltyProviderCustomerId": st.sampled_from(["cust", "x"])}),
        ),
        "items": st.one_of(
            json_values,
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "plu": scalars,
                        "price": scalars,
                        "quantity": scalars,
                        "subItems": json_values,
                    },
                ),
                max_size=4,
            ),
        ),
        "discounts": st.one_of(
            json_values,
            st.lists(
                st.fixed_dictionaries(
                    {}, optional={"programId": scalars, "amount": scalars, "type": scalars}
                ),
                max_size=3,
            ),
        ),
        "paymentAmount": scalars,
        "decimalDigits": scalars,
        "tip": scalars,
        "orderType": scalars,
    },
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "sessionId": scalars,
            "programIds": st.one_of(json_values, st.lists(scalars, max_size=4)),
            "order": st.one_of(json_values, order_like),
            "wallet": st.one_of(
                json_values, st.fixed_dictionaries({"type": scalars, "amount": scalars})
            ),
            "orderId": scalars,
            "isCancelled": scalars,
            "customer": json_values,
            "items": json_values,
            "discounts": json_values,
            "paymentAmount": scalars,
            "email": scalars,
            "phoneNumber": scalars,
            "dateOfBirth": scalars,
            "apiKey": scalars,
        },
    ),
)


def assert_contract_answer(response):
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code == 409:  # creating an existing customer answers their profile
        assert "providerId" in response.get_json()
    elif response.status_code >= 400:
        body = response.get_json()
        assert body == {"value": ""} or (
            set(body) == {"error", "http_code", "description"}
            and body["http_code"] == response.status_code
        ), body


@pytest.fixture()
def deliverect(client, tenant):
    channel = Deliverect(client, tenant)
    channel.register()
    account = create_customer(tenant.id, NewCustomer(email="fuzz@x.com"))
    account.external_id = "cust"
    db.session.commit()
    give_points(account, 500, "opening")
    add_reward(tenant, "1", "discount_amount", 100, 200)
    add_reward(tenant, "2", "buy_one_get_one_free", 50, item_plu="1")
    return channel


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_random_json_bodies_never_break_an_endpoint(deliverect, endpoint):
    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(body=bodies)
    def probe(body):
        if isinstance(body, dict) and endpoint != "/registration":
            body = {**deliverect.ids, **body}
        assert_contract_answer(deliverect.post(endpoint, body))

    probe()
    for account in db.session.query(Account).all():
        db.session.refresh(account)
        assert account.points_balance == ledger_sum(account.id, "points") >= 0
        assert account.cash_balance == ledger_sum(account.id, "cash") >= 0


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(raw=st.binary(max_size=200), endpoint=st.sampled_from(POST_ENDPOINTS))
def test_bytes_that_are_not_json_are_refused_in_the_contract_shape(deliverect, raw, endpoint):
    response = deliverect.post(endpoint, None, raw=raw)
    assert_contract_answer(response)
    assert response.status_code >= 400 or json.loads(raw) is not None


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    query=st.dictionaries(
        st.sampled_from(["providerId", "email", "phoneNumber", "accountId", "x"]),
        st.text(max_size=20),
    )
)
def test_random_queries_on_get_endpoints(deliverect, query):
    for path in ("/customer", "/customer/wallet", "/tiers"):
        assert_contract_answer(deliverect.get(path, **query))


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "\ud800"])
@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_text_no_database_can_store_is_refused_with_400(deliverect, endpoint, text):
    raw = json.dumps({**deliverect.ids, "orderId": text, "email": "x@y.co", "order": {}}).encode()
    response = deliverect.post(endpoint, None, raw=raw)
    assert response.status_code == 400
    assert "NUL" in response.get_json()["description"]
    query_response = deliverect.get("/customer", providerId=text.replace("\ud800", "\x00"))
    assert query_response.status_code == 400
