"""Points integrity: cancels never create points, adjustments cannot mint tiers, and an order
too large to be true is held for review instead of crediting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.extensions import db
from loyalty.models import Account, LedgerEntry, Order, utcnow
from loyalty.rules.tiers import tier_for
from loyalty.services.checkout.catalogue import tier_levels
from loyalty.services.checkout.customers import NewCustomer, create_customer
from loyalty.services.checkout.orders import OrderNotCredited, credit_held_order
from loyalty.services.setup.earning import RuleDetails, delete_rule, rule_rows, update_rule
from loyalty.services.setup.team import create_user
from loyalty.services.wallet.adjustments import adjust_points, new_adjustment_token
from loyalty.services.wallet.balances import wallet_for
from loyalty.services.wallet.expiry import expire_points
from loyalty.services.wallet.ledger import ledger_sum
from loyalty.validation import FieldErrors
from tests.support.app import PASSWORD, empty_all_tables
from tests.support.deliverect import (
    add_reward,
    add_tier,
    basket_order,
    item,
    order_body,
    registered_tenant,
)
from tests.support.forms import settings_form


@pytest.fixture()
def jane(tenant):
    return create_customer(tenant.id, NewCustomer(first_name="Jane", email="jane@x.com"))


def points(account) -> tuple[int, int, int]:
    """(balance, owed, lifetime) as stored now."""
    row = db.session.get(Account, account.id, populate_existing=True)
    return row.points_balance, row.points_debt, row.lifetime_points


def assert_ledger_matches(account) -> None:
    row = db.session.get(Account, account.id, populate_existing=True)
    assert row.points_balance == ledger_sum(row.id, "points") >= 0
    assert row.cash_balance == ledger_sum(row.id, "cash") >= 0
    assert row.points_debt == ledger_sum(row.id, "debt") >= 0
    assert row.points_debt == 0 or row.points_balance == 0  # credits pay the debt first


def cancel(deliverect, order_id: str):
    response = deliverect.post("/orders/cancel", {"orderId": order_id}, with_ids=True)
    assert response.status_code == 200, response.get_json()
    return response


def test_cancelling_an_order_whose_points_were_spent_then_the_order_that_spent_them_creates_nothing(
    deliverect, owner_client, tenant, jane
):
    add_reward(tenant, "R", "discount_amount", 250, 500, title="Free pizza")
    deliverect.post(
        "/orders", order_body(jane, "E", payment=30000, channelOrderDisplayId="E-1"), with_ids=True
    )
    validate = {
        "sessionId": "s1",
        "programIds": ["R"],
        "order": basket_order(jane.external_id, [item("P", 3000)]),
    }
    assert deliverect.post("/programs/validate", validate, with_ids=True).status_code == 200
    redeeming = order_body(
        jane,
        "R",
        discounts=[{"programId": "R", "amount": 500}],
        payment=2500,
        sessionId="s1",
        channelOrderDisplayId="R-1",
    )
    assert deliverect.post("/orders", redeeming, with_ids=True).get_json()["pointsSpent"] == 250
    assert points(jane) == (75, 0, 325)

    cancel(deliverect, "E")
    assert points(jane) == (0, 225, 25)  # 75 taken back, 225 owed, all 300 off lifetime
    assert_ledger_matches(jane)
    page = owner_client.get(f"/accounts/{jane.id}").get_data(as_text=True)
    assert "owes 225 points" in page and "order E-1 (225)" in page
    lookup = deliverect.get("/customer", providerId=jane.external_id).get_json()
    assert lookup["lifetimePointsBalance"] == 25

    cancel(deliverect, "R")  # the 250 refunded pay the 225 owed first
    assert points(jane) == (0, 0, 0)
    assert_ledger_matches(jane)
    assert "owes" not in owner_client.get(f"/accounts/{jane.id}").get_data(as_text=True)


def test_a_later_credit_pays_what_is_owed_first(deliverect, tenant, owner, jane):
    add_reward(tenant, "R", "discount_amount", 100, 500)
    deliverect.post("/orders", order_body(jane, "E", payment=10000), with_ids=True)
    spend = order_body(jane, "R", discounts=[{"programId": "R", "amount": 500}], payment=0)
    deliverect.post("/orders", spend, with_ids=True)
    cancel(deliverect, "E")
    assert points(jane) == (0, 100, 0)
    deliverect.post("/orders", order_body(jane, "N", payment=15000), with_ids=True)
    assert points(jane) == (50, 0, 150)
    assert_ledger_matches(jane)
    repaid = db.session.query(LedgerEntry).filter_by(kind="debt_repayment").all()
    assert sorted((entry.unit, entry.amount) for entry in repaid) == [
        ("debt", -100),
        ("points", -100),
    ]


def test_expiry_never_writes_off_owed_points_or_the_credit_that_repaid_them(
    deliverect, tenant, jane
):
    tenant.points_validity_days = 30
    db.session.commit()
    add_reward(tenant, "R", "discount_amount", 100, 500)
    deliverect.post("/orders", order_body(jane, "E", payment=10000), with_ids=True)
    spend = order_body(jane, "R", discounts=[{"programId": "R", "amount": 500}], payment=0)
    deliverect.post("/orders", spend, with_ids=True)
    cancel(deliverect, "E")
    deliverect.post("/orders", order_body(jane, "N", payment=25000), with_ids=True)
    assert points(jane) == (150, 0, 250)
    assert expire_points(utcnow() + timedelta(days=10)) == 0
    assert expire_points(utcnow() + timedelta(days=31)) == 150
    assert points(jane)[:2] == (0, 0)
    assert_ledger_matches(jane)


def test_adding_and_removing_a_million_points_mints_no_tier(deliverect, tenant, owner, jane):
    add_tier(tenant, "Gold", 100_000)
    adjust_points(tenant.id, jane.id, 1_000_000, "typo", owner.id, new_adjustment_token(), True)
    adjust_points(tenant.id, jane.id, -1_000_000, "undo", owner.id, new_adjustment_token(), True)
    assert points(jane) == (0, 0, 0)
    assert tier_for(0, tier_levels(tenant.id)) is None
    lookup = deliverect.get("/customer", providerId=jane.external_id).get_json()
    assert (lookup["lifetimePointsBalance"], lookup["tier"]) == (0, None)


def test_a_negative_adjustment_never_takes_lifetime_below_what_orders_earned(
    deliverect, tenant, owner, jane
):
    deliverect.post("/orders", order_body(jane, "E", payment=30000), with_ids=True)
    adjust_points(tenant.id, jane.id, 100, "birthday", owner.id, new_adjustment_token())
    adjust_points(tenant.id, jane.id, -350, "correction", owner.id, new_adjustment_token())
    assert points(jane) == (50, 0, 300)


def test_staff_cannot_adjust_more_than_the_limit_and_nothing_is_written(
    staff_client, owner, tenant, jane
):
    response = staff_client.post(
        f"/accounts/{jane.id}/adjust",
        data={"points": "1001", "reason": "big party", "token": new_adjustment_token()},
    )
    assert response.status_code == 422
    assert "Adjustments over 1,000 points need an owner." in response.get_data(as_text=True)
    assert db.session.query(LedgerEntry).count() == 0
    with pytest.raises(FieldErrors, match="need an owner"):
        adjust_points(tenant.id, jane.id, -1001, "x", owner.id, new_adjustment_token())
    ok = staff_client.post(
        f"/accounts/{jane.id}/adjust",
        data={"points": "1000", "reason": "party", "token": new_adjustment_token()},
    )
    assert ok.status_code == 303 and points(jane) == (1000, 0, 1000)


def test_an_owner_may_adjust_above_the_limit(client, auth, owner, jane):
    auth.login(owner.email)
    response = client.post(
        f"/accounts/{jane.id}/adjust",
        data={"points": "5000", "reason": "catering order", "token": new_adjustment_token()},
    )
    assert response.status_code == 303 and points(jane) == (5000, 0, 5000)


def test_an_order_over_the_points_cap_is_held_for_review_and_credits_nothing(
    deliverect, owner_client, tenant, owner, jane
):
    response = deliverect.post(
        "/orders", order_body(jane, "HUGER", payment=5_000_000), with_ids=True
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["orderId"], body["pointsEarned"], body["status"]) == ("HUGER", 0, "placed")
    assert points(jane) == (0, 0, 0)
    huger = db.session.query(Order).filter_by(external_id="HUGER").one()
    assert (huger.review_status, huger.points_earned, huger.points_withheld) == (
        "flagged",
        0,
        50_000,
    )
    assert "held for review" in owner_client.get(f"/accounts/{jane.id}").get_data(as_text=True)

    credit = owner_client.post(f"/accounts/{jane.id}/orders/{huger.id}/credit")
    assert credit.status_code == 303
    owner_client.post(f"/accounts/{jane.id}/orders/{huger.id}/credit")  # twice: credits once
    assert points(jane) == (50_000, 0, 50_000)
    assert_ledger_matches(jane)
    cancel(deliverect, "HUGER")
    assert points(jane) == (0, 0, 0)


def test_an_order_that_earns_more_than_the_cap_is_held_for_review(deliverect, tenant, jane):
    spend = rule_rows(tenant.id)[0]
    update_rule(tenant.id, spend.id, RuleDetails("spend", points=100, per_amount=100))
    deliverect.post("/orders", order_body(jane, "RICH", payment=20000), with_ids=True)
    order = db.session.query(Order).one()
    assert (order.review_status, order.points_earned, order.points_withheld) == (
        "flagged",
        0,
        20_000,
    )
    assert order.review_reason == "earns 20,000 points, over the 10,000 per order"
    assert points(jane) == (0, 0, 0)


def test_an_order_right_at_the_caps_credits_in_full(deliverect, tenant, jane):
    deliverect.post("/orders", order_body(jane, "OK", payment=1_000_000), with_ids=True)
    order = db.session.query(Order).one()
    assert (order.review_status, order.points_earned) == (None, 10_000)


def test_an_implausible_amount_is_held_for_review_even_when_points_are_paused(
    deliverect, tenant, jane
):
    delete_rule(tenant.id, rule_rows(tenant.id)[0].id)  # no earning rule: points paused
    tenant.max_order_amount = 50_000
    db.session.commit()
    deliverect.post("/orders", order_body(jane, "BIG", payment=50_001), with_ids=True)
    order = db.session.query(Order).one()
    assert order.review_status == "flagged" and "amount" in order.review_reason


def test_staff_cannot_credit_a_held_order(deliverect, staff_client, tenant, staff, jane):
    deliverect.post("/orders", order_body(jane, "HUGE", payment=5_000_000), with_ids=True)
    order = db.session.query(Order).one()
    assert staff_client.post(f"/accounts/{jane.id}/orders/{order.id}/credit").status_code == 403
    cancel(deliverect, "HUGE")
    with pytest.raises(OrderNotCredited):
        credit_held_order(tenant.id, order.id, staff.id, utcnow())
    assert points(jane) == (0, 0, 0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_points_per_order", "0", "must be from 1 to 100,000,000"),
        ("max_points_per_order", str(10**8 + 1), "must be from 1 to 100,000,000"),
        ("max_order_amount", "", "enter a whole number"),
        ("adjustment_owner_limit", "-5", "must be from 1 to 10,000,000"),
    ],
)
def test_limits_outside_sane_bounds_are_refused(owner_client, tenant, field, value, message):
    response = owner_client.post("/settings/", data=settings_form(**{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.refresh(tenant)
    assert (tenant.max_points_per_order, tenant.adjustment_owner_limit) == (10_000, 1_000)


def test_owner_sets_the_limits(owner_client, tenant):
    response = owner_client.post(
        "/settings/",
        data=settings_form(
            max_points_per_order="500", max_order_amount="20000", adjustment_owner_limit="50"
        ),
    )
    assert response.status_code == 303
    db.session.refresh(tenant)
    assert (tenant.max_points_per_order, tenant.max_order_amount) == (500, 20_000)
    assert tenant.adjustment_owner_limit == 50


# Random histories: whatever happens, in whatever order, the account stays consistent, and
# cancelling every order leaves exactly what the adjustments alone leave.

ORDER_IDS = ("A", "B", "C", "D")
REWARDS = {"cheap": 100, "dear": 250}

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("validate"), st.sampled_from(("s1", "s2")), st.sampled_from(list(REWARDS))
        ),
        st.tuples(
            st.just("order"),
            st.sampled_from(ORDER_IDS),
            st.sampled_from((0, 2500, 10000, 30000, 2_000_000)),
            st.sampled_from((None, *REWARDS)),
            st.sampled_from((None, "s1", "s2")),
        ),
        st.tuples(st.just("cancel"), st.sampled_from(ORDER_IDS)),
        st.tuples(st.just("adjust"), st.sampled_from((-400, -100, -1, 50, 300))),
    ),
    max_size=12,
)


def _fresh_shop(client):
    empty_all_tables()
    tenant, channel = registered_tenant(client)
    for program_id, cost in REWARDS.items():
        add_reward(tenant, program_id, "discount_amount", cost, 100)
    account = create_customer(tenant.id, NewCustomer(first_name="Jane", email="jane@x.com"))
    return tenant, channel, account


def _adjustments_alone(amounts: list[int]) -> tuple[int, int]:
    """(net points, lifetime points) that the accepted adjustments leave with no orders."""
    net = lifetime = 0
    for amount in amounts:
        net += amount
        lifetime = lifetime + amount if amount > 0 else max(0, lifetime + amount)
    return net, lifetime


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=steps)
def test_cancelling_every_order_leaves_what_adjustments_alone_leave(client, history):
    tenant, channel, account = _fresh_shop(client)
    manager = create_user(tenant.id, "boss@trattoria.test", PASSWORD, role="owner")
    accepted: list[int] = []
    for step in history:
        if step[0] == "validate":
            _, session_id, program_id = step
            channel.post(
                "/programs/validate",
                {
                    "sessionId": session_id,
                    "programIds": [program_id],
                    "order": basket_order(account.external_id, [item("P", 3000)]),
                },
                with_ids=True,
            )
        elif step[0] == "order":
            _, order_id, payment, program_id, session_id = step
            discounts = [{"programId": program_id, "amount": 100}] if program_id else []
            extra = {"sessionId": session_id} if session_id else {}
            body = order_body(account, order_id, discounts=discounts, payment=payment, **extra)
            assert channel.post("/orders", body, with_ids=True).status_code == 200
        elif step[0] == "cancel":
            cancel(channel, step[1])
        else:
            try:
                adjust_points(
                    tenant.id, account.id, step[1], "till", manager.id, new_adjustment_token()
                )
            except FieldErrors:
                pass
            else:
                accepted.append(step[1])
        assert_ledger_matches(account)
        row = db.session.get(Account, account.id, populate_existing=True)
        assert wallet_for(row, utcnow()).points_spendable >= 0
        db.session.rollback()

    for order_id in ORDER_IDS:
        cancel(channel, order_id)
    balance, owed, lifetime = points(account)
    assert (balance - owed, lifetime) == _adjustments_alone(accepted)
    assert_ledger_matches(account)
