"""Finding accounts: one search box plus filters, as indexed SQL on both databases.

The criteria travel as a query string (the address bar, a saved segment, an export link), so
parsing and printing them live here, once, and every door builds the same query from them.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TypeVar
from urllib.parse import urlencode

from sqlalchemy import (
    BindParameter,
    Integer,
    Select,
    and_,
    bindparam,
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
from sqlalchemy.types import NullType

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


# A search's SQL depends only on its shape (which filters, which look-up alternatives, which
# sort), never on the values typed. Each shape is built once per process and run with the
# values as parameters: building SQLAlchemy expressions costs more than the indexed look-up.
#
# A shape is (alternatives, filters). An alternative is a tuple of terms, all of which must
# hold; a term is (column, operator, parameter) with operator "=" (equal), "=?" (equal and not
# NULL), "^" (starts with, as an index range) or "^*" (starts with, no upper bound: the prefix
# ends in the last code point). A filter is a name from _FILTERS.
Term = tuple[str, str, str]
Shape = tuple[tuple[tuple[Term, ...], ...], tuple[str, ...]]
Params = dict[str, object]
Bind = Callable[[str], BindParameter]  # a parameter's name -> its place in the SQL


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
    statement, params = page_statement(tenant_id, criteria, page, per_page, default_region)
    rows = db.session.execute(statement, params).all()
    shown = rows[:per_page]
    return SearchPage(
        accounts=[account for account, _tags in shown],
        tags={account.id: sorted(tags.split(",")) if tags else [] for account, tags in shown},
        page=page,
        per_page=per_page,
        has_next=len(rows) > per_page,
    )


def page_statement(
    tenant_id: int,
    criteria: SearchCriteria,
    page: int,
    per_page: int,
    default_region: str | None = None,
) -> tuple[Select, Params]:
    """The SELECT of (Account, its tags) for one page plus one row, and its parameters."""
    shape, params = _plan(tenant_id, criteria, default_region)
    sort = effective_sort(criteria)
    if sort == "name" and _name_words(criteria.q):
        params["wanted"] = page * per_page + 1
        statement = _name_search_page(shape)
    else:
        statement = _sorted_page(shape, sort, bool(criteria.q))
    params |= {"limit": per_page + 1, "offset": (page - 1) * per_page}
    return statement, params


def count_matching(
    tenant_id: int,
    criteria: SearchCriteria,
    cap: int | None = None,
    default_region: str | None = None,
) -> int:
    """How many accounts match, counted in the database; with `cap`, stops at cap + 1."""
    shape, params = _plan(tenant_id, criteria, default_region)
    if cap is not None:
        params["cap"] = cap + 1
    return db.session.scalar(_count(shape, cap is not None), params)


def conditions(
    tenant_id: int, criteria: SearchCriteria, default_region: str | None
) -> list[ColumnElement]:
    """The WHERE of the criteria with their values bound, for queries built elsewhere
    (exports, segment figures, the API's lists)."""
    shape, params = _plan(tenant_id, criteria, default_region)
    # Unique names: a caller may put several criteria's conditions in one statement. No type:
    # each value takes its column's (a UTC datetime column stores what it compares).
    return list(
        _build_where(
            shape, lambda name: bindparam(name, params[name], type_=NullType(), unique=True)
        )
    )


# -- plans: the criteria as a shape and its values, in plain Python ----------------------------


def _plan(
    tenant_id: int, criteria: SearchCriteria, default_region: str | None
) -> tuple[Shape, Params]:
    params: Params = {"tenant_id": tenant_id}
    alternatives = _alternatives(criteria.q, default_region, params) if criteria.q else ()
    filters: list[str] = []
    if not criteria.include_retired:
        filters.append("active")
    if criteria.tag:
        filters.append("tag")
        params["tag"] = criteria.tag
    if criteria.tier is not None:
        filters += _tier_filters(tenant_id, criteria.tier, params)
    values = {
        "points_min": criteria.points_min,
        "points_max": criteria.points_max,
        "birthday_month": criteria.birthday_month,
        "joined_from": _start_of(criteria.joined_from),
        "joined_before": _start_of(criteria.joined_to and criteria.joined_to + timedelta(days=1)),
        "ordered_after": _start_of(criteria.ordered_after),
        "ordered_before": _start_of(criteria.ordered_before),
    }
    for name, value in values.items():
        if value is not None:
            filters.append(name)
            params[name] = value
    if criteria.consent:
        filters.append(f"consent_{criteria.consent}")
    return (alternatives, tuple(filters)), params


def _alternatives(
    q: str, default_region: str | None, params: Params
) -> tuple[tuple[Term, ...], ...]:
    """What the box matches: an email (exact, or its beginning while it is being typed); else
    the account id, card, phone (normalised to E.164) or the beginning of a name."""
    if "@" in q:
        try:
            email = normalise_email(q)
        except IdentityError:
            email = None
        if email is not None:
            params["email"] = email
            return ((("email", "=", "email"),),)
        return ((_prefix_term("email", "typed", q.strip().lower(), params),),)
    params["q"] = q
    alternatives: list[tuple[Term, ...]] = [(("external_id", "=", "q"),), (("card", "=?", "q"),)]
    if looks_like_phone(q):
        try:
            phone = normalise_phone(q, default_region)
        except IdentityError:
            phone = None
        if phone:
            params["phone"] = phone
            alternatives.append((("phone", "=?", "phone"),))
    words = _name_words(q)
    if words:
        whole = " ".join(words)
        alternatives.append((_prefix_term("last_name_key", "whole", whole, params),))
        if len(words) > 1:
            first, rest = words[0], " ".join(words[1:])
            alternatives += [
                (
                    _prefix_term("last_name_key", "rest", rest, params),
                    _prefix_term("first_name_key", "first", first, params),
                ),
                (
                    _prefix_term("last_name_key", "first", first, params),
                    _prefix_term("first_name_key", "rest", rest, params),
                ),
            ]
        alternatives.append((_prefix_term("first_name_key", "whole", whole, params),))
    return tuple(alternatives)


def _prefix_term(column: str, name: str, prefix: str, params: Params) -> Term:
    """`column` starts with `prefix`: a range the column's plain b-tree index serves on both
    databases (the key columns are byte-ordered); LIKE then keeps only exact prefixes."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    params[f"{name}_from"] = prefix
    params[f"{name}_like"] = escaped + "%"
    last = prefix[-1]
    if ord(last) == 0x10FFFF:
        return (column, "^*", name)
    params[f"{name}_before"] = prefix[:-1] + chr(ord(last) + 1)
    return (column, "^", name)


def _tier_filters(tenant_id: int, tier_id: int, params: Params) -> list[str]:
    """Tiers are derived from lifetime points, so a tier is a lifetime-points range."""
    for tier, low, high in requirements(tier_levels(tenant_id)):
        if tier.tier_id == tier_id:
            params["lifetime_low"] = low
            if high is None:
                return ["lifetime_from"]
            params["lifetime_high"] = high
            return ["lifetime_from", "lifetime_to"]
    return ["no_tier"]  # a tier that no longer exists has no members


def _start_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)


# -- SQL: built from a shape alone, once per shape and process --------------------------------

_FILTERS: dict[str, Callable[[Bind], ColumnElement]] = {
    "active": lambda bind: ~Account.retired,
    "tag": lambda bind: exists().where(
        AccountTag.account_id == Account.id,
        AccountTag.tenant_id == bind("tenant_id"),
        AccountTag.tag == bind("tag"),
    ),
    "lifetime_from": lambda bind: Account.lifetime_points >= bind("lifetime_low"),
    "lifetime_to": lambda bind: Account.lifetime_points <= bind("lifetime_high"),
    "no_tier": lambda bind: false(),
    "points_min": lambda bind: Account.points_balance >= bind("points_min"),
    "points_max": lambda bind: Account.points_balance <= bind("points_max"),
    "birthday_month": lambda bind: extract("month", Account.birthdate) == bind("birthday_month"),
    "joined_from": lambda bind: Account.created_at >= bind("joined_from"),
    "joined_before": lambda bind: Account.created_at < bind("joined_before"),
    "ordered_after": lambda bind: Account.last_order_at >= bind("ordered_after"),
    "ordered_before": lambda bind: Account.last_order_at < bind("ordered_before"),
    "consent_yes": lambda bind: Account.marketing_consent.is_(True),
    "consent_no": lambda bind: Account.marketing_consent.is_(False),
}


def _limit_param(name: str) -> BindParameter[int]:
    """A LIMIT or OFFSET value (typed, so that it also renders as a literal for EXPLAIN)."""
    return bindparam(name, type_=Integer)


@lru_cache(maxsize=512)
def _where(shape: Shape) -> tuple[ColumnElement, ...]:
    """The WHERE of a shape, its values left as named parameters."""
    return _build_where(shape, bindparam)


def _build_where(shape: Shape, bind: Bind) -> tuple[ColumnElement, ...]:
    """A look-up names the tenant in each of its alternatives, so each is one (tenant_id,
    column) index search and both databases answer the OR as a union of index searches
    (SQLite's multi-index OR, PostgreSQL's BitmapOr); repeating the tenant outside would let
    SQLite's planner prefer scanning the tenant's accounts by that one condition."""
    alternatives, filters = shape
    tenant = Account.tenant_id == bind("tenant_id")
    where = (
        [or_(*(and_(tenant, _alternative(terms, bind)) for terms in alternatives))]
        if alternatives
        else [tenant]
    )
    return (*where, *(_FILTERS[name](bind) for name in filters))


def _alternative(terms: tuple[Term, ...], bind: Bind) -> ColumnElement:
    conditions = []
    for column_name, operator, name in terms:
        column = getattr(Account, column_name)
        if operator == "=":
            conditions.append(column == bind(name))
        elif operator == "=?":
            conditions.append(and_(column.is_not(None), column == bind(name)))
        else:
            conditions += [
                column >= bind(f"{name}_from"),
                column.like(bind(f"{name}_like"), escape="\\"),
            ]
            if operator == "^":
                conditions.append(column < bind(f"{name}_before"))
    return and_(*conditions)


@lru_cache(maxsize=512)
def _sorted_page(shape: Shape, sort: str, typed: bool) -> Select:
    return (
        select(Account, _TAG_LIST)
        .where(*_where(shape))
        .order_by(*_ORDERS[(sort, typed)])
        .limit(_limit_param("limit"))
        .offset(_limit_param("offset"))
    )


@lru_cache(maxsize=512)
def _name_search_page(shape: Shape) -> Select:
    """A page of a name search sorted by name, without sorting every match.

    "ros" can match tens of thousands of customers; sorting them all for 25 rows is what made
    this slow. Instead each alternative reads at most page x per_page + 1 rows in its own index
    order (identifiers, then last names, then first names), skipping rows an earlier
    alternative already listed, and only those few rows are merged and sorted.
    """
    alternatives, filters = shape
    plain = _where(((), filters))
    branches = []
    earlier: list[ColumnElement] = []
    for terms in alternatives:
        column, operator = terms[0][:2]
        rank = 0 if operator.startswith("=") else 2 if column == "first_name_key" else 1
        first_key, second_key = (
            (Account.first_name_key, Account.last_name_key)
            if column == "first_name_key"
            else (Account.last_name_key, Account.first_name_key)
        )
        condition = _alternative(terms, bindparam)
        branch = (
            select(
                Account.id.label("id"),
                literal(rank).label("rank"),
                first_key.label("k1"),
                second_key.label("k2"),
            )
            .where(*plain, condition, *(~previous for previous in earlier))
            .order_by(first_key, second_key, Account.id)
            .limit(_limit_param("wanted"))
        )
        branches.append(select(branch.subquery()))
        earlier.append(condition)
    listed = union_all(*branches).subquery()
    return (
        select(Account, _TAG_LIST)
        .join(listed, listed.c.id == Account.id)
        .order_by(listed.c.rank, listed.c.k1, listed.c.k2, listed.c.id)
        .limit(_limit_param("limit"))
        .offset(_limit_param("offset"))
    )


@lru_cache(maxsize=512)
def _count(shape: Shape, capped: bool) -> Select:
    ids = select(Account.id).where(*_where(shape))
    if capped:
        ids = ids.limit(_limit_param("cap"))
    return select(func.count()).select_from(ids.subquery())


def _name_words(q: str) -> list[str]:
    """The box as name words, or [] when it cannot be a name (no letter in it, or an email)."""
    if "@" in q or not any(c.isalpha() for c in q):
        return []
    return name_key(q).split()


def month_names() -> list[tuple[int, str]]:
    return [(number, calendar.month_name[number]) for number in range(1, 13)]
