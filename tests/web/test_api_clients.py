"""API clients page: owners issue clients (the secret shown once) and revoke them; staff may not."""

from __future__ import annotations

import html
import re

from loyalty.extensions import db
from loyalty.models import ApiClient, ApiToken
from loyalty.services.setup.api_clients import (
    create_client,
    find_client,
    list_clients,
    revoke_client,
    secret_matches,
)
from tests.support.api import bearer, token_answer
from tests.support.app import PASSWORD
from tests.support.forms import csrf_token, errors_for, signed_in_checking_csrf

# An operation a ROLE_LOYALTY service token may call: it answers 404 for an unknown account,
# 401 once the token no longer works.
TILL_CALL = "/loyalty-api/api/coupon/verify/account?coupon=NOPE-1&account=nobody"


def client_form(**overrides) -> dict:
    return {"name": "Till at the bar", "kind": "service", "roles": ["ROLE_LOYALTY"]} | overrides


def issued_values(page: str) -> tuple[str, str]:
    """The client id and secret shown on the page that issued them."""
    client_id = re.search(r'id="issued-client-id" readonly class="secret" value="([^"]+)"', page)
    secret = re.search(r'id="issued-client-secret" readonly class="secret" value="([^"]+)"', page)
    return html.unescape(client_id[1]), html.unescape(secret[1])


def fieldset_errors(response, name: str) -> list[str]:
    """The inline errors of a group of checkboxes or radio buttons."""
    page = response.get_data(as_text=True)
    group = page.split(f'id="field-{name}"')[1].split("</fieldset>")[0]
    return [html.unescape(text) for text in re.findall(r'<p class="error">(.*?)</p>', group)]


def test_the_page_lists_the_restaurants_clients_with_kind_roles_and_status(
    owner_client, tenant, other_tenant
):
    till = create_client(tenant.id, "Till at the bar", ["ROLE_LOYALTY", "ROLE_LOYALTY_STATS"])
    old = create_client(tenant.id, "Old kiosk", ["ROLE_LOYALTY"])
    revoke_client(tenant.id, old.client.id)
    create_client(tenant.id, "Back office", kind="admin-app")
    create_client(other_tenant.id, "Their till", ["ROLE_LOYALTY"])

    response = owner_client.get("/api-clients/")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    row = page.split(f'id="client-{till.client.id}"')[1].split("</tr>")[0]
    for shown in (
        "Till at the bar",
        "service",
        "ROLE_LOYALTY, ROLE_LOYALTY_STATS",
        till.client.client_id,
        "never",
        "live",
        "Revoke",
    ):
        assert shown in row
    old_row = page.split(f'id="client-{old.client.id}"')[1].split("</tr>")[0]
    assert "revoked" in old_row and "Revoke</button>" not in old_row
    assert "Back office" in page and "admin-app" in page
    assert "Their till" not in page
    assert till.client_secret not in page and till.client.secret_hash not in page


def test_the_page_tells_an_integrator_where_tokens_and_docs_are(owner_client, tenant):
    page = owner_client.get("/api-clients/").get_data(as_text=True)
    assert "https://loyalty.example.com/auth-oauth2/oauth/token" in page
    assert "X-Tenant: trattoria" in page
    assert 'href="https://loyalty.example.com/loyalty-api/docs"' in page
    assert "For service clients only" in page


def test_a_new_client_secret_is_shown_once_and_only_its_hash_is_kept(owner_client, tenant, owner):
    response = owner_client.post("/api-clients/", data=client_form())
    page = response.get_data(as_text=True)

    assert response.status_code == 200  # rendered, not redirected: nothing in session or URL
    assert response.headers["Cache-Control"] == "no-store"
    client_id, secret = issued_values(page)
    client = find_client(client_id)
    assert (client.tenant_id, client.name, client.kind, client.roles, client.created_by_id) == (
        tenant.id,
        "Till at the bar",
        "service",
        ["ROLE_LOYALTY"],
        owner.id,
    )
    assert secret_matches(client, secret) and secret not in client.secret_hash
    again = owner_client.get("/api-clients/")
    assert client_id in again.get_data(as_text=True)
    assert secret not in again.get_data(as_text=True)
    assert "no-store" not in again.headers.get("Cache-Control", "")


def test_the_issued_secret_gets_a_token(owner_client, client, tenant):
    client_id, secret = issued_values(
        owner_client.post("/api-clients/", data=client_form()).get_data(as_text=True)
    )
    answer = token_answer(client, tenant, (client_id, secret), grant_type="client_credentials")
    assert answer.status_code == 200
    assert answer.get_json()["token_type"].lower() == "bearer"


def test_an_admin_app_keeps_no_roles_even_when_ticked(owner_client, tenant):
    response = owner_client.post("/api-clients/", data=client_form(kind="admin-app"))
    client_id, _secret = issued_values(response.get_data(as_text=True))
    assert (find_client(client_id).kind, find_client(client_id).roles) == ("admin-app", [])


def test_a_client_without_a_name_or_roles_is_refused_under_its_fields(owner_client, tenant):
    response = owner_client.post("/api-clients/", data=client_form(name="  ", roles=[]))
    assert response.status_code == 422
    assert errors_for(response, "name") == ["give the client a name"]
    assert fieldset_errors(response, "roles") == ["a service client needs at least one role"]
    assert "issued-client-secret" not in response.get_data(as_text=True)
    assert list_clients(tenant.id) == []


def test_an_unknown_kind_or_role_is_refused(owner_client, tenant):
    response = owner_client.post(
        "/api-clients/", data=client_form(kind="robot", roles=["ROLE_ROOT"])
    )
    assert response.status_code == 422
    assert fieldset_errors(response, "kind") == [
        "kind must be one of service, admin-app, customer-app"
    ]
    assert fieldset_errors(response, "roles")[0].startswith("unknown role ROLE_ROOT")
    assert list_clients(tenant.id) == []


def test_revoking_a_client_ends_its_tokens_at_once(owner_client, client, tenant):
    issued = create_client(tenant.id, "Till at the bar", ["ROLE_LOYALTY"])
    answer = token_answer(
        client,
        tenant,
        (issued.client.client_id, issued.client_secret),
        grant_type="client_credentials",
    )
    headers = bearer(answer.get_json()["access_token"], tenant)
    assert client.post(TILL_CALL, headers=headers).status_code == 404

    response = owner_client.post(f"/api-clients/{issued.client.id}/revoke")

    assert response.status_code == 303
    assert response.headers["Location"] == "/api-clients/"
    assert db.session.get(ApiClient, issued.client.id).revoked_at is not None
    tokens = db.session.query(ApiToken).filter_by(client_row_id=issued.client.id).all()
    assert tokens and all(token.revoked_at is not None for token in tokens)
    assert client.post(TILL_CALL, headers=headers).status_code == 401
    page = owner_client.get("/api-clients/").get_data(as_text=True)
    assert "Till at the bar is revoked" in page


def test_revoking_needs_the_csrf_token(database_url, owner, tenant):
    issued = create_client(tenant.id, "Till at the bar", ["ROLE_LOYALTY"])
    with signed_in_checking_csrf(database_url, owner.email) as browser:
        assert browser.post(f"/api-clients/{issued.client.id}/revoke").status_code == 400
        db.session.expire_all()
        assert db.session.get(ApiClient, issued.client.id).revoked_at is None
        token = csrf_token(browser.get("/api-clients/").get_data(as_text=True))
        accepted = browser.post(
            f"/api-clients/{issued.client.id}/revoke", data={"csrf_token": token}
        )
        assert accepted.status_code == 303
    db.session.expire_all()
    assert db.session.get(ApiClient, issued.client.id).revoked_at is not None


def test_another_restaurants_client_is_not_found_and_stays_live(owner_client, other_tenant):
    theirs = create_client(other_tenant.id, "Their till", ["ROLE_LOYALTY"])
    response = owner_client.post(f"/api-clients/{theirs.client.id}/revoke")
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiClient, theirs.client.id).revoked_at is None


def test_staff_get_403_and_change_nothing(staff_client, tenant):
    issued = create_client(tenant.id, "Till at the bar", ["ROLE_LOYALTY"])
    assert staff_client.get("/api-clients/").status_code == 403
    assert staff_client.post("/api-clients/", data=client_form(name="Staff's")).status_code == 403
    assert staff_client.post(f"/api-clients/{issued.client.id}/revoke").status_code == 403
    db.session.expire_all()
    assert [c.name for c in list_clients(tenant.id)] == ["Till at the bar"]
    assert db.session.get(ApiClient, issued.client.id).revoked_at is None


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/api-clients/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_only_owners_see_the_page_in_the_navigation(owner_client, staff, app):
    nav = owner_client.get("/").get_data(as_text=True).split("</nav>")[0]
    assert 'href="/api-clients/"' in nav
    staff_browser = app.test_client()  # a second browser, each request in its own context
    staff_browser.post("/login", data={"email": staff.email, "password": PASSWORD})
    staff_nav = staff_browser.get("/").get_data(as_text=True).split("</nav>")[0]
    assert 'href="/api-clients/"' not in staff_nav
