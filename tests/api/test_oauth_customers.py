"""A guest app (customer-app client) signing customers in without a password: a one-time code
sent through the restaurant's notification sender, then the password grant with that code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from joserfc import jwt
from sqlalchemy import select

from loyalty.api.errors import ApiError
from loyalty.api.oauth.signing import signing_key
from loyalty.api.operations import Access, authorise
from loyalty.extensions import db
from loyalty.models import ApiToken, CustomerCode, OutboxMessage, utcnow
from loyalty.services.accounts import sign_in_codes
from loyalty.services.accounts.erasure import erase_account
from loyalty.services.notifications.outbox import enqueue
from tests.support.accounts import customer
from tests.support.api import (
    CODE_URL,
    basic,
    bearer,
    customer_token,
    last_code,
    new_client,
    principal_for,
    token_answer,
)

WRONG = "the login or the code is wrong, used or expired"


@pytest.fixture()
def guest_app(tenant):
    return new_client(tenant, kind="customer-app", name="guest app")


def ask_code(client, tenant, guest_app, login, **kwargs):
    """Ask for a code and let the server finish the answer (the code is issued after it)."""
    response = client.post(
        CODE_URL, json={"login": login}, headers=basic(*guest_app, tenant), **kwargs
    )
    response.get_data()
    response.close()
    return response


def sign_in(client, tenant, guest_app, login, code):
    return token_answer(
        client,
        tenant,
        guest_app,
        grant_type="password",
        username=login,
        password=code,
        scope="read",
    )


def codes_sent(account) -> int:
    return len(
        db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.account_id == account.id, OutboxMessage.kind == "one_time_code"
            )
        ).all()
    )


def test_a_customer_signs_in_with_the_code_sent_to_them(app, client, tenant, ann, guest_app):
    asked = ask_code(client, tenant, guest_app, "ann@example.com")

    assert asked.status_code == 202
    assert asked.get_json() == {"sent": True}
    code = last_code(ann)
    assert len(code) == 6 and code.isdigit()
    answer = sign_in(client, tenant, guest_app, "ann@example.com", code)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["UUID"] == ann.external_id
    assert body["refresh_token"]
    claims = jwt.decode(body["access_token"], signing_key(), algorithms=["HS256"]).claims
    assert claims["sub"] == ann.external_id
    assert claims["roles"] == []
    assert claims["tenant"] == "trattoria"
    principal = principal_for(app, bearer(body["access_token"], tenant))
    assert principal.is_customer
    assert principal.account_id == ann.id


def test_the_code_is_queued_for_the_restaurants_sender_and_only_its_hash_kept(
    client, tenant, ann, guest_app
):
    ask_code(client, tenant, guest_app, "ann@example.com")

    message = db.session.scalars(select(OutboxMessage)).one()
    code = message.payload["code"]
    assert message.kind == "one_time_code"
    assert code in message.title and code in message.body
    stored = db.session.scalars(select(CustomerCode)).one()
    assert code not in stored.code_hash


def test_the_code_is_sent_as_soon_as_the_answer_is_out(client, tenant, ann, guest_app):
    asked = client.post(
        CODE_URL, json={"login": "ann@example.com"}, headers=basic(*guest_app, tenant)
    )
    assert asked.status_code == 202
    # The answer did no work for the account: known or not, it costs the same.
    assert db.session.scalars(select(OutboxMessage)).all() == []

    asked.close()  # the server has sent the answer

    db.session.expire_all()
    assert db.session.scalars(select(OutboxMessage)).one().status == "sent"


def test_sending_a_code_at_once_sends_nothing_else(client, tenant, ann, guest_app):
    bob = customer(tenant, email="bob@example.com")
    waiting = enqueue(
        tenant.id, bob.id, "test", "Waiting for tick", "", None, "waiting", now=utcnow()
    ).message
    db.session.commit()

    ask_code(client, tenant, guest_app, "ann@example.com")

    db.session.expire_all()
    assert db.session.get(OutboxMessage, waiting.id).status == "queued"
    code_message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "one_time_code")
    ).one()
    assert code_message.status == "sent"


def test_a_phone_number_signs_in_as_well(client, tenant, ann, guest_app):
    ask_code(client, tenant, guest_app, "+32 470 12 34 56")

    answer = sign_in(client, tenant, guest_app, "+32470123456", last_code(ann))

    assert answer.status_code == 200
    assert answer.get_json()["UUID"] == ann.external_id


def test_the_form_encoded_request_works_too(client, tenant, ann, guest_app):
    asked = client.post(
        CODE_URL, data={"login": "ann@example.com"}, headers=basic(*guest_app, tenant)
    )
    asked.close()

    assert asked.status_code == 202
    assert codes_sent(ann) == 1


def test_an_unknown_login_gets_the_same_answer_and_nothing_is_sent(client, tenant, ann, guest_app):
    known = ask_code(client, tenant, guest_app, "ann@example.com")
    unknown = ask_code(client, tenant, guest_app, "nobody@example.com")

    assert (unknown.status_code, unknown.get_json()) == (known.status_code, known.get_json())
    assert sorted(unknown.headers.keys()) == sorted(known.headers.keys())
    assert db.session.scalars(select(OutboxMessage)).all()[0].account_id == ann.id
    assert len(db.session.scalars(select(CustomerCode)).all()) == 1


def test_a_refused_code_never_says_whether_the_account_exists(client, tenant, ann, guest_app):
    ask_code(client, tenant, guest_app, "ann@example.com")

    known = sign_in(client, tenant, guest_app, "ann@example.com", "000000")
    unknown = sign_in(client, tenant, guest_app, "nobody@example.com", "000000")

    assert known.status_code == unknown.status_code == 400
    assert (
        known.get_json()
        == unknown.get_json()
        == {
            "error": "invalid_grant",
            "error_description": WRONG,
        }
    )


def test_a_code_works_once(client, tenant, ann, guest_app):
    ask_code(client, tenant, guest_app, "ann@example.com")
    code = last_code(ann)
    assert sign_in(client, tenant, guest_app, "ann@example.com", code).status_code == 200

    again = sign_in(client, tenant, guest_app, "ann@example.com", code)

    assert again.status_code == 400
    assert again.get_json()["error_description"] == WRONG
    assert ApiToken.query.count() == 1


def test_a_code_expires(client, tenant, ann, guest_app, app, monkeypatch):
    monkeypatch.setitem(app.config, "CUSTOMER_CODE_MINUTES", 0)
    ask_code(client, tenant, guest_app, "ann@example.com")

    answer = sign_in(client, tenant, guest_app, "ann@example.com", last_code(ann))

    assert answer.status_code == 400
    assert answer.get_json()["error_description"] == WRONG


def test_a_code_expires_after_its_minutes(tenant, ann):
    now = utcnow()
    sign_in_codes.request_code(
        tenant.id,
        "ann@example.com",
        now=now,
        lifetime=timedelta(minutes=10),
        per_hour=5,
        per_day=10,
    )
    code = last_code(ann)

    late = sign_in_codes.redeem_code(
        tenant.id, "ann@example.com", code, now=now + timedelta(minutes=10), max_attempts=5
    )
    in_time = sign_in_codes.redeem_code(
        tenant.id, "ann@example.com", code, now=now + timedelta(minutes=9), max_attempts=5
    )

    assert late is None
    assert in_time.id == ann.id


def test_a_code_dies_after_the_wrong_attempts_limit(client, tenant, ann, guest_app):
    ask_code(client, tenant, guest_app, "ann@example.com")
    code = last_code(ann)
    wrong = "999999" if code != "999999" else "111111"
    for _ in range(5):  # CUSTOMER_CODE_ATTEMPTS
        assert sign_in(client, tenant, guest_app, "ann@example.com", wrong).status_code == 400

    answer = sign_in(client, tenant, guest_app, "ann@example.com", code)

    assert answer.status_code == 400
    assert answer.get_json()["error_description"] == WRONG
    assert db.session.scalars(select(CustomerCode)).one().attempts == 5


def test_wrong_attempts_below_the_limit_leave_the_code_working(client, tenant, ann, guest_app):
    ask_code(client, tenant, guest_app, "ann@example.com")
    code = last_code(ann)
    for _ in range(4):
        sign_in(client, tenant, guest_app, "ann@example.com", "12345x")

    assert sign_in(client, tenant, guest_app, "ann@example.com", code).status_code == 200


def test_codes_asked_for_too_often_are_silently_not_sent(client, tenant, ann, guest_app):
    for _ in range(5):  # CUSTOMER_CODES_PER_HOUR
        ask_code(client, tenant, guest_app, "ann@example.com")

    sixth = ask_code(client, tenant, guest_app, "ann@example.com")

    assert sixth.status_code == 202
    assert sixth.get_json() == {"sent": True}
    assert codes_sent(ann) == 5


def test_codes_per_day_are_capped_however_they_are_spread(tenant, ann):
    start = utcnow() - timedelta(hours=23)
    issued = [
        sign_in_codes.request_code(
            tenant.id,
            "ann@example.com",
            now=start + timedelta(hours=2 * hour),
            lifetime=timedelta(minutes=10),
            per_hour=5,
            per_day=10,
        )
        for hour in range(6)
        for _ in range(2)
    ]

    assert [message is not None for message in issued] == [True] * 10 + [False] * 2
    assert codes_sent(ann) == 10


def test_an_older_live_code_still_works_after_a_new_one_is_sent(client, tenant, ann, guest_app):
    ask_code(client, tenant, guest_app, "ann@example.com")
    first = last_code(ann)
    ask_code(client, tenant, guest_app, "ann@example.com")

    assert sign_in(client, tenant, guest_app, "ann@example.com", first).status_code == 200


def test_an_erased_customer_gets_no_code_and_no_token(client, tenant, ann, owner, guest_app):
    ask_code(client, tenant, guest_app, "ann@example.com")
    code = last_code(ann)
    erase_account(tenant.id, ann.id, owner.id)

    assert sign_in(client, tenant, guest_app, "ann@example.com", code).status_code == 400


def test_another_restaurants_customer_is_unknown_here(client, tenant, other_tenant, guest_app):
    bob = customer(other_tenant, email="bob@example.com")
    ask_code(client, tenant, guest_app, "bob@example.com")

    assert codes_sent(bob) == 0


@pytest.mark.parametrize("kind", ["service", "admin-app"])
def test_only_a_customer_app_may_ask_for_codes(client, tenant, ann, kind):
    other = new_client(tenant, kind=kind)

    answer = ask_code(client, tenant, other, "ann@example.com")

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "unauthorized_client"
    assert codes_sent(ann) == 0


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda c: basic(c[0], "wrong", "trattoria"), id="wrong secret"),
        pytest.param(lambda c: basic(*c, "burgerbar"), id="other tenant"),
        pytest.param(lambda c: {"X-Tenant": "trattoria"}, id="no credentials"),
    ],
)
def test_a_code_request_from_an_unauthenticated_client_is_401(
    client, tenant, other_tenant, ann, guest_app, headers
):
    answer = client.post(CODE_URL, json={"login": "ann@example.com"}, headers=headers(guest_app))

    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_client"
    assert codes_sent(ann) == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"login": ""}, {"login": 42}, ["ann@example.com"], None],
)
def test_a_code_request_without_a_login_is_an_invalid_request(client, tenant, guest_app, body):
    answer = client.post(CODE_URL, json=body, headers=basic(*guest_app, tenant))

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("login", ["9" * 50_000, "ann\x00@example.com"], ids=["huge", "NUL"])
def test_an_unusable_login_is_answered_like_any_unknown_one(client, tenant, guest_app, login):
    asked = ask_code(client, tenant, guest_app, login)
    signed_in = sign_in(client, tenant, guest_app, login, "123456")

    assert asked.status_code == 202
    assert signed_in.status_code == 400
    assert signed_in.get_json()["error_description"] == WRONG


def test_an_anonymous_guest_gets_a_token_that_can_call_nothing_personal(
    app, client, tenant, guest_app
):
    answer = sign_in(client, tenant, guest_app, "anonymous", "")

    assert answer.status_code == 200
    body = answer.get_json()
    assert body["UUID"]
    claims = jwt.decode(body["access_token"], signing_key(), algorithms=["HS256"]).claims
    assert claims["roles"] == []
    assert claims["sub"] == body["UUID"]
    principal = principal_for(app, bearer(body["access_token"], tenant))
    assert principal.subject_kind == "anonymous"
    assert principal.account_id is None
    with app.test_request_context(headers=bearer(body["access_token"], tenant)):
        with pytest.raises(ApiError) as customer_only:
            authorise(Access.CUSTOMER, ())
        with pytest.raises(ApiError) as staff_only:
            authorise(Access.STAFF, ("ROLE_LOYALTY",))
    assert customer_only.value.status == 403
    assert staff_only.value.status == 403


def test_a_customer_token_cannot_do_staff_work(app, client, tenant, ann):
    token = customer_token(client, tenant, ann)

    with app.test_request_context(headers=bearer(token, tenant)):
        assert authorise(Access.CUSTOMER, ()).account_id == ann.id
        with pytest.raises(ApiError) as refused:
            authorise(Access.STAFF, ("ROLE_LOYALTY",))
    assert refused.value.status == 403


def test_anonymous_needs_an_empty_password(client, tenant, guest_app):
    answer = sign_in(client, tenant, guest_app, "anonymous", "123456")

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_grant"


def test_an_anonymous_token_is_forbidden_the_callers_own_account(client, tenant, guest_app):
    anonymous = sign_in(client, tenant, guest_app, "anonymous", "").get_json()["access_token"]

    answer = client.get("/loyalty-api/api/my/account", headers=bearer(anonymous, tenant))

    assert answer.status_code == 403
    assert answer.get_json()["error"] == "forbidden"
