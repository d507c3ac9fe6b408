"""Team login: hashed passwords, throttling, logout, CSRF, safe redirects."""

from loyalty.extensions import db
from loyalty.models import User

from ..conftest import PASSWORD, make_app


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
    assert auth.login(owner.email).status_code == 429


def test_throttling_counts_failures_per_address_across_emails(client, owner, auth):
    for n in range(5):
        auth.login(f"nobody{n}@example.com", "nope")
    assert auth.login(owner.email).status_code == 429


def test_deactivated_member_cannot_log_in(client, owner, auth):
    owner.active = False
    db.session.commit()
    assert auth.login(owner.email).status_code == 401


def test_logout_ends_the_session(client, owner, auth):
    auth.login(owner.email)
    auth.logout()
    assert client.get("/").status_code == 302


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
        login_page = client.get("/login").data.decode()
        token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        response = client.post(
            "/login", data={"email": owner.email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302
