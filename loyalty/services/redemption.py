"""Programs for a customer, validation with holds on their points, and the holds' history.

A hold reserves a program's cost for one checkout session (Deliverect's sessionId) until it
expires, is released (program removed, basket changed) or is committed by the order. Every
function that reads a balance and holds and then writes takes the account lock first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from ..extensions import db
from ..models import Account, Hold, LedgerEntry, Reward
from ..rules.basket import Basket
from ..rules.programs import Customer, Discount, check_program, validate_programs
from ..rules.tiers import TierLevel, rank_of, tier_for
from .ledger import lock_account
from .programs import as_program, live_rewards, tier_levels

PROGRAM_NOT_FOUND = "Program not found"
CUSTOMER_NOT_FOUND = "Loyalty customer not found"


def begin_locked(account_id: int) -> None:
    """Start a fresh transaction whose first statement takes the account lock.

    The caller's earlier reads (finding the customer) are ended first: on SQLite a transaction
    that has read cannot later take the write lock if another writer committed meanwhile, and on
    PostgreSQL nothing is lost because every balance and hold is read again after the lock.
    """
    db.session.rollback()
    lock_account(account_id)


def held_points(account_id: int, now: datetime, exclude_session: str | None = None) -> int:
    """Points reserved by live holds, optionally leaving out one session's own."""
    query = select(func.coalesce(func.sum(Hold.points), 0)).where(
        Hold.account_id == account_id, Hold.status == "held", Hold.expires_at > now
    )
    if exclude_session is not None:
        query = query.where(Hold.session_id != exclude_session)
    return int(db.session.scalar(query))


def customer_for_rules(
    account: Account, levels: list[TierLevel], now: datetime, session_id: str | None
) -> Customer:
    """What the rules need: points not held by other baskets, and the tier rank."""
    available = account.points_balance - held_points(account.id, now, exclude_session=session_id)
    tier = tier_for(account.lifetime_points, levels)
    return Customer(max(0, available), rank_of(tier.tier_id, levels) if tier else None)


@dataclass(frozen=True)
class ProgramOffer:
    reward: Reward
    applicable: bool
    reason: str | None  # for the team (webhook log, dashboard); never sent to Deliverect


def programs_for(
    tenant_id: int,
    account: Account | None,
    basket: Basket | None,
    session_id: str | None,
    now: datetime,
) -> list[ProgramOffer]:
    """Every live reward with whether this customer (and basket, when given) can use it.

    Without a known customer nothing is applicable: programs cost points.
    """
    levels = tier_levels(tenant_id)
    customer = (
        customer_for_rules(account, levels, now, session_id)
        if account is not None
        else Customer(0, None)
    )
    offers = []
    for reward in live_rewards(tenant_id):
        verdict = check_program(as_program(reward, levels), customer, basket, now)
        reason = verdict.reason
        if account is None:
            reason = "customer not found"
        offers.append(ProgramOffer(reward, verdict.applicable and account is not None, reason))
    return offers


@dataclass(frozen=True)
class RequestedProgram:
    """One entry of the validate answer."""

    program_id: str
    errors: tuple[str, ...]
    discounts: tuple[Discount, ...]


def validate_and_hold(
    tenant_id: int,
    account: Account | None,
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
    if account is None:
        return [RequestedProgram(pid, (CUSTOMER_NOT_FOUND,), ()) for pid in program_ids]
    begin_locked(account.id)
    db.session.refresh(account)
    _expire_stale_holds(account.id, now)
    levels = tier_levels(tenant_id)
    rewards = _rewards_by_program_id(tenant_id, program_ids)
    known = [pid for pid in program_ids if pid in rewards]
    programs = [as_program(rewards[pid], levels) for pid in known]
    customer = customer_for_rules(account, levels, now, session_id)
    already_applied = frozenset(basket.applied_program_ids)
    checked = iter(validate_programs(programs, customer, basket, now, already_applied))
    answer: list[RequestedProgram] = []
    passed: dict[str, Reward] = {}
    for pid in program_ids:
        if pid not in rewards:
            answer.append(RequestedProgram(pid, (PROGRAM_NOT_FOUND,), ()))
            continue
        result = next(checked)
        answer.append(RequestedProgram(pid, result.errors, result.discounts))
        if result.ok:
            passed[pid] = rewards[pid]
    _sync_session_holds(
        tenant_id, account.id, session_id, passed, now + timedelta(seconds=hold_seconds), now
    )
    db.session.commit()
    return answer


def release_session(tenant_id: int, account_id: int, session_id: str, now: datetime) -> int:
    """Release every live hold of a checkout session (for example when its basket is abandoned)."""
    begin_locked(account_id)
    released = _release(
        select(Hold.id).where(
            Hold.tenant_id == tenant_id,
            Hold.account_id == account_id,
            Hold.session_id == session_id,
            Hold.status == "held",
        ),
        "released",
        now,
    )
    db.session.commit()
    return released


def _rewards_by_program_id(tenant_id: int, program_ids: Sequence[str]) -> dict[str, Reward]:
    if not program_ids:
        return {}
    rewards = db.session.scalars(
        select(Reward).where(
            Reward.tenant_id == tenant_id,
            Reward.program_id.in_(set(program_ids)),
            Reward.archived_at.is_(None),
        )
    )
    return {reward.program_id: reward for reward in rewards}


def _sync_session_holds(
    tenant_id: int,
    account_id: int,
    session_id: str,
    wanted: dict[str, Reward],
    expires_at: datetime,
    now: datetime,
) -> None:
    """Make this session's live holds exactly one per program in `wanted`."""
    current = list(
        db.session.scalars(
            select(Hold).where(
                Hold.account_id == account_id,
                Hold.session_id == session_id,
                Hold.status == "held",
            )
        )
    )
    kept: set[int] = set()
    for hold in current:
        reward = wanted.get(hold.reward.program_id) if hold.reward else None
        if reward is not None and reward.id not in kept:
            kept.add(reward.id)
            hold.points = reward.cost
            hold.expires_at = expires_at
        else:
            hold.status, hold.closed_at = "released", now
    for reward in wanted.values():
        if reward.id not in kept:
            db.session.add(
                Hold(
                    tenant_id=tenant_id,
                    account_id=account_id,
                    reward_id=reward.id,
                    session_id=session_id,
                    points=reward.cost,
                    status="held",
                    expires_at=expires_at,
                )
            )
    db.session.flush()


def _expire_stale_holds(account_id: int, now: datetime) -> None:
    _release(
        select(Hold.id).where(
            Hold.account_id == account_id, Hold.status == "held", Hold.expires_at <= now
        ),
        "expired",
        now,
    )


def _release(hold_ids, status: str, now: datetime) -> int:
    result = db.session.execute(
        update(Hold)
        .where(Hold.id.in_(hold_ids))
        .values(status=status, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


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
