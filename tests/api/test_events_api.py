"""postEvent: relation events (with their mirror on the other account) and ORDER events, which
earn points by the earning rules and move campaigns exactly as a Deliverect order does; every
event idempotent, a bad batch refused whole."""

from __future__ import annotations

import pytest

from loyalty.extensions import db
from loyalty.models import Account, AccountEvent, LedgerEntry, Order
from loyalty.services.setup.earning import RuleDetails, add_rule, basket_earning
from loyalty.time import to_iso, utcnow
from tests.support.accounts import customer
from tests.support.api import bearer, customer_token, service_token
from tests.support.campaigns import running, welcome_series

EVENTS = "/loyalty-api/api/events"
TS = "2026-11-30T18:00:00Z"


@pytest.fixture()
def integrator(client, tenant):
    return bearer(service_token(client, tenant, roles=("ROLE_LOYALTY",)), tenant)


@pytest.fixture()
def jane(tenant):
    return customer(tenant, external_id="jane-1", card="CARD-J", email="jane@example.com")


@pytest.fixture()
def mark(tenant):
    return customer(tenant, external_id="mark-1", email="mark@example.com")


def relations(account) -> list[tuple[str, str | None]]:
    db.session.expire_all()
    return [
        (event.type, event.related_external_id)
        for event in db.session.query(AccountEvent)
        .filter_by(account_id=account.id)
        .order_by(AccountEvent.id)
    ]


def points(account) -> int:
    db.session.expire_all()
    return db.session.get(Account, account.id).points_balance


def order_event(order_id="APP-1", total=2599, account="jane-1", **order) -> dict:
    return {
        "type": "ORDER",
        "account": account,
        "ts": TS,
        "order": {
            "id": order_id,
            "total": total,
            "venue": "venue-1",
            "channel": "app",
            "products": [
                {"plu": "PIZZA", "name": "Pizza", "price": 1000, "quantity": 2},
                {"plu": "COKE", "name": "Coke", "price": 599, "quantity": 1},
            ],
            **order,
        },
    }


def test_an_invitation_is_mirrored_on_the_invited_account_and_counts_a_referral(
    client, integrator, jane, mark
):
    body = [{"type": "INVITED", "account": "jane-1", "id": "mark-1", "ts": TS}]
    response = client.post(EVENTS, json=body, headers=integrator)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "events": [
            {
                "index": 0,
                "type": "INVITED",
                "account": "jane-1",
                "status": "recorded",
                "mirrored": True,
                "order": None,
            }
        ]
    }
    assert relations(jane) == [("INVITED", "mark-1")]
    assert relations(mark) == [("INVITED_BY", "jane-1")]
    shown = client.get("/loyalty-api/api/account/jane-1", headers=integrator).get_json()
    assert shown["counters"]["referrals"] == 1
    assert shown["relations"] == [{"id": "mark-1", "at": TS, "type": "INVITED"}]

    again = client.post(EVENTS, json=body, headers=integrator)
    assert again.get_json()["events"][0]["status"] == "duplicate"
    assert relations(jane) == [("INVITED", "mark-1")]
    assert relations(mark) == [("INVITED_BY", "jane-1")]


def test_a_relation_without_symmetry_or_with_a_stranger_stays_on_one_side(
    client, integrator, jane, mark
):
    body = [
        {"type": "FRIEND", "card": "CARD-J", "id": "mark-1", "doNotProcessSymmetry": True},
        {"type": "INVITED_BY", "account": "jane-1", "id": "not-yet-joined", "ts": TS},
    ]
    response = client.post(EVENTS, json=body, headers=integrator)
    assert response.status_code == 200, response.get_json()
    assert [e["mirrored"] for e in response.get_json()["events"]] == [False, False]
    assert relations(jane) == [("FRIEND", "mark-1"), ("INVITED_BY", "not-yet-joined")]
    assert relations(mark) == []


def test_an_order_event_earns_what_the_earning_rules_say_and_only_once(
    client, tenant, integrator, jane
):
    add_rule(tenant.id, RuleDetails(kind="item", name="pizza stamps", points=10, plus="PIZZA"))
    response = client.post(EVENTS, json=[order_event()], headers=integrator)
    assert response.status_code == 200, response.get_json()
    [recorded] = response.get_json()["events"]
    assert recorded["status"] == "recorded"
    # A point per whole unit paid (25) and 10 stamps per pizza (20), as a Deliverect order.
    preview = basket_earning(
        tenant.id,
        {"items": order_event()["order"]["products"], "paymentAmount": 2599, "decimalDigits": 2},
        utcnow().replace(tzinfo=None),
    )
    assert recorded["order"]["pointsEarned"] == preview.total == 45
    assert points(jane) == 45
    order = db.session.query(Order).one()
    assert (order.external_id, order.payment_amount, order.location_id) == (
        "APP-1",
        2599,
        "venue-1",
    )
    assert to_iso(order.ordered_at) == TS

    again = client.post(EVENTS, json=[order_event(), order_event()], headers=integrator)
    assert again.status_code == 200
    assert [e["status"] for e in again.get_json()["events"]] == ["duplicate", "duplicate"]
    assert points(jane) == 45
    assert db.session.query(Order).count() == 1
    assert db.session.query(LedgerEntry).filter_by(kind="earn").count() == 1


def test_an_order_event_moves_the_accounts_campaigns(client, tenant, integrator, jane):
    campaign = welcome_series(
        states=[
            {
                "id": "order",
                "type": "ORDER",
                "count": 1,
                "constraints": [{"field": "order.channel", "op": "EQ", "value": ["app"]}],
                "transitionTo": "bonus",
            },
            {"id": "bonus", "type": "WALLET", "points": 100},
        ]
    )
    running(tenant, campaign, utcnow())
    response = client.post(EVENTS, json=[order_event(total=1000)], headers=integrator)
    assert response.status_code == 200, response.get_json()
    assert points(jane) == 10 + 100
    shown = client.get("/loyalty-api/api/account/jane-1", headers=integrator).get_json()
    assert shown["campaigns"] == [{"id": "welcome", "state": None}]
    assert shown["counters"]["orders"] == 1 and shown["counters"]["spent"] == 1000


@pytest.mark.parametrize(
    ("event", "status", "field"),
    [
        ({"type": "INVITED", "account": "nobody-1", "id": "jane-1"}, 404, "[1].account"),
        ({"type": "INVITED", "card": "NO-CARD", "id": "jane-1"}, 404, "[1].card"),
        ({"type": "INVITED", "id": "jane-1"}, 400, "[1].account"),
        ({"type": "INVITED", "account": "jane-1", "id": "jane-1"}, 400, "[1].id"),
        ({"type": "ENEMY", "account": "jane-1", "id": "mark-1"}, 400, None),
        (
            {"type": "FRIEND", "account": "jane-1", "id": "mark-1", "ts": "2026-11-30T18:00"},
            400,
            "[1].FRIEND.ts",
        ),
        (order_event(total=-1), 400, "[1].ORDER.order.total"),
        (order_event(total=12.5), 400, "[1].ORDER.order.total"),
        (order_event(products=[{"plu": "X", "price": -5}]), 400, None),
    ],
)
def test_a_batch_with_a_bad_event_is_refused_whole(
    client, integrator, jane, mark, event, status, field
):
    body = [{"type": "INVITED", "account": "jane-1", "id": "mark-1", "ts": TS}, event]
    response = client.post(EVENTS, json=body, headers=integrator)
    assert response.status_code == status, response.get_json()
    if field is not None:
        assert response.get_json()["field"] == field
    assert relations(jane) == [] and relations(mark) == []
    assert db.session.query(Order).count() == 0


def test_more_than_a_hundred_events_are_refused(client, integrator, jane, mark):
    body = [
        {
            "type": "FRIEND",
            "account": "jane-1",
            "id": "mark-1",
            "ts": f"2026-11-30T18:{n // 60:02}:{n % 60:02}Z",
        }
        for n in range(101)
    ]
    response = client.post(EVENTS, json=body, headers=integrator)
    assert response.status_code == 400
    assert relations(jane) == []
    assert client.post(EVENTS, json=body[:100], headers=integrator).status_code == 200
    assert len(relations(jane)) == 100


def test_a_body_nested_too_deeply_is_a_400(client, integrator):
    response = client.post(
        EVENTS, data="[" * 3000, headers={**integrator, "Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_events_for_another_restaurants_account_are_a_404(client, tenant, other_tenant, integrator):
    customer(other_tenant, external_id="theirs-1", email="t@example.com")
    response = client.post(EVENTS, json=[order_event(account="theirs-1")], headers=integrator)
    assert response.status_code == 404
    assert response.get_json()["field"] == "[0].account"
    assert db.session.query(Order).count() == 0


def test_posting_events_needs_su_or_loyalty(client, tenant, jane):
    stats = bearer(service_token(client, tenant, roles=("ROLE_LOYALTY_STATS",)), tenant)
    as_jane = bearer(customer_token(client, tenant, jane), tenant)
    body = [order_event()]
    assert client.post(EVENTS, json=body, headers=stats).status_code == 403
    assert client.post(EVENTS, json=body, headers=as_jane).status_code == 403
    assert client.post(EVENTS, json=body).status_code == 401
    assert db.session.query(Order).count() == 0
