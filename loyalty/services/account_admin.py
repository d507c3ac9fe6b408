"""What the team does to one account: tags, properties, points adjustments and erasure."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from ..extensions import db
from ..models import Account, AccountEvent, AccountTag, LedgerEntry, Order, Tenant, utcnow
from ..rules.lifetime import lifetime_after_debit
from .ledger import InsufficientBalance, Posting, lock_account, post
from .scoping import get_for_tenant

log = logging.getLogger(__name__)

TAG_PATTERN = re.compile(r"^[\w.:-]{1,64}$")
PROPERTY_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
ADJUSTMENT_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_ADJUSTMENT = 10_000_000
# Parts of a Deliverect order payload that describe the person, not the order.
PERSONAL_ORDER_KEYS = ("customer", "deliveryAddress", "pickupAddress", "note", "customerNote")


class AdjustmentError(ValueError):
    """A points adjustment that cannot be made; the message is shown next to the form."""


class ErasureError(ValueError):
    pass


@dataclass(frozen=True)
class Adjustment:
    entry: LedgerEntry
    repeated: bool  # True when this form had already been submitted: nothing changed


def new_adjustment_token() -> str:
    """The one-time key rendered into an adjustment form so a double submit adjusts once."""
    return secrets.token_urlsafe(24)


def parse_tags(text: str) -> list[str]:
    """Tags typed as 'vip, newsletter' (commas or new lines); ValueError names a bad one."""
    tags = sorted({t.strip() for t in re.split(r"[,\n]", text or "") if t.strip()})
    bad = [t for t in tags if not TAG_PATTERN.match(t)]
    if bad:
        raise ValueError(
            f"{bad[0]!r} is not a tag: use letters, digits and _ . : - (at most 64 characters)"
        )
    return tags


def parse_properties(text: str) -> dict[str, str]:
    """Properties typed one per line as 'key: value'."""
    properties: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        key, separator, value = line.partition(":")
        key = key.strip()
        if not separator or not PROPERTY_KEY_PATTERN.match(key):
            raise ValueError(
                f"line {number}: write 'key: value' with a key of letters, digits and _ . -"
            )
        properties[key] = value.strip()[:500]
    return properties


def set_tags_and_properties(
    tenant_id: int, account_id: int, tags: list[str], properties: dict[str, str]
) -> Account:
    """Replace the account's tags and properties (validated with parse_tags/parse_properties)."""
    account = get_for_tenant(Account, account_id, tenant_id)
    wanted = set(tags)
    account.tags = [t for t in account.tags if t.tag in wanted] + [
        AccountTag(tag=tag, tenant_id=tenant_id) for tag in sorted(wanted - set(account.tag_names))
    ]
    account.properties = dict(properties)
    db.session.commit()
    return account


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
    """
    reason = (reason or "").strip()
    if not reason:
        raise AdjustmentError("Say why the points change: the reason is kept in the ledger.")
    if amount == 0:
        raise AdjustmentError("Enter a number of points other than zero.")
    if abs(amount) > MAX_ADJUSTMENT:
        raise AdjustmentError(f"At most {MAX_ADJUSTMENT:,} points in one adjustment.")
    if not ADJUSTMENT_TOKEN_PATTERN.match(token or ""):
        raise AdjustmentError("This form has expired: reload the page and try again.")
    limit = db.session.scalar(select(Tenant.adjustment_owner_limit).where(Tenant.id == tenant_id))
    if abs(amount) > limit and not by_owner:
        raise AdjustmentError(f"Adjustments over {limit:,} points need an owner.")
    account = get_for_tenant(Account, account_id, tenant_id)
    if account.merged_into_id is not None or account.erased_at is not None:
        raise AdjustmentError("This account is retired: adjust the account it was merged into.")
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
            raise AdjustmentError("This form was already used for another account.")
        db.session.commit()
    except InsufficientBalance as error:
        db.session.rollback()
        raise AdjustmentError(
            f"The balance is {error.balance:,} points: it cannot go below zero."
        ) from None
    except AdjustmentError:
        db.session.rollback()
        raise
    return Adjustment(entry, repeated=already is not None)


def _earned_by_orders(account_id: int) -> int:
    """Points the account's orders earned and still hold (cancelled ones earn nothing)."""
    return db.session.scalar(
        select(func.coalesce(func.sum(Order.points_earned), 0)).where(
            Order.account_id == account_id, Order.status == "placed"
        )
    )


def erase_account(tenant_id: int, account_id: int, user_id: int) -> Account:
    """Remove the customer's personal data for good, keeping amounts so stats stay true.

    Names, identifiers, birthdate, sex, properties, tags and consents go; ledger amounts, order
    totals and event types stay. Accounts merged into this one hold the same person's data and
    are erased too. The account id is replaced so the old id no longer identifies anyone.
    """
    account = get_for_tenant(Account, account_id, tenant_id)
    if account.erased_at is not None:
        raise ErasureError("This account has already been erased.")
    lock_account(account.id)
    now = utcnow()
    erased_ids = [account.id, *_merged_into(account.id)]
    for erased_id in erased_ids:
        db.session.execute(
            update(Account)
            .where(Account.id == erased_id)
            .values(
                external_id=f"erased-{secrets.token_hex(8)}",
                card=None,
                email=None,
                phone=None,
                first_name="",
                last_name="",
                first_name_key="",
                last_name_key="",
                birthdate=None,
                sex=None,
                properties={},
                consents={},
                marketing_consent=False,
                accepted_tc_at=None,
                erased_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    db.session.execute(delete(AccountTag).where(AccountTag.account_id.in_(erased_ids)))
    db.session.execute(
        update(AccountEvent)
        .where(AccountEvent.account_id.in_(erased_ids))
        .values(data={})
        .execution_options(synchronize_session=False)
    )
    # Other customers' timelines keep the relation but no longer name the erased account.
    db.session.execute(
        update(AccountEvent)
        .where(AccountEvent.related_account_id.in_(erased_ids))
        .values(related_external_id=None)
        .execution_options(synchronize_session=False)
    )
    for order in db.session.scalars(select(Order).where(Order.account_id.in_(erased_ids))):
        order.payload = _without_personal_data(order.payload)
    db.session.add(
        AccountEvent(
            tenant_id=tenant_id,
            account_id=account.id,
            type="ERASED",
            data={"byUserId": user_id, "accounts": len(erased_ids)},
            ts=now,
        )
    )
    db.session.commit()
    db.session.expire_all()
    # Internal ids only: the log must not become a copy of what was erased.
    log.info(
        "account %s erased (with %d merged) by user %s", account.id, len(erased_ids) - 1, user_id
    )
    return account


def _merged_into(account_id: int) -> list[int]:
    """Every account merged, directly or through others, into this one."""
    found: list[int] = []
    frontier = [account_id]
    while frontier:
        children = list(
            db.session.scalars(select(Account.id).where(Account.merged_into_id.in_(frontier)))
        )
        children = [c for c in children if c not in found and c != account_id]
        found += children
        frontier = children
    return found


def _without_personal_data(payload: dict | None) -> dict:
    if not isinstance(payload, dict):
        return {}
    return {k: v for k, v in payload.items() if k not in PERSONAL_ORDER_KEYS}
