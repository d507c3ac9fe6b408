"""Campaign coupons as Deliverect programs: listed free, validated with a session lock, used by
the order that names them, and never confused with a reward's program id."""

import pytest

from loyalty.extensions import db
from loyalty.models import Coupon, WebhookCall
from loyalty.services.campaigns.coupons import lock_coupon
from loyalty.time import utcnow
from tests.support.accounts import customer
from tests.support.campaigns import coupons_of, running
from tests.support.deliverect import (
    add_reward,
    answers,
    basket_order,
    item,
    order_body,
    registered_tenant,
    run_together,
)

COUPONS = {
    "AMOUNT": {"couponType": "AMOUNT", "value": 500, "title": "5.00 off", "codePrefix": "AMT"},
    "PERCENT": {"couponType": "PERCENT", "value": 12.5, "title": "12.5 % off", "codePrefix": "PCT"},
    "PRODUCT": {"couponType": "PRODUCT", "product": "TIRAMISU", "title": "Free tiramisu"},
}


def one_coupon_campaign(key: str, coupon: dict) -> dict:
    return {
        "id": key,
        "type": "STANDARD",
        "name": f"Campaign {key}",
        "constraints": [{"field": "counters.orders", "op": "LT", "value": ["100"]}],
        "states": [
            {"id": "gift", "type": "COUPON", "validDays": 30, "description": "On us", **coupon}
        ],
        "dynamic": False,
        "notifications": [],
    }


@pytest.fixture()
def jane(tenant):
    return customer(tenant, external_id="jane-1", email="jane@x.com", first_name="Jane")


def issue(tenant, jane, *kinds: str) -> dict[str, Coupon]:
    """Jane's coupon of each kind, one campaign each."""
    for kind in kinds:
        running(tenant, one_coupon_campaign(kind.lower(), COUPONS[kind]), utcnow())
    return {coupon.coupon_type: coupon for coupon in coupons_of(jane)}


def listing(deliverect, account, items=(), session="s1") -> dict[str, dict]:
    body = {"sessionId": session, "order": basket_order(account.external_id, list(items))}
    response = deliverect.post("/programs", body, with_ids=True)
    assert response.status_code == 200, response.get_json()
    return {program["programId"]: program for program in response.get_json()}


def validate(deliverect, account, program_ids, items=(), session="s1", discounts=None) -> dict:
    body = {
        "sessionId": session,
        "programIds": list(program_ids),
        "order": basket_order(account.external_id, list(items), discounts),
    }
    response = deliverect.post("/programs/validate", body, with_ids=True)
    assert response.status_code == 200, response.get_json()
    return {answer["programId"]: answer for answer in response.get_json()}


def status(coupon: Coupon) -> tuple[str, str | None]:
    row = db.session.get(Coupon, coupon.id, populate_existing=True)
    return row.status, row.lock_session


def test_each_active_coupon_is_listed_as_a_free_program_of_its_type(deliverect, tenant, jane):
    coupons = issue(tenant, jane, "AMOUNT", "PERCENT", "PRODUCT")
    programs = listing(deliverect, jane)
    amount = programs[coupons["AMOUNT"].code]
    assert {k: amount[k] for k in ("title", "description", "type", "cost", "discount")} == {
        "title": "5.00 off",
        "description": "On us",
        "type": "discount_amount",
        "cost": 0,
        "discount": 500,
    }
    assert amount["applicable"] is True and amount["expiresAt"].startswith(
        coupons["AMOUNT"].valid_to.strftime("%Y-%m-%dT%H:%M")
    )
    # Percentages travel as hundredths of a percent, like a percentage reward's discount.
    percent = programs[coupons["PERCENT"].code]
    assert (percent["type"], percent["discount"], percent["cost"]) == (
        "discount_percentage",
        1250,
        0,
    )
    product = programs[coupons["PRODUCT"].code]
    assert (product["type"], product["itemPLU"], product["cost"]) == ("free_item", "TIRAMISU", 0)
    assert set(amount) == set(product)


def test_a_coupon_is_applicable_by_the_basket_rules_of_rewards(deliverect, tenant, jane):
    coupons = issue(tenant, jane, "AMOUNT", "PRODUCT")
    add_reward(tenant, "1", "discount_amount", 0, 500)
    add_reward(tenant, "2", "free_item", 0, item_plu="TIRAMISU")
    # A basket whose items cost nothing: nothing to take 5.00 off, as for the reward.
    programs = listing(deliverect, jane, [item("WATER", 0)])
    assert programs[coupons["AMOUNT"].code]["applicable"] is programs["1"]["applicable"] is False
    # A free item goes out as a product discount (the POS adds it), as the reward does.
    assert programs[coupons["PRODUCT"].code]["applicable"] is programs["2"]["applicable"] is True
    call = db.session.query(WebhookCall).filter_by(endpoint="programs").one()
    assert f"program {coupons['AMOUNT'].code}: nothing to discount" in call.error


def test_validation_locks_the_coupon_for_the_session_and_answers_its_discount(
    deliverect, tenant, jane
):
    coupon = issue(tenant, jane, "AMOUNT")["AMOUNT"]
    basket = [item("PIZZA", 1200)]
    answer = validate(deliverect, jane, [coupon.code], basket)[coupon.code]
    assert answer["validationErrors"] == [] and answer["validationError"] is None
    assert answer["discounts"] == [
        {
            "provider": "loyalty",
            "externalId": f"program_{coupon.code}",
            "offer": {"type": "flat_off", "value": 500},
            "scope": {"type": "order"},
        }
    ]
    assert status(coupon) == ("LOCKED", "s1")
    # The same session again: fine, and still listed to it; another session is refused.
    assert validate(deliverect, jane, [coupon.code], basket)[coupon.code]["validationErrors"] == []
    assert coupon.code in listing(deliverect, jane, basket, session="s1")
    assert coupon.code not in listing(deliverect, jane, basket, session="s2")
    refused = validate(deliverect, jane, [coupon.code], basket, session="s2")[coupon.code]
    assert refused["validationErrors"] == [{"message": "Coupon is being used in another order"}]
    assert refused["validationError"] == refused["validationErrors"][0]
    assert refused["discounts"] == []
    assert status(coupon) == ("LOCKED", "s1")


def test_a_coupon_locked_at_a_till_is_refused_at_checkout(deliverect, tenant, jane):
    coupon = issue(tenant, jane, "PERCENT")["PERCENT"]
    assert lock_coupon(tenant.id, coupon.code).valid
    refused = validate(deliverect, jane, [coupon.code], [item("PIZZA", 1200)])[coupon.code]
    assert refused["validationErrors"] == [{"message": "Coupon is being used in another order"}]
    assert status(coupon) == ("LOCKED", None)


def test_a_coupon_removed_from_the_basket_is_unlocked(deliverect, tenant, jane):
    coupon = issue(tenant, jane, "AMOUNT")["AMOUNT"]
    basket = [item("PIZZA", 1200)]
    validate(deliverect, jane, [coupon.code], basket)
    applied = [{"programId": coupon.code, "amount": 500}]
    # Revalidation: already applied, confirmed without applying it twice.
    again = validate(deliverect, jane, [coupon.code], basket, discounts=applied)[coupon.code]
    assert (again["validationErrors"], again["discounts"]) == ([], [])
    assert status(coupon) == ("LOCKED", "s1")
    assert validate(deliverect, jane, [], basket, discounts=applied) == {}
    assert status(coupon) == ("ACTIVE", None)


def test_a_coupon_that_cannot_discount_the_basket_is_refused_and_left_unlocked(
    deliverect, tenant, jane
):
    coupon = issue(tenant, jane, "AMOUNT")["AMOUNT"]
    refused = validate(deliverect, jane, [coupon.code], [item("WATER", 0)])[coupon.code]
    assert refused["validationErrors"] == [{"message": "Nothing to discount on this order"}]
    assert status(coupon) == ("ACTIVE", None)


def test_coupons_and_rewards_share_the_basket_without_taking_it_below_zero(
    deliverect, tenant, jane
):
    coupon = issue(tenant, jane, "AMOUNT")["AMOUNT"]
    add_reward(tenant, "7", "discount_amount", 0, 400)
    answers = validate(deliverect, jane, ["7", coupon.code], [item("SALAD", 700)])
    assert answers["7"]["discounts"][0]["offer"] == {"type": "flat_off", "value": 400}
    assert answers[coupon.code]["discounts"][0]["offer"] == {"type": "flat_off", "value": 300}


def test_another_customers_coupon_is_an_unknown_program(deliverect, tenant, jane):
    coupon = issue(tenant, jane, "AMOUNT")["AMOUNT"]
    john = customer(tenant, external_id="john-1", email="john@x.com")
    assert coupon.code not in listing(deliverect, john)
    refused = validate(deliverect, john, [coupon.code], [item("PIZZA", 1200)])[coupon.code]
    assert refused["validationErrors"] == [{"message": "Program not found"}]
    assert status(coupon) == ("ACTIVE", None)


def test_the_order_naming_the_coupon_uses_it_and_a_used_coupon_is_refused(deliverect, tenant, jane):
    coupon = issue(tenant, jane, "AMOUNT")["AMOUNT"]
    validate(deliverect, jane, [coupon.code], [item("P-0009", 1399)])
    body = order_body(jane, "O1", discounts=[{"programId": coupon.code, "amount": 500}])
    assert deliverect.post("/orders", {**body, "sessionId": "s1"}, with_ids=True).status_code == 200
    db.session.expire_all()
    assert status(coupon) == ("USED", None)
    assert coupon.code not in listing(deliverect, jane)
    refused = validate(deliverect, jane, [coupon.code], [item("PIZZA", 1200)], session="s9")
    assert refused[coupon.code]["validationErrors"] == [{"message": "Coupon already used"}]


def test_a_reward_whose_program_id_reads_as_a_code_wins_over_the_coupon(deliverect, tenant, jane):
    coupon = issue(tenant, jane, "AMOUNT")["AMOUNT"]
    add_reward(tenant, coupon.code.lower(), "discount_amount", 0, 100)
    programs = listing(deliverect, jane)
    assert coupon.code not in programs and coupon.code.lower() in programs
    refused = validate(deliverect, jane, [coupon.code], [item("PIZZA", 1200)])[coupon.code]
    assert refused["validationErrors"] == [{"message": "Program not found"}]
    assert status(coupon) == ("ACTIVE", None)


def test_two_checkouts_validating_one_coupon_at_once_one_wins(pg_app):
    tenant, _channel = registered_tenant(pg_app.test_client())
    jane = customer(tenant, external_id="jane-1", email="jane@x.com")
    coupon = issue(tenant, jane, "AMOUNT")["AMOUNT"]
    db.session.commit()

    def validate_in(session: str):
        body = {
            "sessionId": session,
            "programIds": [coupon.code],
            "order": basket_order("jane-1", [item("PIZZA", 1200)]),
        }
        return lambda channel: channel.post("/programs/validate", body, with_ids=True)

    results = answers(run_together(pg_app, tenant, [validate_in(f"s{n}") for n in range(6)]))
    assert {status for status, _body in results} == {200}
    errors = [body[0]["validationErrors"] for _status, body in results]
    assert errors.count([]) == 1
    assert errors.count([{"message": "Coupon is being used in another order"}]) == 5
    winner = f"s{errors.index([])}"
    assert status(coupon) == ("LOCKED", winner)
