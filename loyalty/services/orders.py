"""Orders Deliverect reports: award points, commit redemptions, spend cash, and cancel exactly.

Idempotent on (tenant, orderId): the Order row is unique, every ledger entry has a key derived
from it, and all of it happens in one transaction under the customer's account lock, so a replay
(even ten at once) records once and answers like the first. A cancel reverses the order's own
ledger entries; one that arrives first leaves a `cancel_pending` tombstone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Account, Hold, LedgerEntry, Order, Reward, Tenant
from ..rules.earning import points_for_order
from ..rules.tiers import tier_for
from .ledger import InsufficientBalance, Posting, lock_account, post
from .programs import tier_levels
from .redemption import begin_locked, held_points

ATTEMPTS = 3
# Balances are 32-bit columns: no single order may earn more than this (far above any real one).
MAX_POINTS_PER_ORDER = (
    10**8
)  # a concurrent first insert of the same orderId makes the loser start again


class OrderNotRecorded(Exception):
    """Concurrent writers kept colliding; the caller answers with an error and Deliverect's
    operator can resend (nothing was written)."""


@dataclass(frozen=True)
class OrderReport:
    """What an order webhook says, already parsed and with the customer resolved."""

    external_id: str
    account_id: int | None
    session_id: str | None = None
    program_ids: tuple[str, ...] = ()
    cash_amount: int = 0
    payment_amount: int = 0
    tip: int = 0
    decimal_digits: int = 2
    sub_total: int = 0
    discount_total: int = 0
    channel_order_display_id: str | None = None
    location_id: str | None = None
    channel_link_id: str | None = None
    order_type: int | None = None
    ordered_at: datetime | None = None
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OrderOutcome:
    order: Order
    replay: bool  # already known: nothing changed


def record_order(tenant: Tenant, report: OrderReport, now: datetime) -> OrderOutcome:
    for _attempt in range(ATTEMPTS):
        try:
            return _record_order(tenant, report, now)
        except IntegrityError:
            db.session.rollback()
    raise OrderNotRecorded(report.external_id)


def _record_order(tenant: Tenant, report: OrderReport, now: datetime) -> OrderOutcome:
    if report.account_id is not None:
        begin_locked(report.account_id)
    existing = _order(tenant.id, report.external_id)
    if existing is not None:
        if existing.status != "cancel_pending":
            db.session.rollback()
            return OrderOutcome(existing, replay=True)
        # The cancel came first: keep the order's facts, spend and earn nothing.
        _describe(existing, report, now)
        existing.account_id = existing.account_id or report.account_id
        existing.status = "cancelled"
        if report.account_id is not None and report.session_id:
            _release_session(report.account_id, report.session_id, now)
        db.session.commit()
        return OrderOutcome(existing, replay=False)

    order = Order(tenant_id=tenant.id, external_id=report.external_id, status="placed")
    _describe(order, report, now)
    order.account_id = report.account_id
    db.session.add(order)
    db.session.flush()  # IntegrityError here = a concurrent copy of this order won the insert
    if report.account_id is not None:
        account = db.session.get(Account, report.account_id, populate_existing=True)
        _redeem_programs(tenant, account, order, report, now)
        _spend_cash(tenant, account, order, report.cash_amount)
        _earn(tenant, account, order, report, now)
        account.last_order_at = now
    db.session.commit()
    return OrderOutcome(order, replay=False)


def _describe(order: Order, report: OrderReport, now: datetime) -> None:
    order.channel_order_display_id = report.channel_order_display_id
    order.location_id = report.location_id
    order.channel_link_id = report.channel_link_id
    order.order_type = report.order_type
    order.decimal_digits = report.decimal_digits
    order.sub_total = report.sub_total
    order.discount_total = report.discount_total
    order.payment_amount = report.payment_amount
    order.tip = report.tip
    order.ordered_at = report.ordered_at or now
    order.payload = report.payload


def _redeem_programs(
    tenant: Tenant, account: Account, order: Order, report: OrderReport, now: datetime
) -> None:
    """Commit the holds of the programs the order used; without a hold, take what is free.

    Held programs go first: their points were reserved for exactly this. Then this session's
    leftover holds are released. A program without a hold takes only points no other basket
    holds, never below zero; whatever it could not take is the order's shortfall for the team.
    """
    rewards = {
        reward.program_id: reward
        for reward in db.session.scalars(
            select(Reward).where(
                Reward.tenant_id == tenant.id, Reward.program_id.in_(set(report.program_ids))
            )
        )
    }
    live = list(
        db.session.scalars(
            select(Hold)
            .where(Hold.account_id == account.id, Hold.status == "held", Hold.expires_at > now)
            .order_by(Hold.created_at, Hold.id)
        )
    )
    unbacked: list[Reward] = []
    for program_id in report.program_ids:
        reward = rewards.get(program_id)
        if reward is None:
            continue  # not one of ours (or deleted): nothing we could charge
        hold = _pick_hold(live, reward.id, report.session_id)
        if hold is None:
            unbacked.append(reward)
            continue
        live.remove(hold)
        taken = _take_points(tenant, account, order, reward, hold.points, hold.points)
        hold.status, hold.order_id, hold.closed_at = "committed", order.id, now
        order.shortfall_points += hold.points - taken
    if report.session_id:
        _release_session(account.id, report.session_id, now)
    for reward in unbacked:
        free = account.points_balance - held_points(account.id, now)
        taken = _take_points(tenant, account, order, reward, reward.cost, max(0, free))
        order.shortfall_points += reward.cost - taken


def _pick_hold(live: list[Hold], reward_id: int, session_id: str | None) -> Hold | None:
    same_reward = [hold for hold in live if hold.reward_id == reward_id]
    for hold in same_reward:
        if hold.session_id == session_id:
            return hold
    return same_reward[0] if same_reward else None


def _take_points(
    tenant: Tenant, account: Account, order: Order, reward: Reward, cost: int, limit: int
) -> int:
    """Redeem up to `cost` points, no more than `limit` nor the balance; returns what was taken."""
    taken = max(0, min(cost, limit, account.points_balance))
    if taken:
        post(
            tenant.id,
            account.id,
            Posting(
                unit="points",
                kind="redeem",
                amount=-taken,
                key=f"order:{order.id}:redeem:{reward.id}",
                reason=f"{reward.title} on order {order.external_id}",
                order_id=order.id,
                reward_id=reward.id,
            ),
        )
        order.points_spent += taken
    return taken


def _spend_cash(tenant: Tenant, account: Account, order: Order, amount: int) -> None:
    taken = max(0, min(amount, account.cash_balance))
    if taken:
        post(
            tenant.id,
            account.id,
            Posting(
                unit="cash",
                kind="redeem",
                amount=-taken,
                key=f"order:{order.id}:cash",
                reason=f"Store credit on order {order.external_id}",
                order_id=order.id,
            ),
        )
        order.cash_spent = taken


def _earn(
    tenant: Tenant, account: Account, order: Order, report: OrderReport, now: datetime
) -> None:
    # The tier the customer was in when ordering sets the multiplier, not the one this order
    # might lift them into.
    tier = tier_for(account.lifetime_points, tier_levels(tenant.id))
    points = points_for_order(
        report.payment_amount,
        report.tip,
        report.decimal_digits,
        tenant.points_per_unit,
        tier.multiplier_percent if tier else 100,
    )
    points = min(points, MAX_POINTS_PER_ORDER)
    if not points:
        return
    expires_at = (
        now + timedelta(days=tenant.points_validity_days) if tenant.points_validity_days else None
    )
    post(
        tenant.id,
        account.id,
        Posting(
            unit="points",
            kind="earn",
            amount=points,
            key=f"order:{order.id}:earn",
            reason=f"Order {order.external_id}",
            order_id=order.id,
            expires_at=expires_at,
            lifetime_delta=points,
        ),
    )
    order.points_earned = points


def _release_session(account_id: int, session_id: str, now: datetime) -> None:
    for hold in db.session.scalars(
        select(Hold).where(
            Hold.account_id == account_id, Hold.session_id == session_id, Hold.status == "held"
        )
    ):
        hold.status, hold.closed_at = "released", now


@dataclass(frozen=True)
class CancelReport:
    external_id: str
    account_id: int | None  # the customer the cancel names, when it names one we know
    reason: str | None = None
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CancelOutcome:
    order: Order
    replay: bool  # already cancelled (or already remembered): nothing changed
    before_order: bool  # remembered as a tombstone; the order, when it comes, records nothing


def cancel_order(tenant: Tenant, report: CancelReport, now: datetime) -> CancelOutcome:
    for _attempt in range(ATTEMPTS):
        try:
            return _cancel_order(tenant, report, now)
        except IntegrityError:
            db.session.rollback()
    raise OrderNotRecorded(report.external_id)


def _cancel_order(tenant: Tenant, report: CancelReport, now: datetime) -> CancelOutcome:
    order = _order(tenant.id, report.external_id)
    to_lock = {order.account_id if order else None, report.account_id} - {None}
    db.session.rollback()
    locked: set[int] = set()
    for account_id in sorted(to_lock):  # a fixed order, so two cancels cannot deadlock
        lock_account(account_id)
        locked.add(account_id)
    order = _order(tenant.id, report.external_id)  # again, now that nobody else can move it
    if order is not None and order.account_id is not None and order.account_id not in locked:
        # The order appeared meanwhile under another customer: start over holding the right lock.
        db.session.rollback()
        return _cancel_order(tenant, report, now)
    if order is None:
        tombstone = Order(
            tenant_id=tenant.id,
            external_id=report.external_id,
            account_id=report.account_id,
            status="cancel_pending",
            cancellation_reason=_reason(report.reason),
            cancelled_at=now,
            payload=report.payload,
        )
        db.session.add(tombstone)
        db.session.flush()
        db.session.commit()
        return CancelOutcome(tombstone, replay=False, before_order=True)
    if order.status != "placed":
        db.session.rollback()
        return CancelOutcome(order, replay=True, before_order=order.status == "cancel_pending")
    _reverse_entries(tenant, order)
    order.status = "cancelled"
    order.cancelled_at = now
    order.cancellation_reason = _reason(report.reason)
    db.session.commit()
    return CancelOutcome(order, replay=False, before_order=False)


def _reverse_entries(tenant: Tenant, order: Order) -> None:
    """A compensating entry for each entry the order wrote: refunds first, then the earn.

    Points the customer already spent cannot be taken back below zero; what could not be
    reversed is added to the order's shortfall for the team.
    """
    entries = list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.order_id == order.id,
                LedgerEntry.tenant_id == tenant.id,
                LedgerEntry.kind.in_(("earn", "redeem")),
            )
            .order_by(LedgerEntry.amount, LedgerEntry.id)  # debits (refunded first) come first
        )
    )
    for entry in entries:
        amount = -entry.amount
        lifetime = -entry.amount if entry.kind == "earn" else 0
        posting = Posting(
            unit=entry.unit,
            kind="reversal",
            amount=amount,
            key=f"{entry.idempotency_key}:reversal",
            reason=f"Order {order.external_id} cancelled",
            order_id=order.id,
            reward_id=entry.reward_id,
            lifetime_delta=lifetime,
        )
        try:
            post(tenant.id, entry.account_id, posting)
        except InsufficientBalance as error:
            # Only a debit (taking back earned points) can fail: take what is left.
            reversible = min(-amount, max(0, error.balance))
            if reversible:
                post(tenant.id, entry.account_id, replace(posting, amount=-reversible))
            if entry.unit == "points":
                order.shortfall_points += -amount - reversible


def _order(tenant_id: int, external_id: str) -> Order | None:
    return db.session.scalar(
        select(Order)
        .where(Order.tenant_id == tenant_id, Order.external_id == external_id)
        .execution_options(populate_existing=True)
    )


def _reason(text: str | None) -> str | None:
    return text[:256] if text else None
