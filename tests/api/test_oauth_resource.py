"""Every API call's token check: signature, expiry, the token's row, its client and tenant."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from loyalty.api.errors import ApiError
from loyalty.api.oauth.signing import signing_key
from loyalty.extensions import db
from loyalty.models import ApiToken, utcnow
from loyalty.services.setup.api_clients import find_client, revoke_client
from tests.support.api import bearer, new_client, principal_for, service_token, token_answer


def refusal(app, headers) -> ApiError:
    with pytest.raises(ApiError) as refused:
        principal_for(app, headers)
    return refused.value


def test_a_live_token_names_its_tenant_client_and_token(app, client, tenant):
    token = service_token(client, tenant)

    principal = principal_for(app, bearer(token, tenant))

    row = ApiToken.query.one()
    assert (principal.tenant_id, principal.tenant_slug) == (tenant.id, "trattoria")
    assert principal.token_id == row.id
    assert principal.client_row_id == row.client_row_id


def test_the_tenant_header_is_optional(app, client, tenant):
    token = service_token(client, tenant)

    assert principal_for(app, {"Authorization": f"Bearer {token}"}).tenant_id == tenant.id


def test_a_token_used_for_another_tenant_is_forbidden(app, client, tenant, other_tenant):
    token = service_token(client, tenant)

    problem = refusal(app, bearer(token, other_tenant))

    assert problem.status == 403
    assert problem.message == "the token is for another tenant"


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer ",
        "Basic abc",
        "Bearer not.a.jwt",
        "Bearer " + "a" * 10_000,
        "Bearer é",
    ],
)
def test_a_request_without_a_usable_token_is_401(app, tenant, authorization):
    problem = refusal(app, {"Authorization": authorization})

    assert problem.status == 401
    assert problem.response().get_json()["error"] == "unauthorized"
    assert problem.response().headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_signed_with_another_key_is_401(app, client, tenant):
    genuine = service_token(client, tenant)
    claims = jwt.decode(genuine, signing_key(), algorithms=["HS256"]).claims
    forged = jwt.encode({"alg": "HS256"}, claims | {"roles": ["ROLE_SU"]}, OctKey.generate_key(256))

    assert refusal(app, bearer(forged, tenant)).status == 401


def test_an_unsigned_token_is_401(app, client, tenant):
    genuine = service_token(client, tenant)
    payload = genuine.split(".")[1]
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=").decode()

    assert refusal(app, bearer(f"{header}.{payload}.", tenant)).status == 401


def test_an_expired_token_is_401(app, client, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "API_ACCESS_TOKEN_SECONDS", 0)
    token = service_token(client, tenant)

    assert refusal(app, bearer(token, tenant)).status == 401


def test_revoking_a_client_stops_its_live_tokens_at_once(app, client, tenant):
    service = new_client(tenant)
    tokens = [
        token_answer(client, tenant, service, grant_type="client_credentials").get_json()
        for _ in range(2)
    ]
    other = service_token(client, tenant)

    revoke_client(tenant.id, find_client(service[0]).id)

    for pair in tokens:
        assert refusal(app, bearer(pair["access_token"], tenant)).status == 401
    assert principal_for(app, bearer(other, tenant)).subject_kind == "client"


def test_a_revoked_token_row_stops_the_token(app, client, tenant):
    token = service_token(client, tenant)
    ApiToken.query.one().revoked_at = utcnow()
    db.session.commit()

    assert refusal(app, bearer(token, tenant)).status == 401


def test_a_token_whose_row_is_gone_is_401(app, client, tenant):
    token = service_token(client, tenant)
    db.session.delete(ApiToken.query.one())
    db.session.commit()

    assert refusal(app, bearer(token, tenant)).status == 401
