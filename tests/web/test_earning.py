"""Settings → Earning: owners add, change and delete earning rules, refused inline when wrong,
and preview what a basket earns, with a rule being edited, before saving."""

from __future__ import annotations

import re

import pytest

from loyalty.extensions import db
from loyalty.models import EarningRule, LedgerEntry
from loyalty.services.checkout.orders import OrderReport, record_order
from loyalty.services.setup.earning import RuleDetails, add_rule, rule_rows
from loyalty.time import utcnow
from tests.support.deliverect import add_tier, checkout_customer
from tests.support.forms import errors_for


def rule_form(**overrides) -> dict:
    """The rule form as a browser posts it: a stamp card by default, nothing to preview."""
    return {
        "action": "save",
        "kind": "item",
        "name": "",
        "points": "1",
        "per_amount": "",
        "min_amount": "",
        "per_day": "1",
        "plus": "COFFEE",
        "multiplier": "",
        "starts_at": "",
        "ends_at": "",
        "cap": "",
        "basket": "",
        "order": "",
        "when": "",
        "tier": "",
    } | overrides


def bonus_form(name: str, multiplier: str, **overrides) -> dict:
    """The rule form for a bonus time: a multiplier, no points of its own, no items."""
    return rule_form(
        kind="bonus", name=name, points="", plus="", multiplier=multiplier, **overrides
    )


def preview_rows(response) -> list[tuple[str, str]]:
    page = response.get_data(as_text=True)
    section = re.search(r'<section class="card" id="preview".*?</section>', page, re.S)
    assert section, "no preview on the page"
    rows = re.findall(r"<tr><td>(.*?)</td><td class=\"num\">(.*?)</td></tr>", section[0])
    return [(re.sub(r"\s*<span.*?</span>", " (draft)", label), points) for label, points in rows]


def test_the_page_lists_the_rules_in_the_teams_words(owner_client, tenant):
    add_rule(tenant.id, RuleDetails("visit", "visit", points=5, min_amount=1000))
    add_rule(
        tenant.id,
        RuleDetails(
            "bonus", "teatime", multiplier_percent=200, weekdays=(1,), starts_at=900, ends_at=1020
        ),
    )
    page = owner_client.get("/settings/earning").get_data(as_text=True)
    assert "1 point for each 1.00 spent" in page
    assert "5 points a visit of at least 10.00" in page
    assert "×2 on the whole order, Tue, 15:00–17:00" in page


def test_the_settings_page_links_to_earning(owner_client):
    assert 'href="/settings/earning"' in owner_client.get("/settings/").get_data(as_text=True)


def test_staff_cannot_open_or_change_the_earning_rules(staff_client, tenant):
    rule = rule_rows(tenant.id)[0]
    assert staff_client.get("/settings/earning").status_code == 403
    assert staff_client.post("/settings/earning", data=rule_form()).status_code == 403
    assert staff_client.post(f"/settings/earning/{rule.id}/delete").status_code == 403
    assert staff_client.post("/settings/earning/preview", data={"basket": "A 1 1"}).status_code == (
        403
    )


def test_owner_adds_a_stamp_card(owner_client, tenant):
    response = owner_client.post(
        "/settings/earning", data=rule_form(name="coffee stamps", plus="COFFEE, LATTE")
    )
    assert response.status_code == 303
    stamps = rule_rows(tenant.id)[-1]
    assert (stamps.kind, stamps.name, stamps.points, stamps.plus) == (
        "item",
        "coffee stamps",
        1,
        ["COFFEE", "LATTE"],
    )
    assert "saved" in owner_client.get("/settings/earning").get_data(as_text=True)


def test_owner_adds_a_fractional_spend_rule_typed_as_money(owner_client, tenant):
    owner_client.post(
        "/settings/earning", data=rule_form(kind="spend", points="1", per_amount="2.50", plus="")
    )
    assert rule_rows(tenant.id)[-1].per_amount == 250


def test_owner_adds_a_bonus_time(owner_client, tenant):
    response = owner_client.post(
        "/settings/earning",
        data=bonus_form(
            "tea time", "1.5", weekdays=["1", "3"], starts_at="15:00", ends_at="00:00", cap="40"
        ),
    )
    assert response.status_code == 303
    bonus = rule_rows(tenant.id)[-1]
    assert (bonus.multiplier_percent, bonus.weekdays, bonus.starts_at, bonus.ends_at) == (
        150,
        [1, 3],
        900,
        1440,  # until midnight
    )
    assert bonus.cap == 40


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"plus": ""}, "plus", "enter the PLU of at least one item that earns stamps"),
        ({"points": "0"}, "points", "must be from 1 to 10,000"),
        ({"kind": "spend", "per_amount": "2.505"}, "per_amount", "use at most 2 decimal places"),
        ({"kind": "spend", "per_amount": ""}, "per_amount", "must be from 1 to 100,000,000"),
        ({"kind": "visit", "per_day": "0"}, "per_day", "must be from 1 to 100"),
        (
            {"kind": "bonus", "multiplier": "1"},
            "multiplier",
            "enter a multiplier above 1 and at most 10, such as 2",
        ),
        ({"kind": "bonus", "multiplier": "two"}, "multiplier", "enter a number such as 2"),
    ],
)
def test_a_wrong_rule_is_refused_beside_its_field(owner_client, tenant, form, field, message):
    response = owner_client.post("/settings/earning", data=rule_form(**form))
    assert response.status_code == 422
    assert errors_for(response, field) == [message]
    assert len(rule_rows(tenant.id)) == 1


def test_owner_changes_a_rule_and_earned_points_stay(owner_client, tenant):
    jane = checkout_customer(tenant, 0, first_name="Jane", email="jane@x.com")
    record_order(tenant, OrderReport("O-1", jane.id, payment_amount=1000), utcnow())
    spend = rule_rows(tenant.id)[0]
    page = owner_client.get(f"/settings/earning/{spend.id}").get_data(as_text=True)
    assert 'value="1.00"' in page  # the step, as money
    response = owner_client.post(
        f"/settings/earning/{spend.id}",
        data=rule_form(kind="spend", name="spend", points="3", per_amount="1.00", plus=""),
    )
    assert response.status_code == 303
    assert db.session.get(EarningRule, spend.id).points == 3
    earn = db.session.query(LedgerEntry).filter_by(kind="earn").one()
    assert (earn.amount, earn.breakdown[0]["points"]) == (10, 10)


def test_owner_deletes_a_rule(owner_client, tenant):
    spend = rule_rows(tenant.id)[0]
    assert owner_client.post(f"/settings/earning/{spend.id}/delete").status_code == 303
    assert rule_rows(tenant.id) == []
    page = owner_client.get("/settings/earning").get_data(as_text=True)
    assert "orders earn no points" in page


def test_another_restaurants_rule_is_not_found(owner_client, other_tenant):
    theirs = rule_rows(other_tenant.id)[0]
    assert owner_client.get(f"/settings/earning/{theirs.id}").status_code == 404
    assert owner_client.post(f"/settings/earning/{theirs.id}/delete").status_code == 404
    assert rule_rows(other_tenant.id)


def test_the_preview_shows_each_rule_and_the_total_of_a_typed_basket(owner_client, tenant):
    add_rule(tenant.id, RuleDetails("item", "stamps", points=1, plus="COFFEE"))
    response = owner_client.post(
        "/settings/earning/preview",
        data={"saved-basket": "COFFEE 2 2.50\nCAKE 1 4.00", "saved-when": "2026-12-01T16:00"},
    )
    assert response.status_code == 200
    assert preview_rows(response) == [("spend", "9"), ("stamps", "2")]
    assert "This basket earns 11 points" in response.get_data(as_text=True)


def test_the_preview_tries_a_rule_before_it_is_saved(owner_client, tenant):
    gold = add_tier(tenant, "Gold", 0, 150)
    response = owner_client.post(
        "/settings/earning",
        data=bonus_form(
            "tuesday",
            "2",
            action="preview",
            weekdays=["1"],
            basket="PIZZA 1 10.00",
            when="2026-12-01T16:00",
            tier=str(gold.id),
        ),
    )
    assert response.status_code == 200
    assert preview_rows(response)[:3] == [
        ("spend", "10"),
        ("Gold tier", "5"),
        ("tuesday (draft)", "10"),
    ]
    assert [rule.kind for rule in rule_rows(tenant.id)] == ["spend"]  # nothing saved


def test_the_preview_can_use_a_recent_order(owner_client, tenant):
    jane = checkout_customer(tenant, 0, first_name="Jane", email="jane@x.com")
    payload = {"items": [{"plu": "PIZZA", "price": 2000, "quantity": 1}], "paymentAmount": 2000}
    record_order(
        tenant, OrderReport("R-1", jane.id, payment_amount=2000, payload=payload), utcnow()
    )
    page = owner_client.get("/settings/earning").get_data(as_text=True)
    order_id = re.search(r'<option value="(\d+)">R-1 \(', page)[1]
    response = owner_client.post("/settings/earning/preview", data={"saved-order": order_id})
    assert "This basket earns 20 points" in response.get_data(as_text=True)


def test_a_basket_the_preview_cannot_read_is_refused_beside_it(owner_client):
    response = owner_client.post("/settings/earning/preview", data={"saved-basket": "COFFEE two 1"})
    assert errors_for(response, "saved-basket") == ["line 1: the quantity is a whole number"]


def test_the_account_page_says_which_rules_gave_the_points(owner_client, tenant):
    add_rule(tenant.id, RuleDetails("visit", "visit", points=2))
    jane = checkout_customer(tenant, 0, first_name="Jane", email="jane@x.com")
    record_order(tenant, OrderReport("O-1", jane.id, payment_amount=1000), utcnow())
    page = owner_client.get(f"/accounts/{jane.id}").get_data(as_text=True)
    assert "12 = 10 spend + 2 visit" in page
