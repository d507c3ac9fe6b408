"""Earning rules end to end: signed Deliverect order webhooks earn by each kind of rule, the
earn entry says which rule gave what, and a cancel takes back exactly that (both databases)."""

from __future__ import annotations

import pytest

from loyalty.extensions import db
from loyalty.models import Account, LedgerEntry, Order
from loyalty.services.checkout.orders import credit_held_order
from loyalty.services.setup.earning import (
    RuleDetails,
    add_rule,
    delete_rule,
    rule_rows,
    update_rule,
)
from loyalty.services.wallet.ledger import ledger_sum
from loyalty.time import utcnow
from tests.support.deliverect import add_reward, add_tier, checkout_customer, item, order_body


@pytest.fixture()
def customer(tenant):
    return checkout_customer(tenant, 0, first_name="Jane", email="jane@x.com")


def spend_rule(tenant):
    return rule_rows(tenant.id)[0]


def place(deliverect, customer, order_id: str, payment: int, items=None, **extra) -> dict:
    body = order_body(customer, order_id, payment=payment, **extra)
    if items is not None:
        body["items"] = items
    response = deliverect.post("/orders", body, with_ids=True)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def cancel(deliverect, order_id: str) -> None:
    response = deliverect.post("/orders/cancel", {"orderId": order_id}, with_ids=True)
    assert response.status_code == 200, response.get_json()


def earn_entry(order_id: str) -> LedgerEntry:
    order = db.session.query(Order).filter_by(external_id=order_id).one()
    return db.session.query(LedgerEntry).filter_by(order_id=order.id, kind="earn").one()


def parts(entry: LedgerEntry) -> list[tuple[str, int]]:
    return [(part["label"], part["points"]) for part in entry.breakdown]


def balance(customer) -> int:
    account = db.session.get(Account, customer.id, populate_existing=True)
    assert account.points_balance == ledger_sum(account.id, "points")
    return account.points_balance


def test_a_new_restaurant_earns_a_point_per_whole_unit_and_says_so(deliverect, customer):
    assert place(deliverect, customer, "A1", 2599, tip=500, driverTip=100)["pointsEarned"] == 19
    assert parts(earn_entry("A1")) == [("spend", 19)]
    order = db.session.query(Order).one()
    assert order.earning_breakdown == earn_entry("A1").breakdown


def test_fees_earn_nothing(deliverect, customer):
    assert (
        place(deliverect, customer, "F1", 2999, deliveryCost=250, bagFee=49)["pointsEarned"] == 27
    )


def test_a_fractional_spend_rate_floors_the_whole_order(deliverect, customer, tenant):
    update_rule(
        tenant.id, spend_rule(tenant).id, RuleDetails("spend", "spend", points=1, per_amount=250)
    )
    assert place(deliverect, customer, "S1", 999)["pointsEarned"] == 3


def test_a_visit_pays_once_a_day_in_the_restaurants_time_zone(deliverect, customer, tenant):
    tenant.time_zone = "Pacific/Auckland"  # UTC+13 in January
    db.session.commit()
    add_rule(tenant.id, RuleDetails("visit", "visit", points=5, min_amount=1000, per_day=1))
    first = place(deliverect, customer, "V1", 1200, created="2025-01-01T09:00:00Z")
    split = place(deliverect, customer, "V2", 1200, created="2025-01-01T10:30:00Z")
    small = place(deliverect, customer, "V3", 900, created="2025-01-01T11:30:00Z")
    next_day = place(deliverect, customer, "V4", 1200, created="2025-01-01T11:00:01Z")
    assert [first["pointsEarned"], split["pointsEarned"], small["pointsEarned"]] == [17, 12, 9]
    # 11:00 UTC is midnight in Auckland: V3 and V4 are on the next local day, and V3 paid
    # too little to count as a visit.
    assert next_day["pointsEarned"] == 17
    assert parts(earn_entry("V1")) == [("spend", 12), ("visit", 5)]


def test_a_cancelled_visit_frees_the_day_for_the_next_order(deliverect, customer, tenant):
    add_rule(tenant.id, RuleDetails("visit", "visit", points=5, per_day=1))
    place(deliverect, customer, "C1", 1000)
    cancel(deliverect, "C1")
    assert (
        place(deliverect, customer, "C2", 1000, created="2025-01-01T13:00:00Z")["pointsEarned"]
        == 15
    )


def test_stamps_count_units_and_modifiers_of_chosen_plus_but_not_reward_lines(
    deliverect, customer, tenant
):
    add_rule(tenant.id, RuleDetails("item", "stamps", points=1, plus="COFFEE SHOT"))
    add_reward(tenant, "9", "free_item", 0, item_plu="COFFEE", title="Free coffee")
    coffee = item("COFFEE", 250, quantity=3)
    coffee["subItems"] = [item("SHOT", 50, quantity=2)]
    items = [coffee, item("CAKE", 400)]
    discounts = [{"programId": "9", "type": "free_item", "amount": 350}]
    answer = place(deliverect, customer, "I1", 1050, items=items, discounts=discounts)
    # 3 coffees (one free: 2 stamps) + 6 shots = 8 stamps; 10.50 paid = 10 points
    assert answer["pointsEarned"] == 18
    assert parts(earn_entry("I1")) == [("spend", 10), ("stamps", 8)]


def test_a_bonus_time_doubles_spend_in_the_restaurants_time_with_a_cap(
    deliverect, customer, tenant
):
    tenant.time_zone = "Europe/Brussels"  # UTC+1 in January
    db.session.commit()
    add_rule(
        tenant.id,
        RuleDetails(
            "bonus",
            "Tuesday tea time",
            multiplier_percent=200,
            weekdays=(1,),
            starts_at=15 * 60,
            ends_at=17 * 60,
            cap=30,
        ),
    )
    # 2024-12-31 is a Tuesday: 14:30 UTC is 15:30 in Brussels.
    assert (
        place(deliverect, customer, "B1", 2000, created="2024-12-31T14:30:00Z")["pointsEarned"]
        == 40
    )
    assert (
        place(deliverect, customer, "B2", 2000, created="2024-12-31T13:30:00Z")["pointsEarned"]
        == 20
    )
    assert (
        place(deliverect, customer, "B3", 9000, created="2024-12-31T15:00:00Z")["pointsEarned"]
        == 90 + 30
    )
    assert parts(earn_entry("B1")) == [("spend", 20), ("Tuesday tea time", 20)]


def test_a_bonus_item_multiplies_only_its_lines_and_adds_to_the_tier(deliverect, customer, tenant):
    add_tier(tenant, "Gold", 0, 150)
    add_rule(tenant.id, RuleDetails("bonus", "new pizza", multiplier_percent=300, plus="PIZ-NEW"))
    items = [item("PIZ-NEW", 1200), item("COLA", 300)]
    assert place(deliverect, customer, "P1", 1500, items=items)["pointsEarned"] == 15 + 7 + 24
    assert parts(earn_entry("P1")) == [("spend", 15), ("Gold tier", 7), ("new pizza", 24)]


def test_cancel_reverses_exactly_what_each_rule_gave(deliverect, customer, tenant):
    add_rule(tenant.id, RuleDetails("visit", "visit", points=5))
    add_rule(tenant.id, RuleDetails("item", "stamps", points=2, plus="COFFEE"))
    place(deliverect, customer, "X1", 1000, items=[item("COFFEE", 250, quantity=4)])
    assert balance(customer) == 10 + 5 + 8
    cancel(deliverect, "X1")
    reversal = db.session.query(LedgerEntry).filter_by(kind="reversal").one()
    assert reversal.amount == -23
    assert parts(reversal) == [("spend", -10), ("visit", -5), ("stamps", -8)]
    assert balance(customer) == 0
    assert db.session.get(Account, customer.id).lifetime_points == 0


def test_changing_the_rules_never_changes_points_already_earned(deliverect, customer, tenant):
    place(deliverect, customer, "R1", 1000)
    update_rule(
        tenant.id, spend_rule(tenant).id, RuleDetails("spend", "spend", points=5, per_amount=100)
    )
    assert earn_entry("R1").amount == 10
    place(deliverect, customer, "R2", 1000)
    assert earn_entry("R2").amount == 50
    cancel(deliverect, "R1")  # takes back the 10 it earned, not 50
    assert balance(customer) == 50


def test_a_held_order_credited_later_keeps_what_each_rule_gave(deliverect, customer, tenant, owner):
    tenant.max_points_per_order = 10
    db.session.commit()
    add_rule(tenant.id, RuleDetails("visit", "visit", points=5))
    place(deliverect, customer, "H1", 1000)
    order = db.session.query(Order).one()
    assert (order.review_status, order.points_withheld) == ("flagged", 15)
    credit_held_order(tenant.id, order.id, owner.id, utcnow())
    assert parts(earn_entry("H1")) == [("spend", 10), ("visit", 5)]
    assert balance(customer) == 15


def test_an_order_after_a_rule_change_earns_by_the_new_rule(deliverect, customer, tenant):
    """The earning rules are cached with the catalogue: every change must reach the next order,
    whichever worker (here: the same process, with the old rules already cached) records it."""
    assert place(deliverect, customer, "R1", 2000)["pointsEarned"] == 20
    update_rule(
        tenant.id, spend_rule(tenant).id, RuleDetails("spend", "spend", points=3, per_amount=100)
    )
    assert place(deliverect, customer, "R2", 2000)["pointsEarned"] == 60
    extra = add_rule(tenant.id, RuleDetails("visit", "visit", points=5, per_day=None))
    assert place(deliverect, customer, "R3", 2000)["pointsEarned"] == 65
    delete_rule(tenant.id, extra.id)
    assert place(deliverect, customer, "R4", 2000)["pointsEarned"] == 60
