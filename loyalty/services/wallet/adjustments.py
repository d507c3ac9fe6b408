"""Points added or removed by hand by a team member, with a reason, once per form."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from ...extensions import db
from ...models import Account, LedgerEntry, Order, Tenant
from ...rules.lifetime import lifetime_after_debit
from ...validation import FieldErrors
from ..scoping import get_for_tenant
from .ledger import InsufficientBalance, Posting, lock_account, post

ADJUSTMENT_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_ADJUSTMENT = 10_000_000


@dataclass(frozen=True)
class Adjustment:
    entry: LedgerEntry
    repeated: bool  # True when this form had already been submitted: nothing changed


def new_adjustment_token() -> str:
    """The one-time key rendered into an adjustment form so a double submit adjusts once."""
    return secrets.token_urlsafe(24)


def adjust_points(
    tenant_id: int,
    account_id: int,
    amount: int,
    reason: str,
    user_id: int,
    token: str,
    by_owner: bool = False,
) -> Adjustment:
    """Add (or, negative, remove) points by hand, naming the team member and the reason.

    The form's one-time token is the ledger idempotency key, so a double-submitted form adjusts
    once. A balance never goes below zero; a credit pays any debt first. Credits count towards
    lifetime points (they usually restore points an order should have earned) and debits take
    them away again, never below what orders earned (rules.lifetime), so adding and removing a
    million points cannot mint a tier. Above the restaurant's limit only an owner may adjust.
    Refusals are FieldErrors on "reason" or "points" (the form's fields).
    """
    reason = (reason or "").strip()
    if not reason:
        raise _refused("Say why the points change: the reason is kept in the ledger.", "reason")
    if amount == 0:
        raise _refused("Enter a number of points other than zero.")
    if abs(amount) > MAX_ADJUSTMENT:
        raise _refused(f"At most {MAX_ADJUSTMENT:,} points in one adjustment.")
    if not ADJUSTMENT_TOKEN_PATTERN.match(token or ""):
        raise _refused("This form has expired: reload the page and try again.")
    limit = db.session.scalar(select(Tenant.adjustment_owner_limit).where(Tenant.id == tenant_id))
    if abs(amount) > limit and not by_owner:
        raise _refused(f"Adjustments over {limit:,} points need an owner.")
    account = get_for_tenant(Account, account_id, tenant_id)
    if account.retired:
        raise _refused("This account is retired: adjust the account it was merged into.")
    key = f"adjust:{token}"
    try:
        balances = lock_account(account.id)
        already = db.session.scalar(
            select(LedgerEntry.id).where(
                LedgerEntry.tenant_id == tenant_id, LedgerEntry.idempotency_key == key
            )
        )
        if amount > 0:
            lifetime_delta = amount
        else:
            lifetime = balances.lifetime_points
            lifetime_delta = (
                lifetime_after_debit(lifetime, -amount, _earned_by_orders(account.id)) - lifetime
            )
        entry = post(
            tenant_id,
            account.id,
            Posting(
                unit="points",
                kind="adjust",
                amount=amount,
                key=key,
                reason=reason[:500],
                user_id=user_id,
                lifetime_delta=lifetime_delta,
            ),
        )
        if entry.account_id != account.id:
            raise _refused("This form was already used for another account.")
        db.session.commit()
    except InsufficientBalance as error:
        db.session.rollback()
        message = f"The balance is {error.balance:,} points: it cannot go below zero."
        raise _refused(message) from None
    except FieldErrors:
        db.session.rollback()
        raise
    return Adjustment(entry, repeated=already is not None)


def _refused(message: str, field: str = "points") -> FieldErrors:
    return FieldErrors({field: message})


def _earned_by_orders(account_id: int) -> int:
    """Points the account's orders earned and still hold (cancelled ones earn nothing)."""
    return db.session.scalar(
        select(func.coalesce(func.sum(Order.points_earned), 0)).where(
            Order.account_id == account_id, Order.status == "placed"
        )
    )
