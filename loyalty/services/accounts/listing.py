"""Selecting accounts for the API's lists, counts and exports (AccountFilter, spec §3.8).

The search box, tag and date filters are services.accounts.search's conditions; `constraints`
and `venue` are compiled by services.campaigns.selection.account_condition, so a list filtered
by a campaign's constraints holds exactly the accounts the campaign's preview counts. Only
active accounts (not merged, not erased) are listed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, select

from ...extensions import db
from ...models import Account, Campaign, Membership
from ...rules.constraints import Constraint
from ..campaigns.selection import account_condition
from .search import SearchCriteria, conditions

# sort name (the ApiAccount field react-admin sorts by) -> its columns; the row id breaks ties.
SORTS: dict[str, tuple] = {
    "id": (Account.external_id,),
    "card": (Account.card,),
    "header.lastName": (Account.last_name_key, Account.first_name_key),
    "header.firstName": (Account.first_name_key, Account.last_name_key),
    "header.created": (Account.created_at,),
    "header.lastOrder": (Account.last_order_at,),
    "counters.points": (Account.points_balance,),
    "counters.lifetimePoints": (Account.lifetime_points,),
}
DEFAULT_SORT = "id"
BATCH = 500


@dataclass(frozen=True)
class AccountFilter:
    """What a list, count or export asks for; empty values mean "no filter"."""

    q: str = ""
    ids: tuple[str, ...] = ()  # account ids (any of them)
    card: str | None = None
    tag: str | None = None
    venue: str | None = None  # has ordered there
    campaign: str | None = None  # is or was a member
    state: str | None = None  # is waiting in this state (of `campaign`, when given)
    birthdate_from: date | None = None
    birthdate_to: date | None = None
    created_from: date | None = None  # UTC days, both ends included
    created_to: date | None = None
    last_order_from: date | None = None
    last_order_to: date | None = None
    constraints: tuple[Constraint, ...] = ()  # validated (rules.constraints.check)
    contactable: bool = False  # only accounts that agreed to marketing


def filter_conditions(
    tenant_id: int, selection: AccountFilter, now: datetime, default_region: str | None = None
) -> list[ColumnElement[bool]]:
    criteria = SearchCriteria(
        q=selection.q,
        tag=selection.tag or "",
        joined_from=selection.created_from,
        joined_to=selection.created_to,
        ordered_after=selection.last_order_from,
    )
    where = conditions(tenant_id, criteria, default_region)
    if selection.ids:
        where.append(Account.external_id.in_(selection.ids))
    if selection.card:
        where.append(Account.card == selection.card)
    if selection.birthdate_from:
        where.append(Account.birthdate >= selection.birthdate_from)
    if selection.birthdate_to:
        where.append(Account.birthdate <= selection.birthdate_to)
    if selection.last_order_to:
        day_after = datetime.combine(selection.last_order_to + timedelta(days=1), time.min, UTC)
        where.append(Account.last_order_at < day_after)
    if selection.campaign or selection.state:
        where.append(_membership(tenant_id, selection.campaign, selection.state))
    constraints = list(selection.constraints)
    if selection.venue:
        constraints.append(Constraint(f"venues.{selection.venue}", "EXISTS"))
    if constraints:
        where.append(account_condition(constraints, now))
    if selection.contactable:
        where.append(Account.marketing_consent.is_(True))
    return where


def _membership(tenant_id: int, campaign: str | None, state: str | None) -> ColumnElement[bool]:
    where = [Membership.tenant_id == tenant_id, Membership.account_id == Account.id]
    if campaign:
        where.append(
            Membership.campaign_id.in_(
                select(Campaign.id).where(Campaign.tenant_id == tenant_id, Campaign.key == campaign)
            )
        )
    if state:
        where.append(and_(Membership.status == "active", Membership.state_id == state))
    return exists().where(*where)


def count_accounts(
    tenant_id: int, selection: AccountFilter, now: datetime, default_region: str | None = None
) -> int:
    ids = select(Account.id).where(*filter_conditions(tenant_id, selection, now, default_region))
    return int(db.session.scalar(select(func.count()).select_from(ids.subquery())))


def list_accounts(
    tenant_id: int,
    selection: AccountFilter,
    now: datetime,
    *,
    sort: str = DEFAULT_SORT,
    descending: bool = False,
    offset: int = 0,
    limit: int = 25,
    default_region: str | None = None,
) -> list[Account]:
    """One page of matching accounts in the `sort` order (a key of SORTS)."""
    keys = [*SORTS[sort], Account.id]
    order = [key.desc().nulls_last() if descending else key.asc().nulls_last() for key in keys]
    return list(
        db.session.scalars(
            select(Account)
            .where(*filter_conditions(tenant_id, selection, now, default_region))
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        )
    )


def account_batches(
    tenant_id: int,
    selection: AccountFilter,
    now: datetime,
    batch: int = BATCH,
    default_region: str | None = None,
) -> Iterator[list[Account]]:
    """Every matching account in id order, `batch` at a time (keyset paging: each batch is its
    own short query, so memory stays flat however many accounts match)."""
    where = filter_conditions(tenant_id, selection, now, default_region)
    after = 0
    while True:
        accounts = list(
            db.session.scalars(
                select(Account).where(*where, Account.id > after).order_by(Account.id).limit(batch)
            )
        )
        if not accounts:
            return
        yield accounts
        after = accounts[-1].id
        if len(accounts) < batch:
            return
