"""Deliverect single sign-on: the token endpoint, Get Customer with the Bearer token, and what
registration hands over."""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import SsoCode, SsoToken, WebhookCall, utcnow
from loyalty.services.accounts.erasure import erase_account
from loyalty.services.deliverect import sso
from loyalty.signature import HEADER, sign
from tests.support.accounts import customer
from tests.support.deliverect import ACCOUNT_ID, BASE, PROFILE_ID, Deliverect
from tests.support.sso import TOKEN_URL, code_for, exchange, turn_on_sso

# Exactly the contract's answer (spec §9): the lifetime is kept on our side only.
TOKEN_KEYS = {"token_type", "scope", "created_at", "access_token", "refresh_token"}


@pytest.fixture()
def set_up(deliverect, tenant):
    return turn_on_sso(tenant)


@pytest.fixture()
def ann(tenant):
    return customer(tenant, email="ann@example.com", first_name="Ann", last_name="Rossi")


def assert_error(response, status: int, error: str) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == {"error", "http_code", "description"}
    assert (body["error"], body["http_code"]) == (error, status)
    assert body["description"]
    return body


def get_customer(client, secret: str, token: str | None, **query):
    headers = {HEADER: sign(secret, b""), "User-Agent": "Deliverect/test"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    params = {"accountId": ACCOUNT_ID, "loyaltyProfileId": PROFILE_ID, **query}
    return client.get(f"{BASE}/customer?{urlencode(params)}", headers=headers)


# --- the SSO address a guest is sent to ---


def test_start_sso_sends_the_guest_to_deliverect_with_a_code_and_the_shop(tenant, set_up, ann):
    address = sso.start_sso(tenant.id, ann.id, set_up.shop.id, now=utcnow())
    parts = urlsplit(address)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://api.staging.deliverect.com/loyalty/shop-1/sso"
    )
    query = parse_qs(parts.query)
    assert query["returnUrl"] == ["https://order.trattoria.test/menu"]
    assert "returnUrl=https%3A%2F%2Forder.trattoria.test%2Fmenu" in parts.query
    assert len(query["code"][0]) >= 40
    stored = db.session.scalars(select(SsoCode)).one()
    assert stored.code_hash != query["code"][0]  # only a hash is kept
    assert stored.expires_at - stored.created_at == timedelta(seconds=120)


def test_production_environment_uses_deliverects_production_address(tenant, set_up, ann):
    sso.update_sso(tenant.id, enabled=True, environment="production")
    address = sso.start_sso(tenant.id, ann.id, set_up.shop.id, now=utcnow())
    assert address.startswith("https://api.deliverect.com/loyalty/shop-1/sso?code=")


def test_start_sso_refuses_when_off_or_for_another_tenants_shop(tenant, other_tenant, set_up, ann):
    theirs = turn_on_sso(other_tenant, channel_link_id="their-shop")
    with pytest.raises(sso.SsoUnavailable):
        sso.start_sso(tenant.id, ann.id, theirs.shop.id, now=utcnow())
    sso.update_sso(tenant.id, enabled=False, environment="staging")
    with pytest.raises(sso.SsoUnavailable):
        sso.start_sso(tenant.id, ann.id, set_up.shop.id, now=utcnow())


# --- the token exchange ---


def test_a_code_is_exchanged_for_a_token_in_deliverects_shape(client, set_up, ann):
    before = int(time.time())
    response = exchange(client, set_up, code_for(ann, set_up.shop))
    assert response.status_code == 200, response.get_json()
    token = response.get_json()
    assert set(token) == TOKEN_KEYS
    assert (token["token_type"], token["scope"]) == ("Bearer", "")
    assert isinstance(token["created_at"], str) and before <= int(token["created_at"]) <= before + 5
    assert token["access_token"] != token["refresh_token"]
    assert response.headers["Cache-Control"] == "no-store"
    stored = db.session.scalars(select(SsoToken)).one()
    assert stored.account_id == ann.id
    assert stored.expires_at - stored.issued_at == timedelta(hours=1)
    assert token["access_token"] not in (stored.access_token_hash, stored.refresh_token_hash)


def test_a_code_works_once(client, set_up, ann):
    code = code_for(ann, set_up.shop)
    assert exchange(client, set_up, code).status_code == 200
    assert_error(exchange(client, set_up, code), 400, "invalid_grant")
    assert db.session.query(SsoToken).count() == 1


def test_an_expired_code_is_refused(client, tenant, set_up, ann):
    address = sso.start_sso(tenant.id, ann.id, set_up.shop.id, now=utcnow() - timedelta(minutes=3))
    code = parse_qs(urlsplit(address).query)["code"][0]
    assert_error(exchange(client, set_up, code), 400, "invalid_grant")


def test_another_tenants_code_is_refused(client, other_tenant, set_up):
    theirs = turn_on_sso(other_tenant, channel_link_id="their-shop")
    bob = customer(other_tenant, email="bob@example.com")
    code = code_for(bob, theirs.shop)
    assert_error(exchange(client, set_up, code), 400, "invalid_grant")
    # ... and stays usable by its own restaurant's client (without our Deliverect ids).
    assert exchange(client, theirs, code, accountId=None, loyaltyProfileId=None).status_code == 200


def test_an_unknown_code_is_refused(client, set_up):
    assert_error(exchange(client, set_up, "not-a-code"), 400, "invalid_grant")
    assert_error(exchange(client, set_up, ""), 400, "invalid_grant")


def test_a_retired_guests_code_and_token_stop_working(client, tenant, owner, set_up, ann):
    first, second = code_for(ann, set_up.shop), code_for(ann, set_up.shop)
    token = exchange(client, set_up, first).get_json()["access_token"]
    erase_account(tenant.id, ann.id, owner.id)
    assert_error(exchange(client, set_up, second), 400, "invalid_grant")
    response = get_customer(client, tenant.issued.webhook_secret, token)
    assert_error(response, 401, "invalid_token")


@pytest.mark.parametrize(
    "change",
    [
        {"client_secret": "wrong-secret"},
        {"client_id": "dlv-unknown"},
        {"client_secret": None},
        {"client_id": None, "client_secret": None},
    ],
    ids=["wrong secret", "unknown client", "no secret", "no client"],
)
def test_a_wrong_client_is_refused_with_401(client, set_up, ann, change):
    code = code_for(ann, set_up.shop)
    body = assert_error(exchange(client, set_up, code, **change), 401, "invalid_client")
    assert "client_id or client_secret is wrong" in body["description"]
    assert exchange(client, set_up, code).status_code == 200  # the code was not used up


def test_another_tenants_client_cannot_use_our_code(client, other_tenant, set_up, ann):
    theirs = turn_on_sso(other_tenant, channel_link_id="their-shop")
    response = exchange(client, theirs, code_for(ann, set_up.shop), accountId=None)
    assert_error(response, 400, "invalid_grant")


def test_sso_turned_off_refuses_the_client(client, tenant, set_up, ann):
    code = code_for(ann, set_up.shop)
    sso.update_sso(tenant.id, enabled=False, environment="staging")
    assert_error(exchange(client, set_up, code), 401, "invalid_client")


def test_a_rotated_secret_replaces_the_old_one(client, tenant, set_up, ann):
    code = code_for(ann, set_up.shop)
    issued = sso.issue_client(tenant.id)
    assert issued.client_id == set_up.client_id and issued.client_secret != set_up.client_secret
    assert_error(exchange(client, set_up, code), 401, "invalid_client")
    response = exchange(client, set_up, code, client_secret=issued.client_secret)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "ids",
    [
        {"accountId": "someone-else"},
        {"loyaltyProfileId": "another-profile"},
        {"accountId": "someone-else", "loyaltyProfileId": None},
    ],
)
def test_deliverect_ids_not_registered_to_the_restaurant_are_refused(client, set_up, ann, ids):
    code = code_for(ann, set_up.shop)
    assert_error(exchange(client, set_up, code, **ids), 400, "invalid_grant")
    assert exchange(client, set_up, code).status_code == 200  # refused before it was used


def test_the_deliverect_ids_are_optional(client, set_up, ann):
    code = code_for(ann, set_up.shop)
    response = exchange(client, set_up, code, accountId=None, loyaltyProfileId=None)
    assert response.status_code == 200


def test_a_form_body_and_http_basic_work_too(client, set_up, ann):
    form = {"grant_type": "authorization_code", "code": code_for(ann, set_up.shop)}
    pair = f"{set_up.client_id}:{set_up.client_secret}".encode()
    basic = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    assert client.post(TOKEN_URL, data=form, headers=basic).status_code == 200
    posted = {
        "grant_type": "authorization_code",
        "client_id": set_up.client_id,
        "client_secret": set_up.client_secret,
        "code": code_for(ann, set_up.shop),
    }
    response = client.post(TOKEN_URL, data=posted)
    assert response.status_code == 200 and set(response.get_json()) == TOKEN_KEYS


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"grant_type=authorization_code&code=x", "text/plain"),
        (b'{"grant_type": ', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"", "application/json"),
        (b'{"grant_type": "authorization_code", "code": ["a"]}', "application/json"),
        (b'{"grant_type": "authorization_code", "code": "a\\u0000b"}', "application/json"),
        (b'{"grant_type": "authorization_code", "code": "\\ud800"}', "application/json"),
        (b'{"grant_type": "authorization_code", "code": 1e999}', "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),
        (json.dumps({"code": "x" * 400, "grant_type": "x"}).encode(), "application/json"),
        (b'{"code": "abc"}', "application/json"),
        (
            b"grant_type=authorization_code&grant_type=refresh_token",
            "application/x-www-form-urlencoded",
        ),
        (b"\xff\xfe garbage", "application/octet-stream"),
    ],
)
def test_garbage_bodies_are_refused_with_400(client, set_up, body, content_type):
    response = client.post(TOKEN_URL, data=body, headers={"Content-Type": content_type})
    assert_error(response, 400, "invalid_request")
    assert response.headers["Cache-Control"] == "no-store"


def test_an_unsupported_grant_type_is_refused(client, set_up):
    response = exchange(client, set_up, "x", grant_type="client_credentials")
    assert_error(response, 400, "unsupported_grant_type")
    assert response.headers["Cache-Control"] == "no-store"


def test_an_unsupported_grant_type_is_named_back_cut_short(client, tenant, set_up):
    response = exchange(client, set_up, "x", grant_type="g" * 300)
    description = assert_error(response, 400, "unsupported_grant_type")["description"]
    assert "g" * 41 not in description and len(description) < 120
    logged = db.session.scalars(
        select(WebhookCall.error).where(WebhookCall.endpoint == "sso.token")
    ).one()
    assert "g" * 41 not in logged


def test_behind_a_tls_proxy_the_public_https_address_is_what_authlib_checks(
    app, client, set_up, ann
):
    # PUBLIC_BASE_URL is https://loyalty.example.com; the proxy speaks plain http to us.
    response = client.post(
        TOKEN_URL,
        base_url="http://loyalty.example.com",
        headers={"X-Forwarded-Proto": "https"},
        json={
            "grant_type": "authorization_code",
            "client_id": set_up.client_id,
            "client_secret": set_up.client_secret,
            "code": code_for(ann, set_up.shop),
        },
    )
    assert response.status_code == 200, response.get_json()


def test_plain_http_to_a_public_host_is_refused_and_not_cached(app, client, set_up, ann):
    app.config["PUBLIC_BASE_URL"] = None
    try:
        response = client.post(
            TOKEN_URL,
            base_url="http://loyalty.example.com",
            json={
                "grant_type": "authorization_code",
                "client_id": set_up.client_id,
                "client_secret": set_up.client_secret,
                "code": code_for(ann, set_up.shop),
            },
        )
    finally:
        app.config["PUBLIC_BASE_URL"] = "https://loyalty.example.com"
    assert_error(response, 400, "insecure_transport")
    assert response.headers["Cache-Control"] == "no-store"


def test_an_oversized_body_is_refused_with_413(app, client, set_up):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        TOKEN_URL, data=b'{"code": "' + b"x" * limit + b'"}', content_type="application/json"
    )
    assert_error(response, 413, "payload_too_large")


def test_get_is_not_allowed(client, set_up):
    assert_error(client.get(TOKEN_URL), 405, "method_not_allowed")


def test_the_call_log_keeps_no_secret_code_or_token(client, tenant, set_up, ann):
    code = code_for(ann, set_up.shop)
    token = exchange(client, set_up, code).get_json()
    exchange(client, set_up, code)  # refused: used
    calls = db.session.scalars(select(WebhookCall).where(WebhookCall.endpoint == "sso.token"))
    logged = list(calls)
    assert [call.status for call in logged] == [200, 400]
    assert {call.tenant_id for call in logged} == {tenant.id}
    everything = " ".join(
        f"{call.request_summary} {call.response_summary} {call.error}" for call in logged
    )
    for secret in (set_up.client_secret, code, token["access_token"], token["refresh_token"]):
        assert secret not in everything
    assert set_up.client_id in everything  # the client id is no secret, and helps the team
    assert '"token_type":"Bearer"' in logged[0].response_summary  # no secret, readable


def test_debug_logging_shows_no_client_secret_or_token(client, set_up, ann, caplog):
    caplog.set_level(logging.DEBUG)
    code = code_for(ann, set_up.shop)
    token = exchange(client, set_up, code).get_json()
    for secret in (set_up.client_secret, code, token["access_token"], token["refresh_token"]):
        assert secret not in caplog.text
    assert set_up.client_secret not in repr(sso.client_for(set_up.client_id))


def test_a_get_call_is_logged_with_its_query_ids(client, tenant, set_up, ann):
    get_customer(client, tenant.issued.webhook_secret, None, email=ann.email)
    logged = db.session.scalars(select(WebhookCall).where(WebhookCall.endpoint == "customer")).one()
    assert ACCOUNT_ID in logged.request_summary and PROFILE_ID in logged.request_summary
    assert ann.email not in logged.request_summary


# --- refresh ---


def test_a_refresh_token_gives_a_new_pair_once_and_retires_the_old_pair(
    client, tenant, set_up, ann
):
    first = exchange(client, set_up, code_for(ann, set_up.shop)).get_json()
    refresh = {
        "grant_type": "refresh_token",
        "client_id": set_up.client_id,
        "client_secret": set_up.client_secret,
        "refresh_token": first["refresh_token"],
    }
    response = client.post(TOKEN_URL, json=refresh)
    assert response.status_code == 200, response.get_json()
    second = response.get_json()
    assert set(second) == TOKEN_KEYS
    assert second["refresh_token"] != first["refresh_token"]
    secret = tenant.issued.webhook_secret
    assert_error(get_customer(client, secret, first["access_token"]), 401, "invalid_token")
    assert get_customer(client, secret, second["access_token"]).get_json()["email"] == ann.email
    # Used once: presented again it is refused (and revokes `second`: test_sso_revocation).
    assert_error(client.post(TOKEN_URL, json=refresh), 400, "invalid_grant")


def test_another_tenants_client_cannot_refresh_our_token(client, other_tenant, set_up, ann):
    first = exchange(client, set_up, code_for(ann, set_up.shop)).get_json()
    theirs = turn_on_sso(other_tenant, channel_link_id="their-shop")
    refresh = {
        "grant_type": "refresh_token",
        "client_id": theirs.client_id,
        "client_secret": theirs.client_secret,
        "refresh_token": first["refresh_token"],
    }
    assert_error(client.post(TOKEN_URL, json=refresh), 400, "invalid_grant")


# --- Get Customer with the Bearer token ---


def test_get_customer_with_the_bearer_token_answers_that_guest(client, tenant, set_up, ann):
    customer(tenant, email="zoe@example.com", first_name="Zoe")
    token = exchange(client, set_up, code_for(ann, set_up.shop)).get_json()["access_token"]
    response = get_customer(client, tenant.issued.webhook_secret, token)
    assert response.status_code == 200, response.get_json()
    profile = response.get_json()
    assert (profile["providerId"], profile["email"], profile["firstName"]) == (
        ann.external_id,
        "ann@example.com",
        "Ann",
    )
    # The token decides, whatever identifier the query also carries.
    other = get_customer(client, tenant.issued.webhook_secret, token, email="zoe@example.com")
    assert other.get_json()["email"] == "ann@example.com"


@pytest.mark.parametrize("token", ["not-a-token", "", "x" * 400])
def test_get_customer_with_a_bad_bearer_token_is_401(client, tenant, set_up, ann, token):
    response = get_customer(client, tenant.issued.webhook_secret, token, email=ann.email)
    assert_error(response, 401, "invalid_token")


def test_an_expired_access_token_is_refused(app, client, tenant, set_up, ann):
    token = exchange(client, set_up, code_for(ann, set_up.shop)).get_json()["access_token"]
    row = db.session.scalars(select(SsoToken)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert_error(get_customer(client, tenant.issued.webhook_secret, token), 401, "invalid_token")


def test_another_tenants_token_does_not_open_our_customers(client, tenant, other_tenant, set_up):
    theirs = turn_on_sso(other_tenant, channel_link_id="their-shop")
    bob = customer(other_tenant, email="bob@example.com")
    token = exchange(
        client, theirs, code_for(bob, theirs.shop), accountId=None, loyaltyProfileId=None
    ).get_json()["access_token"]
    response = get_customer(client, tenant.issued.webhook_secret, token)
    assert_error(response, 401, "invalid_token")


def test_the_signature_is_still_checked_first(client, tenant, set_up, ann):
    token = exchange(client, set_up, code_for(ann, set_up.shop)).get_json()["access_token"]
    assert_error(get_customer(client, "wrong-secret", token), 401, "invalid_signature")


def test_without_a_bearer_header_get_customer_is_unchanged(client, tenant, set_up, ann):
    response = get_customer(client, tenant.issued.webhook_secret, None, email=ann.email)
    assert response.get_json()["providerId"] == ann.external_id
    assert get_customer(client, tenant.issued.webhook_secret, None).status_code == 400


# --- registration ---


def test_registration_hands_over_the_sso_client_when_ready(client, tenant, set_up):
    answer = Deliverect(client, tenant).register().get_json()
    assert answer["oauthUrl"] == "https://loyalty.example.com/webhooks/deliverect/oauth"
    assert (answer["oauthClientId"], answer["oauthClientSecret"]) == (
        set_up.client_id,
        set_up.client_secret,
    )
    logged = db.session.scalars(
        select(WebhookCall).where(WebhookCall.endpoint == "registration")
    ).all()
    assert all(set_up.client_secret not in (call.response_summary or "") for call in logged)


def test_registration_without_sso_has_no_oauth_keys(client, tenant):
    answer = Deliverect(client, tenant).register().get_json()
    assert not {"oauthUrl", "oauthClientId", "oauthClientSecret"} & set(answer)
    sso.update_sso(tenant.id, enabled=True, environment="staging")  # on, but no client yet
    answer = Deliverect(client, tenant).register().get_json()
    assert "oauthUrl" not in answer
    sso.issue_client(tenant.id)
    sso.update_sso(tenant.id, enabled=False, environment="staging")  # a client, but off
    assert "oauthUrl" not in Deliverect(client, tenant).register().get_json()
