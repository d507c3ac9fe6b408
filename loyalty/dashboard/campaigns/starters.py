"""Campaigns to start from: a draft with a sensible definition the team then adjusts.

Each is the wire shape of spec §3.1 without its id (the view picks a free one). Amounts are in
minor units of a two-digit currency; the editor shows them in the tenant's own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Starter:
    key: str
    title: str
    summary: str
    definition: dict


def _coupon(state_id: str, then: str | None = None, **fields) -> dict:
    state = {"id": state_id, "type": "COUPON", **fields}
    if then:
        state["transitionTo"] = then
    return state


STARTERS = {
    starter.key: starter
    for starter in (
        Starter(
            "birthday",
            "Birthday treat",
            "Every year, on their birthday, each customer with a birthdate gets 20% off for "
            "two weeks, with a reminder three days before it expires.",
            {
                "type": "BIRTHDAY",
                "name": "Birthday treat",
                "dynamic": True,
                "constraints": [{"field": "header.birthdate", "op": "EXISTS", "value": []}],
                "states": [
                    _coupon(
                        "treat",
                        couponType="PERCENT",
                        value=20,
                        validDays=14,
                        codePrefix="BDAY",
                        title="Happy birthday: 20% off",
                        description="Our treat, for the next two weeks.",
                    )
                ],
                "notifications": [
                    {
                        "type": "COUPON_EXPIRATION",
                        "daysBefore": 3,
                        "title": "Your birthday treat ends soon",
                        "message": "Three days left to use your 20% off.",
                        "dayPart": "MORNING",
                    }
                ],
            },
        ),
        Starter(
            "win-back",
            "Win-back after 30 days",
            "Customers who have not ordered for 30 days get 5.00 off their next order, valid "
            "for two weeks; customers who lapse later join too.",
            {
                "type": "STANDARD",
                "name": "We miss you",
                "dynamic": True,
                "constraints": [
                    {"field": "counters.orders", "op": "GTE", "value": ["1"]},
                    {"field": "header.lastOrder", "op": "LT", "value": ["-P30D"]},
                ],
                "states": [
                    _coupon(
                        "comeback",
                        couponType="AMOUNT",
                        value=500,
                        validDays=14,
                        codePrefix="BACK",
                        title="5.00 off your next order",
                        description="We miss you: come back within two weeks.",
                    )
                ],
                "notifications": [],
            },
        ),
        Starter(
            "welcome",
            "Welcome series",
            "New customers get 10% off; once they use it, a second order within 60 days "
            "earns 200 bonus points.",
            {
                "type": "STANDARD",
                "name": "Welcome series",
                "dynamic": True,
                "constraints": [{"field": "counters.orders", "op": "LT", "value": ["2"]}],
                "states": [
                    _coupon(
                        "welcome",
                        "second-order",
                        couponType="PERCENT",
                        value=10,
                        validDays=30,
                        codePrefix="HEY",
                        title="Welcome: 10% off",
                        description="Thank you for joining.",
                    ),
                    {
                        "id": "second-order",
                        "type": "ORDER",
                        "transitionTo": "bonus",
                        "constraints": [],
                        # The order that uses the coupon counts as the first of the two.
                        "count": 2,
                        "timeout": "P60D",
                    },
                    {"id": "bonus", "type": "WALLET", "points": 200},
                ],
                "notifications": [],
            },
        ),
        Starter(
            "referral",
            "Referral reward",
            "Customers who invite a friend get 250 points and a thank-you message.",
            {
                "type": "STANDARD",
                "name": "Referral reward",
                "dynamic": True,
                "constraints": [{"field": "counters.referrals", "op": "GTE", "value": ["1"]}],
                "states": [
                    {"id": "reward", "type": "WALLET", "transitionTo": "thank-you", "points": 250},
                    {
                        "id": "thank-you",
                        "type": "MESSAGE",
                        "title": "Thanks for bringing a friend",
                        "message": "We added 250 points to your wallet.",
                        "payload": {},
                    },
                ],
                "notifications": [],
            },
        ),
    )
}
