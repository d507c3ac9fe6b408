"""Team page: owners add members, change roles, deactivate; never themselves."""

from __future__ import annotations

from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import User
from loyalty.services.setup.team import EMAIL_NOT_AVAILABLE, create_user
from tests.support.app import PASSWORD
from tests.support.forms import errors_for


def in_own_context(app, request):
    """A second browser's request in its own app context, as in production: the test's shared
    context would otherwise hand it the user Flask-Login cached for the first browser."""
    with app.app_context():
        return request()


def member_form(**overrides) -> dict:
    return {
        "email": "giulia@trattoria.test",
        "name": "Giulia",
        "role": "staff",
        "password": "a long password",
    } | overrides


def test_team_page_lists_members_with_roles(owner_client, owner, staff):
    page = owner_client.get("/team/").get_data(as_text=True)
    assert owner.email in page
    assert staff.email in page
    assert "Sam Staff" in page


def test_owner_adds_a_member_who_can_then_sign_in(owner_client, tenant, app):
    response = owner_client.post("/team/", data=member_form(email="Giulia@Trattoria.test"))
    assert response.status_code == 303
    member = db.session.scalar(select(User).where(User.email == "giulia@trattoria.test"))
    assert (member.tenant_id, member.role, member.name) == (tenant.id, "staff", "Giulia")
    other_browser = app.test_client()
    signed_in = in_own_context(
        app,
        lambda: other_browser.post(
            "/login", data={"email": "giulia@trattoria.test", "password": "a long password"}
        ),
    )
    assert signed_in.status_code == 302
    assert in_own_context(app, lambda: other_browser.get("/rewards/")).status_code == 200


def test_a_short_password_or_bad_email_is_refused_inline(owner_client):
    response = owner_client.post("/team/", data=member_form(email="giulia", password="short"))
    assert response.status_code == 422
    assert errors_for(response, "email") == ["enter a valid email address"]
    assert errors_for(response, "password") == ["use at least 8 characters"]
    assert db.session.scalar(select(User).where(User.email == "giulia")) is None


def test_an_email_already_on_the_team_is_refused_inline(owner_client, staff):
    response = owner_client.post("/team/", data=member_form(email=staff.email))
    assert response.status_code == 422
    assert errors_for(response, "email") == [f"{staff.email} is already on your team"]


def test_an_email_with_a_login_at_another_restaurant_is_refused_without_revealing_it(
    owner_client, other_tenant
):
    """Item 10: logins are unique per email installation-wide (the login form asks for no
    restaurant), so the address is refused, but nothing says it exists or where."""
    create_user(other_tenant.id, "boss@burgerbar.test", PASSWORD, role="owner", name="Bob Burger")
    response = owner_client.post("/team/", data=member_form(email="Boss@BurgerBar.test"))
    assert response.status_code == 422
    assert errors_for(response, "email") == [EMAIL_NOT_AVAILABLE]
    page = response.get_data(as_text=True)
    for revealing in ("already has a login", "Burger Bar", "Bob Burger"):
        assert revealing not in page
    boss = db.session.scalar(select(User).where(User.email == "boss@burgerbar.test"))
    assert boss.tenant_id == other_tenant.id


def test_owner_changes_a_members_role(owner_client, staff):
    response = owner_client.post(f"/team/{staff.id}/role", data={"role": "owner"})
    assert response.status_code == 303
    db.session.refresh(staff)
    assert staff.role == "owner"


def test_an_unknown_role_is_refused(owner_client, staff):
    owner_client.post(f"/team/{staff.id}/role", data={"role": "admin"})
    db.session.refresh(staff)
    assert staff.role == "staff"


def test_owner_cannot_demote_themselves_and_is_told_why(owner_client, owner):
    response = owner_client.post(
        f"/team/{owner.id}/role", data={"role": "staff"}, follow_redirects=True
    )
    assert "you cannot remove your own owner role" in response.get_data(as_text=True)
    db.session.refresh(owner)
    assert owner.role == "owner"


def test_owner_cannot_deactivate_themselves_and_is_told_why(owner_client, owner):
    response = owner_client.post(f"/team/{owner.id}/deactivate", follow_redirects=True)
    assert "you cannot deactivate yourself" in response.get_data(as_text=True)
    db.session.refresh(owner)
    assert owner.active


def test_deactivating_a_member_signs_them_out_and_reactivating_lets_them_back(
    owner_client, staff, app
):
    staff_browser = app.test_client()

    def sign_in():
        return staff_browser.post("/login", data={"email": staff.email, "password": PASSWORD})

    in_own_context(app, sign_in)
    assert in_own_context(app, lambda: staff_browser.get("/rewards/")).status_code == 200

    owner_client.post(f"/team/{staff.id}/deactivate")
    signed_out = in_own_context(app, lambda: staff_browser.get("/rewards/"))
    assert signed_out.status_code == 302
    assert signed_out.headers["Location"].startswith("/login")
    assert "deactivated" in owner_client.get("/team/").get_data(as_text=True)
    assert in_own_context(app, sign_in).status_code == 401

    owner_client.post(f"/team/{staff.id}/reactivate")
    assert in_own_context(app, sign_in).status_code == 302
    assert in_own_context(app, lambda: staff_browser.get("/rewards/")).status_code == 200


def test_members_of_other_restaurants_are_not_listed(owner_client, other_tenant):
    create_user(other_tenant.id, "boss@burgerbar.test", PASSWORD, role="owner")
    assert b"boss@burgerbar.test" not in owner_client.get("/team/").data


def test_owner_signs_a_member_out_on_every_device(owner_client, staff, app):
    """Item 6: "sign out everywhere" for a team member ends their session and remember cookie."""
    phone, till = app.test_client(), app.test_client()
    for browser in (phone, till):
        in_own_context(
            app,
            lambda b=browser: b.post(
                "/login", data={"email": staff.email, "password": PASSWORD, "remember": "y"}
            ),
        )
    remember = till.get_cookie("remember_token").value
    response = owner_client.post(f"/team/{staff.id}/sign-out", follow_redirects=True)
    assert f"{staff.email} is signed out on every device" in response.get_data(as_text=True)
    assert in_own_context(app, lambda: phone.get("/rewards/")).status_code == 302
    fresh_browser = app.test_client()
    fresh_browser.set_cookie("remember_token", remember)
    assert in_own_context(app, lambda: fresh_browser.get("/rewards/")).status_code == 302


def test_a_member_deactivated_then_reactivated_does_not_get_old_sessions_back(
    owner_client, staff, app
):
    """Item 6: deactivation revokes sessions server-side, not only while the flag is off."""
    staff_browser = app.test_client()
    in_own_context(
        app, lambda: staff_browser.post("/login", data={"email": staff.email, "password": PASSWORD})
    )
    assert in_own_context(app, lambda: staff_browser.get("/rewards/")).status_code == 200
    owner_client.post(f"/team/{staff.id}/deactivate")
    owner_client.post(f"/team/{staff.id}/reactivate")
    assert in_own_context(app, lambda: staff_browser.get("/rewards/")).status_code == 302


def test_an_owner_cannot_sign_out_members_of_another_restaurant(owner_client, other_tenant):
    boss = create_user(other_tenant.id, "boss@burgerbar.test", PASSWORD, role="owner")
    response = owner_client.post(f"/team/{boss.id}/sign-out")
    assert response.status_code == 404
    assert b"belongs to another restaurant" in response.data
