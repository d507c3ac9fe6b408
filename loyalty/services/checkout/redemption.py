"""Programs for a customer, validation with holds on their points, and the holds' history.

A hold reserves a program's cost for one checkout session (Deliverect's sessionId) until it
expires, is released (program removed, basket changed) or is committed by the order. Every
function that reads a balance and holds and then writes takes the account lock first.

A customer's campaign coupons are programs too (cost 0, programId = the code): validating one
locks the coupon for the session instead of holding points (services.campaigns.coupons; the
lock lapses after the hold time), and the order naming it uses it (the campaign engine).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Hold, LedgerEntry
from ...rules import coupons as coupon_rules
from ...rules.basket import Basket
from ...rules.checkout import LiveHold
from ...rules.programs import (
    Customer,
    Discount,
    Program,
    check_program,
    coupon_program,
    validate_programs,
)
from ...rules.tiers import TierLevel, rank_of, tier_for
from ..campaigns.checkout_coupons import CheckoutCoupon, release_session_locks, usable_coupons
from ..campaigns.coupons import lock_coupon, verify_coupon
from ..wallet.ledger import Balances, lock_account
from .catalogue import Catalogue, CatalogueReward, coupon_listing
from .customers import CheckoutCustomer

PROGRAM_NOT_FOUND = "Program not found"
CUSTOMER_NOT_FOUND = "Loyalty customer not found"
# Why a coupon program was refused, for the customer (rules.coupons reasons). A stranger's
# coupon is as unknown as a made-up code.
COUPON_REFUSALS = {
    coupon_rules.USED: "Coupon already used",
    coupon_rules.EXPIRED: "Coupon expired",
    coupon_rules.LOCKED: "Coupon is being used in another order",
}


def begin_locked(account_id: int) -> Balances | None:
    """Take the account lock, first write of the transaction; returns the balances as of the
    lock (None when the account is gone).

    On SQLite the caller's earlier reads (finding the customer) are ended first: a transaction
    that has read cannot later take the write lock if another writer committed meanwhile. On
    PostgreSQL they stay in the same transaction (no new pool checkout, hence no second
    pre-ping): under READ COMMITTED every statement sees what was committed before it, and
    every balance and hold is read again after the lock anyway.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.rollback()
    return lock_account(account_id)


def held_points(account_id: int, now: datetime, exclude_session: str | None = None) -> int:
    """Points reserved by live holds, optionally leaving out one session's own."""
    query = select(func.coalesce(func.sum(Hold.points), 0)).where(
        Hold.account_id == account_id, Hold.status == "held", Hold.expires_at > now
    )
    if exclude_session is not None:
        query = query.where(Hold.session_id != exclude_session)
    return int(db.session.scalar(query))


def rules_customer(available: int, lifetime_points: int, levels: list[TierLevel]) -> Customer:
    """What the rules need: points not held by other baskets, and the tier rank."""
    tier = tier_for(lifetime_points, levels)
    return Customer(max(0, available), rank_of(tier.tier_id, levels) if tier else None)


@dataclass(frozen=True)
class ProgramOffer:
    program_id: str
    listing: dict[str, Any]  # as Deliverect lists it, `applicable` set by `listed()`
    applicable: bool
    reason: str | None  # for the team (webhook log, dashboard); never sent to Deliverect

    def listed(self) -> dict[str, Any]:
        return {**self.listing, "applicable": self.applicable}


def programs_for(
    tenant_id: int,
    catalogue: Catalogue,
    customer: CheckoutCustomer | None,
    basket: Basket | None,
    session_id: str,
    now: datetime,
) -> list[ProgramOffer]:
    """Every live reward, then the customer's usable campaign coupons (free programs, see
    services.campaigns.checkout_coupons), with whether this customer (and basket, when given)
    can use each.

    `customer.points_held` must leave out the asking session's own holds. Without a known
    customer nothing is applicable (rewards cost points) and there are no coupons.
    """
    if customer is None:
        return [
            ProgramOffer(entry.program_id, entry.listing, False, "customer not found")
            for entry in catalogue.rewards
        ]
    checked = rules_customer(
        customer.points_balance - customer.points_held, customer.lifetime_points, catalogue.levels
    )
    offers = []
    for entry in catalogue.rewards:
        verdict = check_program(entry.program, checked, basket, now)
        offers.append(
            ProgramOffer(entry.program_id, entry.listing, verdict.applicable, verdict.reason)
        )
    coupons = (
        usable_coupons(tenant_id, customer.id, session_id, now) if customer.may_have_coupons else ()
    )
    for coupon in coupons:
        verdict = check_program(_as_program(coupon), checked, basket, now)
        offers.append(
            ProgramOffer(coupon.code, coupon_listing(coupon), verdict.applicable, verdict.reason)
        )
    return offers


@dataclass(frozen=True)
class RequestedProgram:
    """One entry of the validate answer."""

    program_id: str
    errors: tuple[str, ...]
    discounts: tuple[Discount, ...]


def validate_and_hold(
    tenant_id: int,
    catalogue: Catalogue,
    customer: CheckoutCustomer | None,
    program_ids: Sequence[str],
    basket: Basket,
    session_id: str,
    now: datetime,
    hold_seconds: int,
) -> list[RequestedProgram]:
    """Deliverect's validate: check each requested program and reserve what those that pass
    need, for this session only: a reward's points (a hold), a coupon itself (a lock). Holds and
    locks of this session for programs no longer requested (removed from the basket, or failing
    now) are released.

    Requested coupons are locked first, each by one conditional UPDATE (committed), so a coupon
    another checkout or a till holds is refused before any discount is reckoned with it; the
    rest is one transaction under the account lock.
    """
    rewards = catalogue.by_program_id
    coupons, refused = (
        _lock_coupons(tenant_id, customer.id, program_ids, rewards, session_id, now)
        if customer is not None
        else ({}, {})
    )
    balances = begin_locked(customer.id) if customer is not None else None
    if balances is None:
        db.session.rollback()
        return [RequestedProgram(pid, (CUSTOMER_NOT_FOUND,), ()) for pid in program_ids]
    # Every hold still marked held, read once under the lock: stale ones are closed below.
    holds = db.session.execute(
        select(Hold.id, Hold.session_id, Hold.reward_id, Hold.points, Hold.expires_at).where(
            Hold.account_id == customer.id, Hold.status == "held"
        )
    ).all()
    live = [hold for hold in holds if hold.expires_at > now]
    held_by_others = sum(hold.points for hold in live if hold.session_id != session_id)
    programs = {pid: entry.program for pid, entry in rewards.items()} | {
        pid: _as_program(coupon) for pid, coupon in coupons.items()
    }
    checked = iter(
        validate_programs(
            [programs[pid] for pid in program_ids if pid in programs],
            rules_customer(
                balances.points - held_by_others, balances.lifetime_points, catalogue.levels
            ),
            basket,
            now,
            frozenset(basket.applied_program_ids),
        )
    )
    answer: list[RequestedProgram] = []
    passed: set[str] = set()
    for pid in program_ids:
        if pid not in programs:
            answer.append(RequestedProgram(pid, (refused.get(pid, PROGRAM_NOT_FOUND),), ()))
            continue
        result = next(checked)
        answer.append(RequestedProgram(pid, result.errors, result.discounts))
        if result.ok:
            passed.add(pid)
    stale = [hold.id for hold in holds if hold.expires_at <= now]
    if stale:
        _release(stale, "expired", now)
    _sync_session_holds(
        catalogue,
        tenant_id,
        customer.id,
        session_id,
        [hold for hold in live if hold.session_id == session_id],
        {pid: rewards[pid] for pid in passed if pid in rewards},
        now + timedelta(seconds=hold_seconds),
        now,
    )
    if coupons or customer.may_have_coupons:  # else no lock of this session can exist
        release_session_locks(tenant_id, customer.id, session_id, passed & coupons.keys(), now)
    db.session.commit()
    return answer


def _lock_coupons(
    tenant_id: int,
    account_id: int,
    program_ids: Sequence[str],
    rewards: Mapping[str, CatalogueReward],
    session_id: str,
    now: datetime,
) -> tuple[dict[str, CheckoutCoupon], dict[str, str]]:
    """The requested programs that are the customer's coupons, locked for this session (its own
    lock again is fine), and the customer-facing refusal of those that could not be."""
    codes = [
        pid
        for pid in dict.fromkeys(program_ids)
        if pid not in rewards and coupon_rules.normalise_code(pid) == pid
    ]
    if not codes:
        return {}, {}
    usable = {
        coupon.code: coupon
        for coupon in usable_coupons(tenant_id, account_id, session_id, now, codes)
    }
    db.session.rollback()  # end the reads before the first write, as begin_locked does
    locked: dict[str, CheckoutCoupon] = {}
    refused: dict[str, str] = {}
    for code in codes:
        if code in usable:
            verdict = lock_coupon(tenant_id, code, account_id, session_id, now)
            if verdict.valid:
                locked[code] = usable[code]
                continue
        else:  # why not: used, expired, another's lock, or not the customer's at all
            verdict = verify_coupon(tenant_id, code, account_id, session_id=session_id, now=now)
        refused[code] = COUPON_REFUSALS.get(verdict.reason or "", PROGRAM_NOT_FOUND)
    return locked, refused


def _as_program(coupon: CheckoutCoupon) -> Program:
    return coupon_program(
        coupon.code,
        coupon.title,
        coupon.coupon_type,
        coupon.value,
        coupon.product,
        coupon.valid_to,
    )


def live_holds(account_id: int, now: datetime) -> list[LiveHold]:
    """The account's holds still reserving points, oldest first. Call under the account lock."""
    return [
        LiveHold(*row)
        for row in db.session.execute(_LIVE_HOLDS, {"account_id": account_id, "now": now})
    ]


_holds = Hold.__table__.c
# Built once (Core, bound parameters): every order reads its customer's live holds.
_LIVE_HOLDS = (
    select(_holds.id, _holds.reward_id, _holds.session_id, _holds.points)
    .where(
        _holds.account_id == bindparam("account_id"),
        _holds.status == "held",
        _holds.expires_at > bindparam("now"),
    )
    .order_by(_holds.created_at, _holds.id)
)


def end_sessions(account_id: int, session_ids: Iterable[str], now: datetime) -> None:
    """Release what these checkout sessions still hold (their order arrived). Call under the
    account lock, after committing the holds the order used."""
    sessions = sorted(session_ids)
    if sessions:
        db.session.execute(
            update(Hold)
            .where(
                Hold.account_id == account_id,
                Hold.session_id.in_(sessions),
                Hold.status == "held",
            )
            .values(status="released", closed_at=now)
            .execution_options(synchronize_session=False)
        )


def _sync_session_holds(
    catalogue: Catalogue,
    tenant_id: int,
    account_id: int,
    session_id: str,
    current: list,
    wanted: dict[str, CatalogueReward],
    expires_at: datetime,
    now: datetime,
) -> None:
    """Make this session's live holds (`current`) exactly one per program in `wanted`."""
    kept: set[int] = set()
    released: list[int] = []
    for hold in current:
        entry = catalogue.by_id.get(hold.reward_id)
        reward = wanted.get(entry.program_id) if entry is not None else None
        if reward is not None and reward.id not in kept:
            kept.add(reward.id)
            db.session.execute(
                update(Hold)
                .where(Hold.id == hold.id)
                .values(points=reward.cost, expires_at=expires_at)
                .execution_options(synchronize_session=False)
            )
        else:
            released.append(hold.id)
    if released:
        _release(released, "released", now)
    new = [
        {
            "tenant_id": tenant_id,
            "account_id": account_id,
            "reward_id": reward.id,
            "session_id": session_id,
            "points": reward.cost,
            "status": "held",
            "expires_at": expires_at,
            "created_at": now,
        }
        for reward in wanted.values()
        if reward.id not in kept
    ]
    if new:
        db.session.execute(insert(Hold.__table__).values(new))


def _release(hold_ids, status: str, now: datetime) -> None:
    db.session.execute(
        update(Hold)
        .where(Hold.id.in_(hold_ids))
        .values(status=status, closed_at=now)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class AccountActivity:
    """What the account page shows about redemptions: live and recent holds, and spent points."""

    holds: list[Hold]
    redemptions: list[LedgerEntry]
    points_held: int


def account_activity(
    tenant_id: int, account_id: int, now: datetime, limit: int = 20
) -> AccountActivity:
    holds = list(
        db.session.scalars(
            select(Hold)
            .options(joinedload(Hold.reward))  # each row shows its reward's title
            .where(Hold.tenant_id == tenant_id, Hold.account_id == account_id)
            .order_by(Hold.created_at.desc(), Hold.id.desc())
            .limit(limit)
        )
    )
    redemptions = list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.tenant_id == tenant_id,
                LedgerEntry.account_id == account_id,
                LedgerEntry.kind.in_(("redeem", "reversal")),
            )
            .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
            .limit(limit)
        )
    )
    return AccountActivity(holds, redemptions, held_points(account_id, now))
