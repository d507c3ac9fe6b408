"""What a signed-in member does in one campaign through the API: acknowledge the message of its
MESSAGE state (it moves on), or, by the deprecated call, confirm it received the coupon of its
COUPON state.

rules.flow has no "coupon received" event: a COUPON state is left when its coupon is redeemed or
expires, never because the member saw it, so confirming receipt moves nobody and answers the
coupon the member holds there. Refusals: not a member of the campaign is a 404 (as an unknown
campaign); a member not in a state of that kind is a conflict.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from werkzeug.exceptions import NotFound

from ...extensions import db
from ...models import Campaign, Coupon, Membership
from ...rules import campaigns as definitions
from ...validation import CONFLICT, FieldErrors
from .engine import acknowledge_message, running
from .store import get_campaign, rules_campaign

NOT_A_MEMBER = "you are not a member of this campaign"
NO_MESSAGE = "you have no message of this campaign to acknowledge"
NOT_NOW = "the message cannot be acknowledged now: the campaign is outside its active window"
NO_COUPON_STATE = "you are in no COUPON state of this campaign"
NO_COUPON = "no coupon was issued to you in this state: the campaign's coupons ran out"


def acknowledge(tenant_id: int, account_id: int, campaign_key: str, now: datetime) -> Membership:
    """The member read the message of its current MESSAGE state: engine.acknowledge_message
    moves it on (committed). The membership as it stands after."""
    campaign = get_campaign(tenant_id, campaign_key)
    membership = _membership(campaign, account_id)
    if not isinstance(_state(campaign, membership), definitions.MessageState):
        raise FieldErrors({"campaign": NO_MESSAGE}, CONFLICT)
    if not acknowledge_message(tenant_id, account_id, campaign_key, now):
        raise FieldErrors({"campaign": NOT_NOW}, CONFLICT)
    db.session.refresh(membership)
    return membership


def received_coupon(tenant_id: int, account_id: int, campaign_key: str) -> Coupon:
    """The coupon of the member's current COUPON state (nothing is written: see above)."""
    campaign = get_campaign(tenant_id, campaign_key)
    membership = _membership(campaign, account_id)
    if not isinstance(_state(campaign, membership), definitions.CouponState):
        raise FieldErrors({"campaign": NO_COUPON_STATE}, CONFLICT)
    coupon = db.session.scalar(
        select(Coupon).where(
            Coupon.tenant_id == tenant_id,
            Coupon.membership_id == membership.id,
            Coupon.state_id == membership.state_id,
            Coupon.entry_seq == membership.entry,
        )
    )
    if coupon is None:
        raise FieldErrors({"campaign": NO_COUPON}, CONFLICT)
    return coupon


def _membership(campaign: Campaign, account_id: int) -> Membership:
    membership = db.session.scalar(
        select(Membership).where(
            Membership.tenant_id == campaign.tenant_id,
            Membership.campaign_id == campaign.id,
            Membership.account_id == account_id,
        )
    )
    if membership is None:
        raise NotFound(NOT_A_MEMBER)
    return membership


def _state(campaign: Campaign, membership: Membership) -> definitions.StateDefinition | None:
    """The member's current state while it is waiting in one of a running campaign."""
    if membership.status != "active" or not running(campaign):
        return None
    return rules_campaign(campaign).state(membership.state_id)
