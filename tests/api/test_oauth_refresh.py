"""Refreshing tokens, as OrderingStack's client does before `exp`: each refresh token works
once and hands out a new pair; nothing refreshes for a client, member or account that is gone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.api.errors import ApiError
from loyalty.api.oauth.signing import read_claims
from loyalty.extensions import db
from loyalty.models import ApiToken, utcnow
from loyalty.services.accounts.erasure import erase_account
from loyalty.services.accounts.merge import merge_accounts
from loyalty.services.setup.api_clients import find_client, revoke_client
from loyalty.services.setup.team import set_active
from tests.support.accounts import customer
from tests.support.api import (
    CODE_URL,
    basic,
    bearer,
    last_code,
    new_client,
    principal_for,
    token_answer,
)
from tests.support.app import PASSWORD


def refresh(client, tenant, app_client, refresh_token):
    return token_answer(
        client, tenant, app_client, grant_type="refresh_token", refresh_token=refresh_token
    )


@pytest.fixture()
def service(tenant):
    return new_client(tenant, roles=("ROLE_LOYALTY_CAMPAIGN",))


@pytest.fixture()
def service_pair(client, tenant, service):
    return token_answer(client, tenant, service, grant_type="client_credentials").get_json()


def test_a_refresh_gives_a_new_pair_and_ends_the_old_one(
    app, client, tenant, service, service_pair
):
    answer = refresh(client, tenant, service, service_pair["refresh_token"])

    assert answer.status_code == 200
    fresh = answer.get_json()
    assert fresh["access_token"] != service_pair["access_token"]
    assert fresh["refresh_token"] != service_pair["refresh_token"]
    assert fresh["UUID"] == service[0]
    assert fresh["scope"] == "read"
    assert principal_for(app, bearer(fresh["access_token"], tenant)).roles == {
        "ROLE_LOYALTY_CAMPAIGN"
    }
    with pytest.raises(ApiError) as refused:
        principal_for(app, bearer(service_pair["access_token"], tenant))
    assert refused.value.status == 401


def test_a_used_refresh_token_is_refused(client, tenant, service, service_pair):
    assert refresh(client, tenant, service, service_pair["refresh_token"]).status_code == 200

    again = refresh(client, tenant, service, service_pair["refresh_token"])

    assert again.status_code == 400
    assert again.get_json()["error"] == "invalid_grant"


def test_an_unknown_refresh_token_is_refused(client, tenant, service, service_pair):
    answer = refresh(client, tenant, service, "not-a-refresh-token")

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_grant"


def test_another_clients_refresh_token_is_refused_and_stays_usable(
    client, tenant, service, service_pair
):
    thief = new_client(tenant, roles=("ROLE_SU",))

    stolen = refresh(client, tenant, thief, service_pair["refresh_token"])

    assert stolen.status_code == 400
    assert stolen.get_json()["error"] == "invalid_grant"
    assert refresh(client, tenant, service, service_pair["refresh_token"]).status_code == 200


def test_a_narrower_scope_may_be_asked_for_but_not_a_wider_one(client, tenant, service):
    pair = token_answer(
        client, tenant, service, grant_type="client_credentials", scope="read write"
    ).get_json()
    narrower = token_answer(
        client,
        tenant,
        service,
        grant_type="refresh_token",
        refresh_token=pair["refresh_token"],
        scope="read",
    ).get_json()
    assert narrower["scope"] == "read"

    wider = token_answer(
        client,
        tenant,
        service,
        grant_type="refresh_token",
        refresh_token=narrower["refresh_token"],
        scope="read write",
    )

    assert wider.status_code == 400
    assert wider.get_json()["error"] == "invalid_scope"


def test_a_revoked_clients_refresh_token_is_refused(client, tenant, service, service_pair):
    revoke_client(tenant.id, find_client(service[0]).id)

    answer = refresh(client, tenant, service, service_pair["refresh_token"])

    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_client"


def test_a_team_members_token_refreshes_until_they_are_deactivated(client, tenant, owner, staff):
    back_office = new_client(tenant, kind="admin-app")
    pair = token_answer(
        client,
        tenant,
        back_office,
        grant_type="password",
        username=staff.email,
        password=PASSWORD,
    ).get_json()
    fresh = refresh(client, tenant, back_office, pair["refresh_token"])
    assert fresh.status_code == 200
    assert fresh.get_json()["UUID"] == str(staff.id)

    set_active(tenant.id, staff.id, False, owner)
    answer = refresh(client, tenant, back_office, fresh.get_json()["refresh_token"])

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_grant"


@pytest.fixture()
def guest_app(tenant):
    return new_client(tenant, kind="customer-app")


def customer_pair(client, tenant, guest_app, account) -> dict:
    client.post(
        CODE_URL, json={"login": account.email}, headers=basic(*guest_app, tenant)
    ).close()  # the code is issued once the answer is out
    return token_answer(
        client,
        tenant,
        guest_app,
        grant_type="password",
        username=account.email,
        password=last_code(account),
    ).get_json()


def test_a_customers_token_refreshes_as_the_same_customer(client, tenant, ann, guest_app):
    pair = customer_pair(client, tenant, guest_app, ann)

    fresh = refresh(client, tenant, guest_app, pair["refresh_token"])

    assert fresh.status_code == 200
    assert fresh.get_json()["UUID"] == ann.external_id


def test_an_erased_customers_token_neither_works_nor_refreshes(
    app, client, tenant, ann, owner, guest_app
):
    pair = customer_pair(client, tenant, guest_app, ann)

    erase_account(tenant.id, ann.id, owner.id)

    with pytest.raises(ApiError) as refused:
        principal_for(app, bearer(pair["access_token"], tenant))
    assert refused.value.status == 401
    assert refresh(client, tenant, guest_app, pair["refresh_token"]).status_code == 400


def test_a_merged_away_customers_token_neither_works_nor_refreshes(
    app, client, tenant, ann, owner, guest_app
):
    twin = customer(tenant, email="ann.twin@example.com")
    pair = customer_pair(client, tenant, guest_app, twin)

    merge_accounts(tenant.id, ann.id, twin.id, owner.id)

    with pytest.raises(ApiError):
        principal_for(app, bearer(pair["access_token"], tenant))
    assert refresh(client, tenant, guest_app, pair["refresh_token"]).status_code == 400


def test_an_anonymous_token_refreshes_as_the_same_guest(client, tenant, guest_app):
    """The app keeps a guest's basket under its UUID: a refresh must not make a new guest."""
    pair = token_answer(
        client, tenant, guest_app, grant_type="password", username="anonymous", password=""
    ).get_json()
    other = token_answer(
        client, tenant, guest_app, grant_type="password", username="anonymous", password=""
    ).get_json()

    fresh = refresh(client, tenant, guest_app, pair["refresh_token"])

    assert fresh.status_code == 200
    assert fresh.get_json()["UUID"] == pair["UUID"] != other["UUID"]
    claims = read_claims(fresh.get_json()["access_token"])
    assert claims["sub"] == pair["UUID"]


def test_a_refresh_token_past_its_days_is_refused(client, tenant, service, service_pair):
    row = ApiToken.query.one()
    row.refresh_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    answer = refresh(client, tenant, service, service_pair["refresh_token"])

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_grant"


def test_a_refresh_token_lasts_the_configured_days(client, tenant, service, service_pair):
    row = ApiToken.query.one()

    assert row.refresh_expires_at - row.issued_at == timedelta(days=30)
