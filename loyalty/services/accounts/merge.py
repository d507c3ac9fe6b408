"""Merging two accounts that turn out to be the same person into one."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, func, select, update

from ...extensions import db
from ...models import (
    Account,
    AccountEvent,
    AccountTag,
    Hold,
    LedgerEntry,
    Order,
    Tenant,
    utcnow,
)
from ..campaigns import engine
from ..campaigns.accounts import merge_memberships
from ..members.sessions import end_account_sessions
from ..reporting import rollups
from ..scoping import get_for_tenant
from ..wallet.ledger import lock_account, settle_debt

log = logging.getLogger(__name__)

# Identifiers and profile fields the survivor takes from the retired account when it has none.
FILLED_IDENTIFIERS = ("email", "phone", "card")
FILLED_PROFILE = ("first_name", "last_name", "first_name_key", "last_name_key", "birthdate", "sex")


class MergeError(ValueError):
    pass


def merge_accounts(
    tenant_id: int,
    survivor_id: int,
    retired_id: int,
    user_id: int,
    *,
    now: datetime | None = None,
) -> Account:
    """Move everything of `retired` to `survivor` in one transaction and retire it.

    Ledger entries, orders, holds, events, tags, campaign memberships and coupons move
    (services.campaigns.accounts); balances are recomputed from the moved
    ledger, and what either account owed is paid from the merged balance first (rules.debt:
    an account never has points and a debt at once); the retired account keeps its id (and
    whatever identifiers the survivor already had its own of), with merged_into_id set, so
    services.accounts.profile.find_account still resolves it. The survivor's campaigns then
    see what it became (engine.on_account_changed).
    """
    now = now or utcnow()
    if survivor_id == retired_id:
        raise MergeError("An account cannot be merged into itself.")
    survivor = get_for_tenant(Account, survivor_id, tenant_id)
    retired = get_for_tenant(Account, retired_id, tenant_id)
    for account in (survivor, retired):
        if account.merged_into_id is not None:
            raise MergeError(f"{account.external_id} was already merged into another account.")
        if account.erased_at is not None:
            raise MergeError(f"{account.external_id} has been erased.")
    # Lock in id order: two merges of the same pair in opposite directions cannot deadlock.
    for account_id in sorted((survivor.id, retired.id)):
        lock_account(account_id)
    db.session.refresh(survivor)
    db.session.refresh(retired)
    if survivor.merged_into_id is not None or retired.merged_into_id is not None:
        db.session.rollback()
        raise MergeError("One of these accounts was merged a moment ago.")

    for model in (LedgerEntry, Order, Hold, AccountEvent):
        db.session.execute(
            update(model)
            .where(model.account_id == retired.id)
            .values(account_id=survivor.id)
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        update(Account)
        .where(Account.merged_into_id == retired.id)
        .values(merged_into_id=survivor.id)
        .execution_options(synchronize_session=False)
    )
    survivor_tags = set(survivor.tag_names)
    extra_tags = [tag for tag in retired.tag_names if tag not in survivor_tags]
    db.session.execute(delete(AccountTag).where(AccountTag.account_id == retired.id))
    db.session.add_all(
        AccountTag(account_id=survivor.id, tag=tag, tenant_id=tenant_id) for tag in extra_tags
    )

    taken = {
        name: getattr(retired, name) for name in FILLED_IDENTIFIERS if not getattr(survivor, name)
    }
    for name in taken:
        setattr(retired, name, None)
    db.session.flush()  # free the unique identifiers before the survivor takes them
    for name, value in taken.items():
        setattr(survivor, name, value)
    for name in FILLED_PROFILE:
        if not getattr(survivor, name) and getattr(retired, name):
            setattr(survivor, name, getattr(retired, name))
    survivor.properties = {**(retired.properties or {}), **(survivor.properties or {})}
    survivor.lifetime_points += retired.lifetime_points
    if retired.last_order_at and (
        survivor.last_order_at is None or retired.last_order_at > survivor.last_order_at
    ):
        survivor.last_order_at = retired.last_order_at
    # Their orders are the survivor's now: its first is the earlier of both.
    firsts = [moment for moment in (survivor.first_order_at, retired.first_order_at) if moment]
    survivor.first_order_at = min(firsts) if firsts else None
    if retired.first_order_at is not None:
        # The moved orders now count in the survivor's joining cohort.
        time_zone = db.session.scalar(select(Tenant.time_zone).where(Tenant.id == tenant_id))
        if rollups.is_late(retired.first_order_at, now, time_zone):
            rollups.note_cohorts_changed(tenant_id, time_zone, retired.first_order_at)
    db.session.flush()
    survivor.points_balance = _ledger_total(survivor.id, "points")
    survivor.cash_balance = _ledger_total(survivor.id, "cash")
    survivor.points_debt = _ledger_total(survivor.id, "debt")  # owed points move too
    retired.points_balance = retired.cash_balance = retired.lifetime_points = 0
    retired.points_debt = 0
    retired.merged_into_id = survivor.id
    retired.merged_at = now  # the stats count it a member until then
    db.session.flush()  # the ledger writes against the merged balances in the database
    # A retired account is merged once, so its id makes the repayment's key.
    settle_debt(tenant_id, survivor.id, f"merge:{retired.id}", user_id)
    merge_memberships(tenant_id, survivor.id, retired.id)
    end_account_sessions([retired.id])  # its guest pages would show an emptied card

    db.session.add_all(
        [
            _merge_event(survivor, "MERGED", retired, user_id, now),
            _merge_event(retired, "MERGED_INTO", survivor, user_id, now),
        ]
    )
    engine.on_account_changed(tenant_id, survivor.id, now)
    db.session.commit()
    db.session.expire_all()
    log.info("account %s merged into %s by user %s", retired.id, survivor.id, user_id)
    return survivor


def _ledger_total(account_id: int, unit: str) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.account_id == account_id, LedgerEntry.unit == unit
        )
    )


def _merge_event(
    account: Account, event_type: str, other: Account, user_id: int, now: datetime
) -> AccountEvent:
    """One side's record of the merge, naming the other account."""
    return AccountEvent(
        tenant_id=account.tenant_id,
        account_id=account.id,
        type=event_type,
        related_account_id=other.id,
        related_external_id=other.external_id,
        data={"byUserId": user_id},
        ts=now,
    )
