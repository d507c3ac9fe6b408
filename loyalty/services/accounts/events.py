"""Account events: referral relations (OrderingStack's INVITED / INVITED_BY / FRIEND) and the
timeline that shows them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ...extensions import db
from ...models import Account, AccountEvent, utcnow
from ...validation import FieldErrors
from ..campaigns import engine
from ..pagination import Page
from ..scoping import get_for_tenant
from .history import account_page
from .profile import resolve_merged

RELATION_TYPES = ("INVITED", "INVITED_BY", "FRIEND", "UNKNOWN")
# The event written on the other account; UNKNOWN says nothing about the other side.
MIRROR = {"INVITED": "INVITED_BY", "INVITED_BY": "INVITED", "FRIEND": "FRIEND"}


class EventError(FieldErrors):
    """A relation event that cannot be recorded; `errors` names the argument at fault."""


def record_relation_event(
    tenant_id: int,
    account_id: int,
    other_external_id: str,
    type: str,
    ts: datetime | None = None,
    do_not_process_symmetry: bool = False,
    *,
    now: datetime | None = None,
) -> AccountEvent:
    """Record that the account INVITED / was INVITED_BY / is a FRIEND of another account.

    Unless `do_not_process_symmetry`, the mirror event goes on the other account when it is one
    of ours (the other side may not have joined yet: then only its id is kept). Recording the
    same relation at the same time again changes nothing, so callers may retry. The account
    given an INVITED event has one more referral (counters.referrals): its campaigns see it.
    """
    if type not in RELATION_TYPES:
        raise EventError({"type": f"type must be one of {', '.join(RELATION_TYPES)}"})
    other_external_id = (other_external_id or "").strip()
    if not 1 <= len(other_external_id) <= 64:
        raise EventError({"other_external_id": "the other account's id must be 1 to 64 characters"})
    account = get_for_tenant(Account, account_id, tenant_id)
    ts = ts or utcnow()
    if ts.tzinfo is None:
        raise EventError({"ts": "the event time needs a time zone"})
    other = resolve_merged(
        db.session.scalar(
            select(Account).where(
                Account.tenant_id == tenant_id, Account.external_id == other_external_id
            )
        )
    )
    if other is not None and other.id == account.id:
        raise EventError({"other_external_id": "an account cannot be related to itself"})
    event = _add_once(tenant_id, account.id, type, other, other_external_id, ts)
    inviters = [account.id] if type == "INVITED" else []
    if not do_not_process_symmetry and other is not None and type in MIRROR:
        _add_once(tenant_id, other.id, MIRROR[type], account, account.external_id, ts)
        if MIRROR[type] == "INVITED":
            inviters.append(other.id)
    for inviter_id in inviters:
        engine.on_account_changed(tenant_id, inviter_id, now or utcnow())
    db.session.commit()
    return event


def _add_once(
    tenant_id: int,
    account_id: int,
    type: str,
    other: Account | None,
    other_external_id: str,
    ts: datetime,
) -> AccountEvent:
    existing = db.session.scalar(
        select(AccountEvent).where(
            AccountEvent.account_id == account_id,
            AccountEvent.type == type,
            AccountEvent.related_external_id == other_external_id,
            AccountEvent.ts == ts,
        )
    )
    if existing is not None:
        return existing
    event = AccountEvent(
        tenant_id=tenant_id,
        account_id=account_id,
        type=type,
        related_account_id=other.id if other else None,
        related_external_id=other_external_id,
        data={},
        ts=ts,
    )
    db.session.add(event)
    db.session.flush()
    return event


def timeline(
    tenant_id: int, account_id: int, page: int = 1, per_page: int = 20
) -> Page[AccountEvent]:
    """The account's events, newest first."""
    return account_page(AccountEvent, AccountEvent.ts, tenant_id, account_id, page, per_page)
