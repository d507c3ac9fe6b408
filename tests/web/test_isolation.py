"""Tenant isolation: a member of one restaurant gets 404 for every object of another.

Each route that takes an id is listed in ROUTES; a feature that adds such a route adds it here,
adds the object it needs to `theirs` (built through services, in the other restaurant), and adds
its blueprint to ISOLATED_BLUEPRINTS so a route it forgets to list fails the coverage test.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from werkzeug.routing import IntegerConverter

from loyalty.extensions import db
from loyalty.models import (
    Account,
    AccountEvent,
    ApiClient,
    Campaign,
    Coupon,
    LedgerEntry,
    Membership,
    Order,
    Reward,
    Segment,
    Tier,
    User,
    utcnow,
)
from loyalty.services.accounts.profile import Profile, create_account
from loyalty.services.accounts.search import SearchCriteria
from loyalty.services.accounts.segments import save_segment
from loyalty.services.campaigns.lifecycle import initialise_campaign
from loyalty.services.campaigns.store import save_campaign
from loyalty.services.checkout.orders import OrderReport, record_order
from loyalty.services.setup.api_clients import create_client
from loyalty.services.setup.rewards import RewardDetails, create_reward
from loyalty.services.setup.team import create_user
from loyalty.services.setup.tiers import TierDetails, create_tier
from tests.support.app import PASSWORD
from tests.support.forms import reward_form

Url = Callable[[SimpleNamespace], str]

ISOLATED_BLUEPRINTS = {
    "rewards",
    "tiers",
    "team",
    "accounts",
    "segments",
    "campaigns",
    "coupons",
    "api_clients",
}

ROUTES: list[tuple[str, Url]] = [
    ("GET", lambda theirs: f"/rewards/{theirs.reward.id}"),
    ("POST", lambda theirs: f"/rewards/{theirs.reward.id}"),
    ("POST", lambda theirs: f"/rewards/{theirs.reward.id}/archive"),
    ("POST", lambda theirs: f"/rewards/{theirs.archived_reward.id}/restore"),
    ("GET", lambda theirs: f"/tiers/{theirs.tier.id}"),
    ("POST", lambda theirs: f"/tiers/{theirs.tier.id}"),
    ("POST", lambda theirs: f"/tiers/{theirs.tier.id}/delete"),
    ("POST", lambda theirs: f"/team/{theirs.member.id}/role"),
    ("POST", lambda theirs: f"/team/{theirs.member.id}/deactivate"),
    ("POST", lambda theirs: f"/team/{theirs.inactive_member.id}/reactivate"),
    ("POST", lambda theirs: f"/team/{theirs.member.id}/sign-out"),
    ("GET", lambda theirs: f"/accounts/{theirs.account.id}"),
    ("GET", lambda theirs: f"/accounts/{theirs.account.id}/ledger"),
    ("POST", lambda theirs: f"/accounts/{theirs.account.id}/profile"),
    ("POST", lambda theirs: f"/accounts/{theirs.account.id}/tags"),
    ("POST", lambda theirs: f"/accounts/{theirs.account.id}/adjust"),
    ("POST", lambda theirs: f"/accounts/{theirs.account.id}/orders/1/credit"),
    ("POST", lambda theirs: f"/accounts/held-orders/{theirs.held_order.id}/credit"),
    ("POST", lambda theirs: f"/accounts/held-orders/{theirs.held_order.id}/dismiss"),
    ("POST", lambda theirs: f"/accounts/{theirs.account.id}/relations"),
    ("GET", lambda theirs: f"/accounts/{theirs.account.id}/merge"),
    ("POST", lambda theirs: f"/accounts/{theirs.account.id}/merge"),
    ("GET", lambda theirs: f"/accounts/{theirs.account.id}/erase"),
    ("POST", lambda theirs: f"/accounts/{theirs.account.id}/erase"),
    ("GET", lambda theirs: f"/segments/{theirs.segment.id}"),
    ("GET", lambda theirs: f"/segments/{theirs.segment.id}/count"),
    ("POST", lambda theirs: f"/segments/{theirs.segment.id}/delete"),
    ("GET", lambda theirs: f"/campaigns/{theirs.campaign.key}"),
    ("GET", lambda theirs: f"/campaigns/{theirs.campaign.key}/edit"),
    ("POST", lambda theirs: f"/campaigns/{theirs.campaign.key}/edit"),
    ("GET", lambda theirs: f"/campaigns/{theirs.campaign.key}/preview"),
    ("GET", lambda theirs: f"/campaigns/{theirs.campaign.key}/initialise"),
    ("POST", lambda theirs: f"/campaigns/{theirs.campaign.key}/initialise"),
    ("GET", lambda theirs: f"/campaigns/{theirs.campaign.key}/finalise"),
    ("POST", lambda theirs: f"/campaigns/{theirs.campaign.key}/finalise"),
    ("POST", lambda theirs: f"/campaigns/{theirs.campaign.key}/delete"),
    ("POST", lambda theirs: f"/coupons/{theirs.coupon.code}/lock"),
    ("POST", lambda theirs: f"/coupons/{theirs.coupon.code}/unlock"),
    ("POST", lambda theirs: f"/api-clients/{theirs.api_client.id}/revoke"),
]

# A form that would be valid for any of the routes, so only the tenant check can refuse it.
FORM = {
    **reward_form(),
    "name": "Stolen",
    "threshold_points": "5",
    "multiplier": "1",
    "role": "staff",
    "points": "5",
    "reason": "stolen",
    "token": "a-valid-looking-form-token",
    "type": "FRIEND",
    "other": "someone",
    "other_id": "1",
    "tags": "stolen",
    "properties": "stolen: yes",
}


@pytest.fixture()
def theirs(other_tenant) -> SimpleNamespace:
    """One of each object in the other restaurant."""
    archived = create_reward(other_tenant.id, RewardDetails("Old", "discount_amount", 1, 100))
    archived.archived_at = archived.created_at
    db.session.commit()
    inactive = create_user(other_tenant.id, "gone@burgerbar.test", PASSWORD, role="staff")
    inactive.active = False
    db.session.commit()
    account = create_account(other_tenant.id, Profile(external_id="their-guest", tags=["vip"]))
    record_order(
        other_tenant,
        OrderReport(external_id="their-huge", account_id=account.id, payment_amount=5_000_000),
        utcnow(),
    )
    campaign = save_campaign(
        other_tenant.id,
        {
            "id": "their-vips",
            "type": "STANDARD",
            "name": "Their VIPs",
            "constraints": [{"field": "tags.vip", "op": "EXISTS", "value": []}],
            "states": [
                {
                    "id": "treat",
                    "type": "COUPON",
                    "couponType": "PERCENT",
                    "value": 10,
                    "validDays": 7,
                }
            ],
        },
        utcnow(),
    )
    initialise_campaign(other_tenant.id, campaign.key, utcnow())
    return SimpleNamespace(
        reward=create_reward(other_tenant.id, RewardDetails("Theirs", "discount_amount", 1, 100)),
        archived_reward=archived,
        tier=create_tier(other_tenant.id, TierDetails("Their gold", 100, 150)),
        member=create_user(other_tenant.id, "cook@burgerbar.test", PASSWORD, role="owner"),
        inactive_member=inactive,
        account=account,
        held_order=db.session.query(Order).filter_by(external_id="their-huge").one(),
        segment=save_segment(other_tenant.id, "Their VIPs", SearchCriteria(tag="vip"), None),
        campaign=campaign,
        coupon=db.session.query(Coupon).filter_by(campaign_id=campaign.id).one(),
        api_client=create_client(other_tenant.id, "Their till", ["ROLE_LOYALTY"]).client,
    )


def snapshot() -> list:
    """Every row the routes could change, to prove a refused request changed nothing."""
    db.session.expire_all()
    rows = [
        *db.session.query(Reward).order_by(Reward.id),
        *db.session.query(Tier).order_by(Tier.id),
        *db.session.query(User).order_by(User.id),
        *db.session.query(Account).order_by(Account.id),
        *db.session.query(AccountEvent).order_by(AccountEvent.id),
        *db.session.query(LedgerEntry).order_by(LedgerEntry.id),
        *db.session.query(Order).order_by(Order.id),
        *db.session.query(Segment).order_by(Segment.id),
        *db.session.query(Campaign).order_by(Campaign.id),
        *db.session.query(Membership).order_by(Membership.id),
        *db.session.query(Coupon).order_by(Coupon.id),
        *db.session.query(ApiClient).order_by(ApiClient.id),
    ]
    return [
        {column.name: getattr(row, column.key) for column in row.__table__.columns} for row in rows
    ]


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_another_restaurants_objects_are_not_found(owner_client, theirs, method, url):
    before = snapshot()
    response = owner_client.open(url(theirs), method=method, data=FORM)
    assert response.status_code == 404
    assert b"belongs to another restaurant" in response.data
    assert snapshot() == before


def test_every_route_with_an_id_is_listed(app, theirs):
    """Every route taking an id in these blueprints has a line in ROUTES, for each method."""
    adapter = app.url_map.bind("localhost")
    covered = {(adapter.match(url(theirs), method=method)[0], method) for method, url in ROUTES}
    required = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in ISOLATED_BLUEPRINTS
        and any(isinstance(rule._converters[name], IntegerConverter) for name in rule.arguments)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert required - covered == set()


# Ids past any row (the database's integer range): 404 as well, never an overflow error.
HUGE_IDS = SimpleNamespace(
    **{
        name: SimpleNamespace(id="9" * 20)
        for name in (
            "reward",
            "archived_reward",
            "tier",
            "member",
            "inactive_member",
            "account",
            "segment",
            "held_order",
            "api_client",
        )
    },
    campaign=SimpleNamespace(key="9" * 20),
    coupon=SimpleNamespace(code="9" * 20),
)


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_an_id_past_any_row_is_not_found(owner_client, method, url):
    response = owner_client.open(url(HUGE_IDS), method=method, data=FORM)
    assert response.status_code == 404
    assert b"That page does not exist, or it belongs to another restaurant." in response.data
