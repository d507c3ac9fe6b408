"""The API's CSV exports (export, contactExport) as CsvStreams: rows made from accounts and
what campaigns see of them (services.campaigns.selection: account_facts in Python, the same
counters as SQL for COPY), every cell safe so a spreadsheet never runs one as a formula.

Amounts are integers in minor units, dates ISO 8601, as everywhere in the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, cast, func, literal, null, select
from sqlalchemy.dialects.postgresql import JSONB

from ...models import Account, Order
from ...time import to_iso_or_none
from ..accounts.listing import AccountFilter, account_batches, filter_conditions
from ..campaigns.selection import account_facts, counter
from .exports import (
    CsvStream,
    safe_cell,
    sql_cell,
    sql_day,
    sql_moment,
    sql_name,
    sql_number,
    sql_sorted,
    sql_yes_no,
    tag_list,
)

COUNTERS = ("orders", "spent", "points", "lifetimePoints", "visits", "referrals")
ACCOUNT_COLUMNS = (
    "id",
    "card",
    "email",
    "phone",
    "firstName",
    "lastName",
    "birthdate",
    "sex",
    "created",
    "lastOrder",
    "tags",
    "venues",
    *COUNTERS,
    "marketingConsent",
)
CONTACT_COLUMNS = ("id", "card", "name", "email", "phone", "consents")
# JSON values Python's truth test calls false: a consent given as one of these is not given.
_FALSY_JSON = ("false", "null", "0", '""', "[]", "{}")


def account_csv(
    tenant_id: int, selection: AccountFilter, now: datetime, default_region: str | None = None
) -> CsvStream:
    """Every matching account in id order: its fields, tags, venues and counters."""
    where = filter_conditions(tenant_id, selection, now, default_region)
    cells = select(
        sql_cell(Account.external_id),
        sql_cell(Account.card),
        sql_cell(Account.email),
        sql_cell(Account.phone),
        sql_cell(Account.first_name),
        sql_cell(Account.last_name),
        sql_day(Account.birthdate),
        sql_cell(Account.sex),
        sql_moment(Account.created_at),
        sql_moment(Account.last_order_at),
        tag_list(),
        _venue_list(),
        *(sql_number(counter(name)) for name in COUNTERS),
        sql_yes_no(Account.marketing_consent),
    )
    return CsvStream(
        ACCOUNT_COLUMNS,
        cells.where(*where).order_by(Account.id),
        lambda: _account_rows(tenant_id, selection, now, default_region),
        bom=False,
    )


def contact_csv(
    tenant_id: int, selection: AccountFilter, now: datetime, default_region: str | None = None
) -> CsvStream:
    """Every matching account in id order; `consents` names the consents given."""
    where = filter_conditions(tenant_id, selection, now, default_region)
    cells = select(
        sql_cell(Account.external_id),
        sql_cell(Account.card),
        sql_name(Account.first_name, Account.last_name),
        sql_cell(Account.email),
        sql_cell(Account.phone),
        _consents_given(),
    )
    return CsvStream(
        CONTACT_COLUMNS,
        cells.where(*where).order_by(Account.id),
        lambda: _contact_rows(tenant_id, selection, now, default_region),
        bom=False,
    )


def _account_rows(
    tenant_id: int, selection: AccountFilter, now: datetime, default_region: str | None
) -> Iterator[list[str]]:
    for batch in account_batches(tenant_id, selection, now, default_region=default_region):
        facts = account_facts(tenant_id, [account.id for account in batch])
        for account in batch:
            counters = facts[account.id].counters
            cells = [
                account.external_id,
                account.card,
                account.email,
                account.phone,
                account.first_name,
                account.last_name,
                account.birthdate.isoformat() if account.birthdate else "",
                account.sex,
                to_iso_or_none(account.created_at),
                to_iso_or_none(account.last_order_at),
                ",".join(sorted(facts[account.id].tags)),
                ",".join(sorted(facts[account.id].venues)),
                *(counters.get(name, 0) for name in COUNTERS),
                "yes" if account.marketing_consent else "no",
            ]
            yield [safe_cell(cell) for cell in cells]


def _contact_rows(
    tenant_id: int, selection: AccountFilter, now: datetime, default_region: str | None
) -> Iterator[list[str]]:
    for batch in account_batches(tenant_id, selection, now, default_region=default_region):
        for account in batch:
            given = [name for name, value in sorted((account.consents or {}).items()) if value]
            if account.marketing_consent and "marketing" not in given:
                given.append("marketing")
            cells = [
                account.external_id,
                account.card,
                f"{account.first_name} {account.last_name}".strip(),
                account.email,
                account.phone,
                ",".join(given),
            ]
            yield [safe_cell(cell) for cell in cells]


def _venue_list() -> ColumnElement:
    """account_facts' venues in SQL: where the account placed orders, in code-point order, as a
    safe cell (made inside the subquery, as tag_list's)."""
    return (
        select(sql_cell(sql_sorted(Order.location_id, unique=True)))
        .where(
            Order.account_id == Account.id,
            Order.status == "placed",
            Order.location_id.is_not(None),
        )
        .scalar_subquery()
    )


def _consents_given() -> ColumnElement:
    """The contact rows' consents in SQL, as a safe cell: the keys of `consents` whose value is
    truthy, in code-point order, then "marketing" when the account agreed to it only by its
    flag. One subquery (an aggregate always gives one row), run once per account."""
    consents = cast(Account.consents, JSONB)
    as_object = case((func.jsonb_typeof(consents) == "object", consents), else_=null())
    items = func.jsonb_each(as_object).table_valued("key", "value")
    falsy = [cast(literal(value), JSONB) for value in _FALSY_JSON]
    by_flag_only = and_(
        Account.marketing_consent.is_(True),
        func.coalesce(consents["marketing"].not_in(falsy), False).is_(False),
    )
    given = func.concat_ws(
        ",", sql_sorted(items.c.key), case((by_flag_only, "marketing"), else_=null())
    )
    return select(sql_cell(given)).where(items.c.value.not_in(falsy)).scalar_subquery()
