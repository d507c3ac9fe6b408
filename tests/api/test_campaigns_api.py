"""The campaign operations: upsert by put and post, get, delete, the react-admin list, preview,
initialise and finalise, with their read-only fields, refusals, roles and tenant isolation.
Every campaign answered is checked against the Campaign schema of the document."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import TypeAdapter
from sqlalchemy import func, select

from loyalty.api.schemas.campaigns import Campaign, CampaignPreview
from loyalty.extensions import db
from loyalty.models import Campaign as CampaignRow
from loyalty.services.campaigns.store import save_campaign
from loyalty.services.setup.tenants import create_tenant
from loyalty.time import to_iso, utcnow
from tests.support.accounts import customer
from tests.support.api import bearer, customer_token, service_token, staff_token
from tests.support.app import at_once
from tests.support.campaigns import running, welcome_series

API = "/loyalty-api/api"
CAMPAIGNS = TypeAdapter(list[Campaign])
WORKERS = 6


def url(key: str, action: str = "") -> str:
    return f"{API}/campaign/{key}" + (f"/{action}" if action else "")


def shaped(answer: dict) -> dict:
    """The answer, after checking it is exactly a Campaign of the document."""
    Campaign.model_validate(answer)
    return answer


def draft(**fields) -> dict:
    """The welcome series as a client would send it, without an id unless given."""
    body = welcome_series(**fields)
    if "id" not in fields:
        del body["id"]
    return body


@pytest.fixture()
def editor(client, tenant):
    return bearer(service_token(client, tenant, roles=("ROLE_LOYALTY_CAMPAIGN",)), tenant)


@pytest.fixture()
def admin(client, tenant):
    """A back office listing campaigns: the list is for ROLE_LOYALTY (seed 002)."""
    return bearer(service_token(client, tenant, roles=("ROLE_LOYALTY",)), tenant)


@pytest.fixture()
def jane(tenant):
    return customer(tenant, external_id="jane-1", email="jane@example.com")


def test_put_creates_the_campaign_of_the_path_then_updates_it(client, editor):
    created = client.put(url("welcome"), json=draft(), headers=editor)
    assert created.status_code == 201
    assert shaped(created.get_json())["id"] == "welcome"
    assert created.get_json()["initialized"] is False

    updated = client.put(url("welcome"), json=draft(name="Welcome again"), headers=editor)
    assert updated.status_code == 200
    fetched = client.get(url("welcome"), headers=editor)
    assert fetched.status_code == 200
    assert shaped(fetched.get_json())["name"] == "Welcome again"


def test_read_only_fields_sent_back_are_ignored(client, editor):
    client.put(url("welcome"), json=draft(), headers=editor)
    sent_back = client.get(url("welcome"), headers=editor).get_json()
    sent_back |= {"initialized": True, "cnt": 999, "initializedBy": "me", "stateStats": "junk"}
    sent_back["states"][0]["stats"] = "junk"
    response = client.put(url("welcome"), json=sent_back, headers=editor)
    assert response.status_code == 200, response.get_json()
    answer = shaped(response.get_json())
    assert (answer["initialized"], answer["cnt"], answer["initializedBy"]) == (False, 0, None)


def test_put_refuses_a_body_id_other_than_the_paths(client, editor):
    response = client.put(url("welcome"), json=draft(id="other"), headers=editor)
    assert response.status_code == 400
    assert response.get_json()["field"] == "id"
    assert client.get(url("welcome"), headers=editor).status_code == 404


def test_a_malformed_state_is_refused_at_its_json_path_and_nothing_is_saved(client, editor):
    body = draft()
    body["states"][0]["id"] = "no spaces"
    response = client.put(url("welcome"), json=body, headers=editor)
    assert response.status_code == 400
    answer = response.get_json()
    assert (answer["error"], answer["field"]) == ("invalid", "states[0].id")
    assert client.get(url("welcome"), headers=editor).status_code == 404


def test_an_unknown_state_type_is_refused_at_the_states_type(client, editor):
    body = draft()
    body["states"][1]["type"] = "LOTTERY"
    response = client.put(url("welcome"), json=body, headers=editor)
    assert response.status_code == 400
    assert response.get_json()["field"] == "states[1].type"


def test_numbers_and_flags_must_be_what_the_schema_says(client, editor):
    for change, field in (
        ({"value": "500"}, "states[0].value"),
        ({"validDays": True}, "states[0].validDays"),
        ({"value": float("inf")}, "states[0].value"),
    ):
        body = draft()
        body["states"][0] |= change
        response = client.put(url("welcome"), json=body, headers=editor)
        assert (response.status_code, response.get_json()["field"]) == (400, field), change
    response = client.put(url("welcome"), json=draft(dynamic="yes"), headers=editor)
    assert (response.status_code, response.get_json()["field"]) == (400, "dynamic")
    body = draft()
    body["states"][0]["validDays"] = 7.5
    response = client.put(url("welcome"), json=body, headers=editor)
    assert (response.status_code, response.get_json()["field"]) == (400, "states[0].validDays")


def test_a_whole_number_written_with_a_decimal_point_is_that_number(client, editor):
    """JSON Schema's integer includes 5.0, and some clients serialise whole numbers so."""
    body = draft()
    body["states"][0]["validDays"] = 14.0
    response = client.put(url("welcome"), json=body, headers=editor)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["states"][0]["validDays"] == 14


def test_a_campaign_rule_refusal_names_the_field(client, editor):
    body = draft()
    body["states"][0]["transitionTo"] = "nowhere"
    response = client.put(url("welcome"), json=body, headers=editor)
    assert response.status_code == 400
    assert response.get_json()["field"] == "states[0].transitionTo"


def test_a_missing_name_and_too_many_constraints_are_refused(client, editor):
    body = draft()
    del body["name"]
    body["constraints"] = body["constraints"] * 17
    response = client.put(url("welcome"), json=body, headers=editor)
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"name", "constraints"}


def test_a_dashboard_draft_without_name_constraints_or_states_is_answered_as_it_is(
    client, editor, tenant
):
    save_campaign(tenant.id, {"id": "sketch", "type": "STANDARD"}, utcnow())
    answer = shaped(client.get(url("sketch"), headers=editor).get_json())
    assert "name" not in answer
    assert (answer["constraints"], answer["states"]) == ([], [])


def test_text_the_database_cannot_keep_is_refused(client, editor, admin):
    for path, text in (("name", "Nul\x00l"), ("states[0].title", "Lone \ud800")):
        body = draft()
        if path == "name":
            body["name"] = text
        else:
            body["states"][0]["title"] = text
        response = client.put(url("welcome"), json=body, headers=editor)
        assert (response.status_code, response.get_json()["field"]) == (400, path)
    listed = client.get(f"{API}/campaigns", query_string={"q": "a\x00"}, headers=admin)
    assert (listed.status_code, listed.get_json()["field"]) == (400, "q")


def test_post_upserts_by_the_bodys_id(client, editor):
    created = client.post(f"{API}/campaign", json=draft(id="spring"), headers=editor)
    assert created.status_code == 201
    updated = client.post(f"{API}/campaign", json=draft(id="spring", name="Spring"), headers=editor)
    assert updated.status_code == 200
    assert shaped(updated.get_json())["name"] == "Spring"


def test_post_without_an_id_creates_the_campaign_under_a_new_id(client, editor):
    first = client.post(f"{API}/campaign", json=draft(name="Summer deal!"), headers=editor)
    second = client.post(f"{API}/campaign", json=draft(name="Summer deal!"), headers=editor)
    assert first.status_code == second.status_code == 201
    first_id, second_id = first.get_json()["id"], second.get_json()["id"]
    assert first_id.startswith("summer-deal-") and first_id != second_id
    assert client.get(url(first_id), headers=editor).get_json()["name"] == "Summer deal!"


def test_delete_removes_a_draft_and_refuses_a_running_campaign(client, editor, tenant):
    client.put(url("welcome"), json=draft(), headers=editor)
    assert client.delete(url("welcome"), headers=editor).status_code == 204
    assert client.get(url("welcome"), headers=editor).status_code == 404
    assert client.delete(url("welcome"), headers=editor).status_code == 404

    running(tenant, welcome_series(id="live"), utcnow())
    refused = client.delete(url("live"), headers=editor)
    assert refused.status_code == 409
    assert refused.get_json()["field"] == "campaign"
    assert client.get(url("live"), headers=editor).status_code == 200


def test_another_tenants_campaign_is_missing(client, editor, admin, other_tenant):
    running(other_tenant, welcome_series(id="theirs"), utcnow())
    for method, target in (
        ("get", url("theirs")),
        ("delete", url("theirs")),
        ("post", url("theirs", "preview")),
        ("post", url("theirs", "initialize")),
        ("post", url("theirs", "finalize")),
    ):
        response = getattr(client, method)(target, headers=editor)
        assert response.status_code == 404, (method, target)
        assert response.get_json()["error"] == "not_found"
    # A put of the same id creates this tenant's own campaign, leaving theirs alone.
    assert client.put(url("theirs"), json=draft(), headers=editor).status_code == 201
    listed = client.get(f"{API}/campaigns", headers=admin).get_json()
    assert [(c["id"], c["initialized"]) for c in listed] == [("theirs", False)]


CAMPAIGN_CALLS = (
    ("get", url("welcome"), None),
    ("put", url("welcome"), "body"),
    ("post", f"{API}/campaign", "body"),
    ("delete", url("welcome"), None),
    ("get", f"{API}/campaigns", None),
    ("post", url("welcome", "preview"), None),
    ("post", url("welcome", "initialize"), None),
    ("post", url("welcome", "finalize"), None),
)


def test_a_token_without_a_campaign_role_is_forbidden_everywhere(client, tenant, editor, jane):
    client.put(url("welcome"), json=draft(), headers=editor)
    stats_only = bearer(service_token(client, tenant, roles=("ROLE_LOYALTY_STATS",)), tenant)
    a_customer = bearer(customer_token(client, tenant, jane), tenant)
    for headers in (stats_only, a_customer):
        for method, target, body in CAMPAIGN_CALLS:
            json = draft(id="welcome") if body else None
            response = getattr(client, method)(target, json=json, headers=headers)
            assert response.status_code == 403, (method, target)
            assert response.get_json()["error"] == "forbidden"
    assert client.get(url("welcome"), headers=editor).get_json()["name"] == "Welcome series"


def test_no_token_is_unauthorized(client, editor):
    assert client.get(url("welcome")).status_code == 401


@pytest.fixture()
def three(client, editor):
    now = utcnow()
    for key, name, kind, window in (
        ("alpha", "Alpha lunch", "STANDARD", (now - timedelta(days=1), now + timedelta(days=1))),
        ("bravo", "Bravo birthday", "BIRTHDAY", (now + timedelta(days=5), None)),
        ("charlie", "Charlie Lunch", "STANDARD", (None, now - timedelta(hours=1))),
    ):
        window_fields = {}
        if window[0]:
            window_fields["activeFrom"] = to_iso(window[0])
        if window[1]:
            window_fields["activeTo"] = to_iso(window[1])
        body = draft(name=name, type=kind, **window_fields)
        assert client.put(url(key), json=body, headers=editor).status_code == 201


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    CAMPAIGNS.validate_python(response.get_json())
    return [campaign["id"] for campaign in response.get_json()]


@pytest.mark.usefixtures("three")
def test_the_list_pages_with_react_admin_headers(client, editor, admin):
    page = client.get(f"{API}/campaigns?_start=1&_end=2&_sort=id&_order=ASC", headers=admin)
    assert ids(page) == ["bravo"]
    assert page.headers["X-Total-Count"] == "3"
    assert page.headers["Content-Range"] == "items 1-1/3"
    simple = client.get(f'{API}/campaigns?range=[0,1]&sort=["name","DESC"]', headers=admin)
    assert ids(simple) == ["charlie", "bravo"]
    assert simple.headers["Content-Range"] == "items 0-1/3"
    beyond = client.get(f"{API}/campaigns?_start=10&_end=20", headers=admin)
    assert ids(beyond) == []
    assert beyond.headers["Content-Range"] == "items */3"


@pytest.mark.usefixtures("three")
def test_the_list_filters_by_name_id_type_and_window(client, editor, admin):
    def listed(query: str) -> list[str]:
        return ids(client.get(f"{API}/campaigns?{query}", headers=admin))

    assert listed("q=lunch") == ["alpha", "charlie"]
    assert listed("q=100%25") == []
    assert listed("id=alpha&id=charlie&id=nope") == ["alpha", "charlie"]
    assert listed("type=BIRTHDAY") == ["bravo"]
    assert listed("active=true") == ["alpha"]
    assert listed("active=false") == ["bravo", "charlie"]
    assert listed('filter={"q": "LUNCH", "active": false}') == ["charlie"]
    assert listed('filter={"id": "bravo"}') == listed('filter={"id": ["bravo"]}') == ["bravo"]
    assert listed("_sort=activeFrom&_order=DESC") == ["bravo", "alpha", "charlie"]


@pytest.mark.usefixtures("three")
def test_the_list_refuses_a_bad_sort_or_filter(client, editor, admin):
    for query, field in (
        ("_sort=secret", "_sort"),
        ("type=WEEKLY", "type"),
        ("filter=[1]", "filter"),
        ("q=" + "x" * 65, "q"),
    ):
        response = client.get(f"{API}/campaigns?{query}", headers=admin)
        assert response.status_code == 400, query
        assert response.get_json()["field"] == field, query


def test_a_listed_campaign_is_what_getting_it_answers(client, editor, admin, tenant, jane):
    running(tenant, welcome_series(), utcnow())
    [listed] = client.get(f"{API}/campaigns", headers=admin).get_json()
    assert listed == shaped(client.get(url("welcome"), headers=editor).get_json())
    assert listed["states"][0]["stats"] == 1


def test_preview_counts_and_samples_and_records_them(client, editor, tenant, jane):
    customer(tenant, external_id="ann-2", email="ann@example.com")
    client.put(url("welcome"), json=draft(), headers=editor)
    response = client.post(url("welcome", "preview"), headers=editor)
    assert response.status_code == 200
    preview = CampaignPreview.model_validate(response.get_json())
    assert (preview.cnt, sorted(preview.samples)) == (2, ["ann-2", "jane-1"])
    campaign = shaped(client.get(url("welcome"), headers=editor).get_json())
    assert (campaign["cnt"], sorted(campaign["samples"])) == (2, ["ann-2", "jane-1"])
    assert campaign["previewedAt"] == preview.previewedAt


def test_a_team_member_initialises_and_is_recorded_as_initialiser(client, tenant, staff, jane):
    member = bearer(staff_token(client, tenant, staff.email), tenant)
    client.put(url("welcome"), json=draft(), headers=member)
    response = client.post(url("welcome", "initialize"), headers=member)
    assert response.status_code == 200
    campaign = shaped(response.get_json())
    assert campaign["initialized"] is True
    assert campaign["initializedBy"] == "staff@trattoria.test"
    assert campaign["initializedAt"] is not None
    assert campaign["cnt"] == 1

    again = client.post(url("welcome", "initialize"), headers=member)
    assert again.status_code == 409
    assert again.get_json()["field"] == "campaign"


def test_a_service_initialising_is_recorded_by_its_clients_name(client, editor):
    client.put(url("welcome"), json=draft(), headers=editor)
    campaign = client.post(url("welcome", "initialize"), headers=editor).get_json()
    assert campaign["initializedBy"] == "test client"


def test_an_incomplete_draft_saves_but_does_not_initialise(client, editor):
    body = draft()
    del body["states"][0]["value"]
    assert client.put(url("welcome"), json=body, headers=editor).status_code == 201
    response = client.post(url("welcome", "initialize"), headers=editor)
    assert response.status_code == 400
    assert response.get_json()["field"] == "states[0].value"
    assert client.get(url("welcome"), headers=editor).get_json()["initialized"] is False


def test_a_running_campaign_keeps_its_states_and_a_finalised_one_no_longer_changes(
    client, editor, tenant
):
    running(tenant, welcome_series(), utcnow())
    renamed = welcome_series()
    renamed["states"][2]["id"] = "treat"
    renamed["states"][1]["transitionTo"] = "treat"
    response = client.put(url("welcome"), json=renamed, headers=editor)
    assert (response.status_code, response.get_json()["field"]) == (400, "states")

    finalised = client.post(url("welcome", "finalize"), headers=editor)
    assert finalised.status_code == 200
    campaign = shaped(finalised.get_json())
    assert (campaign["initialized"], campaign["finalizedAt"] is not None) == (False, True)
    assert client.post(url("welcome", "finalize"), headers=editor).status_code == 200
    refused = client.put(url("welcome"), json=welcome_series(), headers=editor)
    assert refused.status_code == 409


def test_finalising_a_draft_is_a_conflict(client, editor):
    client.put(url("welcome"), json=draft(), headers=editor)
    response = client.post(url("welcome", "finalize"), headers=editor)
    assert response.status_code == 409
    assert response.get_json()["field"] == "campaign"


def test_a_malformed_path_id_is_refused(client, editor):
    response = client.get(url("a b"), headers=editor)
    assert response.status_code == 400
    assert response.get_json()["field"] == "campaign"


def test_creating_one_id_at_once_creates_it_once(pg_api_app):
    """On PostgreSQL, several puts of a new id at the same moment: one creates, the rest
    update what it created; none fails."""
    tenant, _ = create_tenant("trattoria", "Trattoria Roma")
    headers = bearer(service_token(pg_api_app.test_client(), tenant), tenant)

    def put(number: int) -> int:
        body = draft(name=f"Welcome {number}")
        return pg_api_app.test_client().put(url("welcome"), json=body, headers=headers).status_code

    statuses = at_once(pg_api_app, put, workers=WORKERS)
    assert sorted(statuses) == [200] * (WORKERS - 1) + [201]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(CampaignRow)) == 1


def test_the_list_is_for_loyalty_administrators_not_campaign_editors(client, editor, admin):
    """Seed 002 gives getCampaigns to ROLE_SU and ROLE_LOYALTY only."""
    assert client.get(f"{API}/campaigns", headers=editor).status_code == 403
    assert client.get(f"{API}/campaigns", headers=admin).status_code == 200


def test_an_unknown_campaign_says_no_campaign_has_the_id(client, editor):
    response = client.get(url("nowhere"), headers=editor)
    assert response.status_code == 404
    assert response.get_json()["message"] == "no campaign of this restaurant has this id"


def test_a_range_past_any_list_is_a_400_not_a_database_error(client, admin):
    huge = "[99999999999999999999, 99999999999999999999]"
    response = client.get(f"{API}/campaigns", query_string={"range": huge}, headers=admin)
    assert (response.status_code, response.get_json()["field"]) == (400, "range")
