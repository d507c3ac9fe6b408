"""Campaigns for tests, in the wire shape, saved and initialised through the services."""

from __future__ import annotations

from datetime import UTC, datetime

from loyalty.extensions import db
from loyalty.models import Coupon, Membership, Order
from loyalty.services.campaigns.lifecycle import initialise_campaign
from loyalty.services.campaigns.store import save_campaign

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def welcome_series(**fields) -> dict:
    """coupon (5.00 off) -> an order (the one using the coupon counts) -> 100 bonus points."""
    return {
        "id": "welcome",
        "type": "STANDARD",
        "name": "Welcome series",
        "constraints": [{"field": "counters.orders", "op": "LT", "value": ["100"]}],
        "states": [
            {
                "id": "coupon",
                "type": "COUPON",
                "couponType": "AMOUNT",
                "value": 500,
                "validDays": 30,
                "codePrefix": "NEW",
                "title": "5.00 off your next order",
                "transitionTo": "order",
            },
            {"id": "order", "type": "ORDER", "count": 1, "transitionTo": "bonus"},
            {"id": "bonus", "type": "WALLET", "points": 100},
        ],
        "dynamic": False,
        "notifications": [],
        **fields,
    }


def running(tenant, campaign: dict, now: datetime = NOW):
    """Save and initialise `campaign` for `tenant`; the Campaign row."""
    save_campaign(tenant.id, campaign, now)
    return initialise_campaign(tenant.id, campaign["id"], now, by="test")


def membership(campaign_row, account) -> Membership | None:
    db.session.expire_all()
    return (
        db.session.query(Membership)
        .filter_by(campaign_id=campaign_row.id, account_id=account.id)
        .one_or_none()
    )


def coupons_of(account) -> list[Coupon]:
    db.session.expire_all()
    return db.session.query(Coupon).filter_by(account_id=account.id).order_by(Coupon.id).all()


def order_row(tenant, external_id: str) -> Order:
    db.session.expire_all()
    return db.session.query(Order).filter_by(tenant_id=tenant.id, external_id=external_id).one()
