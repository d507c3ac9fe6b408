"""Settings: currency, time zone, and credentials shown in full exactly once."""

from __future__ import annotations

import re

from loyalty.extensions import db
from loyalty.services.setup.rewards import RewardDetails, create_reward
from loyalty.services.setup.tenants import hash_api_key, tenant_by_api_key
from tests.support.forms import errors_for, settings_form


def session_of(client, app) -> str:
    """The decoded session cookie, to prove no secret travels in it."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert "_user_id" in session  # decoded for real
    return str(session)


def test_owner_saves_name_currency_and_time_zone(owner_client, tenant):
    response = owner_client.post(
        "/settings/",
        data=settings_form(
            name="Trattoria Milano",
            currency="gbp",
            time_zone="Europe/Rome",
            points_validity_days="365",
        ),
    )
    assert response.status_code == 303
    db.session.refresh(tenant)
    assert (tenant.name, tenant.currency, tenant.time_zone) == (
        "Trattoria Milano",
        "GBP",
        "Europe/Rome",
    )
    assert tenant.points_validity_days == 365
    assert b"Settings saved" in owner_client.get("/settings/").data


def test_empty_validity_means_points_never_expire(owner_client, tenant):
    owner_client.post("/settings/", data=settings_form(points_validity_days="90"))
    owner_client.post("/settings/", data=settings_form(points_validity_days=""))
    db.session.refresh(tenant)
    assert tenant.points_validity_days is None


def test_bad_settings_are_refused_inline_and_nothing_changes(owner_client, tenant):
    response = owner_client.post(
        "/settings/",
        data=settings_form(
            name=" ",
            currency="euro",
            decimal_digits="7",
            time_zone="Mars/Olympus",
            points_validity_days="0",
        ),
    )
    assert response.status_code == 422
    assert errors_for(response, "name") == ["enter the restaurant's name"]
    assert errors_for(response, "currency") == ["enter a three-letter currency code, such as EUR"]
    assert errors_for(response, "decimal_digits") == ["must be from 0 to 4"]
    assert errors_for(response, "time_zone") == ["enter a time zone such as Europe/Brussels"]
    assert errors_for(response, "points_validity_days")
    db.session.refresh(tenant)
    assert (tenant.name, tenant.decimal_digits) == ("Trattoria Roma", 2)


def test_decimal_digits_change_while_no_amounts_are_stored(owner_client, tenant):
    owner_client.post("/settings/", data=settings_form(currency="JPY", decimal_digits="0"))
    db.session.refresh(tenant)
    assert tenant.decimal_digits == 0


def test_decimal_digits_are_locked_once_rewards_exist(owner_client, tenant):
    create_reward(tenant.id, RewardDetails("€5 off", "discount_amount", 100, 500))
    page = owner_client.get("/settings/").get_data(as_text=True)
    assert "Locked while rewards exist" in page
    response = owner_client.post("/settings/", data=settings_form(decimal_digits="3"))
    assert errors_for(response, "decimal_digits") == [
        "cannot change while rewards exist: their amounts would be read at a different scale"
    ]
    db.session.refresh(tenant)
    assert tenant.decimal_digits == 2


def test_settings_page_shows_only_hints_of_the_credentials(owner_client, tenant):
    page = owner_client.get("/settings/").get_data(as_text=True)
    assert tenant.issued.api_key not in page
    assert tenant.issued.webhook_secret not in page
    assert tenant.api_key_hint in page


def test_new_api_key_is_shown_once_on_the_response_page_then_never(owner_client, tenant, app):
    response = owner_client.post("/settings/api-key")
    assert response.status_code == 200  # rendered, not redirected: nothing in session or URL
    assert response.headers["Cache-Control"] == "no-store"
    key = re.search(r'class="secret" value="([^"]+)"', response.get_data(as_text=True))[1]
    assert key.startswith("lk_")
    assert tenant_by_api_key(key).id == tenant.id
    assert tenant_by_api_key(tenant.issued.api_key) is None
    db.session.refresh(tenant)
    assert tenant.api_key_hash == hash_api_key(key)
    assert key not in owner_client.get("/settings/").get_data(as_text=True)
    assert key not in session_of(owner_client, app)


def test_new_webhook_secret_is_shown_once_and_replaces_the_old(owner_client, tenant, app):
    response = owner_client.post("/settings/webhook-secret")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    db.session.refresh(tenant)
    assert tenant.webhook_secret != tenant.issued.webhook_secret
    assert tenant.webhook_secret in page
    assert "will not be shown again" in page
    assert tenant.webhook_secret not in owner_client.get("/settings/").get_data(as_text=True)
    assert tenant.webhook_secret not in session_of(owner_client, app)
