"""Finding accounts: one search box plus filters, as indexed SQL on both databases.

The criteria travel as a query string (the address bar, a saved segment, an export link), so
parsing and printing them live here, once, and every door builds the same query from them.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from urllib.parse import urlencode

from sqlalchemy import (
    Select,
    and_,
    exists,
    extract,
    false,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from ...extensions import db
from ...models import Account, AccountTag
from ...rules.identity import (
    IdentityError,
    looks_like_phone,
    name_key,
    normalise_email,
    normalise_phone,
)
from ...rules.tiers import requirements
from ..checkout.catalogue import tier_levels

PER_PAGE = 25
# Counting every match of a broad search over a million accounts costs more than the page
# itself: the count is loaded after the page, and stops past this many ("more than 10,000").
COUNT_CAP = 10_000

# sort name -> (label, sort keys); a key is (column, descending); id breaks ties so pages never
# overlap. Accounts that never ordered come last when sorting by last order.
SORTS: dict[str, tuple[str, tuple[tuple[InstrumentedAttribute, bool], ...]]] = {
    "newest": ("Newest first", ((Account.created_at, True), (Account.id, True))),
    "oldest": ("Oldest first", ((Account.created_at, False), (Account.id, False))),
    "name": (
        "Name",
        ((Account.last_name_key, False), (Account.first_name_key, False), (Account.id, False)),
    ),
    "points": ("Most points", ((Account.points_balance, True), (Account.id, True))),
    "lifetime": ("Most lifetime points", ((Account.lifetime_points, True), (Account.id, True))),
    "last_order": ("Ordered most recently", ((Account.last_order_at, True), (Account.id, True))),
}
CONSENT_CHOICES = ("yes", "no")
# Dates a filter may name: wide enough for any real customer, narrow enough that the day after
# the last one is still a date (9999-12-31 + 1 day is an overflow, not an empty result).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
Bound = TypeVar("Bound", int, date)


@dataclass(frozen=True)
class SearchCriteria:
    """What the team asked for. Empty values mean "no filter"."""

    q: str = ""
    tag: str = ""
    tier: int | None = None
    points_min: int | None = None
    points_max: int | None = None
    birthday_month: int | None = None
    joined_from: date | None = None
    joined_to: date | None = None
    ordered_after: date | None = None
    ordered_before: date | None = None
    consent: str = ""  # "yes" | "no" | "" (either)
    include_retired: bool = False  # merged and erased accounts are hidden unless asked for
    sort: str = ""  # "" = by name for a name search, else newest first

    def to_args(self) -> dict[str, str]:
        """The non-empty criteria as query-string arguments, in a stable order."""
        args: dict[str, str] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value in (None, "", False):
                continue
            if isinstance(value, bool):
                value = "1"
            args[spec.name] = value.isoformat() if isinstance(value, date) else str(value)
        return args

    def query_string(self) -> str:
        return urlencode(self.to_args())

    @property
    def is_empty(self) -> bool:
        return not any(k != "sort" for k in self.to_args())

    def without_sort(self) -> SearchCriteria:
        return replace(self, sort="")


@dataclass(frozen=True)
class SearchPage:
    """One page of results. How many match in all is counted separately (count_matching), so
    typing in the box costs one indexed query however many accounts match."""

    accounts: list[Account]
    tags: dict[int, list[str]]  # account id -> its tags
    page: int
    per_page: int
    has_next: bool

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.accounts else 0

    @property
    def known_total(self) -> int | None:
        """The number of matches when this page shows it (the first page and no next one)."""
        return len(self.accounts) if self.page == 1 and not self.has_next else None


def parse_criteria(args: Mapping[str, str]) -> tuple[SearchCriteria, dict[str, str]]:
    """Criteria from query-string arguments, and an error message per field that was wrong.

    A wrong field is left out of the criteria; callers show the errors rather than run a
    search that silently ignores what was typed.
    """
    errors: dict[str, str] = {}

    def text(name: str, limit: int = 200) -> str:
        return (args.get(name) or "").strip()[:limit]

    def bounded(
        name: str, read: Callable[[str], Bound], low: Bound, high: Bound, unread: str
    ) -> Bound | None:
        """The value `read` makes of the argument, None if blank; an error if it is unreadable
        (`unread` says why) or outside low..high (dates print as YYYY-MM-DD)."""
        raw = text(name)
        if not raw:
            return None
        try:
            value = read(raw)
        except ValueError:
            errors[name] = unread
            return None
        if not low <= value <= high:
            errors[name] = f"must be between {low} and {high}"
            return None
        return value

    def integer(name: str, low: int, high: int) -> int | None:
        return bounded(name, int, low, high, "must be a whole number")

    def day(name: str) -> date | None:
        return bounded(name, date.fromisoformat, FIRST_DAY, LAST_DAY, "must be a date (YYYY-MM-DD)")

    consent = text("consent")
    if consent and consent not in CONSENT_CHOICES:
        errors["consent"] = "must be yes or no"
        consent = ""
    sort = text("sort")
    if sort and sort not in SORTS:
        errors["sort"] = "unknown sort order"
        sort = ""
    criteria = SearchCriteria(
        q=text("q"),
        tag=text("tag", 64),
        tier=integer("tier", 1, 2**31 - 1),
        points_min=integer("points_min", 0, 2**31 - 1),
        points_max=integer("points_max", 0, 2**31 - 1),
        birthday_month=integer("birthday_month", 1, 12),
        joined_from=day("joined_from"),
        joined_to=day("joined_to"),
        ordered_after=day("ordered_after"),
        ordered_before=day("ordered_before"),
        consent=consent,
        include_retired=text("include_retired") in ("1", "on", "true", "yes"),
        sort=sort,
    )
    if (
        criteria.points_min is not None
        and criteria.points_max is not None
        and criteria.points_min > criteria.points_max
    ):
        errors["points_max"] = "must be at least the minimum"
    if criteria.joined_from and criteria.joined_to and criteria.joined_from > criteria.joined_to:
        errors["joined_to"] = "must be on or after the start date"
    return criteria, errors


def matching(tenant_id: int, criteria: SearchCriteria, default_region: str | None = None) -> Select:
    """SELECT Account ... WHERE the criteria, unsorted: the base of pages, counts and exports."""
    return select(Account).where(*conditions(tenant_id, criteria, default_region))


def order_by(criteria: SearchCriteria) -> tuple[ColumnElement, ...]:
    """The ORDER BY of the criteria's sort.

    With something typed in the box, the few matches come from the look-up's indexes and are
    sorted afterwards: the sort keys are wrapped (coalesce(x, x) is x) so that SQLite's planner
    cannot prefer walking the whole sort index and filtering, which it otherwise does for
    ORDER BY ... LIMIT without statistics.
    """
    return _ORDERS[(effective_sort(criteria), bool(criteria.q))]


def _order(sort: str, wrapped: bool) -> tuple[ColumnElement, ...]:
    clauses = []
    for column, descending in SORTS[sort][1]:
        key = func.coalesce(column, column) if wrapped else column
        if descending:
            # Only a nullable key needs NULLS LAST (on PostgreSQL it would stop a NOT NULL key's
            # index from serving the order).
            key = key.desc().nulls_last() if column.nullable else key.desc()
        clauses.append(key)
    return tuple(clauses)


# Built once: constructing SQL expressions costs more than running an indexed look-up.
_ORDERS = {(sort, wrapped): _order(sort, wrapped) for sort in SORTS for wrapped in (False, True)}
# The account's tags as one "a,b" string, fetched with the page instead of by a second query.
_TAG_LIST = (
    select(func.aggregate_strings(AccountTag.tag, ","))
    .where(AccountTag.account_id == Account.id)
    .scalar_subquery()
)


def effective_sort(criteria: SearchCriteria) -> str:
    if criteria.sort:
        return criteria.sort
    return "name" if _name_words(criteria.q) else "newest"


def search_accounts(
    tenant_id: int,
    criteria: SearchCriteria,
    page: int = 1,
    per_page: int = PER_PAGE,
    default_region: str | None = None,
) -> SearchPage:
    """One page of matching accounts with their tags, in one query (one row more than the page
    says whether there is a next one)."""
    page = max(1, page)
    if effective_sort(criteria) == "name" and _name_words(criteria.q):
        query = _name_search_page(tenant_id, criteria, page, per_page, default_region)
    else:
        query = (
            matching(tenant_id, criteria, default_region)
            .add_columns(_TAG_LIST)
            .order_by(*order_by(criteria))
        )
    rows = db.session.execute(query.limit(per_page + 1).offset((page - 1) * per_page)).all()
    shown = rows[:per_page]
    return SearchPage(
        accounts=[account for account, _tags in shown],
        tags={account.id: sorted(tags.split(",")) if tags else [] for account, tags in shown},
        page=page,
        per_page=per_page,
        has_next=len(rows) > per_page,
    )


def count_matching(
    tenant_id: int,
    criteria: SearchCriteria,
    cap: int | None = None,
    default_region: str | None = None,
) -> int:
    """How many accounts match, counted in the database; with `cap`, stops at cap + 1."""
    ids = select(Account.id).where(*conditions(tenant_id, criteria, default_region))
    if cap is not None:
        ids = ids.limit(cap + 1)
    return db.session.scalar(select(func.count()).select_from(ids.subquery()))


def conditions(
    tenant_id: int, criteria: SearchCriteria, default_region: str | None
) -> list[ColumnElement]:
    # A look-up names the tenant in each of its alternatives (see _lookup); repeating it outside
    # would let SQLite's planner prefer scanning the tenant's accounts by that one condition.
    where: list[ColumnElement] = (
        [_lookup(tenant_id, criteria.q, default_region)]
        if criteria.q
        else [Account.tenant_id == tenant_id]
    )
    if not criteria.include_retired:
        where.append(~Account.retired)
    if criteria.tag:
        where.append(
            exists().where(
                AccountTag.account_id == Account.id,
                AccountTag.tenant_id == tenant_id,
                AccountTag.tag == criteria.tag,
            )
        )
    if criteria.tier is not None:
        where.append(_tier_condition(tenant_id, criteria.tier))
    if criteria.points_min is not None:
        where.append(Account.points_balance >= criteria.points_min)
    if criteria.points_max is not None:
        where.append(Account.points_balance <= criteria.points_max)
    if criteria.birthday_month is not None:
        where.append(extract("month", Account.birthdate) == criteria.birthday_month)
    if criteria.joined_from:
        where.append(Account.created_at >= _start_of(criteria.joined_from))
    if criteria.joined_to:
        where.append(Account.created_at < _start_of(criteria.joined_to + timedelta(days=1)))
    if criteria.ordered_after:
        where.append(Account.last_order_at >= _start_of(criteria.ordered_after))
    if criteria.ordered_before:
        where.append(Account.last_order_at < _start_of(criteria.ordered_before))
    if criteria.consent:
        where.append(Account.marketing_consent.is_(criteria.consent == "yes"))
    return where


def _lookup(tenant_id: int, q: str, default_region: str | None) -> ColumnElement:
    """What the box matches: an email (exact, or its beginning while it is being typed); else
    the account id, card, phone (normalised to E.164) or the beginning of a name.

    Each alternative repeats the tenant so that it is one (tenant_id, column) index look-up:
    both databases then answer the OR as a union of index searches (SQLite's multi-index OR,
    PostgreSQL's BitmapOr) instead of scanning the tenant's accounts.
    """
    tenant = Account.tenant_id == tenant_id
    return or_(*(and_(tenant, alt.condition) for alt in _alternatives(q, default_region)))


@dataclass(frozen=True)
class _Alternative:
    """One way the box can match, and how its matches are listed in a name search."""

    condition: ColumnElement
    rank: int  # identifiers first (0), then last names (1), then first names (2)
    by_first_name: bool  # listed in first-name index order rather than last-name order


def _alternatives(q: str, default_region: str | None) -> list[_Alternative]:
    if "@" in q:
        try:
            email = normalise_email(q)
        except IdentityError:
            email = None
        if email is not None:
            return [_Alternative(Account.email == email, 0, False)]
        return [_Alternative(_prefix(Account.email, q.strip().lower()), 0, False)]
    alternatives = [
        _Alternative(Account.external_id == q, 0, False),
        _Alternative(and_(Account.card.is_not(None), Account.card == q), 0, False),
    ]
    if looks_like_phone(q):
        try:
            phone = normalise_phone(q, default_region)
        except IdentityError:
            phone = None
        if phone:
            alternatives.append(
                _Alternative(and_(Account.phone.is_not(None), Account.phone == phone), 0, False)
            )
    words = _name_words(q)
    if words:
        whole = " ".join(words)
        alternatives.append(_Alternative(_prefix(Account.last_name_key, whole), 1, False))
        if len(words) > 1:
            first, rest = words[0], " ".join(words[1:])
            alternatives += [
                _Alternative(
                    and_(
                        _prefix(Account.last_name_key, rest), _prefix(Account.first_name_key, first)
                    ),
                    1,
                    False,
                ),
                _Alternative(
                    and_(
                        _prefix(Account.last_name_key, first), _prefix(Account.first_name_key, rest)
                    ),
                    1,
                    False,
                ),
            ]
        alternatives.append(_Alternative(_prefix(Account.first_name_key, whole), 2, True))
    return alternatives


def _name_search_page(
    tenant_id: int, criteria: SearchCriteria, page: int, per_page: int, default_region: str | None
):
    """A page of a name search sorted by name, without sorting every match.

    "ros" can match tens of thousands of customers; sorting them all for 25 rows is what made
    this slow. Instead each alternative reads at most page x per_page + 1 rows in its own index
    order (identifiers, then last names, then first names), skipping rows an earlier
    alternative already listed, and only those few rows are merged and sorted.
    """
    filters = conditions(tenant_id, replace(criteria, q=""), default_region)
    wanted = page * per_page + 1
    branches = []
    earlier: list[ColumnElement] = []
    for alternative in _alternatives(criteria.q, default_region):
        first_key, second_key = (
            (Account.first_name_key, Account.last_name_key)
            if alternative.by_first_name
            else (Account.last_name_key, Account.first_name_key)
        )
        branch = (
            select(
                Account.id.label("id"),
                literal(alternative.rank).label("rank"),
                first_key.label("k1"),
                second_key.label("k2"),
            )
            .where(*filters, alternative.condition, *(~condition for condition in earlier))
            .order_by(first_key, second_key, Account.id)
            .limit(wanted)
        )
        branches.append(select(branch.subquery()))
        earlier.append(alternative.condition)
    listed = union_all(*branches).subquery()
    return (
        select(Account, _TAG_LIST)
        .join(listed, listed.c.id == Account.id)
        .order_by(listed.c.rank, listed.c.k1, listed.c.k2, listed.c.id)
    )


def _name_words(q: str) -> list[str]:
    """The box as name words, or [] when it cannot be a name (no letter in it, or an email)."""
    if "@" in q or not any(c.isalpha() for c in q):
        return []
    return name_key(q).split()


def _prefix(column, prefix: str) -> ColumnElement:
    """`column` starts with `prefix`, as a range the column's plain b-tree index serves on both
    databases (the key columns are byte-ordered); LIKE then keeps only exact prefixes."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    conditions = [column >= prefix, column.like(escaped + "%", escape="\\")]
    last = prefix[-1]
    if ord(last) < 0x10FFFF:
        conditions.append(column < prefix[:-1] + chr(ord(last) + 1))
    return and_(*conditions)


def _tier_condition(tenant_id: int, tier_id: int) -> ColumnElement:
    """Tiers are derived from lifetime points, so a tier is a lifetime-points range."""
    for tier, low, high in requirements(tier_levels(tenant_id)):
        if tier.tier_id == tier_id:
            condition = Account.lifetime_points >= low
            return condition if high is None else and_(condition, Account.lifetime_points <= high)
    return false()  # a tier that no longer exists has no members


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def month_names() -> list[tuple[int, str]]:
    return [(number, calendar.month_name[number]) for number in range(1, 13)]
