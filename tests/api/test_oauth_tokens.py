"""The token endpoint as a service (a till, a back end) uses it: client credentials, how the
client authenticates, the tenant it names, and what the token says."""

from __future__ import annotations

import base64

import pytest
from joserfc import jwt

from loyalty.api.oauth.signing import signing_key
from loyalty.models import ApiToken
from loyalty.services.setup.api_clients import find_client, revoke_client
from tests.support.api import TOKEN_URL, basic, bearer, new_client, principal_for, token_answer


def claims_of(access_token: str) -> dict:
    return jwt.decode(access_token, signing_key(), algorithms=["HS256"]).claims


def test_a_service_gets_a_signed_token_with_its_roles(app, client, tenant):
    service = new_client(tenant, roles=("ROLE_LOYALTY", "ROLE_LOYALTY_STATS"))

    answer = token_answer(client, tenant, service, grant_type="client_credentials")

    assert answer.status_code == 200
    body = answer.get_json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "read"
    assert body["UUID"] == service[0]
    assert body["refresh_token"]
    assert answer.headers["Cache-Control"] == "no-store"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == service[0]
    assert claims["client_id"] == service[0]
    assert claims["tenant"] == "trattoria"
    assert sorted(claims["roles"]) == ["ROLE_LOYALTY", "ROLE_LOYALTY_STATS"]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"]
    principal = principal_for(app, bearer(body["access_token"], tenant))
    assert principal.subject_kind == "client"
    assert principal.roles == {"ROLE_LOYALTY", "ROLE_LOYALTY_STATS"}
    assert principal.tenant_id == tenant.id


def test_only_the_hash_of_the_refresh_token_is_kept(client, tenant):
    service = new_client(tenant)

    body = token_answer(client, tenant, service, grant_type="client_credentials").get_json()

    row = ApiToken.query.one()
    assert row.jti == claims_of(body["access_token"])["jti"]
    assert row.refresh_token_hash != body["refresh_token"]
    assert len(row.refresh_token_hash) == 64


def test_the_token_lifetime_follows_the_setting(client, tenant, app, monkeypatch):
    monkeypatch.setitem(app.config, "API_ACCESS_TOKEN_SECONDS", 120)

    body = token_answer(client, tenant, new_client(tenant), grant_type="client_credentials")

    claims = claims_of(body.get_json()["access_token"])
    assert body.get_json()["expires_in"] == 120
    assert claims["exp"] - claims["iat"] == 120


def test_the_client_may_authenticate_in_the_form_instead(client, tenant):
    client_id, secret = new_client(tenant)

    answer = client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        headers={"X-Tenant": "trattoria"},
    )

    assert answer.status_code == 200
    assert answer.get_json()["UUID"] == client_id


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"client_id": "lc_\x00", "client_secret": "x"}, id="NUL in the client id"),
        pytest.param({"client_secret": "wrong\x00"}, id="wrong secret"),
        pytest.param({"client_secret": ""}, id="no secret"),
    ],
)
def test_a_client_that_cannot_authenticate_in_the_form_gets_401(client, tenant, form):
    client_id, _ = new_client(tenant)

    answer = client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", "client_id": client_id, **form},
        headers={"X-Tenant": "trattoria"},
    )

    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_client"


def test_the_alias_path_names_the_tenant(client, tenant):
    service = new_client(tenant)

    answer = client.post(
        "/auth-oauth2/trattoria/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(*service),
    )

    assert answer.status_code == 200
    assert claims_of(answer.get_json()["access_token"])["tenant"] == "trattoria"


def test_the_alias_path_of_another_tenant_is_refused(client, tenant, other_tenant):
    answer = client.post(
        "/auth-oauth2/burgerbar/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(*new_client(tenant)),
    )

    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda c: basic(c[0], "wrong secret", "trattoria"), id="wrong secret"),
        pytest.param(lambda c: basic("lc_unknown", c[1], "trattoria"), id="unknown client"),
        pytest.param(lambda c: basic(*c, "burgerbar"), id="other tenant"),
        pytest.param(lambda c: basic(*c, "nowhere"), id="unknown tenant"),
        pytest.param(lambda c: basic(*c), id="no tenant"),
        pytest.param(lambda c: basic(*c, "tratt\x00oria"), id="NUL in the tenant"),
        pytest.param(lambda c: basic("lc_\x00", c[1], "trattoria"), id="NUL in the client id"),
        pytest.param(lambda c: {"X-Tenant": "trattoria"}, id="no credentials"),
        pytest.param(
            lambda c: {"X-Tenant": "trattoria", "Authorization": "Basic !!!not base64!!!"},
            id="malformed basic",
        ),
        pytest.param(
            lambda c: {
                "X-Tenant": "trattoria",
                "Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(),
            },
            id="not utf-8",
        ),
        pytest.param(
            lambda c: {"X-Tenant": "trattoria", "Authorization": "Basic " + "QUJD" * 1000},
            id="huge header",
        ),
        pytest.param(
            lambda c: {"X-Tenant": "trattoria", "Authorization": "Basic " + "é"},
            id="non-ascii",
        ),
        pytest.param(
            lambda c: {"X-Tenant": "trattoria", "Authorization": "Basic " + c[0]},
            id="no colon",
        ),
    ],
)
def test_a_client_that_cannot_authenticate_gets_401_in_the_oauth_shape(
    client, tenant, other_tenant, headers
):
    service = new_client(tenant)

    answer = client.post(
        TOKEN_URL, data={"grant_type": "client_credentials"}, headers=headers(service)
    )

    assert answer.status_code == 401
    body = answer.get_json()
    assert body["error"] == "invalid_client"
    assert "error_description" in body
    assert ApiToken.query.count() == 0


def test_a_revoked_client_gets_no_token(client, tenant):
    issued = new_client(tenant)
    revoke_client(tenant.id, find_client(issued[0]).id)

    answer = token_answer(client, tenant, issued, grant_type="client_credentials")

    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("kind", ["admin-app", "customer-app"])
def test_apps_signing_people_in_may_not_use_client_credentials(client, tenant, kind):
    app_client = new_client(tenant, kind=kind)

    answer = token_answer(client, tenant, app_client, grant_type="client_credentials")

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "unauthorized_client"


def test_a_service_may_not_use_the_password_grant(client, tenant, owner):
    answer = token_answer(
        client,
        tenant,
        new_client(tenant),
        grant_type="password",
        username=owner.email,
        password="correct horse battery",
    )

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "unauthorized_client"


@pytest.mark.parametrize(
    "form, error",
    [
        ({}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "x"}, "unsupported_grant_type"),
        ({"grant_type": "é" * 5000}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "scope": "admin"}, "invalid_scope"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "x" * 100_000}, "invalid_grant"),
    ],
)
def test_a_bad_token_request_is_refused_in_the_oauth_shape(client, tenant, form, error):
    answer = token_answer(client, tenant, new_client(tenant), **form)

    assert answer.status_code == 400
    assert answer.get_json()["error"] == error
    assert ApiToken.query.count() == 0


def test_a_json_body_is_not_a_token_request(client, tenant):
    answer = client.post(
        TOKEN_URL,
        json={"grant_type": "client_credentials"},
        headers=basic(*new_client(tenant), tenant),
    )

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    "asked, granted",
    [("read", "read"), ("write read", "read write"), ("read " * 2000, "read"), ("", "read")],
)
def test_the_scopes_asked_for_are_granted_once_each(client, tenant, asked, granted):
    answer = token_answer(
        client, tenant, new_client(tenant), grant_type="client_credentials", scope=asked
    )

    assert answer.status_code == 200
    assert answer.get_json()["scope"] == granted
    assert claims_of(answer.get_json()["access_token"])["scope"] == granted


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("post", TOKEN_URL, {"grant_type": "client_credentials", "x": "a" * 2**21}, 413),
        ("get", TOKEN_URL, None, 405),
        ("post", "/auth-oauth2/oauth/authorize", None, 404),
    ],
)
def test_http_errors_at_the_token_endpoint_keep_the_oauth_shape(
    client, tenant, method, path, body, status
):
    answer = getattr(client, method)(path, data=body, headers=basic(*new_client(tenant), tenant))

    assert answer.status_code == status
    assert answer.get_json()["error"] == "invalid_request"
    assert answer.get_json()["error_description"]
