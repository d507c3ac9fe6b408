"""Segments: save the current search, count members lazily, open as the search, delete."""

from __future__ import annotations

import re

from loyalty.extensions import db
from loyalty.models import Segment
from loyalty.services.accounts.search import SearchCriteria
from loyalty.services.accounts.segments import save_segment
from tests.support.accounts import customer


def make_crowd(tenant):
    for number in range(7):
        customer(tenant, external_id=f"vip-{number}", tags=["vip"], marketing_consent=number < 3)
    customer(tenant, external_id="plain")


def test_saving_the_current_search_keeps_its_filters_without_the_sort(staff_client, tenant):
    make_crowd(tenant)
    response = staff_client.post(
        "/segments/", data={"name": "VIPs who said yes", "query": "tag=vip&consent=yes&sort=name"}
    )
    assert response.status_code == 303 and response.location.endswith("/segments/")
    segment = db.session.query(Segment).one()
    assert (segment.name, segment.query) == ("VIPs who said yes", "tag=vip&consent=yes")


def test_the_results_offer_to_save_the_search(staff_client, tenant):
    make_crowd(tenant)
    body = staff_client.get("/accounts/?tag=vip").get_data(as_text=True)
    assert 'action="/segments/"' in body and 'name="query" value="tag=vip"' in body
    assert 'action="/segments/"' not in staff_client.get("/accounts/").get_data(as_text=True)


def test_member_counts_load_when_revealed(staff_client, staff, tenant):
    make_crowd(tenant)
    segment = save_segment(tenant.id, "VIPs", SearchCriteria(tag="vip"), staff.id)
    page = staff_client.get("/segments/").get_data(as_text=True)
    assert f'hx-get="/segments/{segment.id}/count" hx-trigger="revealed"' in page
    assert "tag: vip" in page
    count = staff_client.get(f"/segments/{segment.id}/count").get_data(as_text=True)
    assert 'data-count="7"' in count


def test_opening_a_segment_is_its_search(staff_client, staff, tenant):
    make_crowd(tenant)
    segment = save_segment(tenant.id, "VIPs", SearchCriteria(tag="vip", consent="yes"), staff.id)
    response = staff_client.get(f"/segments/{segment.id}")
    assert response.status_code == 302 and response.location.endswith(
        "/accounts/?tag=vip&consent=yes"
    )
    listed = staff_client.get(response.location).get_data(as_text=True)
    assert sorted(set(re.findall(r"vip-\d", listed))) == ["vip-0", "vip-1", "vip-2"]


def test_names_are_required_and_unique(staff_client, staff, tenant):
    save_segment(tenant.id, "VIPs", SearchCriteria(tag="vip"), staff.id)
    duplicate = staff_client.post("/segments/", data={"name": "VIPs", "query": "tag=vip"})
    assert duplicate.status_code == 303 and "/accounts/?tag=vip" in duplicate.location
    assert "already a segment called" in staff_client.get(duplicate.location).get_data(as_text=True)
    staff_client.post("/segments/", data={"name": "  ", "query": "tag=vip"})
    staff_client.post("/segments/", data={"name": "Everyone", "query": ""})
    staff_client.post("/segments/", data={"name": "Broken", "query": "points_min=lots"})
    assert [s.name for s in db.session.query(Segment)] == ["VIPs"]


def test_only_owners_delete_segments(staff_client, staff, owner, auth, tenant):
    segment = save_segment(tenant.id, "VIPs", SearchCriteria(tag="vip"), staff.id)
    assert staff_client.post(f"/segments/{segment.id}/delete").status_code == 403
    auth.logout()
    auth.login(owner.email)
    assert staff_client.post(f"/segments/{segment.id}/delete").status_code == 303
    assert db.session.query(Segment).count() == 0


def test_another_tenants_segment_is_not_found(owner_client, other_tenant):
    segment = save_segment(other_tenant.id, "Theirs", SearchCriteria(tag="x"), None)
    for method, url in [
        ("get", f"/segments/{segment.id}"),
        ("get", f"/segments/{segment.id}/count"),
        ("post", f"/segments/{segment.id}/delete"),
    ]:
        assert getattr(owner_client, method)(url).status_code == 404
    assert "Theirs" not in owner_client.get("/segments/").get_data(as_text=True)


def test_segments_are_in_the_navigation(staff_client):
    assert 'href="/segments/"' in staff_client.get("/").get_data(as_text=True)
