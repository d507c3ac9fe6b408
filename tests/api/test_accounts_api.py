"""The account operations: the react-admin list with its filters and paging headers, its count,
one account by id or card (ApiAccount showing what campaign constraints see), and the streamed
exports (CSV safe for spreadsheets, JSON lines by Accept)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from loyalty.extensions import db
from loyalty.models import Account, Tenant
from loyalty.rules.basket import Basket, BasketItem
from loyalty.rules.campaigns import parse_campaign
from loyalty.services.accounts.erasure import erase_account
from loyalty.services.accounts.events import record_relation_event
from loyalty.services.accounts.listing import AccountFilter, account_batches
from loyalty.services.accounts.merge import merge_accounts
from loyalty.services.accounts.profile import Profile, create_account, update_profile
from loyalty.services.accounts.tags import set_tags_and_properties
from loyalty.services.campaigns.selection import account_facts, preview_campaign
from loyalty.services.checkout.orders import OrderReport, record_order
from loyalty.time import to_iso, utcnow
from tests.support.accounts import customer
from tests.support.api import bearer, customer_token, service_token
from tests.support.campaigns import coupons_of, running, welcome_series

API = "/loyalty-api/api"


@pytest.fixture()
def staff_api(client, tenant):
    """A back office's headers: a service token with ROLE_LOYALTY."""
    return bearer(service_token(client, tenant, roles=("ROLE_LOYALTY",)), tenant)


def order(account, order_id: str, paid: int, venue: str | None = None, now=None) -> None:
    """An order of `account`, recorded as the Deliverect webhook records one."""
    tenant = db.session.get(Tenant, account.tenant_id)
    basket = Basket((BasketItem("PIZZA", "Pizza", paid, 1),))
    report = OrderReport(
        external_id=order_id,
        account_id=account.id,
        payment_amount=paid,
        basket=basket,
        sub_total=paid,
        location_id=venue,
    )
    record_order(tenant, report, now or utcnow())


def ids_of(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()]


def test_the_list_pages_with_react_admin_headers(client, tenant, staff_api):
    for number in range(5):
        customer(tenant, external_id=f"acc-{number}", email=f"c{number}@example.com")

    page = client.get(f"{API}/accounts?_start=1&_end=3&_sort=id&_order=ASC", headers=staff_api)
    assert ids_of(page) == ["acc-1", "acc-2"]
    assert page.headers["X-Total-Count"] == "5"
    assert page.headers["Content-Range"] == "items 1-2/5"

    simple_rest = client.get(
        f"{API}/accounts",
        query_string={"range": "[0,1]", "sort": '["id","DESC"]'},
        headers=staff_api,
    )
    assert ids_of(simple_rest) == ["acc-4", "acc-3"]
    assert simple_rest.headers["Content-Range"] == "items 0-1/5"

    count = client.get(f"{API}/accounts/count", headers=staff_api)
    assert count.status_code == 200
    assert count.get_json() == 5


def test_an_unknown_sort_field_is_a_400_naming_it(client, tenant, staff_api):
    response = client.get(f"{API}/accounts?_sort=password", headers=staff_api)
    assert response.status_code == 400
    assert response.get_json()["field"] == "_sort"


def test_the_filters_each_narrow_the_list(client, tenant, staff_api):
    now = utcnow()
    ann = customer(
        tenant,
        external_id="ann-1",
        card="CARD-1",
        email="ann@example.com",
        first_name="Ann",
        last_name="Rossi",
        birthdate=date(1990, 5, 1),
        tags=["vip"],
    )
    bob = customer(tenant, external_id="bob-1", email="bob@example.com", birthdate=date(1980, 1, 1))
    customer(tenant, external_id="cid-1", email="cid@example.com")
    order(ann, "O-1", 1200, venue="venue-1")
    order(bob, "O-2", 800, venue="venue-2")

    def listed(**query) -> list[str]:
        return sorted(ids_of(client.get(f"{API}/accounts", query_string=query, headers=staff_api)))

    assert listed(q="ann@example.com") == ["ann-1"]
    assert listed(q="Ross") == ["ann-1"]
    assert listed(id=["ann-1", "cid-1"]) == ["ann-1", "cid-1"]
    assert listed(card="CARD-1") == ["ann-1"]
    assert listed(tag="vip") == ["ann-1"]
    assert listed(venue="venue-2") == ["bob-1"]
    assert listed(birthdateFrom="1985-01-01") == ["ann-1"]
    assert listed(birthdateTo="1985-01-01") == ["bob-1"]
    today = now.date().isoformat()
    assert listed(lastOrderFrom=today, lastOrderTo=today) == ["ann-1", "bob-1"]
    assert listed(createdTo=(now.date() - timedelta(days=1)).isoformat()) == []
    assert listed(createdFrom=today) == ["ann-1", "bob-1", "cid-1"]
    # react-admin's simple-rest sends its filters as one JSON object.
    assert listed(filter=json.dumps({"tag": "vip", "id": ["ann-1", "bob-1"]})) == ["ann-1"]


def test_the_campaign_and_state_filters_list_its_members(client, tenant, staff_api):
    ann = customer(tenant, external_id="ann-1", email="ann@example.com")
    customer(tenant, external_id="bob-1", email="bob@example.com", tags=["staff"])
    running(
        tenant,
        welcome_series(
            constraints=[{"field": "tags.staff", "op": "NE", "value": ["true"]}],
        ),
        utcnow(),
    )
    assert coupons_of(ann)

    def listed(**query) -> list[str]:
        return ids_of(client.get(f"{API}/accounts", query_string=query, headers=staff_api))

    assert listed(campaign="welcome") == ["ann-1"]
    assert listed(campaign="welcome", state="coupon") == ["ann-1"]
    assert listed(campaign="welcome", state="bonus") == []
    assert listed(campaign="nobody_has_this") == []


def test_the_constraints_filter_selects_what_a_campaign_preview_counts(client, tenant, staff_api):
    now = utcnow()
    regulars = [customer(tenant, external_id=f"reg-{n}", email=f"r{n}@x.com") for n in range(3)]
    for number, account in enumerate(regulars):
        for visit in range(number + 1):
            order(account, f"R{number}-{visit}", 1500, venue="venue-1")
    customer(tenant, external_id="new-1", email="n1@x.com", first_name="Nina")
    constraints = [
        {"field": "counters.orders", "op": "GTE", "value": ["2"]},
        {"field": "venues.venue-1", "op": "EXISTS", "value": []},
        {"field": "header.lastOrder", "op": "GT", "value": ["-P30D"]},
    ]
    campaign = parse_campaign({**welcome_series(), "constraints": constraints}, draft=False)
    preview = preview_campaign(tenant.id, campaign, now)
    assert preview.cnt == 2

    query = {"constraints": json.dumps(constraints)}
    count = client.get(f"{API}/accounts/count", query_string=query, headers=staff_api)
    assert count.get_json() == preview.cnt
    listed = client.get(f"{API}/accounts", query_string=query, headers=staff_api)
    assert sorted(ids_of(listed)) == sorted(sample.external_id for sample in preview.samples)
    # One constraint per repeated parameter selects the same.
    repeated = client.get(
        f"{API}/accounts/count",
        query_string={"constraints": [json.dumps(c) for c in constraints]},
        headers=staff_api,
    )
    assert repeated.get_json() == preview.cnt


@pytest.mark.parametrize(
    ("constraints", "field"),
    [
        ("not json", "constraints"),
        ('[{"field": "password", "op": "EQ", "value": ["x"]}]', "constraints[0].field"),
        ('[{"field": "counters.orders", "op": "LIKE", "value": ["1"]}]', "constraints[0].op"),
        (
            '[{"field": "counters.orders", "op": "GT", "value": ["many"]}]',
            "constraints[0].value[0]",
        ),
    ],
)
def test_a_constraint_that_cannot_be_read_is_a_400_naming_it(
    client, tenant, staff_api, constraints, field
):
    response = client.get(
        f"{API}/accounts", query_string={"constraints": constraints}, headers=staff_api
    )
    assert response.status_code == 400
    assert response.get_json()["field"] == field


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"q": "ann\x00"}, "q"),
        ({"tag": "vip\x00"}, "tag"),
        ({"createdTo": "9999-12-31"}, "createdTo"),
        ({"lastOrderTo": "2026-02-30"}, "lastOrderTo"),
        ({"id": ["ok-1", "no spaces"]}, "id[1]"),
        ({"constraints": "[" * 3000}, "constraints"),
        ({"filter": "[" * 3000}, "filter"),
        (
            {"constraints": '[{"field": "properties.x", "op": "EQ", "value": ["a\\u0000"]}]'},
            "constraints[0].value[0]",
        ),
    ],
)
def test_a_filter_the_database_could_not_compare_is_a_400(client, tenant, staff_api, query, field):
    response = client.get(f"{API}/accounts", query_string=query, headers=staff_api)
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_an_account_shows_the_numbers_its_campaign_constraints_see(client, tenant, staff_api):
    ann = customer(
        tenant,
        external_id="ann-1",
        card="CARD-1",
        email="ann@example.com",
        phone="+32470123456",
        first_name="Ann",
        last_name="Rossi",
        birthdate=date(1990, 5, 1),
        sex="FEMALE",
        marketing_consent=True,
    )
    customer(tenant, external_id="bob-1", email="bob@example.com")
    set_tags_and_properties(tenant.id, ann.id, ["vip"], {"my_favourite": "pizza"})
    order(ann, "O-1", 1250, venue="venue-1")
    order(ann, "O-2", 2000, venue="venue-2")
    record_relation_event(tenant.id, ann.id, "bob-1", "INVITED", utcnow())
    running(tenant, welcome_series(), utcnow())

    response = client.get(f"{API}/account/ann-1", headers=staff_api)
    assert response.status_code == 200
    shown = response.get_json()
    facts = account_facts(tenant.id, [ann.id])[ann.id]
    assert shown["counters"] == dict(facts.counters)
    assert shown["counters"]["orders"] == 2
    assert shown["counters"]["spent"] == 3250
    assert shown["counters"]["referrals"] == 1
    assert shown["venues"] == ["venue-1", "venue-2"]
    assert shown["tags"] == ["vip"]
    assert shown["properties"] == {"my_favourite": "pizza", "sex": "FEMALE"}
    assert shown["card"] == "CARD-1"
    header = shown["header"]
    assert (header["firstName"], header["lastName"], header["birthdate"]) == (
        "Ann",
        "Rossi",
        "1990-05-01",
    )
    assert header["email"] == "ann@example.com"
    assert header["phone"] == "+32470123456"
    assert header["lastOrder"] is not None and header["lastEvent"] is not None
    assert "marketing" in shown["consents"]["consents"]
    assert [(r["id"], r["type"]) for r in shown["relations"]] == [("bob-1", "INVITED")]
    assert shown["coupons"] == [coupon.code for coupon in coupons_of(ann)]
    assert shown["campaigns"] == [{"id": "welcome", "state": "coupon"}]
    assert [o["id"] for o in shown["previousOrders"]] == ["O-2", "O-1"]
    assert shown["previousOrders"][0]["total"] == 2000

    by_card = client.get(f"{API}/card/CARD-1/account", headers=staff_api)
    assert by_card.status_code == 200
    assert by_card.get_json() == shown


def test_a_list_page_reads_each_kind_of_fact_once_whatever_its_length(
    app, client, tenant, staff_api
):
    def statements_for_page(size: int) -> int:
        seen: list[str] = []

        def count(*_args):
            seen.append("statement")

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = client.get(f"{API}/accounts?_start=0&_end={size}", headers=staff_api)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert len(response.get_json()) == size
        return len(seen)

    for number in range(12):
        account = customer(tenant, external_id=f"acc-{number:02}", email=f"c{number}@x.com")
        order(account, f"O-{number}", 500, venue="venue-1")
    assert statements_for_page(2) == statements_for_page(12)


def test_an_unknown_or_another_restaurants_account_is_a_404(
    client, tenant, other_tenant, staff_api
):
    customer(other_tenant, external_id="theirs-1", card="THEIR-CARD", email="t@example.com")
    for url in ("/account/theirs-1", "/account/nobody-1", "/card/THEIR-CARD/account"):
        response = client.get(API + url, headers=staff_api)
        assert response.status_code == 404, url
        assert response.get_json()["error"] == "not_found"
    listed = client.get(f"{API}/accounts", headers=staff_api)
    assert ids_of(listed) == []


def test_a_merged_accounts_old_id_shows_the_survivor_and_an_erased_one_is_gone(
    client, tenant, owner, staff_api
):
    survivor = customer(tenant, external_id="keep-1", email="keep@example.com")
    retired = customer(tenant, external_id="old-1", email="old@example.com")
    gone = customer(tenant, external_id="gone-1", email="gone@example.com", card="GONE")
    merge_accounts(tenant.id, survivor.id, retired.id, owner.id)
    erase_account(tenant.id, gone.id, owner.id)

    response = client.get(f"{API}/account/old-1", headers=staff_api)
    assert response.status_code == 200
    assert response.get_json()["id"] == "keep-1"
    assert client.get(f"{API}/card/GONE/account", headers=staff_api).status_code == 404
    erased_id = db.session.get(Account, gone.id).external_id
    assert client.get(f"{API}/account/{erased_id}", headers=staff_api).status_code == 404
    assert ids_of(client.get(f"{API}/accounts", headers=staff_api)) == ["keep-1"]


def test_the_account_operations_need_su_or_loyalty(client, tenant):
    customer(tenant, external_id="ann-1", email="ann@example.com")
    stats_only = bearer(service_token(client, tenant, roles=("ROLE_LOYALTY_STATS",)), tenant)
    superuser = bearer(service_token(client, tenant, roles=("ROLE_SU",)), tenant)
    ann = db.session.query(Account).one()
    as_customer = bearer(customer_token(client, tenant, ann), tenant)
    urls = (
        "/accounts",
        "/accounts/count",
        "/account/ann-1",
        "/export/accounts",
        "/export/contacts",
    )
    for url in urls:
        assert client.get(API + url, headers=stats_only).status_code == 403, url
        assert client.get(API + url, headers=as_customer).status_code == 403, url
        assert client.get(API + url).status_code == 401, url
        assert client.get(API + url, headers=superuser).status_code == 200, url


def test_the_export_streams_csv_with_formulas_defused(client, tenant, staff_api):
    customer(tenant, external_id="ann-1", email="ann@example.com", first_name="=cmd|' /C calc'!A0")
    bob = customer(tenant, external_id="bob-1", phone="+32470000001", last_name="Smith, Jr")
    order(bob, "O-1", 1999)

    response = client.get(f"{API}/export/accounts", headers=staff_api)
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("id,card,email,phone,firstName,lastName")
    assert len(lines) == 3
    assert lines[1].startswith("ann-1,,ann@example.com,,'=cmd|")
    # A phone number starting with + is a plain number, not a formula: kept as it is.
    assert lines[2].startswith('bob-1,,,+32470000001,,"Smith, Jr"')
    assert ",1,1999,19," in lines[2]  # orders, spent (minor units), points

    filtered = client.get(f"{API}/export/accounts?q=bob-1", headers=staff_api)
    assert len(filtered.get_data(as_text=True).splitlines()) == 2


def test_an_export_reads_its_accounts_batch_by_batch_in_id_order(tenant):
    made = [customer(tenant, external_id=f"acc-{n}", email=f"c{n}@x.com").id for n in range(5)]
    batches = list(account_batches(tenant.id, AccountFilter(), utcnow(), batch=2))
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert [account.id for batch in batches for account in batch] == made


@pytest.mark.parametrize("accept", ["application/x-ndjson", "application/jsonl"])
def test_the_export_answers_json_lines_when_asked(client, tenant, staff_api, accept):
    customer(tenant, external_id="ann-1", email="ann@example.com", first_name="=cmd")
    customer(tenant, external_id="bob-1", email="bob@example.com")

    response = client.get(f"{API}/export/accounts", headers={**staff_api, "Accept": accept})
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == accept
    rows = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [row["id"] for row in rows] == ["ann-1", "bob-1"]
    assert rows[0]["header"]["firstName"] == "=cmd"  # JSON is not a spreadsheet
    assert rows[0] == client.get(f"{API}/account/ann-1", headers=staff_api).get_json()


def test_the_export_refuses_a_format_it_cannot_give(client, tenant, staff_api):
    response = client.get(
        f"{API}/export/accounts", headers={**staff_api, "Accept": "application/xml"}
    )
    assert response.status_code == 406
    assert response.get_json()["error"] == "not_acceptable"


def test_the_contact_export_lists_only_accounts_that_agreed_to_marketing(client, tenant, staff_api):
    customer(
        tenant,
        external_id="ann-1",
        card="C1",
        email="ann@example.com",
        first_name="Ann",
        last_name="Rossi",
        marketing_consent=True,
    )
    customer(tenant, external_id="bob-1", email="bob@example.com", marketing_consent=False)
    customer(
        tenant,
        external_id="cid-1",
        phone="+32470000002",
        first_name="@SUM(A1)",
        marketing_consent=True,
    )

    response = client.get(f"{API}/export/contacts", headers=staff_api)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.get_data(as_text=True).splitlines() == [
        "id,card,name,email,phone,consents",
        "ann-1,C1,Ann Rossi,ann@example.com,,marketing",
        "cid-1,,'@SUM(A1),,+32470000002,marketing",
    ]


def test_a_marketing_consent_shows_when_it_was_given_not_when_the_account_last_changed(
    client, tenant, staff_api
):
    given_at = utcnow() - timedelta(days=40)
    ann = create_account(
        tenant.id,
        Profile(external_id="ann-1", email="ann@example.com", marketing_consent=True),
        now=given_at,
    )
    set_tags_and_properties(tenant.id, ann.id, ["vip"], {})
    update_profile(
        tenant.id,
        ann.id,
        Profile(email="ann@example.com", first_name="Ann", marketing_consent=True),
    )

    shown = client.get(f"{API}/account/ann-1", headers=staff_api).get_json()
    assert shown["consents"]["consents"]["marketing"] == to_iso(given_at)

    update_profile(tenant.id, ann.id, Profile(email="ann@example.com", marketing_consent=False))
    shown = client.get(f"{API}/account/ann-1", headers=staff_api).get_json()
    assert "marketing" not in shown["consents"]["consents"]


def test_an_unknown_id_or_card_says_so_rather_than_blaming_the_url(client, tenant, staff_api):
    by_id = client.get(f"{API}/account/nobody-1", headers=staff_api)
    by_card = client.get(f"{API}/card/NO-CARD/account", headers=staff_api)
    assert (by_id.status_code, by_id.get_json()["field"]) == (404, "account")
    assert (by_card.status_code, by_card.get_json()["field"]) == (404, "card")
    assert "this id" in by_id.get_json()["message"]
    assert "this card" in by_card.get_json()["message"]
