"""Team login: hashed passwords, throttling, revocable sessions, CSRF, safe redirects."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.utils import parsedate_to_datetime

from sqlalchemy import update

from loyalty.extensions import db
from loyalty.models import LoginSession, LoginThrottle, User, utcnow
from loyalty.services.setup import team
from tests.support.app import PASSWORD, make_app
from tests.support.forms import csrf_token


def test_login_with_right_password_reaches_home(client, owner, auth):
    response = auth.login(owner.email)
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert b"Last 30 days" in page.data


def test_wrong_password_is_refused_with_a_message(client, owner, auth):
    response = auth.login(owner.email, "wrong password")
    assert response.status_code == 401
    assert b"Wrong email or password" in response.data
    assert client.get("/").status_code == 302


def test_passwords_are_stored_hashed(app, owner):
    stored = db.session.get(User, owner.id).password_hash
    assert PASSWORD not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))


def test_login_is_throttled_after_repeated_failures_even_with_the_right_password(
    client, owner, auth
):
    for _ in range(5):
        assert auth.login(owner.email, "nope").status_code == 401
    refused = auth.login(owner.email)
    assert refused.status_code == 429
    assert b"Too many failed attempts. Wait 15 minutes and try again." in refused.data
    assert client.get("/").status_code == 302


def test_the_throttle_message_gives_the_configured_window(database_url, owner):
    app = make_app(database_url, LOGIN_THROTTLE_WINDOW_SECONDS=120)
    with app.test_client() as client:
        for _ in range(5):
            client.post("/login", data={"email": owner.email, "password": "nope"})
        refused = client.post("/login", data={"email": owner.email, "password": PASSWORD})
    assert refused.status_code == 429
    assert b"Wait 2 minutes and try again." in refused.data


def test_throttling_counts_failures_per_address_across_emails(client, owner, auth):
    for n in range(5):
        auth.login(f"nobody{n}@example.com", "nope")
    refused = auth.login(owner.email)
    assert refused.status_code == 429 and b"Too many failed attempts" in refused.data


def test_deactivated_member_cannot_log_in(client, owner, auth):
    owner.active = False
    db.session.commit()
    refused = auth.login(owner.email)
    assert refused.status_code == 401 and b"Wrong email or password" in refused.data
    assert client.get("/").status_code == 302


def test_logout_ends_the_session(client, owner, auth):
    auth.login(owner.email)
    auth.logout()
    home = client.get("/")
    assert home.status_code == 302 and home.location.startswith("/login")
    assert b"You are signed out." in client.get(home.location).data


def test_next_parameter_cannot_redirect_off_site(client, owner):
    response = client.post(
        "/login?next=//evil.example.com/x", data={"email": owner.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


def test_session_cookie_is_httponly_and_samesite(client, owner, auth):
    response = auth.login(owner.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_forms_without_csrf_token_are_rejected(database_url, owner):
    app = make_app(database_url, WTF_CSRF_ENABLED=True)
    with app.test_client() as client:
        response = client.post("/login", data={"email": owner.email, "password": PASSWORD})
        assert response.status_code == 400
        token = csrf_token(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"email": owner.email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302


def test_thirty_parallel_wrong_passwords_reach_the_password_check_at_most_the_limit(
    app, owner, monkeypatch
):
    """Item 4: counting an attempt and refusing one over the limit is one atomic step."""
    checks = []
    real_check = team.check_password_hash

    def counted_check(*args):
        checks.append(1)
        return real_check(*args)

    monkeypatch.setattr(team, "check_password_hash", counted_check)
    email, attempts = owner.email, 30
    start = threading.Barrier(attempts)

    def attempt(_):
        browser = app.test_client()
        with app.app_context():
            start.wait()
            status = browser.post("/login", data={"email": email, "password": "wrong"})
            db.session.remove()
            return status.status_code

    with ThreadPoolExecutor(attempts) as pool:
        statuses = sorted(pool.map(attempt, range(attempts)))
    assert len(checks) <= 5
    assert statuses == [401] * len(checks) + [429] * (attempts - len(checks))


def test_right_passwords_typed_at_once_behind_one_address_all_get_in(app, tenant):
    """Attempts still being checked make the others wait, not fail: a shift starting."""
    emails = [f"member{n}@trattoria.test" for n in range(12)]
    for email in emails:
        team.create_user(tenant.id, email, PASSWORD)
    start = threading.Barrier(len(emails))

    def sign_in(email):
        browser = app.test_client()
        with app.app_context():
            start.wait()
            status = browser.post("/login", data={"email": email, "password": PASSWORD})
            db.session.remove()
            return status.status_code

    with ThreadPoolExecutor(len(emails)) as pool:
        assert list(pool.map(sign_in, emails)) == [302] * len(emails)


def test_a_successful_login_is_not_counted_as_a_failure(client, owner, auth):
    """Each attempt is counted before the password check; a success takes its count back."""
    for _ in range(4):
        auth.login(owner.email, "nope")
    assert auth.login(owner.email).status_code == 302
    auth.logout()
    assert auth.login(owner.email, "nope").status_code == 401  # the address's fifth failure
    assert auth.login(owner.email).status_code == 429


def test_the_throttle_lifts_when_the_window_is_over(client, owner, auth, app):
    for _ in range(5):
        auth.login(owner.email, "nope")
    assert auth.login(owner.email).status_code == 429
    db.session.execute(
        update(team.LoginThrottle).values(window_started_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    assert auth.login(owner.email).status_code == 302
    assert b"Last 30 days" in client.get("/").data


def _copy_cookie(source, target, name: str) -> str:
    value = source.get_cookie(name).value
    target.set_cookie(name, value)
    return value


def test_a_copy_of_the_session_cookie_taken_before_logout_no_longer_opens_accounts(
    app, client, owner, auth
):
    """Item 6: logout ends the session on the server, not only in this browser."""
    auth.login(owner.email)
    thief = app.test_client()
    _copy_cookie(client, thief, "session")
    assert thief.get("/accounts/").status_code == 200
    auth.logout()
    assert thief.get("/accounts/").status_code == 302
    assert client.get("/accounts/").status_code == 302


def test_a_copy_of_the_remember_cookie_taken_before_logout_no_longer_signs_in(app, client, owner):
    client.post("/login", data={"email": owner.email, "password": PASSWORD, "remember": "y"})
    thief = app.test_client()
    _copy_cookie(client, thief, "remember_token")
    client.post("/logout")
    assert thief.get("/accounts/").status_code == 302


def test_remember_me_lasts_30_days_on_the_server_too(app, client, owner):
    response = client.post(
        "/login", data={"email": owner.email, "password": PASSWORD, "remember": "y"}
    )
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "remember_token" in c)
    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
    assert timedelta(days=29) < expires - utcnow() <= timedelta(days=30)
    restored = app.test_client()
    _copy_cookie(client, restored, "remember_token")
    db.session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert restored.get("/accounts/").status_code == 302


def test_a_remember_cookie_is_replaced_when_it_restores_a_session(app, client, owner):
    client.post("/login", data={"email": owner.email, "password": PASSWORD, "remember": "y"})
    after_restart = app.test_client()
    used = _copy_cookie(client, after_restart, "remember_token")
    assert after_restart.get("/accounts/").status_code == 200
    replaced = after_restart.get_cookie("remember_token").value
    assert replaced != used
    assert after_restart.get("/accounts/").status_code == 200
    replay = app.test_client()
    replay.set_cookie("remember_token", used)
    assert replay.get("/accounts/").status_code == 302


def test_changing_the_password_signs_out_other_browsers_but_not_this_one(app, client, owner, auth):
    auth.login(owner.email)
    other = app.test_client()
    other.post("/login", data={"email": owner.email, "password": PASSWORD})
    response = client.post(
        "/account",
        data={"current": PASSWORD, "new": "a brand new secret", "confirm": "a brand new secret"},
    )
    assert response.status_code == 303
    assert client.get("/accounts/").status_code == 200
    assert other.get("/accounts/").status_code == 302
    assert (
        other.post(
            "/login", data={"email": owner.email, "password": "a brand new secret"}
        ).status_code
        == 302
    )


def test_a_password_change_needs_the_current_password_and_the_same_new_one_twice(
    client, owner, auth
):
    auth.login(owner.email)
    wrong = client.post(
        "/account", data={"current": "guess", "new": "a brand new secret", "confirm": "x"}
    )
    assert wrong.status_code == 422
    page = wrong.get_data(as_text=True)
    assert "the two do not match" in page
    wrong = client.post(
        "/account",
        data={"current": "guess", "new": "a brand new secret", "confirm": "a brand new secret"},
    )
    assert "that is not your current password" in wrong.get_data(as_text=True)
    db.session.refresh(owner)
    assert team.check_password_hash(owner.password_hash, PASSWORD)


def test_sign_out_everywhere_ends_every_session_of_the_user(app, client, owner, auth):
    auth.login(owner.email)
    other = app.test_client()
    other.post("/login", data={"email": owner.email, "password": PASSWORD, "remember": "y"})
    response = client.post("/account/sign-out-everywhere")
    assert response.status_code == 303
    assert client.get("/accounts/").status_code == 302
    assert other.get("/accounts/").status_code == 302
    assert db.session.query(LoginSession).count() == 0


def test_tick_prunes_ended_sessions_and_idle_throttle_counts(app, client, owner, auth, runner):
    auth.login(owner.email)
    client.post("/login", data={"email": "nobody@trattoria.test", "password": "wrong"})
    later = utcnow() + timedelta(days=2)
    result = runner.invoke(args=["loyalty", "tick", "--now", later.isoformat()])
    assert result.exit_code == 0, result.output
    assert db.session.query(LoginSession).count() == 0  # the 24-hour sign-in has ended
    assert db.session.query(LoginThrottle).count() == 0
    assert client.get("/accounts/").status_code == 302  # and that browser is signed out
