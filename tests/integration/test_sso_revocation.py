"""Deliverect single sign-on: when issued codes and tokens stop working (SSO off, a new secret, a
removed shop, a replayed refresh token), a merged guest's token following the merge, and the
pruning of spent codes and tokens."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import SsoCode, SsoToken, utcnow
from loyalty.services.accounts.merge import merge_accounts
from loyalty.services.deliverect import sso
from loyalty.signature import HEADER, sign
from tests.support.accounts import customer
from tests.support.deliverect import ACCOUNT_ID, BASE, PROFILE_ID
from tests.support.sso import TOKEN_URL, SsoSetUp, code_for, exchange, turn_on_sso


@pytest.fixture()
def set_up(deliverect, tenant):
    return turn_on_sso(tenant)


@pytest.fixture()
def ann(tenant):
    return customer(tenant, email="ann@example.com", first_name="Ann")


def pair_for(client, set_up, guest) -> dict:
    response = exchange(client, set_up, code_for(guest, set_up.shop))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def refresh(client, set_up, refresh_token: str, secret: str | None = None):
    return client.post(
        TOKEN_URL,
        json={
            "grant_type": "refresh_token",
            "client_id": set_up.client_id,
            "client_secret": secret or set_up.client_secret,
            "refresh_token": refresh_token,
        },
    )


def profile_status(client, tenant, access_token: str) -> tuple[int, dict]:
    query = urlencode({"accountId": ACCOUNT_ID, "loyaltyProfileId": PROFILE_ID})
    response = client.get(
        f"{BASE}/customer?{query}",
        headers={
            HEADER: sign(tenant.issued.webhook_secret, b""),
            "Authorization": f"Bearer {access_token}",
        },
    )
    return response.status_code, response.get_json()


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]


# --- SSO off, a new secret, a removed shop ---


def test_turning_sso_off_ends_the_tokens_issued_and_on_again_does_not_revive_them(
    client, tenant, set_up, ann
):
    pair = pair_for(client, set_up, ann)
    sso.update_sso(tenant.id, enabled=False, environment="staging")
    sso.update_sso(tenant.id, enabled=True, environment="staging")
    assert profile_status(client, tenant, pair["access_token"])[0] == 401
    assert error_of(refresh(client, set_up, pair["refresh_token"])) == (400, "invalid_grant")


def test_a_new_client_secret_ends_the_tokens_issued_under_the_old_one(client, tenant, set_up, ann):
    pair = pair_for(client, set_up, ann)
    issued = sso.issue_client(tenant.id)
    assert profile_status(client, tenant, pair["access_token"])[0] == 401
    response = refresh(client, set_up, pair["refresh_token"], issued.client_secret)
    assert error_of(response) == (400, "invalid_grant")


def test_removing_a_shop_ends_the_codes_handed_out_for_it(client, tenant, set_up, ann):
    other_shop = sso.add_shop(
        tenant.id, sso.ShopDetails("Pizzeria online", "shop-2", "https://order.pizzeria.test")
    )
    for_removed, for_kept = code_for(ann, set_up.shop), code_for(ann, other_shop)
    sso.remove_shop(tenant.id, set_up.shop.id)
    assert error_of(exchange(client, set_up, for_removed)) == (400, "invalid_grant")
    assert exchange(client, set_up, for_kept).status_code == 200


# --- a replayed refresh token ---


def test_replaying_a_rotated_refresh_token_revokes_the_pair_that_replaced_it(
    client, tenant, set_up, ann
):
    first = pair_for(client, set_up, ann)
    second = refresh(client, set_up, first["refresh_token"]).get_json()
    assert profile_status(client, tenant, second["access_token"])[0] == 200
    assert error_of(refresh(client, set_up, first["refresh_token"])) == (400, "invalid_grant")
    assert profile_status(client, tenant, second["access_token"])[0] == 401
    assert error_of(refresh(client, set_up, second["refresh_token"])) == (400, "invalid_grant")


def test_the_revocation_follows_the_chain_to_its_newest_pair(client, tenant, set_up, ann):
    first = pair_for(client, set_up, ann)
    second = refresh(client, set_up, first["refresh_token"]).get_json()
    third = refresh(client, set_up, second["refresh_token"]).get_json()
    refresh(client, set_up, first["refresh_token"])
    assert profile_status(client, tenant, third["access_token"])[0] == 401


def test_a_replay_spares_the_guests_other_sessions(client, tenant, set_up, ann):
    first = pair_for(client, set_up, ann)
    elsewhere = pair_for(client, set_up, ann)  # another "Order online", another pair
    refresh(client, set_up, first["refresh_token"])
    refresh(client, set_up, first["refresh_token"])
    assert profile_status(client, tenant, elsewhere["access_token"])[0] == 200


def test_a_token_revoked_by_a_new_secret_presented_again_revokes_nothing_newer(
    client, tenant, set_up, ann
):
    old = pair_for(client, set_up, ann)
    issued = sso.issue_client(tenant.id)
    rotated = SsoSetUp(set_up.client_id, issued.client_secret, set_up.shop)  # registered again
    new = pair_for(client, rotated, ann)
    response = refresh(client, rotated, old["refresh_token"])
    assert error_of(response) == (400, "invalid_grant")
    assert profile_status(client, tenant, new["access_token"])[0] == 200


# --- a merged guest ---


def test_a_merged_guests_token_follows_the_merge(client, tenant, owner, set_up, ann):
    zoe = customer(tenant, email="zoe@example.com", first_name="Zoe")
    pair = pair_for(client, set_up, ann)
    merge_accounts(tenant.id, zoe.id, ann.id, owner.id)
    status, profile = profile_status(client, tenant, pair["access_token"])
    assert (status, profile["email"]) == (200, "zoe@example.com")
    renewed = refresh(client, set_up, pair["refresh_token"])
    assert renewed.status_code == 200, renewed.get_json()
    db.session.expire_all()
    newest = db.session.scalars(select(SsoToken).order_by(SsoToken.id.desc())).first()
    assert newest.account_id == zoe.id


def test_a_merged_guests_code_signs_in_the_survivor(client, tenant, owner, set_up, ann):
    zoe = customer(tenant, email="zoe@example.com", first_name="Zoe")
    code = code_for(ann, set_up.shop)
    merge_accounts(tenant.id, zoe.id, ann.id, owner.id)
    token = exchange(client, set_up, code).get_json()
    assert profile_status(client, tenant, token["access_token"])[1]["email"] == "zoe@example.com"


# --- pruning ---


def test_prune_deletes_codes_and_tokens_a_day_past_expiry_or_revocation(
    client, tenant, set_up, ann
):
    now = utcnow()
    live_code = code_for(ann, set_up.shop)
    sso.start_sso(tenant.id, ann.id, set_up.shop.id, now=now - timedelta(days=2))
    sso.start_sso(tenant.id, ann.id, set_up.shop.id, now=now - timedelta(hours=20))
    rotated = pair_for(client, set_up, ann)
    refresh(client, set_up, rotated["refresh_token"])  # revoked now, its successor live
    expired_access = pair_for(client, set_up, ann)
    spent = pair_for(client, set_up, ann)
    rows = {row.refresh_token_hash: row for row in db.session.scalars(select(SsoToken))}
    by_refresh = {
        token: rows[hashlib.sha256(token.encode()).hexdigest()]
        for token in (
            rotated["refresh_token"],
            expired_access["refresh_token"],
            spent["refresh_token"],
        )
    }
    by_refresh[rotated["refresh_token"]].revoked_at = now - timedelta(days=2)
    # An access token long expired whose refresh token still works is kept ...
    by_refresh[expired_access["refresh_token"]].expires_at = now - timedelta(days=3)
    # ... one whose refresh token expired too is not.
    by_refresh[spent["refresh_token"]].expires_at = now - timedelta(days=40)
    by_refresh[spent["refresh_token"]].refresh_expires_at = now - timedelta(days=2)
    db.session.commit()

    assert sso.prune_sso(now) == 3  # the 2-day-old code, the rotated pair, the spent pair
    db.session.expire_all()
    assert db.session.query(SsoCode).count() == 6 - 1
    assert db.session.query(SsoToken).count() == 4 - 2
    assert exchange(client, set_up, live_code).status_code == 200
    assert sso.prune_sso(now) == 0
