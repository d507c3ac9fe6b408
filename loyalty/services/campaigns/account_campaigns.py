"""What the account page shows of the campaigns: the account's memberships with their history,
and its coupons; each read in one joined query, so the template only reads attributes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select

from ...extensions import db
from ...models import Campaign, Coupon, Membership, MembershipEvent, Order


@dataclass(frozen=True)
class Transition:
    """One line of a membership's history."""

    at: datetime
    from_state: str | None
    to_state: str | None  # None: the flow ended
    reason: str  # join, coupon_redeemed, order, wallet, reversed, timeout ...
    order: str | None  # the order's display id, when an order moved it


@dataclass(frozen=True)
class AccountMembership:
    campaign_key: str
    campaign_name: str
    state_id: str | None  # None once the flow has ended
    state_type: str | None  # COUPON, ORDER, WALLET, MESSAGE, ACCOUNT
    status: str  # active | completed | ended
    entered_at: datetime
    history: tuple[Transition, ...]  # oldest first


@dataclass(frozen=True)
class AccountCoupon:
    code: str
    coupon_type: str  # AMOUNT | PERCENT | PRODUCT
    value: int  # minor units (AMOUNT), hundredths of a percent (PERCENT)
    product: str | None
    title: str
    status: str  # rules.coupons.CouponStatus
    valid_to: datetime | None
    campaign_key: str
    campaign_name: str


def account_memberships(tenant_id: int, account_id: int) -> list[AccountMembership]:
    """The account's memberships, newest first, each with every transition it went through."""
    rows = db.session.execute(
        select(
            Membership.id,
            Membership.state_id,
            Membership.status,
            Membership.entered_at,
            Campaign.key,
            Campaign.name,
            Campaign.definition,
            MembershipEvent.at,
            MembershipEvent.from_state,
            MembershipEvent.to_state,
            MembershipEvent.reason,
            Order.channel_order_display_id,
            Order.external_id,
        )
        .join(Campaign, Campaign.id == Membership.campaign_id)
        .outerjoin(MembershipEvent, MembershipEvent.membership_id == Membership.id)
        .outerjoin(Order, Order.id == MembershipEvent.order_id)
        .where(Membership.tenant_id == tenant_id, Membership.account_id == account_id)
        .order_by(Membership.created_at.desc(), Membership.id.desc(), MembershipEvent.seq)
    ).all()
    memberships: dict[int, AccountMembership] = {}
    history: dict[int, list[Transition]] = {}
    for row in rows:
        if row.id not in memberships:
            types = {
                state.get("id"): state.get("type")
                for state in (row.definition or {}).get("states") or ()
                if isinstance(state, dict)
            }
            memberships[row.id] = AccountMembership(
                row.key,
                row.name or row.key,
                row.state_id,
                types.get(row.state_id),
                row.status,
                row.entered_at,
                (),
            )
            history[row.id] = []
        if row.at is not None:
            history[row.id].append(
                Transition(
                    row.at,
                    row.from_state,
                    row.to_state,
                    row.reason,
                    row.channel_order_display_id or row.external_id,
                )
            )
    return [
        replace(membership, history=tuple(history[membership_id]))
        for membership_id, membership in memberships.items()
    ]


def account_coupons(tenant_id: int, account_id: int) -> list[AccountCoupon]:
    """The account's coupons, newest first, with their campaign's name."""
    rows = db.session.execute(
        select(
            Coupon.code,
            Coupon.coupon_type,
            Coupon.value,
            Coupon.product,
            Coupon.title,
            Coupon.status,
            Coupon.valid_to,
            Campaign.key,
            Campaign.name,
        )
        .join(Campaign, Campaign.id == Coupon.campaign_id)
        .where(Coupon.tenant_id == tenant_id, Coupon.account_id == account_id)
        .order_by(Coupon.created_at.desc(), Coupon.id.desc())
    ).all()
    return [AccountCoupon(*row[:8], campaign_name=row.name or row.key) for row in rows]
