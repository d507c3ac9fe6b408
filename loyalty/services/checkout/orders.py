"""Orders Deliverect reports: award points, commit redemptions, spend cash, and cancel exactly.

Idempotent on (tenant, orderId): the Order row is unique, every ledger entry has a key derived
from it, and all of it happens in one transaction under the customer's account lock, so a replay
(even ten at once) records once and answers like the first. A cancel reverses the order's own
ledger entries; one that arrives first leaves a `cancel_pending` tombstone. Earned points the
customer already spent are taken back as debt (rules.debt), so cancels never create points.
An order over the restaurant's caps (rules.order_review) is recorded, redeems as usual, but
earns nothing and waits in the list of held orders until an owner credits or dismisses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import AccountEvent, Hold, LedgerEntry, Order, Reward, Tenant
from ...rules.earning import points_for_order
from ...rules.order_review import MAX_POINTS_PER_ORDER, review_reason, scaled_amount
from ...rules.tiers import tier_for
from ..deliverect.links import LinkedTenant
from ..pagination import Page, paginate
from ..wallet.ledger import Balances, Posting, lock_account, post, post_new, take_back_points
from .catalogue import Catalogue, catalogue
from .redemption import begin_locked

# A concurrent first insert of the same orderId makes the loser start again.
ATTEMPTS = 3
# The webhooks pass the tenant they found through the Deliverect link.
OrderTenant = LinkedTenant | Tenant


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
class OrderFacts:
    """What the answer to Deliverect says about an order, read before the commit (so answering
    costs no query)."""

    external_id: str
    status: str
    points_earned: int
    points_spent: int
    cash_spent: int
    shortfall_points: int


def facts(order: Order) -> OrderFacts:
    return OrderFacts(
        order.external_id,
        order.status,
        order.points_earned or 0,
        order.points_spent or 0,
        order.cash_spent or 0,
        order.shortfall_points or 0,
    )


@dataclass(frozen=True)
class OrderOutcome:
    order: OrderFacts
    replay: bool  # already known: nothing changed


def record_order(tenant: OrderTenant, report: OrderReport, now: datetime) -> OrderOutcome:
    return _retrying(_record_order, tenant, report, now)


def _retrying(attempt, tenant: OrderTenant, report, now: datetime):
    """Run one order transaction, starting again when a concurrent writer won a unique insert."""
    for _attempt in range(ATTEMPTS):
        try:
            return attempt(tenant, report, now)
        except IntegrityError:
            db.session.rollback()
    raise OrderNotRecorded(report.external_id)


def _record_order(tenant: OrderTenant, report: OrderReport, now: datetime) -> OrderOutcome:
    balances = begin_locked(report.account_id) if report.account_id is not None else None
    account_id = report.account_id if balances is not None else None
    if db.session.execute(_ORDER_EXISTS, _order_key(tenant.id, report.external_id)).first():
        return _known_order(tenant, report, account_id, now)

    values = {
        **_description(report, now),
        "tenant_id": tenant.id,
        "external_id": report.external_id,
        "account_id": account_id,
        "status": "placed",
        "points_earned": 0,
        "points_spent": 0,
        "cash_spent": 0,
        "shortfall_points": 0,
        "points_withheld": 0,
        "created_at": now,
    }
    if account_id is None:
        # IntegrityError here = a concurrent copy of this order won the insert.
        db.session.execute(_INSERT_ORDER, values)
        db.session.commit()
        return OrderOutcome(_facts_of(values), replay=False)

    # Everything is decided from what was read under the lock, then written in a few
    # statements: the order with its totals, all its ledger entries, the account, the holds.
    plan = _plan(tenant, account_id, balances, report, now)
    values.update(
        points_spent=sum(redemption.taken for redemption in plan.redemptions),
        shortfall_points=plan.shortfall,
        cash_spent=plan.cash,
        points_earned=plan.earned,
        points_withheld=plan.withheld,
        review_status="flagged" if plan.review_reason else None,
        review_reason=plan.review_reason,
    )
    # IntegrityError here = a concurrent copy of this order won the insert.
    order_id = db.session.execute(_INSERT_ORDER, values).scalar_one()
    # Every key names this order, inserted just now under the account lock: none can exist yet.
    post_new(
        tenant.id,
        account_id,
        balances,
        _postings(order_id, report.external_id, plan),
        also={"last_order_at": now},
    )
    committed = [redemption.hold_id for redemption in plan.redemptions if redemption.hold_id]
    if committed:
        db.session.execute(
            update(Hold)
            .where(Hold.id.in_(committed))
            .values(status="committed", order_id=order_id, closed_at=now)
            .execution_options(synchronize_session=False)
        )
    if report.session_id:
        _release_session(account_id, report.session_id, now)
    db.session.commit()
    return OrderOutcome(_facts_of(values), replay=False)


def _known_order(
    tenant: OrderTenant, report: OrderReport, account_id: int | None, now: datetime
) -> OrderOutcome:
    """A replay (nothing changes), or the order of a cancel that came first."""
    existing = _order(tenant.id, report.external_id)
    if existing.status != "cancel_pending":
        answer = facts(existing)
        db.session.rollback()
        return OrderOutcome(answer, replay=True)
    # The cancel came first: keep the order's facts, spend and earn nothing.
    for name, value in _description(report, now).items():
        setattr(existing, name, value)
    existing.account_id = existing.account_id or account_id
    existing.status = "cancelled"
    if account_id is not None and report.session_id:
        _release_session(account_id, report.session_id, now)
    answer = facts(existing)
    db.session.commit()
    return OrderOutcome(answer, replay=False)


_orders = Order.__table__.c
_ORDER_EXISTS = select(_orders.id).where(
    _orders.tenant_id == bindparam("tenant_id"), _orders.external_id == bindparam("external_id")
)
_INSERT_ORDER = insert(Order.__table__).returning(_orders.id)


def _order_key(tenant_id: int, external_id: str) -> dict:
    return {"tenant_id": tenant_id, "external_id": external_id}


def _facts_of(values: dict) -> OrderFacts:
    return OrderFacts(
        values["external_id"],
        values["status"],
        values["points_earned"],
        values["points_spent"],
        values["cash_spent"],
        values["shortfall_points"],
    )


def _description(report: OrderReport, now: datetime) -> dict:
    """The order's facts as Deliverect reported them."""
    return {
        "channel_order_display_id": report.channel_order_display_id,
        "location_id": report.location_id,
        "channel_link_id": report.channel_link_id,
        "order_type": report.order_type,
        "decimal_digits": report.decimal_digits,
        "sub_total": report.sub_total,
        "discount_total": report.discount_total,
        "payment_amount": report.payment_amount,
        "tip": report.tip,
        "ordered_at": report.ordered_at or now,
        "payload": report.payload,
    }


@dataclass(frozen=True)
class _RewardRef:
    id: int
    title: str
    cost: int


@dataclass(frozen=True)
class _Redemption:
    reward: _RewardRef
    taken: int
    hold_id: int | None  # the hold it commits, if one backed it


@dataclass(frozen=True)
class _Plan:
    redemptions: list[_Redemption]
    shortfall: int
    cash: int
    earned: int
    earned_expire_at: datetime | None
    withheld: int = 0  # what it would have earned, held for review instead
    review_reason: str | None = None


def _plan(
    tenant: OrderTenant, account_id: int, balances: Balances, report: OrderReport, now: datetime
) -> _Plan:
    """What the order redeems, spends and earns, from the balances and holds under the lock.

    Held programs go first: their points were reserved for exactly this. This session's other
    holds are then released. A program without a hold takes only points no other basket holds,
    never below zero; whatever it could not take is the order's shortfall for the team. Cash
    never goes below zero either. Points are earned at the tier the customer was in when
    ordering, not the one this order might lift them into; an order over the caps earns
    nothing and is held for review.
    """
    shop = catalogue(tenant)
    rewards = _rewards(tenant.id, shop, report.program_ids)
    live = list(
        db.session.execute(
            select(Hold.id, Hold.reward_id, Hold.session_id, Hold.points)
            .where(Hold.account_id == account_id, Hold.status == "held", Hold.expires_at > now)
            .order_by(Hold.created_at, Hold.id)
        ).all()
    )
    points = balances.points
    redemptions: list[_Redemption] = []
    shortfall = 0
    unbacked: list[_RewardRef] = []
    for program_id in report.program_ids:
        reward = rewards.get(program_id)
        if reward is None:
            continue  # not one of ours (or deleted): nothing we could charge
        hold = _pick_hold(live, reward.id, report.session_id)
        if hold is None:
            unbacked.append(reward)
            continue
        live.remove(hold)
        taken = max(0, min(hold.points, points))
        points -= taken
        redemptions.append(_Redemption(reward, taken, hold.id))
        shortfall += hold.points - taken
    # Holds still live once this session's are released: other baskets' reservations.
    others = [
        hold for hold in live if not report.session_id or hold.session_id != report.session_id
    ]
    for reward in unbacked:
        free = points - sum(hold.points for hold in others)
        taken = max(0, min(reward.cost, free, points))
        points -= taken
        redemptions.append(_Redemption(reward, taken, None))
        shortfall += reward.cost - taken
    cash = max(0, min(report.cash_amount, balances.cash))
    tier = tier_for(balances.lifetime_points, shop.levels)
    earned = points_for_order(
        report.payment_amount,
        report.tip,
        report.decimal_digits,
        tenant.points_per_unit,
        tier.multiplier_percent if tier else 100,
    )
    earned = min(earned, MAX_POINTS_PER_ORDER)
    reason = review_reason(
        earned,
        scaled_amount(report.payment_amount, report.decimal_digits, tenant.decimal_digits),
        tenant.max_points_per_order,
        tenant.max_order_amount,
    )
    if reason:
        return _Plan(redemptions, shortfall, cash, 0, None, earned, reason)
    return _Plan(redemptions, shortfall, cash, earned, _earned_expire_at(tenant, now))


def _earned_expire_at(tenant: OrderTenant, now: datetime) -> datetime | None:
    days = tenant.points_validity_days
    return now + timedelta(days=days) if days else None


def _rewards(
    tenant_id: int, shop: Catalogue, program_ids: tuple[str, ...]
) -> dict[str, _RewardRef]:
    """The named rewards: live ones from the cached catalogue, archived ones (a hold placed
    before the team archived it) from the database."""
    found = {
        pid: _RewardRef(entry.id, entry.title, entry.cost)
        for pid in program_ids
        if (entry := shop.by_program_id.get(pid)) is not None
    }
    missing = set(program_ids) - set(found)
    if missing:
        for reward_id, program_id, title, cost in db.session.execute(
            select(Reward.id, Reward.program_id, Reward.title, Reward.cost).where(
                Reward.tenant_id == tenant_id, Reward.program_id.in_(missing)
            )
        ):
            found[program_id] = _RewardRef(reward_id, title, cost)
    return found


def _pick_hold(live: list, reward_id: int, session_id: str | None):
    same_reward = [hold for hold in live if hold.reward_id == reward_id]
    for hold in same_reward:
        if hold.session_id == session_id:
            return hold
    return same_reward[0] if same_reward else None


def _postings(order_id: int, external_id: str, plan: _Plan) -> list[Posting]:
    postings = [
        Posting(
            unit="points",
            kind="redeem",
            amount=-redemption.taken,
            key=f"order:{order_id}:redeem:{redemption.reward.id}",
            reason=f"{redemption.reward.title} on order {external_id}",
            order_id=order_id,
            reward_id=redemption.reward.id,
        )
        for redemption in plan.redemptions
        if redemption.taken
    ]
    if plan.cash:
        postings.append(
            Posting(
                unit="cash",
                kind="redeem",
                amount=-plan.cash,
                key=f"order:{order_id}:cash",
                reason=f"Store credit on order {external_id}",
                order_id=order_id,
            )
        )
    if plan.earned:
        postings.append(_earning(order_id, external_id, plan.earned, plan.earned_expire_at))
    return postings


def _earning(
    order_id: int, external_id: str, points: int, expires_at: datetime | None, **also
) -> Posting:
    """The order's one earn entry: its key is the same whether it credited at once or after
    review, so it can be written only once."""
    return Posting(
        unit="points",
        kind="earn",
        amount=points,
        key=f"order:{order_id}:earn",
        reason=f"Order {external_id}",
        order_id=order_id,
        expires_at=expires_at,
        lifetime_delta=points,
        **also,
    )


def _release_session(account_id: int, session_id: str, now: datetime) -> None:
    db.session.execute(
        update(Hold)
        .where(Hold.account_id == account_id, Hold.session_id == session_id, Hold.status == "held")
        .values(status="released", closed_at=now)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class CancelReport:
    external_id: str
    account_id: int | None  # the customer the cancel names, when it names one we know
    reason: str | None = None
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CancelOutcome:
    order: OrderFacts
    replay: bool  # already cancelled (or already remembered): nothing changed
    before_order: bool  # remembered as a tombstone; the order, when it comes, records nothing


def cancel_order(tenant: OrderTenant, report: CancelReport, now: datetime) -> CancelOutcome:
    return _retrying(_cancel_order, tenant, report, now)


def _cancel_order(tenant: OrderTenant, report: CancelReport, now: datetime) -> CancelOutcome:
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
        answer = facts(tombstone)
        db.session.commit()
        return CancelOutcome(answer, replay=False, before_order=True)
    if order.status != "placed":
        answer = facts(order)
        db.session.rollback()
        return CancelOutcome(answer, replay=True, before_order=answer.status == "cancel_pending")
    _reverse_entries(tenant, order)
    order.status = "cancelled"
    order.cancelled_at = now
    order.cancellation_reason = _reason(report.reason)
    answer = facts(order)
    db.session.commit()
    return CancelOutcome(answer, replay=False, before_order=False)


def _reverse_entries(tenant: OrderTenant, order: Order) -> None:
    """A compensating entry for each entry the order wrote: refunds first, then the earn.

    Refunds first, so they pay any debt and leave points for taking back the earn. Points the
    customer already spent cannot be taken below zero: that part becomes debt naming this
    order. Lifetime points lose the whole earn either way.
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
        if entry.unit == "points" and amount < 0:
            take_back_points(tenant.id, entry.account_id, posting)
        else:
            post(tenant.id, entry.account_id, posting)


class OrderNotCredited(ValueError):
    """The order cannot be credited after review; the message says why."""


def credit_held_order(tenant: Tenant, order_id: int, user_id: int, now: datetime) -> Order:
    """An owner credits an order held for review with the points it would have earned.

    Idempotent: the earn entry has the order's usual key, and an order already credited is
    returned unchanged. Points expire as if earned now.
    """
    order = _reviewed_order_locked(tenant.id, order_id, OrderNotCredited)
    if order.review_status == "credited":
        db.session.rollback()
        return order
    if order.status != "placed" or order.review_status != "flagged":
        db.session.rollback()
        raise OrderNotCredited("Only a placed order held for review can be credited.")
    if order.points_withheld:
        post(
            tenant.id,
            order.account_id,
            _earning(
                order.id,
                order.external_id,
                order.points_withheld,
                _earned_expire_at(tenant, now),
                user_id=user_id,
            ),
        )
    order.points_earned, order.points_withheld = order.points_withheld, 0
    order.review_status = "credited"
    db.session.commit()
    return order


class OrderNotDismissed(ValueError):
    """The order cannot be dismissed after review; the message says why."""


def dismiss_held_order(tenant: Tenant, order_id: int, user_id: int, now: datetime) -> Order:
    """An owner looked at an order held for review and decided it earns nothing.

    It leaves the list of held orders, keeps its withheld points as a record, and the account's
    timeline says who dismissed it. Idempotent: an order already dismissed is returned
    unchanged. Under the account lock, like a credit or a cancel, so of two owners acting at
    once one wins and the other is told.
    """
    order = _reviewed_order_locked(tenant.id, order_id, OrderNotDismissed)
    if order.review_status == "dismissed":
        db.session.rollback()
        return order
    if order.review_status == "credited":
        db.session.rollback()
        raise OrderNotDismissed("This order's points were credited already.")
    if order.status != "placed" or order.review_status != "flagged":
        db.session.rollback()
        raise OrderNotDismissed("Only a placed order held for review can be dismissed.")
    order.review_status = "dismissed"
    db.session.add(
        AccountEvent(
            tenant_id=tenant.id,
            account_id=order.account_id,
            type="ORDER_REVIEW_DISMISSED",
            data={"byUserId": user_id, "orderId": order.external_id},
            ts=now,
        )
    )
    db.session.commit()
    return order


def _reviewed_order_locked(tenant_id: int, order_id: int, refusal: type[ValueError]) -> Order:
    """The order, re-read under its customer's account lock, so a credit, a dismissal and a
    cancel of it happen one after the other."""
    order = db.session.scalar(
        select(Order).where(Order.id == order_id, Order.tenant_id == tenant_id)
    )
    if order is None or order.account_id is None:
        raise refusal("No such order for a known customer.")
    account_id = order.account_id
    db.session.rollback()
    lock_account(account_id)
    return db.session.get(Order, order_id, populate_existing=True)


def held_orders_page(tenant_id: int, page: int = 1, per_page: int = 20) -> Page[Order]:
    """Orders still held for review (not credited, dismissed or cancelled), newest first, each
    with its account loaded."""
    return paginate(
        Order,
        (
            Order.tenant_id == tenant_id,
            Order.status == "placed",
            Order.review_status == "flagged",
            Order.account_id.is_not(None),
        ),
        (Order.ordered_at.desc(), Order.id.desc()),
        page,
        per_page,
        options=(joinedload(Order.account),),
    )


def _order(tenant_id: int, external_id: str) -> Order | None:
    return db.session.scalar(
        select(Order)
        .where(Order.tenant_id == tenant_id, Order.external_id == external_id)
        .execution_options(populate_existing=True)
    )


def _reason(text: str | None) -> str | None:
    return text[:256] if text else None
