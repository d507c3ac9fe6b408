"""Registration (seed 000): the API key finds the tenant, the answer lists absolute URLs."""

import json

import pytest
from sqlalchemy.exc import IntegrityError

from loyalty.extensions import db
from loyalty.models import DeliverectAccount, DeliverectLink, RefusedRegistration, WebhookCall
from loyalty.services.deliverect.links import register_link
from loyalty.signature import HEADER, sign
from tests.support.deliverect import ACCOUNT_ID, PROFILE_ID, Deliverect

SEED_REQUEST = {"accountId": ACCOUNT_ID, "loyaltyProfileId": PROFILE_ID, "apiKey": "123***890"}
URL_FIELDS = (
    "customerURL",
    "customerWalletURL",
    "validateWalletURL",
    "loyaltyProgramsURL",
    "loyaltyValidateProgramsURL",
    "orderURL",
    "tiersURL",
    "cancelOrderURL",
)


@pytest.fixture()
def deliverect(client, tenant):
    return Deliverect(client, tenant)


def test_registration_answers_every_webhook_url_as_an_absolute_url(deliverect, tenant):
    body = deliverect.register().get_json()
    assert set(body) == set(URL_FIELDS)
    assert body["customerURL"] == "https://loyalty.example.com/webhooks/deliverect/customer"
    assert body["orderURL"] == "https://loyalty.example.com/webhooks/deliverect/orders"
    assert body["cancelOrderURL"] == body["orderURL"] + "/cancel"
    assert len(set(body.values())) == len(URL_FIELDS)
    link = db.session.query(DeliverectLink).one()
    assert (link.tenant_id, link.deliverect_account_id, link.loyalty_profile_id) == (
        tenant.id,
        ACCOUNT_ID,
        PROFILE_ID,
    )


def test_seed_registration_with_an_unknown_api_key_answers_400_value(deliverect):
    response = deliverect.post("/registration", SEED_REQUEST)
    assert response.status_code == 400
    assert response.get_json() == {"value": ""}
    assert db.session.query(DeliverectLink).count() == 0


def test_re_registration_updates_the_link_and_returns_the_same_urls(deliverect):
    first = deliverect.register().get_json()
    second = deliverect.register().get_json()
    assert first == second
    link = db.session.query(DeliverectLink).one()
    assert link.registration_count == 2


def test_deprecated_account_field_is_accepted(client, tenant):
    deliverect = Deliverect(client, tenant)
    response = deliverect.post(
        "/registration",
        {"account": "acc-legacy", "loyaltyProfileId": "p1", "apiKey": tenant.issued.api_key},
    )
    assert response.status_code == 200
    assert db.session.query(DeliverectLink).one().deliverect_account_id == "acc-legacy"


def test_urls_follow_the_request_host_when_no_public_base_url_is_set(app, client, tenant):
    app.config["PUBLIC_BASE_URL"] = None
    try:
        deliverect = Deliverect(client, tenant)
        body = json.dumps({**deliverect.ids, "apiKey": tenant.issued.api_key}).encode()
        response = client.post(
            "/webhooks/deliverect/registration",
            data=body,
            headers={HEADER: sign(tenant.issued.webhook_secret, body)},
            base_url="https://shop.example.org",
        )
    finally:
        app.config["PUBLIC_BASE_URL"] = "https://loyalty.example.com"
    assert response.get_json()["tiersURL"] == "https://shop.example.org/webhooks/deliverect/tiers"


def test_registration_with_a_bad_signature_is_refused_and_writes_nothing(deliverect, tenant):
    response = deliverect.post(
        "/registration", {**deliverect.ids, "apiKey": tenant.issued.api_key}, secret="wrong"
    )
    assert response.status_code == 401
    assert response.get_json()["http_code"] == 401
    assert db.session.query(DeliverectLink).count() == 0


def test_registration_accepts_the_installation_wide_secret(app, client, tenant):
    app.config["DELIVERECT_WEBHOOK_SECRET"] = "installation-secret"
    try:
        response = Deliverect(client, tenant).post(
            "/registration",
            {"accountId": "a", "loyaltyProfileId": "p", "apiKey": tenant.issued.api_key},
            secret="installation-secret",
        )
    finally:
        app.config["DELIVERECT_WEBHOOK_SECRET"] = None
    assert response.status_code == 200
    assert set(response.get_json()) == set(URL_FIELDS)
    assert db.session.query(DeliverectLink).one().tenant_id == tenant.id


def test_another_tenant_cannot_take_over_a_registered_link(client, tenant, other_tenant):
    Deliverect(client, tenant).register()
    response = Deliverect(client, other_tenant).post(
        "/registration",
        {
            "accountId": ACCOUNT_ID,
            "loyaltyProfileId": PROFILE_ID,
            "apiKey": other_tenant.issued.api_key,
        },
    )
    assert response.status_code == 409
    assert db.session.query(DeliverectLink).one().tenant_id == tenant.id


def test_a_deliverect_account_belongs_to_one_tenant_whatever_the_profile(
    client, tenant, other_tenant
):
    """Item 3: a second tenant registering the same account under another profile is refused,
    and the owner's calls that carry only the accountId keep finding the owner."""
    owner = Deliverect(client, tenant, account_id="acctA2", profile_id="profile-of-a")
    owner.register()
    squatter = Deliverect(client, other_tenant, account_id="acctA2", profile_id="profile-of-b")
    response = squatter.post(
        "/registration", {**squatter.ids, "apiKey": other_tenant.issued.api_key}
    )
    assert response.status_code == 409
    body = response.get_json()
    assert (body["http_code"], body["error"]) == (409, "conflict")
    assert "another restaurant" in body["description"]
    assert [link.tenant_id for link in db.session.query(DeliverectLink)] == [tenant.id]
    tiers = client.get(
        "/webhooks/deliverect/tiers?accountId=acctA2",
        headers={HEADER: sign(tenant.issued.webhook_secret, b"")},
    )
    assert tiers.status_code == 200, tiers.get_json()
    refusal = db.session.query(RefusedRegistration).one()
    assert (refusal.tenant_id, refusal.owner_tenant_id, refusal.attempts) == (
        other_tenant.id,
        tenant.id,
        1,
    )
    squatter.post("/registration", {**squatter.ids, "apiKey": other_tenant.issued.api_key})
    assert db.session.query(RefusedRegistration).one().attempts == 2


def test_the_database_refuses_a_second_tenant_for_a_deliverect_account(tenant, other_tenant):
    """Item 3: the unique deliverect_accounts.deliverect_account_id and the links' foreign key
    to (tenant_id, deliverect_account_id) hold even without the service's check."""
    register_link(tenant.id, "acctA2", "p1")
    db.session.add(DeliverectAccount(tenant_id=other_tenant.id, deliverect_account_id="acctA2"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(
        DeliverectLink(
            tenant_id=other_tenant.id, deliverect_account_id="acctA2", loyalty_profile_id="p2"
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_same_tenant_may_register_several_profiles_of_its_account(client, tenant):
    Deliverect(client, tenant, account_id="acct", profile_id="p1").register()
    Deliverect(client, tenant, account_id="acct", profile_id="p2").register()
    assert db.session.query(DeliverectLink).count() == 2
    assert db.session.query(DeliverectAccount).one().tenant_id == tenant.id


def test_registration_missing_profile_id_names_the_field(deliverect, tenant):
    response = deliverect.post("/registration", {"accountId": "a", "apiKey": tenant.issued.api_key})
    assert response.status_code == 400
    assert "loyaltyProfileId" in response.get_json()["description"]


def test_registration_is_logged_without_the_api_key(deliverect, tenant):
    deliverect.register()
    call = db.session.query(WebhookCall).one()
    assert (call.endpoint, call.status, call.tenant_id) == ("registration", 200, tenant.id)
    assert tenant.issued.api_key not in (call.request_summary or "")
    assert tenant.issued.webhook_secret not in (call.request_summary or "")


def test_overlong_ids_are_refused_naming_the_field(deliverect, tenant):
    response = deliverect.post(
        "/registration",
        {"accountId": "a" * 65, "loyaltyProfileId": "p", "apiKey": tenant.issued.api_key},
    )
    assert response.status_code == 400
    assert response.get_json()["description"].startswith("accountId")
    assert db.session.query(DeliverectLink).count() == 0
