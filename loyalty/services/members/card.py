"""A signed-in guest's card: points and what they buy, tier progress, coupons, expiry dates,
recent visits and points history, read from the services that own each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Account, Coupon, LedgerEntry, Order
from ...rules import coupons as coupon_rules
from ...rules.member_card import (
    RewardPrice,
    RewardStanding,
    TierProgress,
    reward_standing,
    tier_progress,
)
from ...rules.programs import Customer, check_program
from ...rules.tiers import TierLevel, rank_of, tier_for
from ..accounts.history import orders_page
from ..campaigns.coupons import coupons_of
from ..checkout.catalogue import as_program, live_rewards, tier_levels
from ..wallet.balances import Wallet, wallet_for

RECENT_VISITS = 5
HISTORY_ENTRIES = 10


@dataclass(frozen=True)
class Card:
    account: Account
    wallet: Wallet
    rewards: RewardStanding
    tier: TierProgress
    coupons: list[Coupon]  # usable now, soonest to end first
    visits: list[Order]  # newest first
    history: list[LedgerEntry]  # points entries, newest first


def card_for(tenant_id: int, account: Account, now: datetime) -> Card:
    levels = tier_levels(tenant_id)
    wallet = wallet_for(account, now)
    return Card(
        account=account,
        wallet=wallet,
        rewards=reward_standing(
            wallet.points_spendable, _rewards_for(tenant_id, account, levels, now)
        ),
        tier=tier_progress(account.lifetime_points, levels),
        coupons=_usable_coupons(tenant_id, account.id, now),
        visits=orders_page(tenant_id, account.id, 1, RECENT_VISITS).items,
        history=_points_history(tenant_id, account.id),
    )


def _points_history(tenant_id: int, account_id: int) -> list[LedgerEntry]:
    """The latest points entries (store credit is not points), with their rewards."""
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.tenant_id == tenant_id,
                LedgerEntry.account_id == account_id,
                LedgerEntry.unit == "points",
            )
            .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
            .limit(HISTORY_ENTRIES)
            .options(joinedload(LedgerEntry.reward))
        )
    )


def _rewards_for(
    tenant_id: int, account: Account, levels: list[TierLevel], now: datetime
) -> list[RewardPrice]:
    """Live rewards open to the guest now (active window, tier: a reward for Gold is not shown
    to Silver), by the rule Deliverect's checkout uses. Points aside: the card shows how far
    the guest is from each one."""
    reached = tier_for(account.lifetime_points, levels)
    rank = rank_of(reached.tier_id if reached else None, levels)
    found = []
    for reward in live_rewards(tenant_id):
        program = as_program(reward, levels)
        if check_program(program, Customer(program.cost, rank), None, now).applicable:
            found.append(RewardPrice(reward.id, reward.title, reward.cost))
    return found


def _usable_coupons(tenant_id: int, account_id: int, now: datetime) -> list[Coupon]:
    """The coupons the guest can use now (rules.coupons.refusal), soonest to end first."""
    owner = str(account_id)
    usable = [
        coupon
        for coupon in coupons_of(tenant_id, account_id)
        if coupon_rules.refusal(
            coupon_rules.Coupon(
                coupon.code, owner, coupon_rules.CouponStatus(coupon.status), coupon.valid_to
            ),
            owner,
            now,
        )
        is None
    ]
    return sorted(usable, key=lambda coupon: (coupon.valid_to is None, coupon.valid_to or now))
