"""A signed-in guest's card: points and what they buy, tier progress, coupons, expiry dates,
recent visits and points history, read from the services that own each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ...models import Account, Coupon, LedgerEntry, Order
from ...rules.availability import Availability, availability
from ...rules.coupons import CouponStatus
from ...rules.member_card import (
    RewardPrice,
    RewardStanding,
    TierProgress,
    reward_standing,
    tier_progress,
)
from ...rules.tiers import TierLevel, rank_of, tier_for
from ..accounts.history import ledger_page, orders_page
from ..campaigns.coupons import coupons_of
from ..checkout.catalogue import live_rewards, tier_levels
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
        history=[
            entry
            for entry in ledger_page(tenant_id, account.id, 1, HISTORY_ENTRIES).items
            if entry.unit == "points"
        ],
    )


def _rewards_for(
    tenant_id: int, account: Account, levels: list[TierLevel], now: datetime
) -> list[RewardPrice]:
    """Live rewards the guest's tier allows (a reward for Gold is not shown to Silver)."""
    reached = tier_for(account.lifetime_points, levels)
    rank = rank_of(reached.tier_id if reached else None, levels)
    found = []
    for reward in live_rewards(tenant_id):
        if availability(reward.active_from, reward.active_to, now) != Availability.LIVE:
            continue
        if reward.min_tier_id is not None:
            needed = rank_of(reward.min_tier_id, levels)
            if needed is not None and (rank is None or rank < needed):
                continue
        found.append(RewardPrice(reward.id, reward.title, reward.cost))
    return found


def _usable_coupons(tenant_id: int, account_id: int, now: datetime) -> list[Coupon]:
    usable = [
        coupon
        for coupon in coupons_of(tenant_id, account_id)
        if coupon.status == CouponStatus.ACTIVE
        and (coupon.valid_to is None or coupon.valid_to > now)
    ]
    return sorted(usable, key=lambda coupon: (coupon.valid_to is None, coupon.valid_to or now))
