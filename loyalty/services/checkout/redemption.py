"""Programs for a customer, validation with holds on their points, and the holds' history.

A hold reserves a program's cost for one checkout session (Deliverect's sessionId) until it
expires, is released (program removed, basket changed) or is committed by the order. Every
function that reads a balance and holds and then writes takes the account lock first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Hold, LedgerEntry
from ...rules.basket import Basket
from ...rules.checkout import LiveHold
from ...rules.programs import Customer, Discount, check_program, validate_programs
from ...rules.tiers import TierLevel, rank_of, tier_for
from ..wallet.ledger import Balances, lock_account
from .catalogue import Catalogue, CatalogueReward
from .customers import CheckoutCustomer

PROGRAM_NOT_FOUND = "Program not found"
CUSTOMER_NOT_FOUND = "Loyalty customer not found"


def begin_locked(account_id: int) -> Balances | None:
    """Start a fresh transaction whose first statement takes the account lock; returns the
    balances as of the lock (None when the account is gone).

    The caller's earlier reads (finding the customer) are ended first: on SQLite a transaction
    that has read cannot later take the write lock if another writer committed meanwhile, and on
    PostgreSQL nothing is lost because every balance and hold is read again after the lock.
    """
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
    reward: CatalogueReward
    applicable: bool
    reason: str | None  # for the team (webhook log, dashboard); never sent to Deliverect


def programs_for(
    catalogue: Catalogue,
    customer: CheckoutCustomer | None,
    basket: Basket | None,
    now: datetime,
) -> list[ProgramOffer]:
    """Every live reward with whether this customer (and basket, when given) can use it.

    `customer.points_held` must leave out the asking session's own holds. Without a known
    customer nothing is applicable: programs cost points.
    """
    if customer is None:
        return [ProgramOffer(entry, False, "customer not found") for entry in catalogue.rewards]
    checked = rules_customer(
        customer.points_balance - customer.points_held, customer.lifetime_points, catalogue.levels
    )
    offers = []
    for entry in catalogue.rewards:
        verdict = check_program(entry.program, checked, basket, now)
        offers.append(ProgramOffer(entry, verdict.applicable, verdict.reason))
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
    """Deliverect's validate: check each requested program and reserve the points of those that
    pass, for this session only. Holds of this session for programs no longer requested (removed
    from the basket, or failing now) are released. One transaction, under the account lock.
    """
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
    rewards = catalogue.by_program_id
    known = [rewards[pid] for pid in program_ids if pid in rewards]
    checked = iter(
        validate_programs(
            [entry.program for entry in known],
            rules_customer(
                balances.points - held_by_others, balances.lifetime_points, catalogue.levels
            ),
            basket,
            now,
            frozenset(basket.applied_program_ids),
        )
    )
    answer: list[RequestedProgram] = []
    passed: dict[str, CatalogueReward] = {}
    for pid in program_ids:
        if pid not in rewards:
            answer.append(RequestedProgram(pid, (PROGRAM_NOT_FOUND,), ()))
            continue
        result = next(checked)
        answer.append(RequestedProgram(pid, result.errors, result.discounts))
        if result.ok:
            passed[pid] = rewards[pid]
    stale = [hold.id for hold in holds if hold.expires_at <= now]
    if stale:
        _release(stale, "expired", now)
    _sync_session_holds(
        catalogue,
        tenant_id,
        customer.id,
        session_id,
        [hold for hold in live if hold.session_id == session_id],
        passed,
        now + timedelta(seconds=hold_seconds),
        now,
    )
    db.session.commit()
    return answer


def live_holds(account_id: int, now: datetime) -> list[LiveHold]:
    """The account's holds still reserving points, oldest first. Call under the account lock."""
    return [
        LiveHold(*row)
        for row in db.session.execute(
            select(Hold.id, Hold.reward_id, Hold.session_id, Hold.points)
            .where(Hold.account_id == account_id, Hold.status == "held", Hold.expires_at > now)
            .order_by(Hold.created_at, Hold.id)
        )
    ]


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
