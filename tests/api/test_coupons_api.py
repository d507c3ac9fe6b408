"""The coupon operations: a till verifies, locks and unlocks the coupon an account presents; a
customer checks their own; one of many tills locking at once gets the lock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.extensions import db
from loyalty.models import Coupon
from loyalty.services.campaigns.engine import redeem_at_till
from loyalty.services.setup.tenants import create_tenant
from loyalty.time import utcnow
from tests.support.accounts import customer
from tests.support.api import bearer, customer_token, service_token
from tests.support.app import at_once
from tests.support.campaigns import coupons_of, running, welcome_series

VERIFY = "/loyalty-api/api/coupon/verify"
VERIFY_ACCOUNT = "/loyalty-api/api/coupon/verify/account"
UNLOCK = "/loyalty-api/api/coupon/unlock/account"


def issue(tenant, account, now=None) -> Coupon:
    """The welcome series' 5.00-off coupon, issued to `account` (and anyone else there)."""
    running(tenant, welcome_series(), now or utcnow())
    [coupon] = coupons_of(account)
    return coupon


def status_of(coupon: Coupon) -> str:
    db.session.expire_all()
    return db.session.get(Coupon, coupon.id).status


@pytest.fixture()
def jane(tenant):
    return customer(tenant, external_id="jane-1", email="jane@example.com")


@pytest.fixture()
def till(client, tenant):
    """A till's headers: a service token with ROLE_LOYALTY."""
    return bearer(service_token(client, tenant, roles=("ROLE_LOYALTY",)), tenant)


def at_till(client, till, url, coupon, account="jane-1", **query):
    return client.post(
        url, query_string={"coupon": coupon, "account": account, **query}, headers=till
    )


def test_a_till_verifies_a_coupon_however_typed_and_nothing_changes(client, till, tenant, jane):
    coupon = issue(tenant, jane)
    typed = " " + coupon.code.lower()[:4] + "-" + coupon.code.lower()[4:]
    response = at_till(client, till, VERIFY_ACCOUNT, typed)
    assert response.status_code == 200
    answer = response.get_json()
    assert (answer["valid"], answer["reason"]) == (True, None)
    assert answer["coupon"] == {
        "code": coupon.code,
        "campaign": "welcome",
        "state": "coupon",
        "couponType": "AMOUNT",
        "value": 500,  # minor units: 5.00 off
        "product": None,
        "validTo": answer["coupon"]["validTo"],
        "status": "ACTIVE",
        "lockedAt": None,
    }
    assert answer["coupon"]["validTo"].startswith(str(coupon.valid_to.date()))
    assert status_of(coupon) == "ACTIVE"


def test_lock_reserves_the_coupon_and_locking_it_again_is_a_conflict(client, till, tenant, jane):
    coupon = issue(tenant, jane)
    locked = at_till(client, till, VERIFY_ACCOUNT, coupon.code, lock="true")
    assert locked.status_code == 200
    assert locked.get_json()["valid"] is True
    assert locked.get_json()["coupon"]["status"] == "LOCKED"
    assert locked.get_json()["coupon"]["lockedAt"] is not None
    again = at_till(client, till, VERIFY_ACCOUNT, coupon.code, lock="true")
    assert again.status_code == 409
    assert again.get_json()["error"] == "conflict"
    assert again.get_json()["field"] == "coupon"
    looked_at = at_till(client, till, VERIFY_ACCOUNT, coupon.code).get_json()
    assert (looked_at["valid"], looked_at["reason"]) == (False, "locked")
    assert looked_at["coupon"]["status"] == "LOCKED"
    assert status_of(coupon) == "LOCKED"


def test_unlock_releases_the_coupon_and_repeating_it_changes_nothing(client, till, tenant, jane):
    coupon = issue(tenant, jane)
    at_till(client, till, VERIFY_ACCOUNT, coupon.code, lock="true")
    for _ in range(2):
        response = at_till(client, till, UNLOCK, coupon.code)
        assert response.status_code == 200
        answer = response.get_json()
        assert (answer["valid"], answer["reason"]) == (True, None)
        assert (answer["coupon"]["status"], answer["coupon"]["lockedAt"]) == ("ACTIVE", None)
        assert status_of(coupon) == "ACTIVE"
    assert at_till(client, till, VERIFY_ACCOUNT, coupon.code, lock="true").status_code == 200


def test_another_accounts_coupon_is_not_yours_shows_nothing_and_stays_as_it_was(
    client, till, tenant, jane
):
    coupon = issue(tenant, jane)
    customer(tenant, external_id="stranger", email="stranger@example.com")
    at_till(client, till, VERIFY_ACCOUNT, coupon.code, lock="true")
    for url, query in ((VERIFY_ACCOUNT, {}), (VERIFY_ACCOUNT, {"lock": "true"}), (UNLOCK, {})):
        response = at_till(client, till, url, coupon.code, account="stranger", **query)
        assert response.status_code == 200
        assert response.get_json() == {"valid": False, "coupon": None, "reason": "not_yours"}
    assert status_of(coupon) == "LOCKED"


def test_another_restaurants_coupon_answers_exactly_like_an_unknown_code(
    client, till, tenant, jane, other_tenant
):
    issue(tenant, jane)
    theirs = issue(other_tenant, customer(other_tenant, external_id="jane-1"))
    unknown = {"valid": False, "coupon": None, "reason": "unknown"}
    for code in (theirs.code, "NEWABCDEFGHJK", "not a code!", "0O1IL"):
        for url, query in ((VERIFY_ACCOUNT, {}), (VERIFY_ACCOUNT, {"lock": "1"}), (UNLOCK, {})):
            response = at_till(client, till, url, code, **query)
            assert (response.status_code, response.get_json()) == (200, unknown)
    assert status_of(theirs) == "ACTIVE"


def test_an_account_id_of_nobody_here_is_not_found(client, till, tenant, jane, other_tenant):
    coupon = issue(tenant, jane)
    customer(other_tenant, external_id="their-guest")
    for account in ("nobody-here", "their-guest"):
        for url in (VERIFY_ACCOUNT, UNLOCK):
            response = at_till(client, till, url, coupon.code, account=account, lock="true")
            assert response.status_code == 404
            assert response.get_json()["field"] == "account"
    assert status_of(coupon) == "ACTIVE"


def test_used_and_expired_coupons_say_so_and_a_used_one_cannot_be_locked(
    client, till, tenant, owner
):
    old = customer(tenant, external_id="old-timer", email="old@example.com")
    past = utcnow() - timedelta(days=31)  # the 30-day coupon issued then has expired
    running(tenant, {**welcome_series(), "id": "last-year"}, past)
    [expired] = coupons_of(old)
    jane = customer(tenant, external_id="jane-1", email="jane@example.com")
    coupon = issue(tenant, jane)  # the campaign of a month ago took no one who joined since
    assert redeem_at_till(tenant.id, coupon.code, utcnow(), owner.id).valid
    db.session.commit()

    used = at_till(client, till, VERIFY_ACCOUNT, coupon.code).get_json()
    assert (used["valid"], used["reason"], used["coupon"]["status"]) == (False, "used", "USED")
    assert at_till(client, till, VERIFY_ACCOUNT, coupon.code, lock="true").status_code == 409
    for query in ({}, {"lock": "true"}):
        response = at_till(client, till, VERIFY_ACCOUNT, expired.code, "old-timer", **query)
        assert response.status_code == 200
        assert (response.get_json()["valid"], response.get_json()["reason"]) == (False, "expired")
    assert status_of(coupon) == "USED"
    assert status_of(expired) != "LOCKED"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"account": "jane-1"}, "coupon"),
        ({"coupon": "", "account": "jane-1"}, "coupon"),
        ({"coupon": "A" * 65, "account": "jane-1"}, "coupon"),
        ({"coupon": "NEW2345678"}, "account"),
        ({"coupon": "NEW2345678", "account": "jane 1"}, "account"),
        ({"coupon": "NEW2345678", "account": "jane-1", "lock": "maybe"}, "lock"),
    ],
)
def test_a_malformed_request_is_a_400_naming_the_parameter(client, till, jane, query, field):
    response = client.post(VERIFY_ACCOUNT, query_string=query, headers=till)
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_a_customer_checks_their_own_coupon_and_not_anyone_elses(client, tenant, jane):
    coupon = issue(tenant, jane)
    stranger = customer(tenant, external_id="stranger", email="stranger@example.com")
    mine = client.get(
        VERIFY,
        query_string={"coupon": coupon.code.lower()},
        headers=bearer(customer_token(client, tenant, jane), tenant),
    )
    assert mine.status_code == 200
    assert (mine.get_json()["valid"], mine.get_json()["coupon"]["code"]) == (True, coupon.code)
    not_mine = client.get(
        VERIFY,
        query_string={"coupon": coupon.code},
        headers=bearer(customer_token(client, tenant, stranger), tenant),
    )
    assert not_mine.get_json() == {"valid": False, "coupon": None, "reason": "not_yours"}
    assert status_of(coupon) == "ACTIVE"


@pytest.mark.postgres
def test_many_tills_locking_one_coupon_at_once_give_exactly_one_lock(pg_api_app):
    tenant, _credentials = create_tenant("trattoria", "Trattoria Roma")
    jane = customer(tenant, external_id="jane-1")
    coupon = issue(tenant, jane)
    headers = bearer(service_token(pg_api_app.test_client(), tenant), tenant)
    query = {"coupon": coupon.code, "account": "jane-1", "lock": "true"}

    def lock(_till: int):
        response = pg_api_app.test_client().post(
            VERIFY_ACCOUNT, query_string=query, headers=headers
        )
        return response.status_code

    statuses = at_once(pg_api_app, lock, workers=8)
    assert sorted(statuses) == [200] + [409] * 7
    assert status_of(coupon) == "LOCKED"
