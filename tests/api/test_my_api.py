"""The my* operations: a signed-in customer reads and changes their own account (profile, my_
tags and properties) and sees their campaigns; never anyone else's, never the restaurant's
own tags and properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from loyalty.extensions import db
from loyalty.models import Account, Membership
from loyalty.services.accounts.tags import set_tags_and_properties
from loyalty.time import utcnow
from tests.support.accounts import customer
from tests.support.api import bearer, customer_token, service_token
from tests.support.campaigns import running, welcome_series

API = "/loyalty-api/api"


@pytest.fixture()
def as_ann(client, tenant, ann):
    return bearer(customer_token(client, tenant, ann), tenant)


@pytest.fixture()
def bob(tenant):
    return customer(tenant, external_id="bob-1", email="bob@example.com", first_name="Bob")


def fresh(account) -> Account:
    db.session.expire_all()
    return db.session.get(Account, account.id)


def test_a_customer_reads_their_own_account(client, ann, as_ann):
    response = client.get(f"{API}/my/account", headers=as_ann)
    assert response.status_code == 200
    shown = response.get_json()
    assert shown["id"] == ann.external_id
    assert shown["header"]["email"] == "ann@example.com"
    assert shown["header"]["lastLogged"] is not None  # she just signed in
    assert shown["counters"]["orders"] == 0


def test_a_customer_changes_their_profile_and_only_the_fields_they_name(client, ann, as_ann):
    response = client.put(
        f"{API}/my/profile",
        json={"firstName": "Annabel", "birthdate": "1991-02-03", "sex": "FEMALE"},
        headers=as_ann,
    )
    assert response.status_code == 200, response.get_json()
    shown = response.get_json()
    assert shown["header"]["firstName"] == "Annabel"
    assert shown["header"]["birthdate"] == "1991-02-03"
    assert shown["properties"]["sex"] == "FEMALE"
    account = fresh(ann)
    assert (account.first_name, account.birthdate, account.sex) == (
        "Annabel",
        date(1991, 2, 3),
        "FEMALE",
    )
    assert (account.email, account.phone) == ("ann@example.com", "+32470123456")

    cleared = client.put(f"{API}/my/profile", json={"sex": None}, headers=as_ann)
    assert cleared.status_code == 200
    account = fresh(ann)
    assert account.sex is None
    assert account.first_name == "Annabel"  # left out: unchanged


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sex": "DOG"}, "sex"),
        ({"email": "mallory@example.com"}, "email"),
        ({"birthdate": "not a date"}, "birthdate"),
        ({"birthdate": (date.today() + timedelta(days=2)).isoformat()}, "birthdate"),
        ({"firstName": "x" * 129}, "firstName"),
    ],
)
def test_a_profile_change_that_is_not_valid_is_a_400_and_changes_nothing(
    client, ann, as_ann, body, field
):
    response = client.put(f"{API}/my/profile", json={"lastName": "Changed", **body}, headers=as_ann)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    account = fresh(ann)
    assert account.last_name == "" and account.email == "ann@example.com"


def test_a_new_first_name_lets_the_customer_join_a_dynamic_campaign(client, tenant, ann, as_ann):
    running(
        tenant,
        welcome_series(
            dynamic=True,
            constraints=[{"field": "header.firstName", "op": "EQ", "value": ["Annabel"]}],
        ),
        utcnow(),
    )
    assert db.session.query(Membership).count() == 0
    response = client.put(f"{API}/my/profile", json={"firstName": "Annabel"}, headers=as_ann)
    assert response.status_code == 200
    assert response.get_json()["campaigns"] == [{"id": "welcome", "state": "coupon"}]


def test_a_customer_sets_my_properties_and_tags_beside_the_restaurants_own(
    client, tenant, ann, as_ann
):
    set_tags_and_properties(tenant.id, ann.id, ["vip", "my_old"], {"segment": "gold"})
    response = client.put(
        f"{API}/my/properties",
        json={
            "properties": {"my_favourite": "pizza", "my_diet": "vegan"},
            "addTags": ["my_newsletter"],
            "removeTags": ["my_old"],
        },
        headers=as_ann,
    )
    assert response.status_code == 200, response.get_json()
    shown = response.get_json()
    assert shown["tags"] == ["my_newsletter", "vip"]
    assert shown["properties"] == {"my_diet": "vegan", "my_favourite": "pizza", "segment": "gold"}

    removed = client.put(
        f"{API}/my/properties", json={"properties": {"my_diet": None}}, headers=as_ann
    )
    assert removed.status_code == 200
    assert fresh(ann).properties == {"my_favourite": "pizza", "segment": "gold"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"addTags": ["my_ok", "vip"]}, "addTags[1]"),
        ({"removeTags": ["vip"]}, "removeTags[0]"),
        ({"properties": {"my_ok": "1", "segment": "platinum"}}, "properties.segment"),
        ({"properties": {"my-dash": "1"}}, "properties.my-dash"),
        ({"addTags": ["my_"]}, "addTags[0]"),
        ({"addTags": ["MY_shout"]}, "addTags[0]"),
        ({"addTags": ["my_both"], "removeTags": ["my_both"]}, "removeTags[0]"),
        ({"properties": {"my_ok": "nul\x00"}}, "properties.my_ok"),
    ],
)
def test_a_name_that_is_not_my_is_a_400_naming_it_and_nothing_is_saved(
    client, tenant, ann, as_ann, body, field
):
    set_tags_and_properties(tenant.id, ann.id, ["vip"], {"segment": "gold"})
    response = client.put(f"{API}/my/properties", json=body, headers=as_ann)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    account = fresh(ann)
    assert account.tag_names == ["vip"]
    assert account.properties == {"segment": "gold"}


def test_my_operations_only_ever_touch_the_callers_account(client, tenant, ann, bob, as_ann):
    as_bob = bearer(customer_token(client, tenant, bob), tenant)
    assert client.get(f"{API}/my/account", headers=as_bob).get_json()["id"] == "bob-1"
    client.put(f"{API}/my/profile", json={"firstName": "Robert"}, headers=as_bob)
    client.put(f"{API}/my/properties", json={"addTags": ["my_bob"]}, headers=as_bob)

    ann_now = fresh(ann)
    assert ann_now.first_name == "Ann" and ann_now.tag_names == []
    assert fresh(bob).first_name == "Robert"
    assert client.get(f"{API}/my/account", headers=as_ann).get_json()["id"] == ann.external_id


def test_my_operations_need_a_customers_token(client, tenant, ann):
    staff = bearer(service_token(client, tenant, roles=("ROLE_SU",)), tenant)
    for method, url, body in (
        ("get", "/my/account", None),
        ("put", "/my/profile", {"firstName": "X"}),
        ("put", "/my/properties", {"addTags": ["my_x"]}),
        ("get", "/my/campaigns", None),
    ):
        call = getattr(client, method)
        assert call(API + url, json=body, headers=staff).status_code == 403, url
        assert call(API + url, json=body).status_code == 401, url
    assert fresh(ann).first_name == "Ann"


def test_a_customer_sees_their_campaigns_and_the_state_they_are_in(client, tenant, ann, as_ann):
    assert client.get(f"{API}/my/campaigns", headers=as_ann).get_json() == []
    running(tenant, welcome_series(), utcnow())

    response = client.get(f"{API}/my/campaigns", headers=as_ann)
    assert response.status_code == 200
    [place] = response.get_json()
    assert place["id"] == "welcome"
    assert place["name"] == "Welcome series"
    assert (place["state"], place["stateType"], place["status"]) == ("coupon", "COUPON", "active")
    assert place["enteredAt"]
