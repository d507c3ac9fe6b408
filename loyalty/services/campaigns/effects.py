"""What entering a state does, written: coupons issued, points credited, and their undoing.

Each effect is keyed by the entry that caused it (rules.flow): a coupon is unique per
(membership, entry) and a credit's ledger idempotency key is the effect's key, so writing an
effect twice is a no-op. Caps are spent with conditional UPDATEs (`counter + n <= cap`), so
concurrent writers can never pass one; what a cap refuses is simply not issued or credited.
Messages go to the outbox (services.notifications), keyed the same way; it decides whether
and when they may be sent (consent, quiet hours, the daily limit).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ...extensions import db
from ...models import Campaign, Coupon, Membership
from ...rules import campaigns as definitions
from ...rules import coupons as coupon_rules
from ...rules import flow
from ..notifications.outbox import CampaignSource, Enqueued, enqueue
from ..wallet.ledger import Posting, find_entry, lock_account, post, take_back_points

CODE_ATTEMPTS = 5
_COUNTERS = {
    "coupons": (Campaign.coupons_issued, Campaign.max_coupons),
    "redemptions": (Campaign.coupons_redeemed, Campaign.max_redemptions),
    "points": (Campaign.points_credited, Campaign.max_points),
    "members": (Campaign.cnt, None),
}


class CodesExhausted(RuntimeError):
    """Fresh codes kept colliding with existing ones (the alphabet or prefix is far too small)."""


def take_cap(campaign_id: int, counter: str, amount: int) -> bool:
    """Spend `amount` of the campaign's `counter` if its cap allows; False when it does not."""
    spent, cap = _COUNTERS[counter]
    return (
        db.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, or_(cap.is_(None), spent + amount <= cap))
            .values({spent: spent + amount})
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def move_counter(campaign_id: int, counter: str, amount: int) -> None:
    """Count without a cap check (a redemption that happened; a credit given back)."""
    spent, _cap = _COUNTERS[counter]
    db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values({spent: spent + amount})
        .execution_options(synchronize_session=False)
    )


def entry_of(effect_key: str) -> int:
    """The entry number an effect key ends with (`<membership>:<state>:<entry>`)."""
    return int(effect_key.rsplit(":", 1)[1])


def coupon_values(
    tenant_id: int,
    campaign_id: int,
    membership_id: int,
    account_id: int,
    issue_key: str,
    state: definitions.CouponState,
    now: datetime,
) -> dict:
    """The row of a fresh coupon for one entry into a COUPON state (`issue_key`, the
    IssueCoupon effect's key), with a new random code."""
    return {
        "tenant_id": tenant_id,
        "code": coupon_rules.new_code(state.code_prefix, secrets.randbelow),
        "campaign_id": campaign_id,
        "membership_id": membership_id,
        "entry_seq": entry_of(issue_key),
        "issue_key": issue_key,
        "account_id": account_id,
        "state_id": state.id,
        "coupon_type": state.coupon_type or "AMOUNT",
        "value": state.value or 0,
        "product": state.product,
        "title": state.title or "",
        "description": state.description or "",
        "image": state.image,
        "status": "ACTIVE",
        "valid_to": coupon_rules.valid_to(state.valid_days, state.valid_to, now),
        "created_at": now,
    }


def insert_coupons(rows: Sequence[dict]) -> None:
    """Insert coupon rows (one tenant's), skipping any whose entry already has one; a row that
    lost only on its code is retried with a new code (so each entry ends with one coupon)."""
    pending = list(rows)
    for _attempt in range(CODE_ATTEMPTS):
        if not pending:
            return
        db.session.execute(insert_ignoring_duplicates(Coupon.__table__), pending)
        issued = set(
            db.session.scalars(
                select(Coupon.issue_key).where(
                    Coupon.tenant_id == pending[0]["tenant_id"],
                    Coupon.issue_key.in_([row["issue_key"] for row in pending]),
                )
            )
        )
        pending = [
            {**row, "code": coupon_rules.new_code(_prefix(row["code"]), secrets.randbelow)}
            for row in pending
            if row["issue_key"] not in issued
        ]
    if pending:
        raise CodesExhausted(f"{len(pending)} coupons found no free code")


def issue_coupon(
    campaign: Campaign, membership: Membership, effect: flow.IssueCoupon, now: datetime
) -> None:
    exists = db.session.scalar(
        select(Coupon.id).where(
            Coupon.tenant_id == campaign.tenant_id, Coupon.issue_key == effect.key
        )
    )
    if exists is not None or not take_cap(campaign.id, "coupons", 1):
        return
    insert_coupons(
        [
            coupon_values(
                campaign.tenant_id,
                campaign.id,
                membership.id,
                membership.account_id,
                effect.key,
                effect.state,
                now,
            )
        ]
    )


def credit_points(
    campaign: Campaign,
    account_id: int,
    effect: flow.CreditPoints,
    now: datetime,
    order_id: int | None = None,
) -> bool:
    """Credit a WALLET state's points once (the effect's key); False when there is nothing to
    credit or the points cap refuses it. Takes the account lock."""
    if effect.points <= 0 or find_entry(campaign.tenant_id, effect.key) is not None:
        return False
    lock_account(account_id)
    if not take_cap(campaign.id, "points", effect.points):
        return False
    state = effect.state
    expires_at = state.expires
    if expires_at is None and state.valid_days:
        expires_at = now + timedelta(days=state.valid_days)
    post(
        campaign.tenant_id,
        account_id,
        Posting(
            unit="points",
            kind="campaign_credit",
            amount=effect.points,
            key=effect.key,
            reason=f"Campaign {campaign.name or campaign.key}",
            order_id=order_id,
            expires_at=expires_at,
        ),
    )
    return True


def write_off(
    campaign: Campaign, account_id: int, credit: flow.CreditPoints, order_id: int | None
) -> None:
    """Take back a credit the cancelled order caused, once; what was spent becomes debt."""
    entry = find_entry(campaign.tenant_id, credit.key)
    reversal_key = f"{credit.key}:reversal"
    if entry is None or find_entry(campaign.tenant_id, reversal_key) is not None:
        return
    lock_account(account_id)
    take_back_points(
        campaign.tenant_id,
        account_id,
        Posting(
            unit="points",
            kind="reversal",
            amount=-entry.amount,
            key=reversal_key,
            reason=f"Campaign {campaign.name or campaign.key}: order cancelled",
            order_id=order_id,
        ),
    )
    move_counter(campaign.id, "points", -entry.amount)


def withdraw_coupon(membership: Membership, issue: flow.IssueCoupon) -> None:
    """A coupon issued after a cancelled order counted: no longer usable (EXPIRED)."""
    db.session.execute(
        update(Coupon)
        .where(
            Coupon.tenant_id == membership.tenant_id,
            Coupon.issue_key == issue.key,
            Coupon.status.in_(("ACTIVE", "LOCKED")),
        )
        .values(status="EXPIRED", locked_at=None, lock_session=None, lock_expires_at=None)
        .execution_options(synchronize_session=False)
    )


def send_to_member(
    campaign: Campaign,
    membership_id: int,
    account_id: int,
    kind: str,
    template: definitions.MessageState | definitions.Notification,
    key: str,
    now: datetime,
    not_before: datetime | None = None,
) -> Enqueued:
    """Queue one of the campaign's messages for a member: the template's title (the campaign's
    name when it has none) and text, keyed `key`."""
    return enqueue(
        campaign.tenant_id,
        account_id,
        kind,
        template.title or campaign.name or campaign.key,
        template.message or "",
        template.payload,
        key,
        CampaignSource(campaign.key, membership_id),
        now=now,
        not_before=not_before,
    )


def queue_message(
    campaign: Campaign,
    membership_id: int,
    account_id: int,
    effect: flow.QueueMessage,
    now: datetime,
) -> None:
    send_to_member(
        campaign, membership_id, account_id, "campaign_message", effect.state, effect.key, now
    )


def announce_join(
    campaign: Campaign,
    definition: definitions.Campaign,
    membership_id: int,
    account_id: int,
    key: str,
    now: datetime,
) -> None:
    """The campaign's DYNAMIC_JOIN notification, if it has one, for an account that joined."""
    for notification in definition.notifications:
        if notification.type != "DYNAMIC_JOIN":
            continue
        send_to_member(
            campaign,
            membership_id,
            account_id,
            "dynamic_join",
            notification,
            f"{key}:dynamic_join",
            now,
        )


def carry_out(
    campaign: Campaign,
    membership: Membership,
    effects: Sequence[flow.Effect],
    now: datetime,
    order_id: int | None = None,
) -> None:
    for effect in effects:
        if isinstance(effect, flow.IssueCoupon):
            issue_coupon(campaign, membership, effect, now)
        elif isinstance(effect, flow.CreditPoints):
            credit_points(campaign, membership.account_id, effect, now, order_id)
        elif isinstance(effect, flow.QueueMessage):
            queue_message(campaign, membership.id, membership.account_id, effect, now)


def _prefix(code: str) -> str:
    return code[: len(code) - coupon_rules.RANDOM_LENGTH]


def insert_ignoring_duplicates(table):
    """INSERT that skips rows breaking a unique constraint (ON CONFLICT DO NOTHING)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()
