"""A back office (admin-app client) signing team members in with their dashboard login, as
OrderingStack's client library does: password grant, form-encoded, Basic + X-Tenant."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from joserfc import jwt

from loyalty.api.errors import ApiError
from loyalty.api.oauth.signing import signing_key
from loyalty.models import ApiToken
from loyalty.services.setup.team import create_user, set_active, set_role
from tests.support.api import (
    basic,
    bearer,
    new_client,
    principal_for,
    staff_token,
    token_answer,
)
from tests.support.app import PASSWORD

ALL_ROLES = ["ROLE_LOYALTY", "ROLE_LOYALTY_CAMPAIGN", "ROLE_LOYALTY_STATS", "ROLE_SU"]


@pytest.fixture()
def back_office(tenant):
    return new_client(tenant, kind="admin-app", name="back office")


def sign_in(client, tenant, back_office, email, password=PASSWORD):
    return token_answer(
        client,
        tenant,
        back_office,
        grant_type="password",
        username=email,
        password=password,
        scope="read",
    )


def test_an_owner_gets_all_four_roles(client, tenant, owner, back_office):
    answer = sign_in(client, tenant, back_office, owner.email)

    assert answer.status_code == 200
    body = answer.get_json()
    assert body["UUID"] == str(owner.id)
    assert body["token_type"] == "bearer"
    assert body["scope"] == "read"
    claims = jwt.decode(body["access_token"], signing_key(), algorithms=["HS256"]).claims
    assert claims["sub"] == str(owner.id)
    assert claims["tenant"] == "trattoria"
    assert sorted(claims["roles"]) == ALL_ROLES


def test_staff_get_the_loyalty_role_only(app, client, tenant, staff, back_office):
    body = sign_in(client, tenant, back_office, staff.email).get_json()

    claims = jwt.decode(body["access_token"], signing_key(), algorithms=["HS256"]).claims
    assert claims["roles"] == ["ROLE_LOYALTY"]
    principal = principal_for(app, bearer(body["access_token"], tenant))
    assert principal.subject_kind == "user"
    assert principal.user_id == staff.id
    assert principal.roles == {"ROLE_LOYALTY"}


def test_the_email_is_matched_as_the_dashboard_does(client, tenant, owner, back_office):
    assert sign_in(client, tenant, back_office, "  Owner@Trattoria.TEST ").status_code == 200


def test_a_wrong_password_is_refused(client, tenant, owner, back_office):
    answer = sign_in(client, tenant, back_office, owner.email, "not the password")

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_grant"
    assert ApiToken.query.count() == 0


def test_a_deactivated_member_is_refused(client, tenant, owner, staff, back_office):
    set_active(tenant.id, staff.id, False, owner)

    answer = sign_in(client, tenant, back_office, staff.email)

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_grant"


def test_a_member_of_another_restaurant_is_refused(client, tenant, other_tenant, back_office):
    create_user(other_tenant.id, "boss@burgerbar.test", PASSWORD, role="owner")

    answer = sign_in(client, tenant, back_office, "boss@burgerbar.test")

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_grant"


def test_the_login_throttle_applies(client, tenant, owner, back_office):
    for _ in range(5):  # LOGIN_THROTTLE_MAX_FAILURES in the tests
        assert sign_in(client, tenant, back_office, owner.email, "wrong").status_code == 400

    answer = sign_in(client, tenant, back_office, owner.email)

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_grant"
    assert "too many" in answer.get_json()["error_description"]


def test_missing_username_or_password_is_an_invalid_request(client, tenant, back_office):
    answer = token_answer(client, tenant, back_office, grant_type="password", username="x")

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "username, password",
    [("é" * 100_000, "x" * 100_000), ("owner\x00@trattoria.test", "x\x00")],
    ids=["huge", "NUL"],
)
def test_unusable_fields_are_refused_without_a_500(
    client, tenant, owner, back_office, username, password
):
    answer = sign_in(client, tenant, back_office, username, password)

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_grant"


def test_deactivating_a_member_stops_their_tokens_at_once(app, client, tenant, owner, staff):
    token = staff_token(client, tenant, staff.email)
    assert principal_for(app, bearer(token, tenant)).user_id == staff.id

    set_active(tenant.id, staff.id, False, owner)

    with pytest.raises(ApiError) as refused:
        principal_for(app, bearer(token, tenant))
    assert refused.value.status == 401


def test_a_changed_team_role_counts_at_once(app, client, tenant, owner, staff):
    token = staff_token(client, tenant, staff.email)

    set_role(tenant.id, staff.id, "owner", owner)

    assert principal_for(app, bearer(token, tenant)).roles == set(ALL_ROLES)


def test_the_request_orderingstacks_client_library_sends_is_answered(client, tenant, owner):
    client_id, secret = new_client(tenant, kind="admin-app")

    answer = client.post(
        "/auth-oauth2/oauth/token",
        data=f"grant_type=password&scope=read&username={quote(owner.email)}"
        f"&password={quote(PASSWORD)}",
        headers={
            "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
            "x-tenant": "trattoria",
            "Authorization": basic(client_id, secret)["Authorization"],
        },
    )

    assert answer.status_code == 200
    assert {"access_token", "token_type", "expires_in", "refresh_token", "scope", "UUID"} <= set(
        answer.get_json()
    )
