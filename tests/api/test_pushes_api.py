"""A campaign's pushes (registered by the sending service, clicked by customers, each counted
once) and what a member does in a campaign: acknowledge its message, receive its coupon."""

from __future__ import annotations

import pytest

from loyalty.api.schemas.campaigns import (
    CampaignProgress,
    CampaignPushClickRecord,
    CampaignPushRecord,
)
from loyalty.api.schemas.coupons import ApiCoupon
from loyalty.extensions import db
from loyalty.models import Account
from loyalty.services.campaigns.pushes import PushTotals, campaign_push_totals
from loyalty.services.setup.tenants import create_tenant
from loyalty.time import utcnow
from tests.support.accounts import customer
from tests.support.api import bearer, customer_token, service_token
from tests.support.app import at_once
from tests.support.campaigns import coupons_of, membership, running, welcome_series

API = "/loyalty-api/api"
WORKERS = 6


def push_url(key: str = "welcome", v2: bool = False) -> str:
    return f"{API}{'/v2' if v2 else ''}/campaign/{key}/push"


def news(**fields) -> dict:
    """A message, then 10 points."""
    message_then_points = [
        {
            "id": "hello",
            "type": "MESSAGE",
            "title": "Hello",
            "message": "Hi!",
            "transitionTo": "gift",
        },
        {"id": "gift", "type": "WALLET", "points": 10},
    ]
    return welcome_series(**{"id": "news", "states": message_then_points, **fields})


@pytest.fixture()
def sender(client, tenant):
    """The service that sends the pushes: ROLE_LOYALTY_CAMPAIGN."""
    return bearer(service_token(client, tenant, roles=("ROLE_LOYALTY_CAMPAIGN",)), tenant)


@pytest.fixture()
def jane(tenant):
    return customer(tenant, external_id="jane-1", email="jane@example.com")


@pytest.fixture()
def as_jane(client, tenant, jane):
    return bearer(customer_token(client, tenant, jane), tenant)


@pytest.fixture()
def welcome(tenant):
    return running(tenant, welcome_series(), utcnow())


def test_registering_a_push_records_it_once(client, tenant, sender, welcome):
    first = client.put(push_url(), json="spring-1", headers=sender)
    assert first.status_code == 200
    record = CampaignPushRecord.model_validate(first.get_json())
    assert (record.campaign, record.pushId, record.title) == ("welcome", "spring-1", None)
    again = client.put(push_url(), json="spring-1", headers=sender)
    assert again.get_json() == first.get_json()
    assert campaign_push_totals(tenant.id, "welcome") == PushTotals(sent=1, clicked=0)


def test_v2_keeps_the_title_and_a_later_title_replaces_it(client, sender, welcome):
    body = {"pushId": "spring-1", "title": "Spring is here"}
    first = client.put(push_url(v2=True), json=body, headers=sender)
    assert first.status_code == 200
    assert first.get_json()["title"] == "Spring is here"
    legacy = client.put(push_url(), json="spring-1", headers=sender)
    assert legacy.get_json()["title"] == "Spring is here"
    retitled = client.put(push_url(v2=True), json=body | {"title": "Spring!"}, headers=sender)
    assert retitled.get_json()["title"] == "Spring!"
    assert retitled.get_json()["sentAt"] == first.get_json()["sentAt"]


def test_a_malformed_push_id_is_refused_and_names_the_field(client, tenant, sender, welcome):
    for body, url in (
        ("has space", push_url()),
        ("x" * 33, push_url()),
        (42, push_url()),
        ({"pushId": "", "title": "Hi"}, push_url(v2=True)),
    ):
        response = client.put(url, json=body, headers=sender)
        assert response.status_code == 400, body
        assert response.get_json()["field"] == "pushId", body
    missing_title = client.put(push_url(v2=True), json={"pushId": "p1"}, headers=sender)
    assert (missing_title.status_code, missing_title.get_json()["field"]) == (400, "title")
    assert campaign_push_totals(tenant.id, "welcome") == PushTotals(sent=0, clicked=0)


def test_pushes_of_an_unknown_or_another_tenants_campaign_are_missing(client, sender, other_tenant):
    running(other_tenant, welcome_series(id="theirs"), utcnow())
    for key in ("nope", "theirs"):
        response = client.put(push_url(key), json="p1", headers=sender)
        assert response.status_code == 404, key
        v2 = client.put(push_url(key, v2=True), json={"pushId": "p1", "title": "T"}, headers=sender)
        assert v2.status_code == 404, key


def test_registering_needs_a_campaign_role(client, tenant, welcome, as_jane):
    stats_only = bearer(service_token(client, tenant, roles=("ROLE_LOYALTY_STATS",)), tenant)
    for headers in (stats_only, as_jane):
        assert client.put(push_url(), json="p1", headers=headers).status_code == 403
        v2 = client.put(push_url(v2=True), json={"pushId": "p1", "title": "T"}, headers=headers)
        assert v2.status_code == 403
    assert campaign_push_totals(tenant.id, "welcome").sent == 0


def test_a_click_counts_once_per_account_and_push(client, tenant, sender, welcome, as_jane):
    client.put(push_url(), json="spring-1", headers=sender)
    first = client.post(push_url() + "/click", json="spring-1", headers=as_jane)
    assert first.status_code == 200
    record = CampaignPushClickRecord.model_validate(first.get_json())
    again = client.post(push_url() + "/click", json="spring-1", headers=as_jane)
    assert again.get_json()["clickedAt"] == record.clickedAt
    ann = customer(tenant, external_id="ann-2", email="ann@example.com")
    as_ann = bearer(customer_token(client, tenant, ann), tenant)
    assert client.post(push_url() + "/click", json="spring-1", headers=as_ann).status_code == 200
    assert campaign_push_totals(tenant.id, "welcome") == PushTotals(sent=1, clicked=2)


def test_a_click_on_an_unregistered_push_is_missing(client, tenant, welcome, as_jane):
    response = client.post(push_url() + "/click", json="never-sent", headers=as_jane)
    assert response.status_code == 404
    assert "pushId" in response.get_json()["message"]


def test_a_click_is_a_customers_call(client, sender, welcome):
    client.put(push_url(), json="spring-1", headers=sender)
    response = client.post(push_url() + "/click", json="spring-1", headers=sender)
    assert response.status_code == 403


def test_acknowledging_the_message_moves_the_member_on(client, tenant, jane, as_jane):
    campaign = running(tenant, news(), utcnow())
    response = client.post(f"{API}/campaign/news/message", headers=as_jane)
    assert response.status_code == 200
    progress = CampaignProgress.model_validate(response.get_json())
    assert (progress.campaign, progress.state, progress.status) == ("news", None, "completed")
    assert membership(campaign, jane).status == "completed"
    assert db.session.get(Account, jane.id).points_balance == 10  # the state after the message

    again = client.post(f"{API}/campaign/news/message", headers=as_jane)
    assert again.status_code == 409
    assert again.get_json()["field"] == "campaign"


def test_a_member_in_no_message_state_has_nothing_to_acknowledge(
    client, tenant, jane, as_jane, welcome
):
    response = client.post(f"{API}/campaign/welcome/message", headers=as_jane)
    assert response.status_code == 409
    assert membership(welcome, jane).state_id == "coupon"


def test_a_non_member_or_unknown_campaign_is_missing_for_message_and_coupon(
    client, tenant, other_tenant
):
    vip_only = [{"field": "tags.vip", "op": "EXISTS", "value": []}]
    running(tenant, news(constraints=vip_only), utcnow())
    running(other_tenant, news(id="theirs"), utcnow())
    ann = customer(tenant, external_id="ann-2", email="ann@example.com")
    as_ann = bearer(customer_token(client, tenant, ann), tenant)
    for key in ("news", "nope", "theirs"):
        for action in ("message", "coupon"):
            response = client.post(f"{API}/campaign/{key}/{action}", headers=as_ann)
            assert response.status_code == 404, (key, action)


def test_the_deprecated_coupon_call_answers_the_coupon_and_moves_nobody(
    client, jane, as_jane, welcome
):
    response = client.post(f"{API}/campaign/welcome/coupon", headers=as_jane)
    assert response.status_code == 200
    coupon = ApiCoupon.model_validate(response.get_json())
    [issued] = coupons_of(jane)
    assert (coupon.code, coupon.state, coupon.status) == (issued.code, "coupon", "ACTIVE")
    assert membership(welcome, jane).state_id == "coupon"


def test_the_coupon_call_outside_a_coupon_state_is_a_conflict(client, tenant, as_jane):
    running(tenant, news(), utcnow())
    response = client.post(f"{API}/campaign/news/coupon", headers=as_jane)
    assert response.status_code == 409


def test_member_calls_need_a_customers_token(client, sender, tenant):
    running(tenant, news(), utcnow())
    for action in ("message", "coupon"):
        assert client.post(f"{API}/campaign/news/{action}", headers=sender).status_code == 403


def test_registering_and_clicking_one_push_at_once_counts_it_once(pg_api_app):
    """On PostgreSQL: the same push registered, and clicked by one customer, by several
    requests at the same moment is one push sent and one click."""
    tenant, _ = create_tenant("trattoria", "Trattoria Roma")
    jane = customer(tenant, external_id="jane-1", email="jane@example.com")
    running(tenant, welcome_series(), utcnow())
    http = pg_api_app.test_client()
    sender = bearer(service_token(http, tenant, roles=("ROLE_LOYALTY_CAMPAIGN",)), tenant)
    as_jane = bearer(customer_token(http, tenant, jane), tenant)

    def register(_: int) -> int:
        return pg_api_app.test_client().put(push_url(), json="p1", headers=sender).status_code

    def click(_: int) -> int:
        answer = pg_api_app.test_client().post(push_url() + "/click", json="p1", headers=as_jane)
        return answer.status_code

    assert at_once(pg_api_app, register, workers=WORKERS) == [200] * WORKERS
    assert at_once(pg_api_app, click, workers=WORKERS) == [200] * WORKERS
    db.session.expire_all()
    assert campaign_push_totals(tenant.id, "welcome") == PushTotals(sent=1, clicked=1)


def test_a_push_id_may_come_as_plain_text(client, tenant, sender, welcome, as_jane):
    """A bare pushId is a JSON string or plain text; other media types are refused."""
    plain = {**sender, "Content-Type": "text/plain"}
    registered = client.put(push_url(), data="spring-1", headers=plain)
    assert registered.status_code == 200, registered.get_json()
    assert registered.get_json()["pushId"] == "spring-1"
    clicked = client.post(
        f"{push_url()}/click", data="spring-1", headers={**as_jane, "Content-Type": "text/plain"}
    )
    assert clicked.status_code == 200, clicked.get_json()
    assert campaign_push_totals(tenant.id, "welcome") == PushTotals(sent=1, clicked=1)

    spaced = client.put(push_url(), data="spring 1", headers=plain)
    assert (spaced.status_code, spaced.get_json()["error"]) == (400, "invalid")
    as_xml = client.put(
        push_url(), data="<p/>", headers={**sender, "Content-Type": "application/xml"}
    )
    assert as_xml.status_code == 415
