"""Untrusted bodies cost bounded, linear work: size limit, forged calls, depth, numbers, dates."""

import io
import json
import time

import pytest

from loyalty.extensions import db
from loyalty.models import DeliverectLink, Order, WebhookCall
from tests.support.deliverect import BASE, Deliverect, item

LIMIT = 1024 * 1024  # Defaults.MAX_CONTENT_LENGTH
WEBHOOK_POSTS = [
    f"{BASE}/registration",
    f"{BASE}/customer",
    f"{BASE}/wallet/validate",
    f"{BASE}/programs",
    f"{BASE}/programs/validate",
    f"{BASE}/orders",
    f"{BASE}/orders/cancel",
    "/loyalty/cancelOrder",
    "/loyalty/channel-1/programs/retrieve",
    "/loyalty/channel-1/programs/validate",
]


def padded(ids: dict, size: int, key: str = "orderId") -> bytes:
    """A JSON object with the context ids and one string, `size` bytes long in all."""
    head = json.dumps({**ids, key: ""}).encode()
    return head[:-2] + b"a" * (size - len(head)) + head[-2:]


def assert_error_shape(response, status: int) -> None:
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == {"error", "http_code", "description"} and body["http_code"] == status


@pytest.mark.parametrize("path", WEBHOOK_POSTS)
def test_a_body_over_the_limit_is_refused_with_413_before_any_work(deliverect, tenant, path):
    """Item 1: announced by Content-Length, refused before the view runs (no log row either)."""
    raw = padded({**deliverect.ids, "apiKey": tenant.issued.api_key}, LIMIT + 1)
    response = deliverect.client.post(
        path, data=raw, headers={"Authorization": f"Bearer {tenant.issued.api_key}"}
    )
    assert_error_shape(response, 413)
    assert db.session.query(WebhookCall).count() == 1  # the fixture's registration only


def test_a_body_at_the_limit_is_read(deliverect):
    response = deliverect.post("/orders", None, raw=padded(deliverect.ids, LIMIT))
    assert response.status_code == 400  # read and signed; an orderId this long is refused
    assert "orderId" in response.get_json()["description"]


def test_a_chunked_body_without_content_length_is_cut_at_the_limit(deliverect):
    """Item 1: no Content-Length (chunked, with a server that ends the stream) is bounded too."""
    response = deliverect.client.post(
        f"{BASE}/orders",
        input_stream=io.BytesIO(padded(deliverect.ids, 5 * LIMIT)),
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_error_shape(response, 413)


def test_a_dashboard_form_over_the_limit_is_refused_with_413(client):
    response = client.post("/login", data={"email": "a@b.co", "password": "x" * (LIMIT + 1)})
    assert response.status_code == 413
    assert b"Request Entity Too Large" in response.data


@pytest.mark.parametrize("path", ["/orders", "/registration"])
def test_a_forged_call_costs_the_signature_check_and_logs_only_its_size(deliverect, tenant, path):
    """Item 1: was ~9 s for 40 KB (quadratic e-mail regex over every string, before the HMAC);
    a body just under the limit is now answered 401 at once, and the log keeps no content."""
    raw = padded({**deliverect.ids, "apiKey": tenant.issued.api_key}, LIMIT - 1, key="x")
    started = time.perf_counter()
    response = deliverect.post(path, None, raw=raw, secret="wrong")
    elapsed = time.perf_counter() - started
    assert_error_shape(response, 401)
    assert elapsed < 1.0
    call = db.session.query(WebhookCall).order_by(WebhookCall.id.desc()).first()
    assert call.status == 401
    assert json.loads(call.request_summary) == {"bytes": len(raw), **deliverect.ids}


def test_a_signed_body_with_a_long_string_is_summarised_in_linear_time(deliverect):
    raw = padded(deliverect.ids, LIMIT - 1)
    started = time.perf_counter()
    deliverect.post("/orders/cancel", None, raw=raw)
    assert time.perf_counter() - started < 1.0
    call = db.session.query(WebhookCall).order_by(WebhookCall.id.desc()).first()
    assert len(call.request_summary) <= 2000


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize("depth", [60, 900, 1000, 50_000])
@pytest.mark.parametrize("path", ["/orders", "/programs", "/registration"])
def test_a_signed_body_nested_deeply_is_a_400_in_the_contract_shape(
    deliverect, tenant, path, depth
):
    """Item 8: ~1,000 levels was a 500 (recursion in the log summary and the JSON column)."""
    body = {
        **deliverect.ids,
        "apiKey": tenant.issued.api_key,
        "orderId": "O-deep",
        "order": {"orderType": 1},
    }
    raw = json.dumps(body).encode()[:-1] + b', "extra": ' + b'{"x": ' * depth + b"1"
    raw += b"}" * depth + b"}"
    response = deliverect.post(path, None, raw=raw)
    assert_error_shape(response, 400)
    assert db.session.query(Order).count() == 0


def test_a_signed_order_priced_at_1e20_without_payment_amount_is_a_400(deliverect):
    """Item 8: the basket total reached a 32-bit column and the request failed with a 500."""
    raw = json.dumps({**deliverect.ids, "orderId": "O-huge", "items": [item("A", 1)]}).replace(
        '"price": 1', '"price": 1e20'
    )
    response = deliverect.post("/orders", None, raw=raw.encode())
    assert_error_shape(response, 400)
    assert response.get_json()["description"].startswith("order.items[0].price")
    assert db.session.query(Order).count() == 0


def test_quantities_cannot_multiply_a_basket_past_the_amount_limit(deliverect):
    sub = item("S", 10**8, 10_000)
    line = {**item("A", 10**8, 10_000), "subItems": [sub]}
    response = deliverect.post("/orders", {"orderId": "O-many", "items": [line]}, with_ids=True)
    assert_error_shape(response, 400)
    assert "basket totals more than" in response.get_json()["description"]


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" * 5000])
def test_numbers_beyond_what_a_database_stores_are_a_400(deliverect, number):
    raw = f'{{"accountId": "{deliverect.ids["accountId"]}", "orderId": "o", "x": {number}}}'
    response = deliverect.post("/orders", None, raw=raw.encode())
    assert_error_shape(response, 400)


@pytest.mark.parametrize(
    "created", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "9999-12-31"]
)
def test_an_order_dated_absurdly_far_is_recorded_at_the_time_received(deliverect, created):
    body = {"orderId": "O-far", "created": created, "paymentAmount": 100}
    response = deliverect.post("/orders", body, with_ids=True)
    assert response.status_code == 200, response.get_json()
    assert db.session.query(Order).one().ordered_at.year < 2200


@pytest.mark.parametrize("field", ["dateOfBirth", "acceptedTCAt"])
@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
def test_a_new_customer_with_a_far_date_is_a_400_naming_the_field(deliverect, field, moment):
    body = {"email": "far@x.com", field: moment}
    response = deliverect.post("/customer", body, with_ids=True)
    assert_error_shape(response, 400)
    assert response.get_json()["description"].startswith(field)


def test_no_link_is_written_by_a_refused_registration(client, tenant):
    channel = Deliverect(client, tenant)
    raw = padded({**channel.ids, "apiKey": tenant.issued.api_key}, LIMIT + 1, key="x")
    channel.post("/registration", None, raw=raw)
    assert db.session.query(DeliverectLink).count() == 0


def test_a_dashboard_form_over_the_limit_gets_the_dashboards_own_error_page(client):
    response = client.post("/login", data={"email": "a@b.co", "password": "x" * (LIMIT + 1)})
    page = response.get_data(as_text=True)
    assert "more than the server accepts in one request" in page
    assert "Back to the dashboard" in page
