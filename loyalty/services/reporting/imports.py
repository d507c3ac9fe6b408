"""Bringing a restaurant over from another provider: customers (CSV) and rewards (JSON).

The whole file is checked before anything is written and every problem is reported with where it
is (CSV line, or index in the program list). Customers are written in one transaction; opening
balances are ledger entries keyed by the account id, so running the same file again changes
nothing. Rewards are matched by programId, so re-importing a program list updates them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, TextIO

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Account, LedgerEntry, utcnow
from ...rules.identity import IdentityError, name_key, normalise_email, normalise_phone
from ...time import MissingOffset, parse_iso
from ...validation import FieldErrors
from ..accounts.profile import Profile, card_as_contact, normalised
from ..checkout.catalogue import listing, live_rewards
from ..setup.rewards import (
    RewardDetails,
    add_reward,
    change_reward,
    check_details,
    reward_by_program_id,
)
from ..wallet import ledger

ACCOUNT_COLUMNS = ("id", "card", "email", "phone", "first_name", "last_name", "birthdate", "points")
IDENTIFIERS = ("id", "card", "email", "phone")
MAX_POINTS = 2**31 - 1  # the ledger's integer column
BATCH = 1000
_LOOKUP_CHUNK = 500  # values per IN (...): well inside SQLite's and PostgreSQL's parameter limits

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (a CSV line or a list index), which field, and why."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


def problems_of(
    where: str, error: FieldErrors, names: dict[str, str] | None = None
) -> list[Problem]:
    """One problem per field of `error`, each field spelled as the file spells it (`names`)."""
    names = names or {}
    return [Problem(where, names.get(name, name), text) for name, text in error.errors.items()]


class ImportRejected(Exception):
    """The file has problems; nothing was written."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__(f"{len(problems)} problem(s); nothing was imported")
        self.problems = list(problems)


@dataclass(frozen=True)
class AccountImportResult:
    rows: int
    created: int
    already_present: int  # rows whose account id already exists: left as they are
    opening_entries: int  # opening balances written by this run
    opening_points: int


@dataclass
class _Row:
    line: int
    profile: Profile
    points: int
    values: dict[str, str | None] = field(default_factory=dict)  # identifiers, normalised


def count_rows(stream: TextIO) -> int:
    """Data rows in a CSV stream (for a progress bar); rewinds the stream."""
    reader = csv.reader(stream, _dialect_of(stream))
    rows = sum(1 for record in reader if any(cell.strip() for cell in record)) - 1
    stream.seek(0)
    return max(rows, 0)


def import_accounts(
    tenant_id: int,
    stream: TextIO,
    *,
    phone_region: str | None = None,
    progress: Progress | None = None,
) -> AccountImportResult:
    """Import customers from CSV (header: any of ACCOUNT_COLUMNS, `id` required).

    Calls `progress(n)` as rows are checked and again as they are written (2 per row in all).
    Raises ImportRejected with every problem, writing nothing, when any row is invalid.
    Accounts whose id already exists are left as they are; their opening balance is written
    only if this tenant has none for them yet.
    """
    step = progress or (lambda _n: None)
    rows, problems = _read_accounts(stream, phone_region, step)
    cards_as_contacts = {
        row.line: contact for row in rows if (contact := card_as_contact(row.values["card"]))
    }
    existing = _existing_accounts(tenant_id, rows, cards_as_contacts)
    problems += _clashes(rows, existing, cards_as_contacts)
    if problems:
        raise ImportRejected(sorted(problems, key=_problem_order))
    try:
        result = _write_accounts(tenant_id, rows, existing, step)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return result


# -- reading ---------------------------------------------------------------------------------


def _dialect_of(stream: TextIO) -> type[csv.Dialect]:
    """Comma by default; semicolon when the header uses it (spreadsheets in many EU locales)."""
    header = stream.readline()
    stream.seek(0)
    return csv.excel if header.count(";") <= header.count(",") else _Semicolon


class _Semicolon(csv.excel):
    delimiter = ";"


def _read_accounts(
    stream: TextIO, phone_region: str | None, step: Progress
) -> tuple[list[_Row], list[Problem]]:
    reader = csv.reader(stream, _dialect_of(stream))
    header = next(reader, None)
    if header is None:
        raise ImportRejected([Problem("line 1", "header", "the file is empty")])
    columns = [name.strip().lower() for name in header]
    unknown = [name for name in columns if name not in ACCOUNT_COLUMNS]
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    header_problems = [
        Problem(
            "line 1", "header", f"unknown column {name!r}; columns are {', '.join(ACCOUNT_COLUMNS)}"
        )
        for name in unknown
    ] + [Problem("line 1", "header", f"column {name!r} appears twice") for name in repeated]
    if "id" not in columns:
        header_problems.append(Problem("line 1", "header", "the id column is required"))
    if header_problems:
        raise ImportRejected(header_problems)

    rows: list[_Row] = []
    problems: list[Problem] = []
    checked = 0
    first_seen: dict[str, dict[str, int]] = {name: {} for name in IDENTIFIERS}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        checked += 1
        if checked % BATCH == 0:
            step(BATCH)
        if len(record) != len(columns):
            problems.append(
                Problem(
                    f"line {line}",
                    "row",
                    f"has {len(record)} fields, the header has {len(columns)}",
                )
            )
            continue
        row, values, row_problems = _parse_row(
            line, dict(zip(columns, record, strict=True)), phone_region
        )
        # Duplicates are checked even on rows with other problems, so one run reports them all.
        for name in IDENTIFIERS:
            value = values.get(name)
            if value is None:
                continue
            earlier = first_seen[name].setdefault(value, line)
            if earlier != line:
                row_problems.append(
                    Problem(f"line {line}", name, f"{value!r} is also on line {earlier}")
                )
        if row is not None and not row_problems:
            rows.append(row)
        problems += row_problems
    step(checked % BATCH)
    return rows, problems


def _parse_row(
    line: int, cells: dict[str, str], phone_region: str | None
) -> tuple[_Row | None, dict[str, str | None], list[Problem]]:
    """The row (None when invalid), its normalised identifiers, and its problems."""
    where = f"line {line}"
    problems: list[Problem] = []

    def cell(name: str) -> str:
        return (cells.get(name) or "").strip()

    external_id = cell("id")
    if not external_id:
        problems.append(Problem(where, "id", "required"))
    elif len(external_id) > 64:
        problems.append(Problem(where, "id", "must be at most 64 characters"))
    card = cell("card") or None
    if card is not None and len(card) > 64:
        problems.append(Problem(where, "card", "must be at most 64 characters"))
    email = phone = None
    try:
        email = normalise_email(cell("email"))
    except IdentityError as error:
        problems.append(Problem(where, "email", str(error)))
    try:
        phone = normalise_phone(cell("phone"), phone_region)
    except IdentityError as error:
        problems.append(Problem(where, "phone", str(error)))
    birthdate = None
    if cell("birthdate"):
        try:
            birthdate = _birthdate(cell("birthdate"))
        except ValueError as error:
            problems.append(Problem(where, "birthdate", str(error)))
    points = 0
    if cell("points"):
        try:
            points = _points(cell("points"))
        except ValueError as error:
            problems.append(Problem(where, "points", str(error)))
    values = {
        "id": external_id or None,
        "card": card,
        "email": email,
        "phone": phone,
    }
    if problems:
        return None, values, problems
    try:
        # Email and phone are already normalised above (the phone with the region): parsing a
        # phone costs more than everything else in a row, so it is not done twice.
        profile = normalised(
            Profile(
                external_id=external_id,
                card=card,
                first_name=cell("first_name"),
                last_name=cell("last_name"),
                birthdate=birthdate,
            )
        )
        profile = replace(profile, email=email, phone=phone)
    except FieldErrors as error:
        return None, values, problems_of(where, error)
    return _Row(line, profile, points, values), values, []


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _birthdate(text: str) -> date:
    if not _ISO_DATE.match(text):
        raise ValueError(f"{text!r} is not a date; use YYYY-MM-DD")
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a real date") from None
    if not date(1900, 1, 1) <= value <= date.today():
        raise ValueError(f"{text!r} is not a plausible birthdate")
    return value


def _points(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(f"{text!r} is not a whole number of points")
    value = int(text)
    if value < 0:
        raise ValueError("must not be negative")
    if value > MAX_POINTS:
        raise ValueError(f"must be at most {MAX_POINTS}")
    return value


# -- checking against the database -----------------------------------------------------------


@dataclass(frozen=True)
class _Existing:
    """Who already owns each identifier in this tenant: value -> (account row id, account id)."""

    by: dict[str, dict[str, tuple[int, str]]]


def _existing_accounts(
    tenant_id: int, rows: list[_Row], cards_as_contacts: dict[int, tuple[str, str]]
) -> _Existing:
    columns = {
        "id": Account.external_id,
        "card": Account.card,
        "email": Account.email,
        "phone": Account.phone,
    }
    by: dict[str, dict[str, tuple[int, str]]] = {name: {} for name in IDENTIFIERS}
    for name, column in columns.items():
        values = [row.values[name] for row in rows if row.values[name] is not None]
        values += [value for kind, value in cards_as_contacts.values() if kind == name]
        for chunk in _chunks(values, _LOOKUP_CHUNK):
            found = db.session.execute(
                select(column, Account.id, Account.external_id).where(
                    Account.tenant_id == tenant_id, column.in_(chunk)
                )
            )
            for value, row_id, external_id in found:
                by[name][value] = (row_id, external_id)
    return _Existing(by)


def _clashes(
    rows: list[_Row], existing: _Existing, cards_as_contacts: dict[int, tuple[str, str]]
) -> list[Problem]:
    """Identifiers that belong to a different account than the row's own id, and cards that
    read as another account's email or phone (a providerId look-up would find the wrong one)."""
    problems = []
    in_file = {
        (name, row.values[name]): row.profile.external_id
        for row in rows
        for name in ("email", "phone")
        if row.values[name]
    }
    for row in rows:
        for name in ("card", "email", "phone"):
            owner = existing.by[name].get(row.values[name]) if row.values[name] else None
            if owner is not None and owner[1] != row.profile.external_id:
                problems.append(
                    Problem(f"line {row.line}", name, f"already belongs to account {owner[1]!r}")
                )
        contact = cards_as_contacts.get(row.line)
        if contact is not None:
            kind, value = contact
            stored = existing.by[kind].get(value)
            owners = {stored[1] if stored else None, in_file.get(contact)} - {None}
            if owners - {row.profile.external_id}:
                problems.append(
                    Problem(f"line {row.line}", "card", f"is the {kind} of another account")
                )
    return problems


# -- writing ---------------------------------------------------------------------------------


def opening_key(external_id: str) -> str:
    """One opening balance per account (the ledger key is unique per tenant)."""
    return f"import:opening:{external_id}"


def _write_accounts(
    tenant_id: int, rows: list[_Row], existing: _Existing, step: Progress
) -> AccountImportResult:
    now = utcnow()
    new_rows = [row for row in rows if row.profile.external_id not in existing.by["id"]]
    old_rows = [row for row in rows if row.profile.external_id in existing.by["id"]]
    opening_entries = opening_points = 0
    for batch in _chunks(new_rows, BATCH):
        # New accounts start with their opening balance and the matching entry in the same
        # transaction, so the cached balance equals the ledger from the first moment.
        ids = db.session.scalars(
            insert(Account).returning(Account.id, sort_by_parameter_order=True),
            [_account_values(tenant_id, row, now) for row in batch],
        ).all()
        entries = [
            _opening_values(tenant_id, account_id, row, now)
            for account_id, row in zip(ids, batch, strict=True)
            if row.points
        ]
        if entries:
            db.session.execute(insert(LedgerEntry), entries)
        opening_entries += len(entries)
        opening_points += sum(row.points for row in batch)
        step(len(batch))
    # Accounts that already exist get their opening balance once, through the ledger.
    keys = [opening_key(row.profile.external_id) for row in old_rows if row.points]
    posted = _existing_keys(tenant_id, keys)
    for row in old_rows:
        key = opening_key(row.profile.external_id)
        if row.points and key not in posted:
            account_id = existing.by["id"][row.profile.external_id][0]
            ledger.lock_account(account_id)
            ledger.post(
                tenant_id,
                account_id,
                ledger.Posting(
                    unit="points",
                    kind="opening",
                    amount=row.points,
                    key=key,
                    reason="Opening balance (import)",
                    lifetime_delta=row.points,
                ),
            )
            opening_entries += 1
            opening_points += row.points
    step(len(old_rows))
    return AccountImportResult(
        rows=len(rows),
        created=len(new_rows),
        already_present=len(old_rows),
        opening_entries=opening_entries,
        opening_points=opening_points,
    )


def _account_values(tenant_id: int, row: _Row, now) -> dict:
    profile = row.profile
    return {
        "tenant_id": tenant_id,
        "external_id": profile.external_id,
        "card": profile.card,
        "email": profile.email,
        "phone": profile.phone,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "first_name_key": name_key(profile.first_name),
        "last_name_key": name_key(profile.last_name),
        "birthdate": profile.birthdate,
        "marketing_consent": False,  # a consent is never assumed from another system's file
        "consents": {"marketing": False},
        "properties": {},
        "status": "active",
        # Imported balances count towards tiers: the customer earned them with the old provider.
        "points_balance": row.points,
        "cash_balance": 0,
        "lifetime_points": row.points,
        "lock_version": 0,
        "created_at": now,
        "updated_at": now,
    }


def _opening_values(tenant_id: int, account_id: int, row: _Row, now) -> dict:
    return {
        "tenant_id": tenant_id,
        "account_id": account_id,
        "unit": "points",
        "kind": "opening",
        "amount": row.points,
        "balance_after": row.points,
        "idempotency_key": opening_key(row.profile.external_id),
        "reason": "Opening balance (import)",
        "created_at": now,
    }


def _existing_keys(tenant_id: int, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(keys, _LOOKUP_CHUNK):
        found.update(
            db.session.scalars(
                select(LedgerEntry.idempotency_key).where(
                    LedgerEntry.tenant_id == tenant_id, LedgerEntry.idempotency_key.in_(chunk)
                )
            )
        )
    return found


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _problem_order(problem: Problem) -> tuple[int, str]:
    number = re.search(r"\d+", problem.where)
    return (int(number.group()) if number else 0, problem.field)


# -- rewards (Deliverect program list) -------------------------------------------------------

# The program-list fields a file carries; `applicable` (per customer) is accepted and ignored.
PROGRAM_FIELDS = (
    "programId",
    "title",
    "description",
    "type",
    "cost",
    "discount",
    "itemPLU",
    "quantity",
    "minOrderValue",
    "expiresAt",
    "media",
)
_IGNORED_PROGRAM_FIELDS = ("applicable",)


@dataclass(frozen=True)
class RewardImportResult:
    created: int
    updated: int


def program_list(tenant_id: int) -> list[dict]:
    """The tenant's live rewards in Deliverect's program-list shape, as the importer reads it."""
    return [
        {name: entry[name] for name in PROGRAM_FIELDS}
        for entry in (listing(reward) for reward in live_rewards(tenant_id))
    ]


def import_rewards(tenant_id: int, document: object) -> RewardImportResult:
    """Create or update (by programId) every reward of a program list, or none of them.

    Every entry is checked by the rewards service's own rules first; any problem raises
    ImportRejected naming the entry's index and field. A listed reward that was archived is
    listed again; rewards missing from the file are left as they are.
    """
    if not isinstance(document, list):
        raise ImportRejected([Problem("file", "programs", "must be a JSON array of programs")])
    problems: list[Problem] = []
    planned: list[tuple[str | None, RewardDetails]] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(document):
        where = f"[{index}]"
        program_id, details, entry_problems = _program_details(where, entry)
        if program_id is not None:
            earlier = first_index.setdefault(program_id, index)
            if earlier != index:
                entry_problems.append(
                    Problem(where, "programId", f"{program_id!r} is also [{earlier}]")
                )
        if details is not None:
            existing = reward_by_program_id(tenant_id, program_id) if program_id else None
            if existing is not None:
                # What the program list cannot say (start date, tier) stays as the team set it.
                details = replace(
                    details, active_from=existing.active_from, min_tier_id=existing.min_tier_id
                )
            try:
                details = check_details(tenant_id, details)
            except FieldErrors as error:
                # Checked even when the shape had problems, so one run reports everything; a
                # field already reported is not reported twice.
                reported = {problem.field for problem in entry_problems}
                entry_problems += [
                    problem
                    for problem in problems_of(where, error, _PROGRAM_FIELD_OF)
                    if problem.field not in reported
                ]
        problems += entry_problems
        planned.append((program_id, details))
    if problems:
        raise ImportRejected(problems)
    created = updated = 0
    try:
        for program_id, details in planned:
            reward = reward_by_program_id(tenant_id, program_id) if program_id else None
            if reward is None:
                add_reward(tenant_id, details, program_id=program_id)
                created += 1
            else:
                change_reward(tenant_id, reward.id, details)
                reward.archived_at = None  # listed again: the file says it is live
                updated += 1
        db.session.commit()
    except (FieldErrors, IntegrityError):
        # A concurrent edit took a programId after the checks: nothing of the file is saved.
        db.session.rollback()
        raise ImportRejected(
            [Problem("file", "programId", "another import or edit took a program id; run again")]
        ) from None
    return RewardImportResult(created, updated)


# Service field names as the program list spells them, for problem reports.
_PROGRAM_FIELD_OF = {
    "program_id": "programId",
    "value": "discount",
    "item_plu": "itemPLU",
    "min_order_value": "minOrderValue",
    "active_to": "expiresAt",
    "media_url": "media.url",
    "media_type": "media.mediaType",
    "active_from": "expiresAt",
}


def _program_details(
    where: str, entry: object
) -> tuple[str | None, RewardDetails | None, list[Problem]]:
    """The entry read into service units, and its shape problems (types, unknown fields).

    A field with a shape problem is read as empty, so the service can still check the others.
    """
    if not isinstance(entry, dict):
        return None, None, [Problem(where, "program", "must be an object")]
    problems: list[Problem] = []
    for name in entry:
        if name not in PROGRAM_FIELDS and name not in _IGNORED_PROGRAM_FIELDS:
            problems.append(Problem(where, name, "is not a program-list field"))

    def given(name: str, required: bool) -> Any:
        """The field's value, None when absent (a problem if it is `required`)."""
        value = entry.get(name)
        if value is None and required:
            problems.append(Problem(where, name, "required"))
        return value

    def text(name: str, required: bool = False) -> str | None:
        value = given(name, required)
        if value is None:
            return None
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and name in ("programId", "itemPLU")
        ):
            return str(value)  # ids travel as strings, but some systems send numbers
        if not isinstance(value, str):
            problems.append(Problem(where, name, "must be a string"))
            return None
        return value

    def whole(name: str, required: bool = False) -> int | None:
        value = given(name, required)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(Problem(where, name, "must be a whole number"))
            return None
        return value

    program_id = text("programId")
    if program_id is not None:
        program_id = program_id.strip()
        if not program_id or len(program_id) > 64:
            problems.append(Problem(where, "programId", "must be 1 to 64 characters"))
    title = text("title", required=True)
    description = text("description")
    reward_type = text("type", required=True)
    cost = whole("cost", required=True)
    value = whole("discount")
    item_plu = text("itemPLU")
    quantity = whole("quantity")
    min_order_value = whole("minOrderValue")
    expires_at = None
    expires_text = text("expiresAt")
    if expires_text is not None:
        try:
            expires_at = parse_iso(expires_text)
        except MissingOffset:
            problems.append(Problem(where, "expiresAt", "give a time zone, such as Z for UTC"))
        except ValueError:
            problems.append(
                Problem(where, "expiresAt", "must be an ISO 8601 time such as 2025-12-31T23:00:00Z")
            )
    media_url = media_type = None
    media = entry.get("media")
    if media is not None:
        if not isinstance(media, dict) or not isinstance(media.get("url"), str):
            problems.append(
                Problem(where, "media", 'must be {"url": "...", "mediaType": "image"} or null')
            )
        else:
            media_url = media["url"]
            media_type = media.get("mediaType")
            if media_type is not None and not isinstance(media_type, str):
                problems.append(Problem(where, "media.mediaType", "must be image or video"))
    details = RewardDetails(
        title=title or "",
        type=reward_type or "",
        cost=cost if cost is not None else 0,
        value=value or 0,
        description=description or "",
        item_plu=item_plu,
        quantity=quantity,
        min_order_value=min_order_value,
        active_to=expires_at,
        media_url=media_url,
        media_type=media_type,
    )
    return program_id, details, problems
