"""CORS: a back office on an origin the restaurant allows may call the API from a browser."""

from __future__ import annotations

import re

import pytest

from loyalty.api.operations import OPERATIONS
from loyalty.services.setup.settings import update_allowed_origins
from tests.support.api import TOKEN_URL, basic, bearer, new_client, service_token

ADMIN = "https://admin.trattoria.example"
THEIR_ADMIN = "https://admin.burgerbar.example"
TILL_CALL = "/loyalty-api/api/coupon/verify/account?coupon=NOPE-1&account=nobody"


@pytest.fixture()
def origins(tenant, other_tenant):
    update_allowed_origins(tenant.id, [ADMIN, "http://localhost:5173"])
    update_allowed_origins(other_tenant.id, [THEIR_ADMIN])


def preflight(http, path: str, origin: str, method: str = "POST"):
    return http.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type,x-tenant",
        },
    )


def assert_preflight_allows(response, origin: str) -> None:
    assert response.status_code == 204
    headers = response.headers
    assert headers["Access-Control-Allow-Origin"] == origin
    allowed = {name.strip().lower() for name in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-tenant"} <= allowed
    assert {"GET", "POST", "PUT", "DELETE"} <= {
        method.strip() for method in headers["Access-Control-Allow-Methods"].split(",")
    }
    assert int(headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in headers
    assert "Origin" in headers.get("Vary", "")


def test_a_preflight_to_the_token_url_is_answered_without_a_token(client, origins):
    assert_preflight_allows(preflight(client, TOKEN_URL, ADMIN), ADMIN)


def test_a_preflight_is_answered_for_every_operation(client, origins):
    """Before any view or token check, and never routing's 405 for OPTIONS."""
    for operation in OPERATIONS.values():
        path = "/loyalty-api/api" + re.sub(r"\{\w+\}", "some-id", operation.path)
        response = preflight(client, path, ADMIN, operation.method.upper())
        assert response.status_code == 204, (operation.operation_id, response.status_code)
        assert response.headers["Access-Control-Allow-Origin"] == ADMIN


def test_a_preflight_from_an_origin_no_restaurant_allows_gets_no_permission(client, origins):
    response = preflight(client, "/loyalty-api/api/coupon/verify/account", "https://evil.example")
    assert response.status_code == 204
    for header in ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods"):
        assert header not in response.headers


def test_an_origin_must_match_exactly(client, origins):
    for near in (ADMIN + ":8443", "http://admin.trattoria.example", ADMIN + ".evil.example"):
        assert "Access-Control-Allow-Origin" not in preflight(client, TOKEN_URL, near).headers


def test_a_preflight_to_a_tenants_token_url_checks_that_tenants_list(client, origins):
    own = preflight(client, "/auth-oauth2/trattoria/oauth/token", ADMIN)
    assert_preflight_allows(own, ADMIN)
    theirs = preflight(client, "/auth-oauth2/trattoria/oauth/token", THEIR_ADMIN)
    assert "Access-Control-Allow-Origin" not in theirs.headers


def test_the_token_answer_is_readable_by_the_tenants_own_origin(client, tenant, origins):
    client_id, secret = new_client(tenant)
    headers = basic(client_id, secret, tenant) | {"Origin": ADMIN}
    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=headers)

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ADMIN
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_api_answers_carry_the_list_headers_react_admin_reads(client, tenant, origins):
    token = service_token(client, tenant)
    response = client.post(TILL_CALL, headers=bearer(token, tenant) | {"Origin": ADMIN})
    assert response.status_code == 404  # errors too: the app must read their message
    assert response.headers["Access-Control-Allow-Origin"] == ADMIN
    exposed = {
        name.strip() for name in response.headers["Access-Control-Expose-Headers"].split(",")
    }
    assert {"X-Total-Count", "Content-Range"} <= exposed


def test_a_refused_token_is_readable_too(client, tenant, origins):
    response = client.post(TILL_CALL, headers={"X-Tenant": "trattoria", "Origin": ADMIN})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == ADMIN


def test_another_restaurants_origin_cannot_read_the_answer(client, tenant, origins):
    token = service_token(client, tenant)
    response = client.post(TILL_CALL, headers=bearer(token, tenant) | {"Origin": THEIR_ADMIN})
    assert response.status_code == 404
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Expose-Headers" not in response.headers
    assert "Origin" in response.headers["Vary"]


def test_a_request_naming_no_tenant_gets_no_permission(client, origins):
    response = client.post(TILL_CALL, headers={"Origin": ADMIN})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_tenant_in_the_token_url_counts(client, tenant, origins):
    client_id, secret = new_client(tenant)
    response = client.post(
        "/auth-oauth2/trattoria/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client_id, secret) | {"Origin": ADMIN},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ADMIN


def test_an_origin_removed_in_settings_stops_at_once(client, tenant, origins):
    update_allowed_origins(tenant.id, [])
    assert "Access-Control-Allow-Origin" not in preflight(client, TOKEN_URL, ADMIN).headers
    response = client.post(TILL_CALL, headers={"X-Tenant": "trattoria", "Origin": ADMIN})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_dashboard_never_answers_cross_origin(owner_client, origins):
    response = owner_client.get("/rewards/", headers={"Origin": ADMIN, "X-Tenant": "trattoria"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Origin" not in preflight(owner_client, "/rewards/", ADMIN).headers
