"""What the API shows of an account (ApiAccount, spec §3.5), read for a whole page at once.

Counters, venues, tags and string properties are services.campaigns.selection.account_facts:
the very numbers the campaign constraints compare, so a list filtered by a constraint and the
counters it shows always agree. The rest (relations, coupons, campaign places, the latest
orders, when the account last had an event or signed in) comes from one grouped query per kind
over every account of the page, never one query per account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ...extensions import db
from ...models import Account, AccountEvent, ApiToken, Campaign, Coupon, Membership, Order
from ...rules.constraints import AccountFacts
from ..campaigns.selection import account_facts
from .events import RELATION_TYPES

# Of an account's many relations and orders, the newest few are shown.
RELATIONS_SHOWN = 50
ORDERS_SHOWN = 5
# The coupons the customer holds: usable now, or reserved at a till.
HELD_COUPONS = ("ACTIVE", "LOCKED")


@dataclass(frozen=True)
class Relation:
    other: str  # the other account's id as the event named it
    at: datetime
    type: str  # INVITED_BY | INVITED | FRIEND | UNKNOWN


@dataclass(frozen=True)
class CampaignPlace:
    campaign: str  # the campaign's wire id
    state: str | None  # None once the account's flow has ended
    status: str  # active | completed | ended


@dataclass(frozen=True)
class OrderSummary:
    id: str  # the order id the channel gave
    total: int  # minor units paid
    at: datetime
    venue: str | None


@dataclass(frozen=True)
class AccountOverview:
    account: Account
    facts: AccountFacts
    relations: tuple[Relation, ...]
    coupons: tuple[str, ...]
    campaigns: tuple[CampaignPlace, ...]
    previous_orders: tuple[OrderSummary, ...]
    last_event: datetime | None
    last_logged: datetime | None  # when the customer's app last got a token


def overviews(tenant_id: int, accounts: Sequence[Account]) -> list[AccountOverview]:
    """The overview of each account (of `tenant_id`), in the order given."""
    ids = [account.id for account in accounts]
    if not ids:
        return []
    facts = account_facts(tenant_id, ids)
    relations = _relations(tenant_id, ids)
    coupons = _coupons(tenant_id, ids)
    campaigns = _campaigns(tenant_id, ids)
    orders = _previous_orders(tenant_id, ids)
    last_event = _latest(
        AccountEvent.account_id,
        AccountEvent.ts,
        AccountEvent.tenant_id == tenant_id,
        AccountEvent.account_id.in_(ids),
    )
    last_logged = _latest(
        ApiToken.account_id,
        ApiToken.issued_at,
        ApiToken.tenant_id == tenant_id,
        ApiToken.subject_kind == "customer",
        ApiToken.account_id.in_(ids),
    )
    return [
        AccountOverview(
            account=account,
            facts=facts.get(account.id, AccountFacts()),
            relations=tuple(relations.get(account.id, ())),
            coupons=tuple(coupons.get(account.id, ())),
            campaigns=tuple(campaigns.get(account.id, ())),
            previous_orders=tuple(orders.get(account.id, ())),
            last_event=last_event.get(account.id),
            last_logged=last_logged.get(account.id),
        )
        for account in accounts
    ]


def _relations(tenant_id: int, ids: list[int]) -> dict[int, list[Relation]]:
    newest = (
        func.row_number()
        .over(
            partition_by=AccountEvent.account_id,
            order_by=(AccountEvent.ts.desc(), AccountEvent.id.desc()),
        )
        .label("n")
    )
    ranked = (
        select(
            AccountEvent.account_id,
            AccountEvent.related_external_id,
            AccountEvent.ts,
            AccountEvent.type,
            newest,
        )
        .where(
            AccountEvent.tenant_id == tenant_id,
            AccountEvent.account_id.in_(ids),
            AccountEvent.type.in_(RELATION_TYPES),
        )
        .subquery()
    )
    rows = db.session.execute(
        select(ranked).where(ranked.c.n <= RELATIONS_SHOWN).order_by(ranked.c.n)
    ).all()
    found: dict[int, list[Relation]] = {}
    for row in rows:
        found.setdefault(row.account_id, []).append(
            Relation(row.related_external_id or "", row.ts, row.type)
        )
    return found


def _coupons(tenant_id: int, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for account_id, code in db.session.execute(
        select(Coupon.account_id, Coupon.code)
        .where(
            Coupon.tenant_id == tenant_id,
            Coupon.account_id.in_(ids),
            Coupon.status.in_(HELD_COUPONS),
        )
        .order_by(Coupon.created_at, Coupon.id)
    ):
        found.setdefault(account_id, []).append(code)
    return found


def _campaigns(tenant_id: int, ids: list[int]) -> dict[int, list[CampaignPlace]]:
    found: dict[int, list[CampaignPlace]] = {}
    for row in db.session.execute(
        select(Membership.account_id, Campaign.key, Membership.state_id, Membership.status)
        .join(Campaign, Campaign.id == Membership.campaign_id)
        .where(Membership.tenant_id == tenant_id, Membership.account_id.in_(ids))
        .order_by(Membership.created_at, Membership.id)
    ):
        found.setdefault(row.account_id, []).append(
            CampaignPlace(row.key, row.state_id if row.status == "active" else None, row.status)
        )
    return found


def _previous_orders(tenant_id: int, ids: list[int]) -> dict[int, list[OrderSummary]]:
    newest = (
        func.row_number()
        .over(partition_by=Order.account_id, order_by=(Order.ordered_at.desc(), Order.id.desc()))
        .label("n")
    )
    ranked = (
        select(
            Order.account_id,
            Order.external_id,
            Order.payment_amount,
            Order.ordered_at,
            Order.location_id,
            newest,
        )
        .where(Order.tenant_id == tenant_id, Order.account_id.in_(ids), Order.status == "placed")
        .subquery()
    )
    found: dict[int, list[OrderSummary]] = {}
    for row in db.session.execute(
        select(ranked).where(ranked.c.n <= ORDERS_SHOWN).order_by(ranked.c.n)
    ):
        found.setdefault(row.account_id, []).append(
            OrderSummary(row.external_id, row.payment_amount or 0, row.ordered_at, row.location_id)
        )
    return found


def _latest(account_column, moment_column, *where) -> dict[int, datetime]:
    """account id -> the latest `moment_column` of its rows matching `where`."""
    return dict(
        db.session.execute(
            select(account_column, func.max(moment_column)).where(*where).group_by(account_column)
        ).all()
    )
