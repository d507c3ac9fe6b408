"""Which accounts a campaign selects: its constraints compiled to one SQL condition, and previews.

`account_condition` gives the same answers as rules.constraints.matches (a hypothesis test in
tests/integration/test_campaign_selection.py holds the two together on both databases). What a
constraint reads comes from where it already lives, through correlated subqueries on existing
indexes, so nothing has to be kept in step:
- counters.orders / spent / visits and venues.*: `orders` with status placed (payment_amount;
  visits are distinct UTC days; venues are location ids), via ix_orders_account_ordered;
- counters.points / lifetimePoints: the account's points_balance / lifetime_points;
- counters.referrals: account_events of type INVITED; any other counter reads 0;
- tags.*: account_tags; properties.*: string values of accounts.properties (a number or a
  list stored there is no string property, on both databases);
- header.firstName (empty = absent), created, lastOrder (accounts.last_order_at), birthdate.
Text compares by code point (COLLATE "C" on PostgreSQL; SQLite's BINARY already is).
Only active accounts are ever selected: not merged into another, not erased.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    String,
    and_,
    case,
    cast,
    distinct,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from ...extensions import db
from ...models import Account, AccountEvent, AccountTag, Order
from ...rules import campaigns as definitions
from ...rules.constraints import AccountFacts, Constraint, Kind, Resolved, resolve
from .store import get_campaign, rules_campaign

SAMPLE_SIZE = 20
RECENT_DAYS = 30
COUNTERS = ("orders", "spent", "visits", "points", "lifetimePoints", "referrals")


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def active_accounts(tenant_id: int) -> ColumnElement[bool]:
    """Accounts of the tenant that are still customers (not merged, not erased)."""
    return and_(
        Account.tenant_id == tenant_id,
        Account.merged_into_id.is_(None),
        Account.erased_at.is_(None),
    )


def account_condition(constraints: Iterable[Constraint], now: datetime) -> ColumnElement[bool]:
    """Every constraint (AND) as a condition on `accounts`, relative dates fixed at `now`."""
    dialect = _dialect()
    return and_(true(), *(_condition(resolve(c, now), dialect) for c in constraints))


def campaign_condition(
    tenant_id: int, campaign: definitions.Campaign, now: datetime
) -> ColumnElement[bool]:
    """The accounts the campaign selects (§4.1): active, matching every constraint; a BIRTHDAY
    campaign needs a birthdate (which birthday is due is the tick's business)."""
    condition = and_(active_accounts(tenant_id), account_condition(campaign.constraints, now))
    if campaign.type == "BIRTHDAY":
        condition = and_(condition, Account.birthdate.is_not(None))
    return condition


def counter(name: str) -> ColumnElement[int]:
    """The SQL value of counters.<name> for the account in the enclosing query."""
    placed = and_(Order.account_id == Account.id, Order.status == "placed")
    if name == "orders":
        return select(func.count()).where(placed).scalar_subquery()
    if name == "spent":
        return (
            select(func.coalesce(func.sum(Order.payment_amount), 0)).where(placed).scalar_subquery()
        )
    if name == "visits":
        day = _utc_day(Order.ordered_at)
        return select(func.count(distinct(day))).where(placed).scalar_subquery()
    if name == "points":
        return Account.points_balance
    if name == "lifetimePoints":
        return Account.lifetime_points
    if name == "referrals":
        return (
            select(func.count())
            .where(AccountEvent.account_id == Account.id, AccountEvent.type == "INVITED")
            .scalar_subquery()
        )
    return literal(0, Integer)


def account_facts(tenant_id: int, account_ids: Sequence[int]) -> dict[int, AccountFacts]:
    """What the rules see of each account (ACCOUNT states, dynamic joins), read in three
    queries whatever the number of accounts; the same values account_condition compares."""
    if not account_ids:
        return {}
    ids = list(account_ids)
    rows = db.session.execute(
        select(
            Account.id,
            Account.first_name,
            Account.created_at,
            Account.last_order_at,
            Account.birthdate,
            Account.properties,
            *(counter(name).label(name) for name in COUNTERS),
        ).where(Account.tenant_id == tenant_id, Account.id.in_(ids))
    ).all()
    tags: dict[int, set[str]] = {}
    for account_id, tag in db.session.execute(
        select(AccountTag.account_id, AccountTag.tag).where(AccountTag.account_id.in_(ids))
    ):
        tags.setdefault(account_id, set()).add(tag)
    venues: dict[int, set[str]] = {}
    for account_id, venue in db.session.execute(
        select(Order.account_id, Order.location_id)
        .distinct()
        .where(Order.account_id.in_(ids), Order.status == "placed", Order.location_id.is_not(None))
    ):
        venues.setdefault(account_id, set()).add(venue)
    return {
        row.id: AccountFacts(
            first_name=row.first_name or None,
            created=row.created_at,
            last_order=row.last_order_at,
            birthdate=row.birthdate,
            tags=frozenset(tags.get(row.id, ())),
            venues=frozenset(venues.get(row.id, ())),
            properties={
                key: value
                for key, value in (row.properties or {}).items()
                if isinstance(value, str)
            },
            counters={name: int(getattr(row, name) or 0) for name in COUNTERS},
        )
        for row in rows
    }


@dataclass(frozen=True)
class Sample:
    account_id: int
    external_id: str
    name: str


@dataclass(frozen=True)
class Preview:
    cnt: int
    samples: tuple[Sample, ...]
    ordered_recently: int  # of the matching accounts, how many ordered in the last 30 days


def preview_campaign(tenant_id: int, campaign: definitions.Campaign, now: datetime) -> Preview:
    """A dry run of the selection (nothing is written): for an unsaved draft too."""
    condition = campaign_condition(tenant_id, campaign, now)
    recent = Account.last_order_at >= now - timedelta(days=RECENT_DAYS)
    cnt, ordered_recently = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((recent, 1), else_=0)), 0)).where(
            condition
        )
    ).one()
    rows = db.session.execute(
        select(Account.id, Account.external_id, Account.first_name, Account.last_name)
        .where(condition)
        .order_by(Account.id)
        .limit(SAMPLE_SIZE)
    ).all()
    samples = tuple(
        Sample(row.id, row.external_id, f"{row.first_name} {row.last_name}".strip()) for row in rows
    )
    return Preview(int(cnt), samples, int(ordered_recently))


def preview(tenant_id: int, campaign_key: str, now: datetime) -> Preview:
    """previewCampaign: the dry run of a saved campaign, recorded as previewedAt / samples (and
    as `cnt` while it is a draft: after initialisation `cnt` is the live member count)."""
    row = get_campaign(tenant_id, campaign_key, lock=True)
    result = preview_campaign(tenant_id, rules_campaign(row), now)
    row.previewed_at = now
    row.samples = [sample.external_id for sample in result.samples]
    if row.initialized_at is None:
        row.cnt = result.cnt
    db.session.commit()
    return result


# --- compiling one resolved constraint


def _condition(resolved: Resolved, dialect: str) -> ColumnElement[bool]:
    if resolved.kind is Kind.HELD:
        return _held(resolved)
    value = _value(resolved, dialect)
    operands = resolved.operands
    if resolved.kind is Kind.MONTH_DAY:
        operands = tuple(month * 100 + day for month, day in operands)  # type: ignore[misc]
    op = resolved.op
    if op == "EXISTS":
        return value != 0 if resolved.kind is Kind.NUMBER else value.is_not(None)
    if op == "EQ":
        return value == operands[0]
    if op == "IN":
        return value.in_(operands)
    if op == "NE":
        if resolved.kind is Kind.NUMBER:
            return value.not_in(operands)
        return or_(value.is_(None), value.not_in(operands))
    first = operands[0]
    return {
        "GT": value > first,
        "GTE": value >= first,
        "LT": value < first,
        "LTE": value <= first,
    }[op]


def _held(resolved: Resolved) -> ColumnElement[bool]:
    prefix, _, name = resolved.field.partition(".")
    if prefix == "tags":
        held = exists().where(AccountTag.account_id == Account.id, AccountTag.tag == name)
    else:
        held = exists().where(
            Order.account_id == Account.id, Order.status == "placed", Order.location_id == name
        )
    if resolved.op == "EXISTS":
        return held
    wanted = set(resolved.operands)
    if resolved.op == "NE":
        wanted = {True, False} - wanted
    if wanted == {True, False}:
        return true()
    if wanted == {True}:
        return held
    if wanted == {False}:
        return not_(held)
    return false()


def _value(resolved: Resolved, dialect: str) -> ColumnElement:
    prefix, _, name = resolved.field.partition(".")
    if prefix == "counters":
        return counter(name)
    if prefix == "properties":
        return _text(_property(name, dialect), dialect)
    if name == "firstName":
        return _text(func.nullif(Account.first_name, ""), dialect)
    if name == "created":
        return Account.created_at
    if name == "lastOrder":
        return Account.last_order_at
    if resolved.kind is Kind.MONTH_DAY:
        if dialect == "postgresql":
            return cast(func.to_char(Account.birthdate, "MMDD"), Integer)
        return cast(func.strftime("%m%d", Account.birthdate), Integer)
    return Account.birthdate


def _property(key: str, dialect: str) -> ColumnElement[str]:
    """A string property, NULL when absent or not a string (the key matches [a-zA-Z0-9_-]+)."""
    if dialect == "postgresql":
        node = Account.properties[key]
        return case((func.json_typeof(node) == "string", node.as_string()), else_=None)
    path = f'$."{key}"'
    return case(
        (
            func.json_type(Account.properties, path) == "text",
            func.json_extract(Account.properties, path),
        ),
        else_=None,
    )


def _text(value: ColumnElement, dialect: str) -> ColumnElement[str]:
    value = cast(value, String) if dialect != "postgresql" else value
    return value.collate("C") if dialect == "postgresql" else value


def _utc_day(moment: ColumnElement) -> ColumnElement:
    """The UTC calendar day of a stored moment (SQLite keeps UTC text, PostgreSQL timestamptz)."""
    if _dialect() == "postgresql":
        return cast(func.timezone("UTC", moment), Date)
    return func.substr(moment, 1, 10)
