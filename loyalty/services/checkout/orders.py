"""Orders a channel reports: award points, commit redemptions, spend cash, and cancel exactly.

What each order redeems, earns and ends, and what its cancel reverses, is decided by
rules.checkout from what is read here under the account lock; this module reads and writes.

Idempotent on (tenant, orderId): the Order row is unique, every ledger entry has a key derived
from it, and all of it happens in one transaction under the customer's account lock, so a replay
(even ten at once) records once and answers like the first. A cancel reverses the order's own
ledger entries; one that arrives first leaves a `cancel_pending` tombstone. Earned points the
customer already spent are taken back as debt (rules.debt), so cancels never create points.
An order over the restaurant's caps (rules.order_review) is recorded, redeems as usual, but
earns nothing and waits in the list of held orders until an owner credits or dismisses it.

Earning follows the restaurant's earning rules as they are when the order is recorded
(rules.earning); the order and its earn entry keep which rule gave what, so a later change to
the rules, a credit after review and a cancel all use what the order actually earned. A visit
rule's "once a day" is counted over the customer's orders of that local day, read under the
account lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, case, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Account, AccountEvent, Hold, LedgerEntry, Order, Reward, Tenant
from ...rules import checkout as rules
from ...rules import earning
from ...rules.basket import Basket
from ...time import local_time
from ..campaigns import engine as campaign_engine
from ..pagination import Page, paginate
from ..reporting import rollups
from ..wallet.ledger import Balances, Posting, lock_account, post, post_new, take_back_points
from .catalogue import Catalogue, VersionedTenant, catalogue
from .redemption import begin_locked, end_sessions, live_holds

# A concurrent first insert of the same orderId makes the loser start again.
ATTEMPTS = 3


class OrderTenant(VersionedTenant, Protocol):
    """The tenant facts recording an order needs: a Tenant row, or any door's plain copy of it
    (read with the call's authentication, so recording costs no query for the tenant)."""

    @property
    def time_zone(self) -> str: ...
    @property
    def points_validity_days(self) -> int | None: ...
    @property
    def decimal_digits(self) -> int: ...
    @property
    def max_points_per_order(self) -> int: ...
    @property
    def max_order_amount(self) -> int: ...
    @property
    def has_campaigns(self) -> bool: ...


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
    tip: int = 0  # tip and driver tip
    fees: int = 0  # delivery, service charge, bag and small-order fees: they earn nothing
    decimal_digits: int = 2
    basket: Basket = Basket(())  # the lines, for the rules per item and bonus items
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


def _retrying(attempt, tenant, report, now: datetime):
    """Run one order transaction, starting again when a concurrent writer won a unique insert.
    `tenant`: whatever `attempt` takes (an OrderTenant, or a cancel's tenant id)."""
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
    if rollups.is_late(values["ordered_at"], now, tenant.time_zone):
        rollups.note_late_order(tenant.id, tenant.time_zone, values["ordered_at"], now)
    if account_id is None:
        # IntegrityError here = a concurrent copy of this order won the insert.
        db.session.execute(_INSERT_ORDER, values)
        db.session.commit()
        return OrderOutcome(_facts_of(values), replay=False)

    # Everything is decided from what was read under the lock, then written in a few
    # statements: the order with its totals, all its ledger entries, the account, the holds.
    plan, titles = _plan(tenant, account_id, balances, report, now)
    values.update(
        points_spent=plan.points_spent,
        shortfall_points=plan.shortfall,
        cash_spent=plan.cash,
        points_earned=plan.earning.points,
        points_withheld=plan.earning.withheld,
        review_status="flagged" if plan.earning.review_reason else None,
        review_reason=plan.earning.review_reason,
        earning_breakdown=plan.earning.breakdown.earned() or None,
    )
    # IntegrityError here = a concurrent copy of this order won the insert.
    order_id = db.session.execute(_INSERT_ORDER, values).scalar_one()
    # Every key names this order, inserted just now under the account lock: none can exist yet.
    post_new(
        tenant.id,
        account_id,
        balances,
        _postings(order_id, report.external_id, plan, titles),
        also={"last_order_at": now, "first_order_at": _first_order_at(values["ordered_at"])},
    )
    if plan.committed_holds:
        db.session.execute(
            update(Hold)
            .where(Hold.id.in_(plan.committed_holds))
            .values(status="committed", order_id=order_id, closed_at=now)
            .execution_options(synchronize_session=False)
        )
    # The holds it used are closed above; whatever else its checkouts still hold is released.
    end_sessions(account_id, plan.sessions_ended, now)
    # The same transaction moves the customer's campaigns: coupons used, ORDER states counted.
    if tenant.has_campaigns:
        campaign_engine.on_order_placed(tenant.id, db.session.get(Order, order_id), now)
    db.session.commit()
    return OrderOutcome(_facts_of(values), replay=False)


def _first_order_at(ordered_at: datetime):
    """The account's first placed order, this one included: the stats' first-time guests."""
    first = Account.__table__.c.first_order_at
    moment = literal(ordered_at, first.type)  # stored as UTC, whatever offset it came with
    return case((or_(first.is_(None), first > moment), moment), else_=first)


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
    if account_id is not None:
        named = _named(_rewards(tenant.id, catalogue(tenant), report.program_ids), report)
        holds = live_holds(account_id, now)
        end_sessions(account_id, rules.sessions_ended(report.session_id, named, holds), now)
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


def _plan(
    tenant: OrderTenant, account_id: int, balances: Balances, report: OrderReport, now: datetime
) -> tuple[rules.OrderPlan, dict[int, str]]:
    """The order's plan (rules.checkout) from the balances and holds read under the lock, and
    the titles of the rewards it names (for the ledger's reasons)."""
    shop = catalogue(tenant)
    rewards = _rewards(tenant.id, shop, report.program_ids)
    terms = _terms(tenant, shop)
    claim = rules.OrderClaim(
        session_id=report.session_id,
        rewards=_named(rewards, report),
        store_credit=report.cash_amount,
        purchase=_purchase(tenant, account_id, report, shop, terms.rules, now),
    )
    plan = rules.plan_order(
        claim,
        live_holds(account_id, now),
        rules.Wallet(balances.points, balances.cash, balances.lifetime_points),
        terms,
        now,
    )
    return plan, {reward.id: reward.title for reward in rewards.values()}


def _named(rewards: dict[str, _RewardRef], report: OrderReport) -> tuple[rules.NamedReward, ...]:
    """The rewards the order names that are ours, in its order, each once."""
    named = {
        rewards[pid].id: rules.NamedReward(rewards[pid].id, rewards[pid].cost)
        for pid in report.program_ids
        if pid in rewards
    }
    return tuple(named.values())


def _purchase(
    tenant: OrderTenant,
    account_id: int,
    report: OrderReport,
    shop: Catalogue,
    earning_rules_now: tuple[earning.EarningRule, ...],
    now: datetime,
) -> earning.Purchase:
    """What the earning rules read of the order: amounts, lines, the units its rewards made
    free, its local time, and the visits the customer was already paid for that day."""
    basket = report.basket
    programs = [
        shop.by_program_id[pid].program for pid in report.program_ids if pid in shop.by_program_id
    ]
    ordered_at = report.ordered_at or now
    return earning.Purchase(
        paid=report.payment_amount,
        tips=report.tip,
        fees=report.fees,
        decimal_digits=report.decimal_digits,
        items=basket.items,
        free_units=earning.free_units(programs, basket),
        local_time=local_time(tenant.time_zone, ordered_at),
        visits_today=_visits_paid(account_id, earning_rules_now, tenant.time_zone, ordered_at),
    )


def _visits_paid(
    account_id: int,
    earning_rules_now: tuple[earning.EarningRule, ...],
    time_zone: str,
    ordered_at: datetime,
) -> dict[int, int]:
    """Visit rule id -> the customer's orders of the same local day it already paid for
    (cancelled and dismissed orders do not count)."""
    limited = {rule.id for rule in earning_rules_now if rule.kind == earning.VISIT and rule.per_day}
    if not limited:
        return {}
    day = local_time(time_zone, ordered_at).date()
    # A local day is at most 26 hours away from any of its instants, whatever the zone or DST.
    orders = db.session.execute(
        select(Order.ordered_at, Order.earning_breakdown).where(
            Order.account_id == account_id,
            Order.status == "placed",
            Order.review_status.is_distinct_from("dismissed"),
            Order.ordered_at > ordered_at - timedelta(hours=26),
            Order.ordered_at < ordered_at + timedelta(hours=26),
            Order.earning_breakdown.is_not(None),
        )
    ).all()
    paid: dict[int, int] = {}
    for moment, parts in orders:
        if local_time(time_zone, moment).date() != day:
            continue
        for part in parts or ():
            if part.get("kind") == earning.VISIT and part.get("rule") in limited:
                paid[part["rule"]] = paid.get(part["rule"], 0) + 1
    return paid


def _terms(tenant: OrderTenant, shop: Catalogue) -> rules.EarningTerms:
    return rules.EarningTerms(
        rules=shop.earning_rules,
        points_validity_days=tenant.points_validity_days,
        decimal_digits=tenant.decimal_digits,
        max_points_per_order=tenant.max_points_per_order,
        max_order_amount=tenant.max_order_amount,
        levels=tuple(shop.levels),
    )


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


def _postings(
    order_id: int, external_id: str, plan: rules.OrderPlan, titles: dict[int, str]
) -> list[Posting]:
    postings = [
        Posting(
            unit="points",
            kind="redeem",
            amount=-redemption.taken,
            key=f"order:{order_id}:redeem:{redemption.reward_id}",
            reason=f"{titles[redemption.reward_id]} on order {external_id}",
            order_id=order_id,
            reward_id=redemption.reward_id,
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
    if plan.earning.points:
        postings.append(
            _earning(
                order_id,
                external_id,
                plan.earning.points,
                plan.earning.expires_at,
                breakdown=tuple(plan.earning.breakdown.earned()),
            )
        )
    return postings


def _earning(
    order_id: int, external_id: str, points: int, expires_at: datetime | None, **also
) -> Posting:
    """The order's one earn entry: its key is the same whether it credited at once or after
    review, so it can be written only once. `breakdown` says which rules gave its points."""
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


def cancel_order(tenant_id: int, report: CancelReport, now: datetime) -> CancelOutcome:
    return _retrying(_cancel_order, tenant_id, report, now)


def _cancel_order(tenant_id: int, report: CancelReport, now: datetime) -> CancelOutcome:
    order = _order(tenant_id, report.external_id)
    to_lock = {order.account_id if order else None, report.account_id} - {None}
    db.session.rollback()
    locked: set[int] = set()
    for account_id in sorted(to_lock):  # a fixed order, so two cancels cannot deadlock
        lock_account(account_id)
        locked.add(account_id)
    order = _order(tenant_id, report.external_id)  # again, now that nobody else can move it
    if order is not None and order.account_id is not None and order.account_id not in locked:
        # The order appeared meanwhile under another customer: start over holding the right lock.
        db.session.rollback()
        return _cancel_order(tenant_id, report, now)
    if order is None:
        tombstone = Order(
            tenant_id=tenant_id,
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
    _reverse_entries(tenant_id, order)
    order.status = "cancelled"
    order.cancelled_at = now
    order.cancellation_reason = _reason(report.reason)
    if order.account_id is not None:
        _forget_first_order(order)
    time_zone = db.session.scalar(select(Tenant.time_zone).where(Tenant.id == tenant_id))
    if rollups.is_late(order.ordered_at, now, time_zone):
        rollups.note_late_order(tenant_id, time_zone, order.ordered_at, now)
    campaign_engine.on_order_cancelled(tenant_id, order, now)
    answer = facts(order)
    db.session.commit()
    return CancelOutcome(answer, replay=False, before_order=False)


def _forget_first_order(order: Order) -> None:
    """A cancelled first order is no first order: the account's next placed one is (one UPDATE
    that changes nothing unless this was the first)."""
    db.session.flush()
    earliest = (
        select(func.min(Order.ordered_at))
        .where(Order.account_id == order.account_id, Order.status == "placed")
        .scalar_subquery()
    )
    db.session.execute(
        update(Account)
        .where(Account.id == order.account_id, Account.first_order_at == order.ordered_at)
        .values(first_order_at=earliest)
        .execution_options(synchronize_session=False)
    )


def _reverse_entries(tenant_id: int, order: Order) -> None:
    """The compensating entries of rules.checkout.reversals; a take-back the balance cannot
    cover becomes debt naming this order (ledger.take_back_points)."""
    entries = db.session.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.account_id,
            LedgerEntry.unit,
            LedgerEntry.kind,
            LedgerEntry.amount,
            LedgerEntry.idempotency_key,
            LedgerEntry.reward_id,
            LedgerEntry.breakdown,
        ).where(LedgerEntry.order_id == order.id, LedgerEntry.tenant_id == tenant_id)
    ).all()
    accounts = {entry.id: entry.account_id for entry in entries}
    written = [
        rules.OrderEntry(
            entry.id,
            entry.unit,
            entry.kind,
            entry.amount,
            entry.idempotency_key,
            entry.reward_id,
            tuple(entry.breakdown or ()),
        )
        for entry in entries
    ]
    for reversal in rules.reversals(written):
        posting = Posting(
            unit=reversal.unit,
            kind="reversal",
            amount=reversal.amount,
            key=reversal.key,
            reason=f"Order {order.external_id} cancelled",
            order_id=order.id,
            reward_id=reversal.reward_id,
            lifetime_delta=reversal.lifetime_delta,
            breakdown=reversal.breakdown or None,
        )
        write = take_back_points if reversal.takes_back else post
        write(tenant_id, accounts[reversal.entry_id], posting)


class OrderNotCredited(ValueError):
    """The order cannot be credited after review; the message says why."""


def credit_held_order(tenant_id: int, order_id: int, user_id: int, now: datetime) -> Order:
    """An owner credits an order held for review with the points it would have earned.

    Idempotent: the earn entry has the order's usual key, and an order already credited is
    returned unchanged. Points expire as if earned now.
    """
    order = _reviewed_order_locked(tenant_id, order_id, OrderNotCredited)
    if order.review_status == "credited":
        db.session.rollback()
        return order
    if order.status != "placed" or order.review_status != "flagged":
        db.session.rollback()
        raise OrderNotCredited("Only a placed order held for review can be credited.")
    if order.points_withheld:
        validity = db.session.scalar(
            select(Tenant.points_validity_days).where(Tenant.id == tenant_id)
        )
        post(
            tenant_id,
            order.account_id,
            _earning(
                order.id,
                order.external_id,
                order.points_withheld,
                rules.earned_points_expire_at(validity, now),
                user_id=user_id,
                breakdown=tuple(order.earning_breakdown or ()),
            ),
        )
    order.points_earned, order.points_withheld = order.points_withheld, 0
    order.review_status = "credited"
    db.session.commit()
    return order


class OrderNotDismissed(ValueError):
    """The order cannot be dismissed after review; the message says why."""


def dismiss_held_order(tenant_id: int, order_id: int, user_id: int, now: datetime) -> Order:
    """An owner looked at an order held for review and decided it earns nothing.

    It leaves the list of held orders, keeps its withheld points as a record, and the account's
    timeline says who dismissed it. Idempotent: an order already dismissed is returned
    unchanged. Under the account lock, like a credit or a cancel, so of two owners acting at
    once one wins and the other is told.
    """
    order = _reviewed_order_locked(tenant_id, order_id, OrderNotDismissed)
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
            tenant_id=tenant_id,
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
