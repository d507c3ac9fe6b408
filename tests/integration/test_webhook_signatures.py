"""Every webhook is signed: HMAC-SHA256 of the raw body, checked before anything is written."""

import json

import pytest

from loyalty.extensions import db
from loyalty.models import Account, WebhookCall
from loyalty.signature import HEADER, sign
from tests.support.deliverect import Deliverect

CREATE = {"firstName": "Ann", "email": "ann@x.com"}


def test_correct_signature_is_accepted(deliverect):
    assert deliverect.post("/customer", CREATE, with_ids=True).status_code == 200
    assert db.session.query(Account).count() == 1


def test_wrong_key_is_401_in_the_error_shape_and_writes_nothing(deliverect):
    response = deliverect.post("/customer", CREATE, with_ids=True, secret="not-the-secret")
    assert response.status_code == 401
    body = response.get_json()
    assert set(body) == {"error", "http_code", "description"}
    assert body["http_code"] == 401
    assert db.session.query(Account).count() == 0


def test_missing_header_is_401(deliverect):
    response = deliverect.post("/customer", CREATE, with_ids=True, secret=None)
    assert response.status_code == 401
    assert HEADER in response.get_json()["description"]


def test_altered_body_is_401(deliverect, client, tenant):
    signed = json.dumps({**deliverect.ids, **CREATE}).encode()
    altered = signed.replace(b"ann@x.com", b"eve@x.com")
    response = client.post(
        "/webhooks/deliverect/customer",
        data=altered,
        headers={HEADER: sign(tenant.issued.webhook_secret, signed)},
    )
    assert response.status_code == 401
    assert db.session.query(Account).count() == 0


def test_signature_is_over_the_raw_bytes_not_re_serialised_json(deliverect, client, tenant):
    account_id, profile_id = deliverect.ids["accountId"], deliverect.ids["loyaltyProfileId"]
    raw = (
        f'{{ "firstName" : "Ann",\n "email":"ann@x.com", "accountId": "{account_id}", '
        f'"loyaltyProfileId": "{profile_id}" }}'
    ).encode()
    response = client.post(
        "/webhooks/deliverect/customer",
        data=raw,
        headers={HEADER: sign(tenant.issued.webhook_secret, raw).upper()},
    )
    assert response.status_code == 200
    assert db.session.query(Account).one().email == "ann@x.com"


def test_get_is_signed_over_the_empty_body(deliverect):
    deliverect.post("/customer", CREATE, with_ids=True)
    assert deliverect.get("/customer", email="ann@x.com").status_code == 200
    assert deliverect.get("/customer", email="ann@x.com", secret="wrong").status_code == 401
    assert deliverect.get("/customer", email="ann@x.com", secret=None).status_code == 401


def test_another_tenants_secret_is_refused(client, tenant, other_tenant):
    channel = Deliverect(client, tenant)
    channel.register()
    channel.secret = other_tenant.issued.webhook_secret
    assert channel.get("/tiers").status_code == 401


def test_installation_secret_and_staging_channel_link_key(app, deliverect):
    app.config.update(
        DELIVERECT_WEBHOOK_SECRET="install", DELIVERECT_ALLOW_CHANNEL_LINK_SECRET=True
    )
    try:
        assert deliverect.get("/tiers", secret="install").status_code == 200
        assert deliverect.get("/tiers", secret="cl-1", channelLinkId="cl-1").status_code == 200
    finally:
        app.config.update(
            DELIVERECT_WEBHOOK_SECRET=None, DELIVERECT_ALLOW_CHANNEL_LINK_SECRET=False
        )
    assert deliverect.get("/tiers", secret="cl-1", channelLinkId="cl-1").status_code == 401


def test_log_only_mode_accepts_and_records_a_bad_signature(app, deliverect):
    app.config["DELIVERECT_SIGNATURE_MODE"] = "log"
    try:
        response = deliverect.get("/tiers", secret="wrong")
    finally:
        app.config["DELIVERECT_SIGNATURE_MODE"] = "enforce"
    assert response.status_code == 200
    call = db.session.query(WebhookCall).filter_by(endpoint="tiers").one()
    assert "signature not verified" in call.error


def test_unknown_link_is_400_no_active_loyalty_profile(client, tenant):
    channel = Deliverect(client, tenant, account_id="unknown", profile_id="unknown")
    response = channel.get("/tiers")
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "no active loyalty profile found",
        "http_code": 400,
        "description": "no active loyalty profile found",
    }


def test_personal_data_is_redacted_in_the_log(deliverect):
    deliverect.post(
        "/customer", {**CREATE, "phoneNumber": "+32470123456", "lastName": "Zed"}, with_ids=True
    )
    call = db.session.query(WebhookCall).filter_by(endpoint="customer").one()
    for secret in ("ann@x.com", "+32470123456", "Zed", "Ann"):
        assert secret not in call.request_summary
        assert secret not in call.response_summary
    assert deliverect.ids["accountId"] in call.request_summary


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("GET", "/webhooks/deliverect/orders", 405),
        ("POST", "/webhooks/deliverect/nothing-here", 404),
        ("GET", "/loyalty/cancelOrder", 405),
    ],
)
def test_routing_errors_answer_in_the_contract_shape(client, method, path, status):
    response = client.open(path, method=method)
    assert response.status_code == status
    assert set(response.get_json()) == {"error", "http_code", "description"}
    assert response.get_json()["http_code"] == status
