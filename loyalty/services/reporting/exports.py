"""CSV exports of the accounts a search matches, streamed with constant memory.

Two shapes: every field of every matching account (with the points it owes, so an owner sees
who does), and a contact list that holds only accounts whose owners agreed to marketing.

Every export is a CsvStream: on PostgreSQL the database writes the CSV (COPY of a SELECT whose
cells are already the text Python would write: sql_cell, sql_money, sql_moment... are the SQL
twins of safe_cell, format_money, to_iso...), a few times faster than formatting a million rows
in Python; on SQLite the rows are formatted in Python, BATCH at a time from a lazy cursor.
tests/integration/test_export_paths.py holds both paths to the same bytes.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import psycopg
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Text,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from ...extensions import db
from ...models import Account, AccountTag, Tenant
from ...rules.money import format_money
from ...rules.tiers import TierLevel, tier_for
from ...time import to_iso
from ..accounts.search import SearchCriteria, conditions
from ..checkout.catalogue import tier_levels

BATCH = 1000
CHUNK = 64 * 1024  # about this many bytes are handed to the response (or file) at a time
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
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection)...
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ...but a plain signed number (a phone in E.164, a negative amount) cannot carry a formula.
# ASCII digits only, the whole cell: the same test in Python (fullmatch) and SQL (anchored).
_PLAIN_NUMBER = "[+-]?[0-9]+"
# What str.strip() removes (every character str.isspace() calls space), for the SQL twin of
# f"{first} {last}".strip(); tests/integration/test_export_paths.py checks it against Python.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


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
    if text.startswith(_FORMULA_START) and not re.fullmatch(_PLAIN_NUMBER, text):
        return "'" + text
    return text


def csv_lines(rows: Iterable[list[str]], bom: bool = True) -> Iterator[str]:
    """Rows as CSV text, one line at a time; with `bom` first, so spreadsheets read UTF-8 names."""
    writer = csv.writer(_Line())
    if bom:
        yield "\ufeff"
    for row in rows:
        yield writer.writerow(row)


class CsvStream:
    """A CSV as UTF-8 chunks: the header, then one line per row, ended by CRLF as csv.writer
    ends them. On PostgreSQL COPY writes the rows from `cells` (a SELECT of text cells, already
    safe, NULL for an empty one); elsewhere `rows` makes them in Python. `written` counts the
    rows handed out so far (a progress bar's)."""

    def __init__(
        self,
        header: Sequence[str],
        cells: Select,
        rows: Callable[[], Iterable[list[str]]],
        *,
        bom: bool,
    ) -> None:
        self.header, self.cells, self.rows, self.bom = list(header), cells, rows, bom
        self.written = 0

    def __iter__(self) -> Iterator[bytes]:
        if db.session.get_bind().dialect.name == "postgresql":
            return self.copied()
        return self.formatted()

    def formatted(self) -> Iterator[bytes]:
        """The rows formatted in Python (any database)."""
        writer = csv.writer(_Line())
        lines = list(csv_lines([self.header], self.bom))
        size, count = 0, 0
        for row in self.rows():
            line = writer.writerow(row)
            lines.append(line)
            size += len(line)
            count += 1
            if size >= CHUNK:
                yield self._counted("".join(lines).encode(), count)
                lines, size, count = [], 0, 0
        if lines:
            yield self._counted("".join(lines).encode(), count)

    def copied(self) -> Iterator[bytes]:
        """The rows written by PostgreSQL's COPY, one CopyData message (one row) at a time."""
        yield "".join(csv_lines([self.header], self.bom)).encode()
        statement, params = _compiled(self.cells)
        connection = db.session.connection().connection.driver_connection
        # COPY does not take bind parameters: a client-side cursor binds them into the text.
        with psycopg.ClientCursor(connection) as cursor:
            cursor.execute("SET LOCAL client_encoding TO 'UTF8'")
            with cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT csv)", params) as copy:
                rows, size = [], 0
                while data := copy.read():
                    rows.append(data)
                    size += len(data)
                    if size >= CHUNK:
                        yield self._counted(_crlf(rows), len(rows))
                        rows, size = [], 0
                if rows:
                    yield self._counted(_crlf(rows), len(rows))

    def _counted(self, chunk: bytes, rows: int) -> bytes:
        self.written += rows
        return chunk


def export_count(spec: ExportSpec, default_region: str | None = None) -> int:
    """How many rows the export will hold (for a progress bar)."""
    query = select(func.count()).select_from(Account).where(*_where(spec, default_region))
    return db.session.scalar(query)


def export_csv(spec: ExportSpec, default_region: str | None = None, *, bom: bool) -> CsvStream:
    """Every matching account in id order, as the dashboard and the CLI download it."""
    where = _where(spec, default_region)
    return CsvStream(
        spec.columns,
        _cells(spec).where(*where).order_by(Account.id),
        lambda: _rows(spec, where),
        bom=bom,
    )


def sole_tenant() -> Tenant | None:
    """The tenant of a single-restaurant installation (None when there are several or none)."""
    tenants = list(db.session.scalars(select(Tenant).limit(2)))
    return tenants[0] if len(tenants) == 1 else None


def sql_cell(value: ColumnElement) -> ColumnElement[str]:
    """safe_cell of a text value, in SQL; an empty cell is NULL, which COPY writes as nothing
    (an empty string it writes as "")."""
    text = func.nullif(value, "")
    formula = and_(
        func.substr(text, 1, 1).in_(_FORMULA_START),
        ~text.regexp_match(f"^{_PLAIN_NUMBER}$"),
    )
    return case((formula, func.concat("'", text)), else_=text)


def sql_number(value: ColumnElement) -> ColumnElement[str]:
    """An integer's text is a plain number, which safe_cell leaves as it is."""
    return cast(value, Text)


def sql_money(minor: ColumnElement, digits: int) -> ColumnElement[str]:
    """format_money in SQL: 250 with 2 digits -> '2.50', -5 -> '-0.05'."""
    amount = func.abs(cast(minor, BigInteger))
    sign = case((minor < 0, "-"), else_="")
    if not digits:
        return sql_cell(func.concat(sign, cast(amount, Text)))
    unit = 10**digits
    fraction = func.lpad(cast(amount % unit, Text), digits, "0")
    return sql_cell(func.concat(sign, cast(amount // unit, Text), ".", fraction))


def sql_moment(moment: ColumnElement) -> ColumnElement[str]:
    """to_iso in SQL: 2026-12-01T20:31:13Z, microseconds only when there are any."""
    utc = func.timezone("UTC", moment)
    fraction = case((func.date_trunc("second", utc) == utc, ""), else_=func.to_char(utc, ".US"))
    text = func.concat(func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS'), fraction, "Z")
    return case((moment.is_not(None), text), else_=null())  # starts with a digit: safe


def sql_day(day: ColumnElement) -> ColumnElement[str]:
    """date.isoformat() in SQL (starting with a digit, safe)."""
    return func.to_char(day, "YYYY-MM-DD")


def sql_yes_no(flag: ColumnElement) -> ColumnElement[str]:
    return case((flag, "yes"), else_="no")


def sql_name(first: ColumnElement, last: ColumnElement) -> ColumnElement[str]:
    """f"{first} {last}".strip() in SQL."""
    return sql_cell(func.btrim(func.concat(first, " ", last), WHITESPACE))


def sql_sorted(value: ColumnElement, *, unique: bool = False) -> ColumnElement:
    """An aggregate's values (each once when `unique`) joined by commas in code-point order, as
    ",".join(sorted(...)) joins them."""
    key = cast(value, Text).collate("C")
    return func.string_agg(
        distinct(key) if unique else value, aggregate_order_by(literal(","), key)
    )


def sql_tier(lifetime_points: ColumnElement, levels: Sequence[TierLevel]) -> ColumnElement[str]:
    """tier_for's name in SQL: tier_for only changes at a threshold, so asking it there for each
    threshold, highest first, gives every answer."""
    thresholds = sorted({level.threshold_points for level in levels}, reverse=True)
    whens = [
        (lifetime_points >= threshold, tier.name)
        for threshold in thresholds
        if (tier := tier_for(threshold, levels)) is not None
    ]
    return sql_cell(case(*whens, else_=null())) if whens else null()


def tag_list() -> ColumnElement:
    """The account's tags, sorted, as a safe cell. safe_cell is applied inside the subquery:
    PostgreSQL would run a subquery again for each place sql_cell names its value."""
    return (
        select(sql_cell(sql_sorted(AccountTag.tag)))
        .where(AccountTag.account_id == Account.id)
        .scalar_subquery()
    )


def _cells(spec: ExportSpec) -> Select:
    if spec.contacts:
        return select(
            sql_cell(Account.external_id),
            sql_name(Account.first_name, Account.last_name),
            sql_cell(Account.email),
            sql_cell(Account.phone),
        )
    return select(
        sql_cell(Account.external_id),
        sql_cell(Account.card),
        sql_cell(Account.email),
        sql_cell(Account.phone),
        sql_cell(Account.first_name),
        sql_cell(Account.last_name),
        sql_day(Account.birthdate),
        sql_cell(Account.sex),
        sql_tier(Account.lifetime_points, tier_levels(spec.tenant.id)),
        sql_number(Account.points_balance),
        sql_number(Account.points_debt),
        sql_number(Account.lifetime_points),
        sql_money(Account.cash_balance, spec.tenant.decimal_digits),
        tag_list(),
        sql_yes_no(Account.marketing_consent),
        sql_moment(Account.created_at),
        sql_moment(Account.last_order_at),
    )


def _rows(spec: ExportSpec, where: list[ColumnElement]) -> Iterator[list[str]]:
    """One row per matching account in id order, fetched BATCH at a time."""
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
        .where(*where)
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


class _Line:
    """A file that hands back what is written, so csv.writer produces one line per call."""

    def write(self, text: str) -> str:
        return text


def _where(spec: ExportSpec, default_region: str | None) -> list[ColumnElement]:
    where = conditions(spec.tenant.id, spec.criteria, default_region)
    if spec.contacts:
        # Only people who agreed to marketing, and never a retired duplicate of one.
        where.append(and_(Account.marketing_consent.is_(True), ~Account.retired))
    return where


def _compiled(query: Select) -> tuple[str, dict[str, object]]:
    """The SELECT as psycopg text (%(name)s placeholders) and its parameters, bound as the
    session would bind them (each type's bind processing)."""
    dialect = db.session.get_bind().dialect
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = {}
    for name, value in compiled.params.items():
        bind = compiled.binds.get(name)
        process = None if bind is None else bind.type.dialect_impl(dialect).bind_processor(dialect)
        params[name] = process(value) if process else value
    return str(compiled), params


def _crlf(rows: list) -> bytes:
    """COPY ends each row with LF; csv.writer with CRLF. A newline inside a cell is quoted and
    stays as it is, so only when there is none can every LF be replaced at once."""
    joined = b"".join(rows)
    if joined.count(b"\n") == len(rows):
        return joined.replace(b"\n", b"\r\n")
    return b"".join(bytes(row)[:-1] + b"\r\n" for row in rows)
