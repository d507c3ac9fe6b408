"""Settings → Single sign-on: on/off, the client secret shown exactly once, and the web shops."""

from __future__ import annotations

import re

import pytest

from loyalty.extensions import db
from loyalty.models import WebShop
from loyalty.services.deliverect import sso
from tests.support.forms import csrf_token, errors_for, signed_in_checking_csrf
from tests.support.sso import turn_on_sso


def shop_fields(prefix: str = "new-shop", **overrides) -> dict:
    fields = {
        "name": "Trattoria delivery",
        "channel_link_id": "5f3b2c_delivery-1",
        "shop_url": "https://order.trattoria.test/",
    } | overrides
    return {f"{prefix}-{name}": value for name, value in fields.items()}


def sso_fields(enabled: bool = True, environment: str = "production") -> dict:
    return {"sso-environment": environment} | ({"sso-enabled": "y"} if enabled else {})


def shown_secret(page: str) -> str | None:
    found = re.search(r'id="sso-issued-secret" readonly class="secret" value="([^"]+)"', page)
    return found[1] if found else None


def test_owner_turns_single_sign_on_on_and_off(owner_client, tenant):
    response = owner_client.post("/settings/sso", data=sso_fields(environment="staging"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/settings/#sso")
    db.session.refresh(tenant)
    assert (tenant.sso_enabled, tenant.sso_environment) == (True, "staging")
    page = owner_client.get("/settings/").get_data(as_text=True)
    assert "Issue the client below so Deliverect can use it" in page
    assert "on, but not ready" in page  # said in words, not only by a colour
    owner_client.post("/settings/sso", data=sso_fields(enabled=False))
    db.session.refresh(tenant)
    assert (tenant.sso_enabled, tenant.sso_environment) == (False, "production")


def test_an_unknown_environment_is_refused(owner_client, tenant):
    response = owner_client.post("/settings/sso", data=sso_fields(environment="moon"))
    assert response.status_code == 422
    assert errors_for(response, "sso-environment")
    db.session.refresh(tenant)
    assert tenant.sso_enabled is False


def test_the_client_secret_is_shown_once_and_never_again(app, owner_client, tenant):
    response = owner_client.post("/settings/sso/client")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    db.session.refresh(tenant)
    assert shown_secret(page) == tenant.sso_client_secret
    assert tenant.sso_client_id in page
    later = owner_client.get("/settings/").get_data(as_text=True)
    assert tenant.sso_client_secret not in later
    assert tenant.sso_client_id in later and sso.secret_hint(tenant) in later
    cookie = owner_client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    session = str(app.session_interface.get_signing_serializer(app).loads(cookie))
    assert tenant.sso_client_secret not in session


def test_rotating_keeps_the_client_id_and_replaces_the_secret(owner_client, tenant):
    first = shown_secret(owner_client.post("/settings/sso/client").get_data(as_text=True))
    db.session.refresh(tenant)
    client_id = tenant.sso_client_id
    page = owner_client.get("/settings/").get_data(as_text=True)
    assert "Rotate client secret" in page and "Issue client" not in page
    second = shown_secret(owner_client.post("/settings/sso/client").get_data(as_text=True))
    db.session.refresh(tenant)
    assert second != first and tenant.sso_client_secret == second
    assert tenant.sso_client_id == client_id


def test_clients_are_unique_per_restaurant(tenant, other_tenant):
    ours, theirs = sso.issue_client(tenant.id), sso.issue_client(other_tenant.id)
    assert ours.client_id != theirs.client_id and ours.client_secret != theirs.client_secret


def test_staff_cannot_see_or_change_single_sign_on(staff_client, tenant):
    assert staff_client.get("/settings/").status_code == 403
    assert staff_client.post("/settings/sso", data=sso_fields()).status_code == 403
    assert staff_client.post("/settings/sso/client").status_code == 403
    assert staff_client.post("/settings/sso/shops", data=shop_fields()).status_code == 403
    db.session.refresh(tenant)
    assert (tenant.sso_enabled, tenant.sso_client_id) == (False, None)
    assert db.session.query(WebShop).count() == 0


def test_posts_without_a_csrf_token_are_refused(database_url, owner, tenant):
    with signed_in_checking_csrf(database_url, owner.email) as client:
        assert client.post("/settings/sso/client").status_code == 400
        assert client.post("/settings/sso", data=sso_fields()).status_code == 400
        assert client.post("/settings/sso/shops", data=shop_fields()).status_code == 400
        db.session.expire_all()
        assert db.session.query(WebShop).count() == 0
        page = client.get("/settings/").get_data(as_text=True)
        token = re.search(r'name="new-shop-csrf_token" type="hidden" value="([^"]+)"', page)[1]
        added = client.post(
            "/settings/sso/shops", data={**shop_fields(), "new-shop-csrf_token": token}
        )
        assert added.status_code == 303
        issued = client.post("/settings/sso/client", data={"csrf_token": csrf_token(page)})
        assert issued.status_code == 200
    db.session.refresh(tenant)
    assert tenant.sso_client_secret is not None and tenant.sso_enabled is False
    assert db.session.query(WebShop).count() == 1


# --- web shops ---


def test_owner_adds_a_web_shop(owner_client, tenant):
    response = owner_client.post("/settings/sso/shops", data=shop_fields())
    assert response.status_code == 303
    [shop] = sso.list_shops(tenant.id)
    assert (shop.name, shop.channel_link_id, shop.shop_url) == (
        "Trattoria delivery",
        "5f3b2c_delivery-1",
        "https://order.trattoria.test/",
    )
    page = owner_client.get("/settings/").get_data(as_text=True)
    assert "Web shop Trattoria delivery added." in page and "5f3b2c_delivery-1" in page


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", " "),
        ("name", "x" * 129),
        ("channel_link_id", ""),
        ("channel_link_id", "shop/1"),
        ("channel_link_id", "a" * 65),
        ("channel_link_id", "shop 1"),
        ("shop_url", ""),
        ("shop_url", "http://order.trattoria.test/"),
        ("shop_url", "javascript:alert(1)"),
        ("shop_url", "order.trattoria.test"),
        ("shop_url", "https://"),
        ("shop_url", "https://user@order.trattoria.test/"),
        ("shop_url", "https://order.trattoria.test/" + "x" * 500),
        ("shop_url", "https://order.trattoria.test/a b"),
        ("shop_url", "https://[::1/"),
    ],
)
def test_a_wrong_shop_is_refused_inline(owner_client, tenant, field, value):
    response = owner_client.post("/settings/sso/shops", data=shop_fields(**{field: value}))
    assert response.status_code == 422
    assert errors_for(response, f"new-shop-{field}")
    assert sso.list_shops(tenant.id) == []


def test_plain_http_is_allowed_for_a_shop_on_this_computer(owner_client, tenant):
    for url in ("http://localhost:3000/shop", "http://127.0.0.1/"):
        owner_client.post(
            "/settings/sso/shops",
            data=shop_fields(shop_url=url, channel_link_id=f"local{len(url)}"),
        )
    assert len(sso.list_shops(tenant.id)) == 2


def test_a_channel_link_id_is_used_once_per_restaurant(owner_client, tenant, other_tenant):
    sso.add_shop(other_tenant.id, sso.ShopDetails("Theirs", "5f3b2c_delivery-1", "https://b.test"))
    assert owner_client.post("/settings/sso/shops", data=shop_fields()).status_code == 303
    again = owner_client.post("/settings/sso/shops", data=shop_fields(name="Again"))
    assert again.status_code == 422
    assert errors_for(again, "new-shop-channel_link_id") == [
        "another of your shops has this channel link id"
    ]


def test_at_most_twenty_shops(owner_client, tenant):
    for number in range(sso.MAX_SHOPS):
        sso.add_shop(tenant.id, sso.ShopDetails(f"Shop {number}", f"s{number}", "https://a.test"))
    assert "20 web shops is the most" in owner_client.get("/settings/").get_data(as_text=True)
    response = owner_client.post("/settings/sso/shops", data=shop_fields())
    assert response.status_code == 422
    assert len(sso.list_shops(tenant.id)) == sso.MAX_SHOPS


def test_owner_edits_and_removes_a_shop(owner_client, tenant):
    shop = turn_on_sso(tenant).shop
    prefix = f"shop-{shop.id}"
    response = owner_client.post(
        f"/settings/sso/shops/{shop.id}", data=shop_fields(prefix, name="Pick-up")
    )
    assert response.status_code == 303
    db.session.refresh(shop)
    assert shop.name == "Pick-up"
    wrong = owner_client.post(
        f"/settings/sso/shops/{shop.id}", data=shop_fields(prefix, shop_url="ftp://x")
    )
    assert wrong.status_code == 422
    assert errors_for(wrong, f"{prefix}-shop_url") == ["start with https://"]
    assert "<details open>" in wrong.get_data(as_text=True)
    assert owner_client.post(f"/settings/sso/shops/{shop.id}/remove").status_code == 303
    assert sso.list_shops(tenant.id) == []


def test_another_restaurants_shop_cannot_be_edited_or_removed(owner_client, other_tenant):
    theirs = sso.add_shop(other_tenant.id, sso.ShopDetails("Theirs", "b1", "https://b.test"))
    edit = owner_client.post(
        f"/settings/sso/shops/{theirs.id}", data=shop_fields(f"shop-{theirs.id}", name="Mine")
    )
    assert edit.status_code == 404
    assert owner_client.post(f"/settings/sso/shops/{theirs.id}/remove").status_code == 404
    db.session.refresh(theirs)
    assert theirs.name == "Theirs"
    assert "Theirs" not in owner_client.get("/settings/").get_data(as_text=True)


def test_the_integration_page_lists_the_sso_address_once_ready(owner_client, tenant):
    assert "oauthUrl" not in owner_client.get("/integration/").get_data(as_text=True)
    turn_on_sso(tenant)
    page = owner_client.get("/integration/").get_data(as_text=True)
    assert "https://loyalty.example.com/webhooks/deliverect/oauth" in page
    assert tenant.sso_client_secret not in page


def test_settings_show_only_the_last_four_characters_of_the_secret(owner_client, tenant):
    owner_client.post("/settings/sso/client")
    page = owner_client.get("/settings/").get_data(as_text=True)
    db.session.refresh(tenant)
    secret = tenant.sso_client_secret
    assert sso.secret_hint(tenant) == "…" + secret[-4:]
    assert f"<code>…{secret[-4:]}</code>" in page
    assert secret[:4] + "…" not in page and secret[:-4] not in page
