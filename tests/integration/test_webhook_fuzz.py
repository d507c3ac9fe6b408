"""Fuzz: thousands of malformed, random, signed bodies per endpoint never cause a 500.

Every refusal is in the contract's shape and the ledger stays consistent afterwards.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.extensions import db
from loyalty.models import Account
from loyalty.services.checkout.customers import NewCustomer, create_customer
from loyalty.services.wallet.ledger import ledger_sum
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
CHANNEL_ENDPOINTS = ["/loyalty/channel-1/programs/retrieve", "/loyalty/channel-1/programs/validate"]
# Thousands of bodies per endpoint in all (900 random ones, plus the hostile ones below).
EXAMPLES = 900
HOSTILE_EXAMPLES = 600
LIMIT = 1024 * 1024  # Defaults.MAX_CONTENT_LENGTH

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


# Hostile bodies, written as raw JSON so that they can be what json.dumps never writes: nesting
# past Python's recursion limit, numbers past a double or past 4300 digits, sizes at the limit.
far_dates = st.sampled_from(
    [
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31",
        "0001-01-01",
        "2024-02-30",
        "+275760-09-13T00:00:00Z",
        "2024-06-01T12:00:00Z",
        "1899-12-31",
        "2200-01-01",
    ]
) | st.datetimes().map(lambda moment: moment.isoformat())
big_numbers = st.sampled_from(
    ["1e20", "1e308", "1e400", "-1e400", "1E-400", "-0", "1" * 64, "1" * 65, "9" * 5000, "0.5"]
) | st.integers(-(10**40), 10**40).map(str)
hostile_ids = st.sampled_from(
    ["", " ", "cust", "a" * 65, "a" * 129, "\\u0000", "\\ud800"]
) | st.text(max_size=140).map(lambda text: json.dumps(text)[1:-1])


def quoted(text: str) -> str:
    return f'"{text}"'


def nesting(depth: int, opener: str) -> str:
    return (
        opener * depth
        + ("1" if opener == '{"x":' else "")
        + ("}" if opener == '{"x":' else "]") * depth
    )


hostile_values = st.one_of(
    big_numbers,
    far_dates.map(quoted),
    hostile_ids.map(quoted),
    st.builds(nesting, st.integers(1, 3000), st.sampled_from(['{"x":', "["])),
)


@st.composite
def hostile_bodies(draw, ids: dict) -> bytes:
    def value() -> str:
        return draw(hostile_values)

    item = f'{{"plu":{value()},"price":{value()},"quantity":{value()},"subItems":[]}}'
    fields = {
        "orderId": value(),
        "sessionId": value(),
        "created": value(),
        "dateOfBirth": value(),
        "acceptedTCAt": value(),
        "email": value(),
        "paymentAmount": value(),
        "tip": value(),
        "items": f"[{item}]",
        "customer": f'{{"email":{value()},"loyaltyProviderCustomerId":{value()}}}',
        "programIds": f"[{value()}]",
        "order": f'{{"orderType":1,"items":[{item}],"paymentAmount":{value()}}}',
        "wallet": f'{{"type":"cash","amount":{value()}}}',
        "x": value(),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=len(fields)))
    parts = [f"{json.dumps(key)}:{value}" for key, value in ids.items()]
    parts += [f"{json.dumps(key)}:{fields[key]}" for key in chosen]
    raw = ("{" + ",".join(parts) + "}").encode()
    # Up to, at and just past the size limit.
    size = draw(st.sampled_from([0, 0, 0, 10_000, LIMIT - 1, LIMIT, LIMIT + 1]))
    if size > len(raw) + 10:
        raw = raw[:-1] + b',"pad":"' + b"a" * (size - len(raw) - 9) + b'"}'
    return raw


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


def test_hostile_bodies_never_break_an_endpoint(deliverect, tenant):
    """Deep nesting, huge numbers, far dates, odd ids and bodies up to the size limit."""
    bearer = {"Authorization": f"Bearer {tenant.issued.api_key}"}
    ids = {**deliverect.ids, "apiKey": tenant.issued.api_key}

    @settings(
        max_examples=HOSTILE_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(raw=hostile_bodies(ids), endpoint=st.sampled_from(POST_ENDPOINTS + CHANNEL_ENDPOINTS))
    def probe(raw, endpoint):
        response = deliverect.post(endpoint, None, raw=raw, headers=bearer)
        assert_contract_answer(response)
        assert response.status_code != 413 or len(raw) > LIMIT

    probe()
    for account in db.session.query(Account).all():
        db.session.refresh(account)
        assert account.points_balance == ledger_sum(account.id, "points") >= 0


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
        st.text(max_size=20) | far_dates | big_numbers | st.text(min_size=100, max_size=5000),
    )
)
def test_random_queries_on_get_endpoints(deliverect, query):
    for path in ("/customer", "/customer/wallet", "/tiers"):
        assert_contract_answer(deliverect.get(path, **query))


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "\ud800"])
@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_text_no_database_can_store_is_refused_with_400(deliverect, tenant, endpoint, text):
    body = {**deliverect.ids, "apiKey": tenant.issued.api_key, "orderId": text, "order": {}}
    raw = json.dumps({**body, "email": "x@y.co"}).encode()
    response = deliverect.post(endpoint, None, raw=raw)
    assert response.status_code == 400
    assert "NUL" in response.get_json()["description"]
    query_response = deliverect.get("/customer", providerId=text.replace("\ud800", "\x00"))
    assert query_response.status_code == 400
