"""Signing in to the member pages with a one-time code: one code, one session, of one
restaurant; wrong, old, reused and other restaurants' codes are refused, and a session ends
with sign-out, its lifetime, and the account's erasure or merge."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.extensions import db
from loyalty.models import CustomerCode, GuestSession, utcnow
from loyalty.services.accounts.erasure import erase_account
from loyalty.services.accounts.merge import merge_accounts
from loyalty.services.members.sessions import signed_in_account, start_session
from tests.support.accounts import customer
from tests.support.api import last_code
from tests.support.app import make_app
from tests.support.forms import csrf_token
from tests.support.members import (
    age_codes,
    ask_code,
    codes_sent,
    enter_code,
    page_text,
    sessions_of,
    sign_in,
)

CARD = "/m/trattoria/"


@pytest.fixture()
def zoe(tenant):
    return customer(tenant, email="zoe@example.com", first_name="Zoe")


def is_signed_in(client, path: str = CARD) -> bool:
    response = client.get(path)
    assert response.status_code in (200, 303)
    return response.status_code == 200


def test_a_known_and_an_unknown_address_get_the_same_answer(client, zoe):
    known = ask_code(client, "trattoria", "zoe@example.com")
    unknown = ask_code(client, "trattoria", "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert page_text(known).replace("zoe@", "X@") == page_text(unknown).replace("nobody@", "X@")
    assert known.headers["Cache-Control"] == "private, no-store"
    assert codes_sent(zoe) == 1


def test_the_code_signs_the_guest_in_and_the_card_is_private(client, zoe):
    assert not is_signed_in(client)
    sign_in(client, "trattoria", zoe)
    response = client.get(CARD)
    assert response.status_code == 200
    assert "Hello, Zoe" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert sessions_of(zoe) == 1


def guest_cookie(client, slug: str = "trattoria"):
    return client.get_cookie("guest_session", path=f"/m/{slug}/")


def test_only_a_hash_of_the_session_token_is_stored(client, zoe):
    sign_in(client, "trattoria", zoe)
    token = guest_cookie(client).value
    row = db.session.query(GuestSession).one()
    assert token not in row.token_hash and len(row.token_hash) == 64


def test_a_code_works_once(client, zoe):
    ask_code(client, "trattoria", "zoe@example.com")
    code = last_code(zoe)
    assert enter_code(client, "trattoria", "zoe@example.com", code).status_code == 303
    client.post("/m/trattoria/sign-out")
    reused = enter_code(client, "trattoria", "zoe@example.com", code)
    assert reused.status_code == 422
    assert "no longer works" in reused.get_data(as_text=True)
    assert not is_signed_in(client)


def test_an_expired_code_is_refused(client, zoe):
    ask_code(client, "trattoria", "zoe@example.com")
    age_codes(zoe, utcnow() - timedelta(seconds=1))
    assert enter_code(client, "trattoria", "zoe@example.com", last_code(zoe)).status_code == 422
    assert not is_signed_in(client)


def test_another_restaurants_code_is_refused(client, zoe, other_tenant):
    burger_zoe = customer(other_tenant, email="zoe@example.com")
    ask_code(client, "burgerbar", "zoe@example.com")
    code = last_code(burger_zoe)
    assert enter_code(client, "trattoria", "zoe@example.com", code).status_code == 422
    assert not is_signed_in(client)
    assert enter_code(client, "burgerbar", "zoe@example.com", code).status_code == 303


def test_wrong_codes_kill_the_code_after_a_few_tries(client, zoe, app):
    ask_code(client, "trattoria", "zoe@example.com")
    code = last_code(zoe)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(app.config["CUSTOMER_CODE_ATTEMPTS"]):
        assert enter_code(client, "trattoria", "zoe@example.com", wrong).status_code == 422
    assert enter_code(client, "trattoria", "zoe@example.com", code).status_code == 422
    assert not is_signed_in(client)


def test_codes_per_hour_are_limited(client, zoe, app):
    for _ in range(app.config["CUSTOMER_CODES_PER_HOUR"] + 3):
        assert ask_code(client, "trattoria", "zoe@example.com").status_code == 200
    assert codes_sent(zoe) == app.config["CUSTOMER_CODES_PER_HOUR"]


@pytest.mark.parametrize(
    "form",
    [
        {"login": "zoe@example.com", "code": "1" * 5000},
        {"login": "z" * 5000, "code": "123456"},
        {"login": "zoe@example.com", "code": ""},
        {"login": "zoe@example.com"},
        {},
    ],
)
def test_garbage_codes_are_a_422_page(client, zoe, form):
    response = client.post("/m/trattoria/code", data=form)
    assert response.status_code == 422
    assert "Enter your code" in response.get_data(as_text=True)


def test_a_too_long_address_is_a_422_page(client, zoe):
    assert ask_code(client, "trattoria", "z" * 5000).status_code == 422


def test_another_restaurants_session_does_not_open_this_card(client, zoe, other_tenant):
    burger_zoe = customer(other_tenant, email="zoe@example.com")
    sign_in(client, "burgerbar", burger_zoe)
    assert is_signed_in(client, "/m/burgerbar/")
    assert not is_signed_in(client, CARD)
    # Even the other restaurant's token sent to this restaurant's pages opens nothing.
    client.set_cookie("guest_session", guest_cookie(client, "burgerbar").value, path=CARD)
    assert not is_signed_in(client, CARD)


def test_signed_out_pages_send_to_sign_in_and_back(client, zoe):
    response = client.get("/m/trattoria/me")
    assert response.status_code == 303
    assert response.headers["Location"] == "/m/trattoria/sign-in?next=/m/trattoria/me"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/m/trattoria/me"' in page
    ask_code(client, "trattoria", "zoe@example.com")
    signed = enter_code(client, "trattoria", "zoe@example.com", last_code(zoe), "/m/trattoria/me")
    assert signed.headers["Location"] == "/m/trattoria/me"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/m/trattoria/",
        "/m/trattoria//evil.example",
        "/\\evil.example",
        "/m/burgerbar/",
        "/m/trattoria/\\\\evil.example",
        "/m/trattoria/../../login",
        "javascript:alert(1)",
    ],
)
def test_next_never_leaves_the_restaurants_pages(client, zoe, target):
    ask_code(client, "trattoria", "zoe@example.com")
    response = enter_code(client, "trattoria", "zoe@example.com", last_code(zoe), target)
    assert response.status_code == 303
    assert response.headers["Location"] == CARD


def test_sign_out_ends_the_session_everywhere(client, zoe, app):
    sign_in(client, "trattoria", zoe)
    copied = guest_cookie(client).value
    client.post("/m/trattoria/sign-out")
    assert sessions_of(zoe) == 0
    assert not is_signed_in(client)
    assert guest_cookie(client) is None
    other = app.test_client()
    other.set_cookie("guest_session", copied, path=CARD)  # a copy from before signing out
    assert not is_signed_in(other)


def test_a_session_ends_after_its_lifetime(client, zoe):
    sign_in(client, "trattoria", zoe)
    row = db.session.query(GuestSession).one()
    assert row.expires_at - row.created_at == timedelta(days=30)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert not is_signed_in(client)


def test_an_account_erased_by_the_team_is_signed_out(client, zoe, owner):
    sign_in(client, "trattoria", zoe)
    erase_account(zoe.tenant_id, zoe.id, owner.id)
    assert sessions_of(zoe) == 0
    assert not is_signed_in(client)


def test_an_account_merged_away_is_signed_out(client, tenant, zoe, owner):
    survivor = customer(tenant, phone="+32470123456")
    sign_in(client, "trattoria", zoe)
    merge_accounts(tenant.id, survivor.id, zoe.id, owner.id)
    assert sessions_of(zoe) == 0
    assert not is_signed_in(client)


def test_a_retired_account_with_a_live_session_row_is_still_refused(tenant, zoe, owner):
    """The loader checks the account too, whatever happened to the session rows."""
    survivor = customer(tenant, phone="+32470123456")
    merge_accounts(tenant.id, survivor.id, zoe.id, owner.id)
    token = start_session(tenant.id, zoe.id, now=utcnow(), lifetime=timedelta(days=1))
    db.session.commit()
    assert signed_in_account(tenant.id, token, utcnow()) is None
    live = start_session(tenant.id, survivor.id, now=utcnow(), lifetime=timedelta(days=1))
    db.session.commit()
    assert signed_in_account(tenant.id, live, utcnow()).id == survivor.id


def test_every_form_needs_its_csrf_token(tenant, database_url):
    zoe = customer(tenant, email="zoe@example.com")
    app = make_app(database_url, WTF_CSRF_ENABLED=True)
    with app.test_client() as client:
        assert ask_code(client, "trattoria", "zoe@example.com").status_code == 400
        assert codes_sent(zoe) == 0
        token = csrf_token(client.get("/m/trattoria/sign-in").get_data(as_text=True))
        client.post(
            "/m/trattoria/sign-in", data={"contact": "zoe@example.com", "csrf_token": token}
        ).close()  # the code is sent after the answer
        db.session.expire_all()
        code = last_code(zoe)
        assert enter_code(client, "trattoria", "zoe@example.com", code).status_code == 400
        signed = client.post(
            "/m/trattoria/code",
            data={"login": "zoe@example.com", "code": code, "csrf_token": token},
        )
        assert signed.status_code == 303
        assert client.post("/m/trattoria/sign-out").status_code == 400
        assert client.get(CARD).status_code == 200  # still signed in


def test_the_address_is_read_as_join_keeps_it(client, tenant, zoe):
    phoned = customer(tenant, phone="+32470123456")
    for typed, account in (("  Zoe@Example.COM ", zoe), ("0032 470 12 34 56", phoned)):
        response = ask_code(client, "trattoria", typed)
        assert response.status_code == 200
        assert codes_sent(account) == 1
        login = account.email or account.phone
        assert f'name="login" type="hidden" value="{login}"' in response.get_data(as_text=True)
        assert enter_code(client, "trattoria", login, last_code(account)).status_code == 303


def test_something_that_is_no_address_at_all_is_a_422(client, zoe):
    response = ask_code(client, "trattoria", "hello there")
    assert response.status_code == 422
    assert 'class="field has-error" id="field-contact"' in response.get_data(as_text=True)


def test_the_answer_is_out_before_any_code_is_issued(client, zoe):
    """Known or not, the answer does the same work: the code is issued after it."""
    response = client.post("/m/trattoria/sign-in", data={"contact": "zoe@example.com"})
    assert response.status_code == 200
    assert codes_sent(zoe) == 0
    response.close()
    assert codes_sent(zoe) == 1


@pytest.mark.parametrize("typed", ["{0} {1}", "{0}-{1}", " {0}  {1} ", "{0}\u00a0{1}"])
def test_spaces_and_hyphens_typed_in_the_code_are_ignored(client, zoe, typed):
    ask_code(client, "trattoria", "zoe@example.com")
    code = last_code(zoe)
    entered = typed.format(code[:3], code[3:])
    assert enter_code(client, "trattoria", "zoe@example.com", entered).status_code == 303


def test_a_sign_in_cookie_outlives_the_browser_for_the_sessions_days(client, zoe, app):
    ask_code(client, "trattoria", "zoe@example.com")
    signed = enter_code(client, "trattoria", "zoe@example.com", last_code(zoe))
    cookie = next(
        header for header in signed.headers.getlist("Set-Cookie") if "guest_session=" in header
    )
    assert f"Max-Age={app.config['GUEST_SESSION_DAYS'] * 86400}" in cookie
    assert "Path=/m/trattoria/" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The dashboard's session cookie stays a browser-session cookie.
    session_cookies = [h for h in signed.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert all("Max-Age" not in h and "Expires" not in h for h in session_cookies)


@pytest.mark.parametrize(
    "target",
    ["/m/trattoria/.%2E/.%2E/x", "/m/trattoria/%2e%2e/burgerbar/", "/m/trattoria/%252e%252e/x"],
)
def test_an_encoded_next_cannot_leave_the_restaurants_pages(client, zoe, target):
    ask_code(client, "trattoria", "zoe@example.com")
    response = enter_code(client, "trattoria", "zoe@example.com", last_code(zoe), target)
    assert response.headers["Location"] == CARD


def test_a_signed_out_form_post_sends_to_sign_in_without_coming_back_to_it(client, zoe):
    response = client.post("/m/trattoria/order/1")
    assert response.status_code == 303
    assert response.headers["Location"] == "/m/trattoria/sign-in"


def test_tick_prunes_sessions_and_codes_ended_over_a_day_ago(client, zoe, runner):
    sign_in(client, "trattoria", zoe)  # a code used, a session of 30 days
    for _ in range(2):
        ask_code(client, "trattoria", "zoe@example.com")  # two live codes, ten minutes each
    in_two_days = (utcnow() + timedelta(days=2)).isoformat()
    result = runner.invoke(args=["loyalty", "tick", "--now", in_two_days])
    assert result.exit_code == 0, result.output
    # The newest code stays (its id must not be handed out again); the session is still live.
    assert "deleted 0 guest sessions, 2 guest sign-in codes" in result.output
    assert db.session.query(CustomerCode).count() == 1
    assert sessions_of(zoe) == 1
    in_a_month = (utcnow() + timedelta(days=32)).isoformat()
    result = runner.invoke(args=["loyalty", "tick", "--now", in_a_month])
    assert "deleted 1 guest sessions" in result.output
    assert sessions_of(zoe) == 0
