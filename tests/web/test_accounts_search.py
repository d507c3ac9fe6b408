"""Account search: the box, the filters, sorting, paging, and htmx rows vs the whole page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from loyalty.extensions import db
from loyalty.models import Account, Tier
from loyalty.services.accounts.merge import merge_accounts
from tests.support.accounts import customer, earn

HTMX = {"HX-Request": "true", "HX-Target": "results"}


def found(response) -> list[str]:
    """External ids of the accounts listed, in order."""
    return re.findall(r'<small class="help">([^<]+)</small></td>', response.get_data(as_text=True))


@pytest.fixture()
def regulars(tenant):
    return {
        "zoe": customer(
            tenant,
            external_id="zoe",
            first_name="Zoë",
            last_name="Rossi",
            email="Zoe.Rossi@Example.com",
            phone="+32 470 12 34 56",
            card="CARD-001",
            tags=["vip"],
            birthdate=date(1990, 5, 3),
            marketing_consent=True,
        ),
        "mario": customer(
            tenant,
            external_id="mario",
            first_name="Mario",
            last_name="Rossini",
            email="mario@example.com",
            phone="+39 333 123 4567",
            card="CARD-002",
            birthdate=date(1985, 11, 20),
        ),
        "anna": customer(
            tenant,
            external_id="anna",
            first_name="Anna",
            last_name="Bianchi",
            email="anna@example.com",
            tags=["lunch"],
            marketing_consent=True,
        ),
    }


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("zoe", ["zoe"]),  # first name, accent-insensitive
        ("ZOË", ["zoe"]),
        ("ross", ["zoe", "mario"]),  # last-name prefix, sorted by name
        ("mario ross", ["mario"]),  # first and last name
        ("rossi zo", ["zoe"]),  # last then first
        ("zoe.rossi@example.COM", ["zoe"]),  # email in any case
        ("mario@", ["mario"]),  # email while it is being typed
        ("+32 470 12 34 56", ["zoe"]),  # phone with spaces
        ("0039 333 1234567", ["mario"]),  # phone with 00 instead of +
        ("+39-333-123-4567", ["mario"]),
        ("CARD-002", ["mario"]),  # card
        ("anna", ["anna"]),  # account id and first name alike
        ("nobody", []),
        ("100%", []),  # LIKE wildcards are matched literally
    ],
)
def test_one_box_finds_a_customer_however_they_are_identified(
    staff_client, regulars, typed, expected
):
    response = staff_client.get("/accounts/", query_string={"q": typed})
    assert response.status_code == 200
    assert found(response) == expected


def test_prefix_wildcards_are_literal(staff_client, tenant):
    customer(tenant, external_id="under", first_name="a_b")
    customer(tenant, external_id="other", first_name="axb")
    assert found(staff_client.get("/accounts/?q=a_")) == ["under"]


def test_account_id_finds_an_account_without_a_name(staff_client, tenant):
    customer(tenant, external_id="ext-42")
    assert found(staff_client.get("/accounts/?q=ext-42")) == ["ext-42"]


def test_an_htmx_request_gets_only_the_rows_and_a_normal_one_the_whole_page(staff_client, regulars):
    whole = staff_client.get("/accounts/?q=ross").get_data(as_text=True)
    rows = staff_client.get("/accounts/?q=ross", headers=HTMX)
    assert "<html" in whole and 'id="results"' in whole and 'name="q"' in whole
    body = rows.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="results"') and "<html" not in body
    assert 'name="q"' not in body
    assert "HX-Request" in rows.headers["Vary"]


def test_going_back_asks_for_the_whole_page_again(staff_client, regulars):
    restore = {**HTMX, "HX-History-Restore-Request": "true"}
    body = staff_client.get("/accounts/?q=ross", headers=restore).get_data(as_text=True)
    assert "<html" in body and 'value="ross"' in body


def test_the_box_is_live_and_keeps_the_query_in_the_address_bar(staff_client, regulars):
    body = staff_client.get("/accounts/?q=ross").get_data(as_text=True)
    box = re.search(r'<input type="search"[^>]*>', body, re.S).group(0)
    assert 'hx-trigger="search, keyup delay:250ms changed"' in box
    assert 'hx-push-url="true"' in box and 'hx-indicator="#searching"' in box
    assert 'value="ross"' in box


def test_merged_and_erased_accounts_are_hidden_unless_asked_for(
    staff_client, owner, tenant, regulars
):
    duplicate = customer(tenant, external_id="zoe-old", first_name="Zoe", last_name="Rossi")
    merge_accounts(tenant.id, regulars["zoe"].id, duplicate.id, owner.id)
    assert found(staff_client.get("/accounts/?q=zoe")) == ["zoe"]
    assert sorted(found(staff_client.get("/accounts/?q=zoe&include_retired=1"))) == [
        "zoe",
        "zoe-old",
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"tag": "vip"}, ["zoe"]),
        ({"consent": "yes"}, ["anna", "zoe"]),
        ({"consent": "no"}, ["mario"]),
        ({"birthday_month": "11"}, ["mario"]),
        ({"points_min": "100"}, ["mario", "zoe"]),
        ({"points_min": "100", "points_max": "300"}, ["zoe"]),
        ({"tag": "vip", "consent": "no"}, []),
    ],
)
def test_filters_narrow_the_list(staff_client, regulars, filters, expected):
    earn(regulars["zoe"], 250)
    earn(regulars["mario"], 900)
    response = staff_client.get("/accounts/", query_string={**filters, "sort": "name"})
    assert sorted(found(response)) == expected


def test_tier_filter_uses_lifetime_points(staff_client, tenant, regulars):
    silver = Tier(tenant_id=tenant.id, name="Silver", threshold_points=500)
    gold = Tier(tenant_id=tenant.id, name="Gold", threshold_points=2000)
    db.session.add_all([silver, gold])
    db.session.commit()
    earn(regulars["zoe"], 700)
    earn(regulars["mario"], 2500)
    assert found(staff_client.get(f"/accounts/?tier={silver.id}")) == ["zoe"]
    assert found(staff_client.get(f"/accounts/?tier={gold.id}")) == ["mario"]


def test_joined_and_last_order_dates_filter(staff_client, regulars):
    now = datetime.now(UTC)
    regulars["anna"].created_at = now - timedelta(days=400)
    regulars["mario"].last_order_at = now - timedelta(days=90)
    regulars["zoe"].last_order_at = now - timedelta(days=2)
    db.session.commit()
    long_ago = (now - timedelta(days=30)).date().isoformat()
    assert found(staff_client.get(f"/accounts/?joined_to={long_ago}")) == ["anna"]
    assert sorted(found(staff_client.get(f"/accounts/?joined_from={long_ago}"))) == ["mario", "zoe"]
    assert found(staff_client.get(f"/accounts/?ordered_before={long_ago}")) == ["mario"]
    assert found(staff_client.get(f"/accounts/?ordered_after={long_ago}")) == ["zoe"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["anna", "zoe", "mario"]),  # Bianchi, Rossi, Rossini
        ("points", ["mario", "zoe", "anna"]),
        ("newest", ["anna", "mario", "zoe"]),
        ("oldest", ["zoe", "mario", "anna"]),
    ],
)
def test_sorting(staff_client, regulars, sort, expected):
    earn(regulars["zoe"], 10)
    earn(regulars["mario"], 20)
    base = datetime.now(UTC) - timedelta(days=10)
    for offset, key in enumerate(["zoe", "mario", "anna"]):
        regulars[key].created_at = base + timedelta(days=offset)
    db.session.commit()
    assert found(staff_client.get(f"/accounts/?sort={sort}")) == expected


def test_bad_filters_are_shown_next_to_the_field_and_nothing_is_searched(staff_client, regulars):
    response = staff_client.get("/accounts/?points_min=lots&birthday_month=13&sort=shoe-size")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="error-points_min"' in body and "whole number" in body
    assert 'id="error-birthday_month"' in body and 'id="error-sort"' in body
    assert found(response) == []


def test_pages_hold_25_accounts_and_link_to_the_next_with_the_query(staff_client, tenant):
    for number in range(60):
        customer(
            tenant,
            external_id=f"guest-{number:02d}",
            first_name="Guest",
            last_name=f"N{number:02d}",
        )
    first = staff_client.get("/accounts/?q=guest&sort=name")
    body = first.get_data(as_text=True)
    assert found(first)[:2] == ["guest-00", "guest-01"] and len(found(first)) == 25
    assert 'href="/accounts/?q=guest&amp;sort=name&amp;page=2"' in body and 'rel="prev"' not in body
    third = staff_client.get("/accounts/?q=guest&sort=name&page=3", headers=HTMX)
    assert found(third) == [f"guest-{n}" for n in range(50, 60)]
    assert 'rel="next"' not in third.get_data(as_text=True)
    assert 'href="/accounts/?q=guest&amp;sort=name&amp;page=2"' in third.get_data(as_text=True)


def test_the_count_loads_after_the_results(staff_client, tenant):
    for number in range(30):
        customer(tenant, external_id=f"guest-{number:02d}", first_name="Guest")
    body = staff_client.get("/accounts/?q=guest").get_data(as_text=True)
    assert 'hx-get="/accounts/count?q=guest" hx-trigger="load"' in body
    count = staff_client.get("/accounts/count?q=guest").get_data(as_text=True)
    assert 'data-count="30"' in count and "30 accounts match" in count


def test_a_single_page_of_results_shows_its_count_at_once(staff_client, tenant):
    customer(tenant, external_id="only-one", first_name="Solo")
    body = staff_client.get("/accounts/?q=solo").get_data(as_text=True)
    assert 'data-count="1"' in body and "1 account matches" in body
    assert "/accounts/count" not in body


def test_counts_stop_past_the_cap(staff_client, tenant, monkeypatch):
    from loyalty.dashboard.accounts import views

    monkeypatch.setattr(views, "COUNT_CAP", 30)
    for number in range(40):
        customer(tenant, external_id=f"guest-{number:02d}")
    body = staff_client.get("/accounts/count").get_data(as_text=True)
    assert "More than 30 accounts match" in body


def test_search_only_sees_the_team_members_own_tenant(staff_client, regulars, other_tenant):
    customer(other_tenant, external_id="elsewhere", first_name="Zoe", last_name="Rossi")
    assert found(staff_client.get("/accounts/?q=zoe")) == ["zoe"]


def test_search_needs_a_login(client, regulars):
    response = client.get("/accounts/?q=zoe")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert b"Zo" not in response.data


def test_accounts_are_in_the_navigation(staff_client):
    assert 'href="/accounts/"' in staff_client.get("/").get_data(as_text=True)


def test_an_account_row_links_to_its_page(staff_client, regulars):
    body = staff_client.get("/accounts/?q=zoe").get_data(as_text=True)
    assert f'href="/accounts/{regulars["zoe"].id}"' in body
    assert db.session.get(Account, regulars["zoe"].id).email == "zoe.rossi@example.com"


def test_the_address_keeps_only_what_was_asked_for(staff_client, regulars):
    plain_form = staff_client.get("/accounts/?q=ross&tag=&tier=&points_min=&sort=")
    assert plain_form.status_code == 302 and plain_form.location == "/accounts/?q=ross"
    htmx = staff_client.get("/accounts/?q=ross&tag=&sort=&page=2", headers=HTMX)
    assert htmx.headers["HX-Push-Url"] == "/accounts/?q=ross&page=2"


def test_text_that_cannot_be_stored_is_refused_clearly(staff_client, regulars):
    assert staff_client.get("/accounts/?q=ro%00ss").status_code == 400
    response = staff_client.post(
        f"/accounts/{regulars['zoe'].id}/tags", data={"tags": "vip\x00", "properties": ""}
    )
    assert response.status_code == 400
    assert (
        staff_client.post("/segments/", data={"name": "a\x00b", "query": "tag=vip"}).status_code
        == 400
    )
