"""Campaign constraints (spec §3.2): which accounts, and which orders, a campaign is about.

A constraint is `{field, op, value}`. Its field decides how it is read, its *kind*:

| field                                  | kind        | the account's value              |
|----------------------------------------|-------------|----------------------------------|
| `counters.<name>`, `order.total`       | NUMBER      | an int; an unknown counter is 0  |
| `properties.<key>`, `header.firstName`,| TEXT        | a str, or absent                 |
| `order.venue|channel|orderType`        |             |                                  |
| `tags.<tag>`, `venues.<venueId>`       | HELD        | True when held, else False       |
| `header.created`, `header.lastOrder`   | MOMENT      | an aware UTC datetime, or absent |
| `header.birthdate`                     | DAY         | a date, or absent                |
| `header.birthdate` with `--MM-DD`      | MONTH_DAY   | (month, day), or absent          |
| `order.product`                        | CONTAINS    | the set of PLUs in the order     |

Contract for whoever compiles constraints to SQL: `resolve(constraint, now)` gives a `Resolved`
whose `operands` are already converted (ints, strs, bools, aware UTC datetimes, dates,
(month, day) tuples; relative durations such as `-P30D` already turned into `now` minus 30 days).
`matches` is nothing more than `resolved.test(value)` for each item, ANDed, so SQL must give the
same answers as `Resolved.test`:
- EQ: present and equal to operands[0]. IN: present and equal to one of the operands.
- NE: absent, or equal to none of the operands (SQL: `col IS NULL OR col NOT IN (...)`).
- GT/GTE/LT/LTE: present and compared with operands[0]; TEXT compares by code point (SQL:
  `COLLATE "C"`), MONTH_DAY compares (month, day) tuples.
- EXISTS: a tag held, a venue visited, a property or header field not null, a counter (or
  order.total) not zero, an order with at least one product.
- NUMBER is never absent (unknown counters read 0); HELD is never absent and takes only EQ, NE,
  IN and EXISTS with "true"/"false"; CONTAINS takes EQ (has the PLU), IN (has one of them),
  NE (has none of them) and EXISTS.
An empty property string is present (it was set). Invalid constraints never reach `resolve`
from a parsed campaign; built by hand, they raise ConstraintError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from loyalty.time import parse_iso

from .durations import Duration, DurationError, parse_duration

OPS = ("EQ", "NE", "IN", "GT", "GTE", "LT", "LTE", "EXISTS")
ORDERING_OPS = ("GT", "GTE", "LT", "LTE")
SINGLE_VALUE_OPS = ("EQ", "GT", "GTE", "LT", "LTE")
MAX_FIELD_LENGTH = 64
MAX_VALUES = 16
MAX_VALUE_LENGTH = 256
ACCOUNT_FIELD = re.compile(
    r"((counters|properties|venues|tags)\.[a-zA-Z0-9_-]+)"
    r"|(header\.(firstName|created|lastOrder|birthdate))"
)
ORDER_FIELDS = ("order.total", "order.venue", "order.channel", "order.orderType", "order.product")
# Counters up to 18 digits fit a signed 64-bit column.
_INTEGER = re.compile(r"[+-]?\d{1,18}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH_DAY = re.compile(r"--(\d{2})-(\d{2})")
_FLAGS = {"true": True, "false": False}


class Kind(StrEnum):
    NUMBER = "number"
    TEXT = "text"
    HELD = "held"
    MOMENT = "moment"
    DAY = "day"
    MONTH_DAY = "month_day"
    CONTAINS = "contains"


class ConstraintError(ValueError):
    """A constraint that cannot be read; `part` is "field", "op", "value" or "value[i]"."""

    def __init__(self, part: str, message: str):
        self.part = part
        super().__init__(message)


@dataclass(frozen=True)
class Constraint:
    field: str
    op: str
    value: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountFacts:
    """What constraints can see of an account; absent header fields are None."""

    first_name: str | None = None
    created: datetime | None = None
    last_order: datetime | None = None
    birthdate: date | None = None
    tags: frozenset[str] = frozenset()
    venues: frozenset[str] = frozenset()
    properties: Mapping[str, str] = field(default_factory=dict)
    counters: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderFacts:
    """What an ORDER state's constraints can see of one order."""

    total: int  # minor units
    venue: str | None = None
    channel: str | None = None
    order_type: str | None = None
    products: frozenset[str] = frozenset()  # PLUs


Operand = int | str | bool | datetime | date | tuple[int, int]


@dataclass(frozen=True)
class Resolved:
    """A constraint ready to compare: `kind` says what the field holds, `operands` are typed."""

    field: str
    op: str
    kind: Kind
    operands: tuple[Operand, ...]

    def test(self, value: object) -> bool:
        """Whether the field's value (None = absent; a frozenset for CONTAINS) satisfies it."""
        if self.kind is Kind.CONTAINS:
            return _test_contains(self.op, value, self.operands)  # type: ignore[arg-type]
        if self.op == "EXISTS":
            if self.kind is Kind.NUMBER:
                return bool(value)
            if self.kind is Kind.HELD:
                return value is True
            return value is not None
        if value is None:
            return self.op == "NE"
        if self.op == "EQ":
            return value == self.operands[0]
        if self.op == "IN":
            return value in self.operands
        if self.op == "NE":
            return value not in self.operands
        first = self.operands[0]
        if self.op == "GT":
            return value > first  # type: ignore[operator]
        if self.op == "GTE":
            return value >= first  # type: ignore[operator]
        if self.op == "LT":
            return value < first  # type: ignore[operator]
        return value <= first  # type: ignore[operator]


def field_kind(field_name: str, values: Iterable[str] = (), *, order: bool = False) -> Kind:
    """The kind of a field (birthdate with `--MM-DD` values is MONTH_DAY); ConstraintError if the
    field is not one of the grammar (account fields, or order fields when `order`)."""
    if not isinstance(field_name, str) or len(field_name) > MAX_FIELD_LENGTH:
        raise ConstraintError("field", f"must be at most {MAX_FIELD_LENGTH} characters")
    if order:
        if field_name not in ORDER_FIELDS:
            raise ConstraintError("field", "must be one of " + ", ".join(ORDER_FIELDS))
        if field_name == "order.total":
            return Kind.NUMBER
        return Kind.CONTAINS if field_name == "order.product" else Kind.TEXT
    if not ACCOUNT_FIELD.fullmatch(field_name):
        raise ConstraintError(
            "field", "must be counters.*, properties.*, venues.*, tags.* or a header field"
        )
    prefix = field_name.split(".", 1)[0]
    if prefix == "counters":
        return Kind.NUMBER
    if prefix in ("tags", "venues"):
        return Kind.HELD
    if field_name in ("header.created", "header.lastOrder"):
        return Kind.MOMENT
    if field_name == "header.birthdate":
        return Kind.MONTH_DAY if any(_MONTH_DAY.fullmatch(v) for v in values) else Kind.DAY
    return Kind.TEXT


def check(constraint: Constraint, *, order: bool = False) -> None:
    """Raise ConstraintError for the first problem of the constraint; None when it will do."""
    kind = field_kind(constraint.field, constraint.value, order=order)
    if constraint.op not in OPS:
        raise ConstraintError("op", "must be one of " + ", ".join(OPS))
    values = constraint.value
    if len(values) > MAX_VALUES:
        raise ConstraintError("value", f"give at most {MAX_VALUES} values")
    if constraint.op == "EXISTS" and values:
        raise ConstraintError("value", "EXISTS takes no values")
    if constraint.op in SINGLE_VALUE_OPS and len(values) != 1:
        raise ConstraintError("value", f"{constraint.op} takes exactly one value")
    if constraint.op in ("IN", "NE") and not values:
        raise ConstraintError("value", f"{constraint.op} takes at least one value")
    if constraint.op in ORDERING_OPS and kind in (Kind.HELD, Kind.CONTAINS):
        raise ConstraintError("op", f"{constraint.field} cannot be compared as larger or smaller")
    for index, text in enumerate(values):
        _operand(kind, text, f"value[{index}]")


def resolve(constraint: Constraint, now: datetime, *, order: bool = False) -> Resolved:
    """The constraint with its operands converted and relative dates fixed against `now`."""
    check(constraint, order=order)
    kind = field_kind(constraint.field, constraint.value, order=order)
    operands = []
    for index, text in enumerate(constraint.value):
        operand = _operand(kind, text, f"value[{index}]")
        if isinstance(operand, Duration):
            try:
                moment = operand.shift(now)
            except DurationError as error:
                raise ConstraintError(f"value[{index}]", str(error)) from None
            operand = moment.astimezone(UTC).date() if kind is Kind.DAY else moment
        operands.append(operand)
    return Resolved(constraint.field, constraint.op, kind, tuple(operands))


def matches(constraints: Iterable[Constraint], facts: AccountFacts, now: datetime) -> bool:
    """Whether the account satisfies every constraint (AND; no constraints = everyone)."""
    for constraint in constraints:
        resolved = resolve(constraint, now)
        if not resolved.test(_account_value(resolved, facts)):
            return False
    return True


def order_matches(constraints: Iterable[Constraint], order: OrderFacts, min_total: int = 0) -> bool:
    """Whether one order counts for an ORDER state: at least `min_total` and every constraint."""
    if order.total < min_total:
        return False
    # Order constraints hold no dates, so no clock is needed; resolve asks for one anyway.
    unused_now = datetime(2000, 1, 1, tzinfo=UTC)
    for constraint in constraints:
        resolved = resolve(constraint, unused_now, order=True)
        if not resolved.test(_order_value(resolved.field, order)):
            return False
    return True


def describe(constraint: Constraint) -> str:
    """One plain-English sentence for the dashboard; never raises, even for a broken constraint."""
    field_name = constraint.field if isinstance(constraint.field, str) else str(constraint.field)
    values = tuple(str(v) for v in constraint.value) if constraint.value else ()
    op = constraint.op if constraint.op in OPS else ""
    try:
        kind = field_kind(field_name, values, order=field_name.startswith("order."))
    except ConstraintError:
        return f"{field_name} {op or constraint.op} {_either(values)}".strip()
    if not op:
        return f"{field_name} has an unknown comparison {constraint.op}"
    name = field_name.split(".", 1)[1]
    if kind is Kind.NUMBER:
        return _describe_number(field_name, name, op, values)
    if kind is Kind.HELD:
        return _describe_held(field_name, name, op, values)
    if kind is Kind.CONTAINS:
        return _describe_products(op, values)
    if kind in (Kind.MOMENT, Kind.DAY, Kind.MONTH_DAY):
        return _describe_date(field_name, kind, op, values)
    return _describe_text(field_name, name, op, values)


def _operand(kind: Kind, text: str, part: str) -> Operand | Duration:
    if not isinstance(text, str):
        raise ConstraintError(part, "must be a string")
    if len(text) > MAX_VALUE_LENGTH:
        raise ConstraintError(part, f"must be at most {MAX_VALUE_LENGTH} characters")
    if kind is Kind.NUMBER:
        if not _INTEGER.fullmatch(text):
            raise ConstraintError(part, "must be a whole number")
        return int(text)
    if kind is Kind.HELD:
        if text not in _FLAGS:
            raise ConstraintError(part, 'must be "true" or "false"')
        return _FLAGS[text]
    if kind is Kind.MONTH_DAY:
        month_day = _MONTH_DAY.fullmatch(text)
        if month_day is None:
            raise ConstraintError(part, "use --MM-DD for every value, or dates for every value")
        month, day = int(month_day.group(1)), int(month_day.group(2))
        try:
            date(2000, month, day)  # a leap year, so --02-29 is a day
        except ValueError:
            raise ConstraintError(part, "is not a day of the year") from None
        return month, day
    if kind in (Kind.MOMENT, Kind.DAY):
        return _date_operand(kind, text, part)
    return text


def _date_operand(kind: Kind, text: str, part: str) -> datetime | date | Duration:
    if text.lstrip("+-").startswith("P"):
        try:
            return parse_duration(text, signed=True)
        except DurationError as error:
            raise ConstraintError(part, str(error)) from None
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ConstraintError(part, "is not a date") from None
        return day if kind is Kind.DAY else datetime(day.year, day.month, day.day, tzinfo=UTC)
    if kind is Kind.DAY:
        raise ConstraintError(part, "must be a date (1990-05-01), --MM-DD or a duration (-P18Y)")
    try:
        return parse_iso(text)
    except (ValueError, OverflowError):  # an offset can push year 1 or 9999 off the calendar
        raise ConstraintError(
            part, "must be a date, a date-time with offset or a duration (-P30D)"
        ) from None


def _account_value(resolved: Resolved, facts: AccountFacts) -> object:
    prefix, _, name = resolved.field.partition(".")
    if prefix == "counters":
        return facts.counters.get(name, 0)
    if prefix == "properties":
        return facts.properties.get(name)
    if prefix == "tags":
        return name in facts.tags
    if prefix == "venues":
        return name in facts.venues
    if name == "firstName":
        return facts.first_name
    if name == "created":
        return facts.created
    if name == "lastOrder":
        return facts.last_order
    if facts.birthdate is None:
        return None
    if resolved.kind is Kind.MONTH_DAY:
        return facts.birthdate.month, facts.birthdate.day
    return facts.birthdate


def _order_value(field_name: str, order: OrderFacts) -> object:
    return {
        "order.total": order.total,
        "order.venue": order.venue,
        "order.channel": order.channel,
        "order.orderType": order.order_type,
        "order.product": order.products,
    }[field_name]


def _test_contains(op: str, products: frozenset[str], operands: tuple[Operand, ...]) -> bool:
    if op == "EXISTS":
        return bool(products)
    if op == "NE":
        return not products.intersection(operands)  # type: ignore[arg-type]
    if op == "EQ":
        return operands[0] in products
    return bool(products.intersection(operands))  # type: ignore[arg-type]


# --- describe: the words of each kind


_COMPARISONS = {
    "GT": "more than",
    "GTE": "at least",
    "LT": "fewer than",
    "LTE": "at most",
    "EQ": "exactly",
}
# (what the account did, the unit after the number) for the counters we keep (spec §3.2).
_COUNTER_WORDS = {
    "orders": ("has ordered", "times"),
    "visits": ("has ordered on", "different days"),
    "spent": ("has spent", "(minor units) in total"),
    "points": ("has", "points to spend"),
    "lifetimePoints": ("has earned", "points in total"),
    "referrals": ("has invited", "accounts"),
}


def _either(values: tuple[str, ...], joiner: str = "or") -> str:
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + f" {joiner} " + values[-1]


def _describe_number(field_name: str, name: str, op: str, values: tuple[str, ...]) -> str:
    if field_name == "order.total":
        verb, unit = "the order totals", "(minor units)"
    else:
        verb, unit = _COUNTER_WORDS.get(name, (f"has a {name} count of", ""))
    if op == "EXISTS":
        if name in _COUNTER_WORDS:
            return f"{verb} a non-zero number of {unit}"
        return f"has a non-zero {name} count"
    if op == "IN":
        quantity = _either(values)
    elif op == "NE":
        quantity = "a number other than " + _either(values, "and")
    else:
        quantity = f"{_COMPARISONS[op]} {values[0] if values else '?'}"
    return f"{verb} {quantity} {unit}".rstrip()


def _describe_held(field_name: str, name: str, op: str, values: tuple[str, ...]) -> str:
    if field_name.startswith("tags."):
        has, has_not = f"has the tag {name}", f"does not have the tag {name}"
    else:
        has, has_not = f"has been at venue {name}", f"has never been at venue {name}"
    if op == "EXISTS":
        return has
    wanted = {_FLAGS.get(value) for value in values}
    if op == "NE":
        wanted = {True, False} - wanted
    if op not in ("EQ", "IN", "NE") or None in wanted:
        return f"{field_name} {op} {_either(values)}"
    if wanted == {True}:
        return has
    if wanted == {False}:
        return has_not
    return f"{has} or not" if wanted else f"never matches ({has} and not at once)"


def _describe_products(op: str, values: tuple[str, ...]) -> str:
    if op == "EXISTS":
        return "the order has at least one product"
    if op == "NE":
        return "the order has none of the products " + _either(values, "and")
    if op == "IN":
        return "the order has one of the products " + _either(values)
    return f"the order has the product {values[0] if values else '?'}"


_DATE_WORDS = {
    "header.created": "joined",
    "header.lastOrder": "last ordered",
    "header.birthdate": "was born",
}
_BEFORE_AFTER = {"GT": "after", "GTE": "on or after", "LT": "before", "LTE": "on or before"}
# A date compared with a moment some time ago, in words: (earlier than it, since it).
_SINCE_WORDS = {
    "header.lastOrder": ("has not ordered for {span}", "has ordered in the last {span}"),
    "header.created": ("joined more than {span} ago", "joined in the last {span}"),
}


def _describe_date(field_name: str, kind: Kind, op: str, values: tuple[str, ...]) -> str:
    if op == "EXISTS":
        return {
            "header.created": "has a join date",
            "header.lastOrder": "has ordered at least once",
            "header.birthdate": "has given a birthdate",
        }[field_name]
    if kind is Kind.MONTH_DAY:
        days = tuple(value.removeprefix("--") for value in values)
        if op in ("EQ", "IN"):
            return f"birthday is on {_either(days)}"
        if op == "NE":
            return f"birthday is not on {_either(days, 'nor')}"
        return f"birthday falls {_BEFORE_AFTER[op]} {days[0] if days else '?'} in the year"
    first = values[0] if values else "?"
    relative = _relative_words(first)
    if field_name in _SINCE_WORDS and relative and relative.endswith(" ago"):
        span = relative.removesuffix(" ago")
        longer_ago, within = _SINCE_WORDS[field_name]
        if op in ("LT", "LTE"):
            return longer_ago.format(span=span)
        if op in ("GT", "GTE"):
            return within.format(span=span)
    verb = _DATE_WORDS[field_name]
    moments = tuple(_relative_words(value) or value for value in values)
    if op in ("EQ", "IN"):
        return f"{verb} on {_either(moments)}"
    if op == "NE":
        return f"{verb} on a day other than {_either(moments, 'and')}"
    return f"{verb} {_BEFORE_AFTER[op]} {moments[0] if moments else '?'}"


def _relative_words(text: str) -> str | None:
    """-P30D -> "30 days ago", P1W -> "1 week from now"; None when text is not a duration."""
    if not text.lstrip("+-").startswith("P"):
        return None
    try:
        duration = parse_duration(text, signed=True)
    except DurationError:
        return None
    parts = [
        f"{number} {unit}{'' if number == 1 else 's'}"
        for number, unit in (
            (duration.years, "year"),
            (duration.months, "month"),
            (duration.weeks, "week"),
            (duration.days, "day"),
            (duration.hours, "hour"),
            (duration.minutes, "minute"),
            (duration.seconds, "second"),
        )
        if number
    ]
    if not parts:
        return "now"
    span = _either(tuple(parts), "and")
    return f"{span} ago" if duration.negative else f"{span} from now"


def _describe_text(field_name: str, name: str, op: str, values: tuple[str, ...]) -> str:
    if field_name == "header.firstName":
        subject, present = "first name", "has given a first name"
    elif field_name.startswith("order."):
        subject = {"venue": "the order's venue", "channel": "the order's channel"}.get(
            name, "the order's type"
        )
        present = f"{subject} is known"
    else:
        subject, present = f"property {name}", f"has the property {name} set"
    quoted = tuple(f'"{value}"' for value in values)
    if op == "EXISTS":
        return present
    if op in ("EQ", "IN"):
        return f"{subject} is {_either(quoted)}"
    if op == "NE":
        return f"{subject} is not {_either(quoted, 'nor')}"
    return f"{subject} comes {_BEFORE_AFTER[op]} {quoted[0] if quoted else '?'} alphabetically"
