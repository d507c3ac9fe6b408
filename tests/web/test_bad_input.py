"""Whatever a team member types into an address or a form, the dashboard answers 4xx, never 500."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.services.accounts.profile import Profile, create_account
from loyalty.services.accounts.search import SearchCriteria
from loyalty.services.accounts.segments import save_segment

HUGE = "99999999999999999999"


@pytest.mark.parametrize("field", ["joined_to", "joined_from", "ordered_after", "ordered_before"])
def test_a_far_date_filter_is_a_field_error(owner_client, field):
    page = owner_client.get(f"/accounts/?{field}=9999-12-31")
    assert page.status_code == 200
    assert "must be between 1900-01-01 and 2999-12-31" in page.get_data(as_text=True)
    assert owner_client.get(f"/accounts/count?{field}=9999-12-31").status_code == 400


def test_a_segment_saved_with_a_far_date_still_counts_and_opens(owner_client, tenant):
    create_account(tenant.id, Profile(external_id="guest-1"))
    far = SearchCriteria(joined_to=date(9999, 12, 31))
    segment = save_segment(tenant.id, "Far future", far, None)
    count = owner_client.get(f"/segments/{segment.id}/count")
    assert count.status_code == 200
    assert owner_client.get(f"/segments/{segment.id}").status_code == 302
    assert owner_client.get("/segments/").status_code == 200


@pytest.mark.parametrize("other_id", [HUGE, "²", "-1", "0", " 1", "1e3"])
def test_merge_with_a_malformed_other_id_is_refused(owner_client, tenant, other_id):
    survivor = create_account(tenant.id, Profile(external_id="survivor"))
    response = owner_client.post(f"/accounts/{survivor.id}/merge", data={"other_id": other_id})
    assert response.status_code in (400, 404)


@pytest.mark.parametrize("page", ["²", HUGE, "-3", "1.5", "٣"])
def test_a_malformed_page_number_shows_the_first_page(owner_client, tenant, page):
    account = create_account(tenant.id, Profile(external_id="guest-1"))
    assert owner_client.get(f"/accounts/?page={page}").status_code == 200
    assert owner_client.get(f"/accounts/{account.id}?ledger_page={page}").status_code == 200


SEARCH_FIELDS = [
    "q",
    "tag",
    "tier",
    "points_min",
    "points_max",
    "birthday_month",
    "joined_from",
    "joined_to",
    "ordered_after",
    "ordered_before",
    "consent",
    "sort",
    "page",
]
TYPED = st.one_of(
    st.text(max_size=30),
    st.dates().map(date.isoformat),
    st.integers().map(str),
    st.sampled_from(["9999-12-31", "0001-01-01", HUGE, "²", "1e20", "\x00", "NaN"]),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.dictionaries(st.sampled_from(SEARCH_FIELDS), TYPED, max_size=5))
def test_any_search_answers_without_a_server_error(owner_client, args):
    for path in ("/accounts/", "/accounts/count"):
        response = owner_client.get(path, query_string=args)
        assert response.status_code < 500, (path, args)
