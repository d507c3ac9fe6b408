"""Erasure: a customer's personal data removed for good, amounts kept so stats stay true."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from sqlalchemy import delete, select, update

from ...extensions import db
from ...models import Account, AccountEvent, AccountTag, Order, utcnow
from ..campaigns.accounts import erase_memberships
from ..members.sessions import end_account_sessions
from ..scoping import get_for_tenant
from ..wallet.ledger import lock_account

log = logging.getLogger(__name__)

# Parts of a Deliverect order payload that describe the person, not the order.
PERSONAL_ORDER_KEYS = ("customer", "deliveryAddress", "pickupAddress", "note", "customerNote")


class ErasureError(ValueError):
    pass


def erase_account(
    tenant_id: int, account_id: int, user_id: int | None, *, now: datetime | None = None
) -> Account:
    """Remove the customer's personal data for good, keeping amounts so stats stay true.

    Names, identifiers, birthdate, sex, properties, tags and consents go; ledger amounts, order
    totals and event types stay, and so do campaign memberships and coupons, so the campaigns'
    figures stay true (the memberships end and forget their details, the coupons expire:
    services.campaigns.accounts). Accounts merged into this one hold the same person's data and
    are erased too. The account id is replaced so the old id no longer identifies anyone.
    Their guest-page sign-ins end. `user_id` None: the customer asked, on the guest pages.
    """
    account = get_for_tenant(Account, account_id, tenant_id)
    if account.erased_at is not None:
        raise ErasureError("This account has already been erased.")
    lock_account(account.id)
    now = now or utcnow()
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
    erase_memberships(tenant_id, erased_ids)
    end_account_sessions(erased_ids)
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
