"""Loyalty programs and their validation (seeds 001, 003): listing, holds, revalidation."""

from datetime import timedelta

import pytest

from loyalty.extensions import db
from loyalty.models import Account, Hold, utcnow
from tests.support.deliverect import (
    Deliverect,
    add_reward,
    basket_order,
    checkout_customer,
    item,
)
from tests.support.seeds import SEED_001_ORDER, SEED_003_BURGER_ORDER

LEGACY_AND_CURRENT = {
    "programId",
    "title",
    "description",
    "type",
    "applicable",
    "cost",
    "discount",
    "itemPLU",
    "quantity",
    "minOrderValue",
    "expiresAt",
    "media",
}


@pytest.fixture()
def customer(tenant):
    return checkout_customer(
        tenant, 300, first_name="John", email="loyalty@customer.com", phone="+31201234567"
    )


@pytest.fixture()
def rewards(tenant):
    return {
        "off": add_reward(tenant, "1", "discount_amount", 100, 200, min_order_value=1000),
        "free": add_reward(tenant, "2", "free_item", 500, item_plu="DRN-01"),
        "bogo": add_reward(tenant, "3", "buy_one_get_one_free", 100, item_plu="DRN-02"),
        "half": add_reward(tenant, "4", "discount_percentage", 200, 5000),
        "coke": add_reward(tenant, "5", "item_fixed_price", 150, 100, item_plu="COKE"),
    }


def test_seed_001_lists_programs_for_the_basket(client, tenant, customer, rewards):
    Deliverect(client, tenant, account_id="6403c0b9ea6956b6f6970c5b").register()
    seed_001 = {"order": SEED_001_ORDER}
    response = Deliverect(client, tenant, account_id="x").post("/programs", seed_001)
    assert response.status_code == 200, response.get_json()
    programs = response.get_json()
    assert [p["programId"] for p in programs] == ["1", "2", "3", "4", "5"]
    assert all(set(p) == LEGACY_AND_CURRENT for p in programs)
    applicable = {p["programId"]: p["applicable"] for p in programs}
    # 300 points: the free item (500) is out of reach; no DRN-02 or COKE in the basket.
    assert applicable == {"1": True, "2": False, "3": False, "4": True, "5": False}
    assert "reason" not in programs[0]
    off = programs[0]
    assert (off["cost"], off["discount"], off["minOrderValue"], off["type"]) == (
        100,
        200,
        1000,
        "discount_amount",
    )


def test_seed_003_case_1_customer_only_lists_what_the_customer_can_reach(
    deliverect, customer, rewards
):
    body = {
        "sessionId": "mysessionId123",
        "programIds": [],
        "order": {
            "customer": {
                "name": "John Doe",
                "email": "john@x.com",
                "phoneNumber": "+32121212121",
                "loyaltyProviderCustomerId": customer.external_id,
            },
            "orderType": 2,
            "items": [],
        },
    }
    programs = deliverect.post("/programs", body, with_ids=True).get_json()
    applicable = {p["programId"]: p["applicable"] for p in programs}
    # Without a basket only points, dates and tier count: items and minimum order do not.
    assert applicable == {"1": True, "2": False, "3": True, "4": True, "5": True}


def test_seed_003_case_2_basket_decides_applicability(deliverect, customer, rewards):
    body = {
        "sessionId": "mysessionId123",
        "order": {
            "customer": {"loyaltyProviderCustomerId": customer.external_id},
            **SEED_003_BURGER_ORDER,
        },
    }
    programs = deliverect.post("/programs", body, with_ids=True).get_json()
    applicable = {p["programId"]: p["applicable"] for p in programs}
    assert applicable == {"1": True, "2": False, "3": False, "4": True, "5": False}


def test_programs_without_rewards_is_an_empty_list(deliverect, customer):
    body = {"order": basket_order(customer.external_id, [])}
    assert deliverect.post("/programs", body, with_ids=True).get_json() == []


def test_reason_for_the_team_is_logged_not_sent(deliverect, customer, rewards):
    from loyalty.models import WebhookCall

    deliverect.post("/programs", {"order": basket_order(customer.external_id, [])}, with_ids=True)
    call = db.session.query(WebhookCall).filter_by(endpoint="programs").one()
    assert "program 2: needs 500 points, customer has 300" in call.error


def validate(deliverect, customer, program_ids, items, discounts=None, session="s1"):
    body = {
        "sessionId": session,
        "programIds": program_ids,
        "order": basket_order(customer.external_id, items, discounts),
    }
    response = deliverect.post("/programs/validate", body, with_ids=True)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_validate_answers_one_object_per_program_in_offer_scope_form(deliverect, customer, rewards):
    answer = validate(deliverect, customer, ["1", "99"], [item("BURGER", 1500)])
    assert answer == [
        {
            "programId": "1",
            "validationErrors": [],
            "discounts": [
                {
                    "provider": "loyalty",
                    "externalId": "program_1",
                    "offer": {"type": "flat_off", "value": 200},
                    "scope": {"type": "order"},
                }
            ],
            "validationError": None,
        },
        {
            "programId": "99",
            "validationErrors": [{"message": "Program not found"}],
            "discounts": [],
            "validationError": {"message": "Program not found"},
        },
    ]


def test_validation_holds_the_points_for_the_session(deliverect, customer, rewards):
    validate(deliverect, customer, ["4"], [item("BURGER", 1500)])
    hold = db.session.query(Hold).one()
    assert (hold.session_id, hold.points, hold.status) == ("s1", 200, "held")
    # Another basket of the same customer now sees only 100 points free.
    other = validate(deliverect, customer, ["4"], [item("BURGER", 1500)], session="s2")
    assert other[0]["validationErrors"] == [{"message": "Not enough points"}]
    wallet = deliverect.get("/customer/wallet", providerId=customer.external_id).get_json()
    assert wallet["points"]["balance"] == 100


def test_revalidation_returns_no_second_discount_and_keeps_one_hold(deliverect, customer, rewards):
    validate(deliverect, customer, ["1"], [item("BURGER", 1500)])
    applied = [{"programId": "1", "type": "discount_amount", "amount": 200}]
    again = validate(deliverect, customer, ["1"], [item("BURGER", 1500)], applied)
    assert again[0]["validationErrors"] == [] and again[0]["discounts"] == []
    assert db.session.query(Hold).filter_by(status="held").count() == 1


def test_removing_a_program_releases_its_hold(deliverect, customer, rewards):
    validate(deliverect, customer, ["1"], [item("BURGER", 1500)])
    applied = [{"programId": "1", "type": "discount_amount", "amount": 200}]
    answer = validate(deliverect, customer, ["4"], [item("BURGER", 1500)], applied)
    assert [a["programId"] for a in answer] == ["4"]
    held = {h.reward.program_id: h.status for h in db.session.query(Hold).all()}
    assert held == {"1": "released", "4": "held"}


def test_expired_holds_free_their_points(app, deliverect, customer, rewards):
    validate(deliverect, customer, ["4"], [item("BURGER", 1500)])
    hold = db.session.query(Hold).one()
    hold.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    other = validate(deliverect, customer, ["4"], [item("BURGER", 1500)], session="s2")
    assert other[0]["validationErrors"] == []


def test_validate_for_an_unknown_customer_answers_errors_per_program(deliverect, rewards):
    body = {
        "sessionId": "s",
        "programIds": ["1"],
        "order": basket_order("nobody", [item("A", 5000)]),
    }
    answer = deliverect.post("/programs/validate", body, with_ids=True).get_json()
    assert answer[0]["validationErrors"] == [{"message": "Loyalty customer not found"}]
    assert db.session.query(Hold).count() == 0


def test_item_fixed_price_and_bogof_discounts(deliverect, customer, rewards):
    answer = validate(
        deliverect, customer, ["5", "3"], [item("COKE", 350), item("DRN-02", 400, quantity=2)]
    )
    assert answer[0]["discounts"] == [
        {
            "provider": "loyalty",
            "externalId": "program_5",
            "offer": {"type": "fixed_amount", "value": 100},
            "scope": {"type": "item", "lineIndex": 0},
        }
    ]
    assert answer[1]["discounts"][0]["offer"] == {"type": "free", "quantity": 1}
    assert answer[1]["discounts"][0]["scope"] == {"type": "item", "lineIndex": 1}


def test_validate_with_a_bad_item_price_names_the_field_and_holds_nothing(
    deliverect, customer, rewards
):
    body = {
        "sessionId": "s",
        "programIds": ["1"],
        "order": basket_order(customer.external_id, [{"plu": "A", "price": "12", "quantity": 1}]),
    }
    response = deliverect.post("/programs/validate", body, with_ids=True)
    assert response.status_code == 400
    assert response.get_json()["description"].startswith("order.items[0].price")
    assert db.session.query(Hold).count() == 0
    assert db.session.get(Account, customer.id).points_balance == 300
