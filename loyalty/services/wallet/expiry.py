"""Writing off expired points in batches, safely re-runnable and runnable on several hosts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from ...extensions import db
from ...models import JobWatermark, LedgerEntry
from ...rules.expiry import PointsMovement, points_to_expire
from .ledger import Posting, lock_account, post

JOB_NAME = "points_expiry"
BATCH_SIZE = 500


def due_accounts(now: datetime) -> list[int]:
    """Accounts with credits that expired since the last completed run, in id order."""
    watermark = db.session.get(JobWatermark, JOB_NAME)
    query = (
        select(LedgerEntry.account_id)
        .distinct()
        .where(
            LedgerEntry.unit == "points",
            LedgerEntry.amount > 0,
            LedgerEntry.expires_at.is_not(None),
            LedgerEntry.expires_at <= now,
        )
    )
    if watermark is not None:
        query = query.where(LedgerEntry.expires_at > watermark.reached_at)
    account_ids = sorted(db.session.scalars(query))
    db.session.rollback()
    return account_ids


def expire_points(
    now: datetime,
    account_ids: list[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write off every point that expired up to `now`; returns the points written off.

    Batches of one transaction each, so a run interrupted half-way loses nothing: the watermark
    moves only at the end, and replaying an account already done writes off nothing more.
    """
    if account_ids is None:
        account_ids = due_accounts(now)
    total = 0
    for start in range(0, len(account_ids), BATCH_SIZE):
        batch = account_ids[start : start + BATCH_SIZE]
        for account_id in batch:
            total += _expire_account(account_id, now)
        db.session.commit()
        if progress:
            progress(len(batch))
    watermark = db.session.get(JobWatermark, JOB_NAME)
    if watermark is None:
        db.session.add(JobWatermark(name=JOB_NAME, reached_at=now))
    elif watermark.reached_at < now:
        watermark.reached_at = now
    db.session.commit()
    return total


def _expire_account(account_id: int, now: datetime) -> int:
    lock_account(account_id)
    rows = db.session.execute(
        select(
            LedgerEntry.tenant_id,
            LedgerEntry.amount,
            LedgerEntry.created_at,
            LedgerEntry.expires_at,
            LedgerEntry.kind,
        )
        .where(LedgerEntry.account_id == account_id, LedgerEntry.unit == "points")
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    ).all()
    if not rows:
        return 0
    movements = [
        PointsMovement(row.amount, row.created_at, row.expires_at, row.kind == "expire")
        for row in rows
    ]
    due = points_to_expire(movements, now)
    if not due:
        return 0
    balance = sum(row.amount for row in rows)
    due = min(due, balance)  # never below zero, whatever the history says
    if due <= 0:
        return 0
    post(
        rows[0].tenant_id,
        account_id,
        Posting(
            unit="points",
            kind="expire",
            amount=-due,
            key=f"expire:{account_id}:{now.isoformat()}",
            reason="Points expired",
        ),
    )
    return due
