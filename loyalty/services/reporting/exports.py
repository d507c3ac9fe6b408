"""CSV exports of the accounts a search matches, streamed in batches with constant memory.

Two shapes: every field of every matching account (with the points it owes, so an owner sees
who does), and a contact list that holds only accounts
whose owners agreed to marketing. Rows come from a server-side cursor (PostgreSQL) or SQLite's
lazy cursor in batches of BATCH, so memory does not grow with the number of accounts.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import and_, func, select

from ...extensions import db
from ...models import Account, AccountTag, Tenant
from ...rules.money import format_money
from ...rules.tiers import tier_for
from ...time import to_iso
from ..accounts.search import SearchCriteria, conditions
from ..checkout.catalogue import tier_levels

BATCH = 1000
ACCOUNT_COLUMNS = (
    "id",
    "card",
    "email",
    "phone",
    "first_name",
    "last_name",
    "birthdate",
    "sex",
    "tier",
    "points",
    "points_debt",
    "lifetime_points",
    "cash_balance",
    "tags",
    "marketing_consent",
    "joined_at",
    "last_order_at",
)
CONTACT_COLUMNS = ("id", "name", "email", "phone")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ...but a plain signed number (a phone in E.164, a negative amount) cannot carry a formula.
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class ExportSpec:
    tenant: Tenant
    criteria: SearchCriteria
    contacts: bool = False  # True: the marketing contact list

    @property
    def columns(self) -> tuple[str, ...]:
        return CONTACT_COLUMNS if self.contacts else ACCOUNT_COLUMNS

    @property
    def filename(self) -> str:
        return f"{self.tenant.slug}-{'contacts' if self.contacts else 'accounts'}.csv"


def safe_cell(value: object) -> str:
    """The value as CSV text that a spreadsheet shows as text, never runs as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def export_count(spec: ExportSpec, default_region: str | None = None) -> int:
    """How many rows the export will hold (for a progress bar)."""
    query = select(func.count()).select_from(Account).where(*_where(spec, default_region))
    return db.session.scalar(query)


def export_rows(spec: ExportSpec, default_region: str | None = None) -> Iterator[list[str]]:
    """The header, then one row per matching account in id order, fetched BATCH at a time."""
    yield list(spec.columns)
    if spec.contacts:
        columns = [
            Account.external_id,
            Account.first_name,
            Account.last_name,
            Account.email,
            Account.phone,
        ]
    else:
        tags = (
            select(func.aggregate_strings(AccountTag.tag, ","))
            .where(AccountTag.account_id == Account.id)
            .scalar_subquery()
            .label("tags")
        )
        columns = [
            Account.external_id,
            Account.card,
            Account.email,
            Account.phone,
            Account.first_name,
            Account.last_name,
            Account.birthdate,
            Account.sex,
            Account.lifetime_points,
            Account.points_balance,
            Account.points_debt,
            Account.cash_balance,
            tags,
            Account.marketing_consent,
            Account.created_at,
            Account.last_order_at,
        ]
    query = (
        select(*columns)
        .where(*_where(spec, default_region))
        .order_by(Account.id)
        .execution_options(yield_per=BATCH, stream_results=True)
    )
    levels = tier_levels(spec.tenant.id)
    digits = spec.tenant.decimal_digits
    for row in db.session.execute(query):
        if spec.contacts:
            name = f"{row.first_name} {row.last_name}".strip()
            cells = [row.external_id, name, row.email, row.phone]
        else:
            tier = tier_for(row.lifetime_points, levels)
            cells = [
                row.external_id,
                row.card,
                row.email,
                row.phone,
                row.first_name,
                row.last_name,
                row.birthdate.isoformat() if row.birthdate else "",
                row.sex,
                tier.name if tier else "",
                row.points_balance,
                row.points_debt,
                row.lifetime_points,
                format_money(row.cash_balance, digits),
                ",".join(sorted(row.tags.split(","))) if row.tags else "",
                "yes" if row.marketing_consent else "no",
                to_iso(row.created_at) if row.created_at else "",
                to_iso(row.last_order_at) if row.last_order_at else "",
            ]
        yield [safe_cell(cell) for cell in cells]


def csv_lines(rows: Iterator[list[str]], bom: bool = True) -> Iterator[str]:
    """Rows as CSV text, one line at a time; with `bom` first, so spreadsheets read UTF-8 names."""
    writer = csv.writer(_Line())
    if bom:
        yield "\ufeff"
    for row in rows:
        yield writer.writerow(row)


def sole_tenant() -> Tenant | None:
    """The tenant of a single-restaurant installation (None when there are several or none)."""
    tenants = list(db.session.scalars(select(Tenant).limit(2)))
    return tenants[0] if len(tenants) == 1 else None


class _Line:
    """A file that hands back what is written, so csv.writer produces one line per call."""

    def write(self, text: str) -> str:
        return text


def _where(spec: ExportSpec, default_region: str | None) -> list:
    where = conditions(spec.tenant.id, spec.criteria, default_region)
    if spec.contacts:
        # Only people who agreed to marketing, and never a retired duplicate of one.
        where.append(and_(Account.marketing_consent.is_(True), ~Account.retired))
    return where
