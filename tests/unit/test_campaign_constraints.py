"""Campaign constraints: which accounts and orders they select, and how the dashboard says it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.rules.constraints import (
    OPS,
    AccountFacts,
    Constraint,
    ConstraintError,
    Kind,
    OrderFacts,
    check,
    describe,
    field_kind,
    matches,
    order_matches,
    resolve,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ANN = AccountFacts(
    first_name="Ann",
    created=datetime(2024, 1, 10, tzinfo=UTC),
    last_order=datetime(2025, 4, 1, tzinfo=UTC),
    birthdate=date(1990, 5, 1),
    tags=frozenset({"vip"}),
    venues=frozenset({"venue-1"}),
    properties={"my_favourite": "pizza", "my_empty": ""},
    counters={"orders": 12, "spent": 23450, "points": 0},
)
NEWCOMER = AccountFacts()


def holds(field: str, op: str, *values: str, facts: AccountFacts = ANN) -> bool:
    return matches([Constraint(field, op, values)], facts, NOW)


def refused_part(constraint: Constraint) -> str:
    """The part of the constraint `check` names in refusing it (it must refuse it)."""
    with pytest.raises(ConstraintError) as raised:
        check(constraint)
    return raised.value.part


# --- counters


@pytest.mark.parametrize(
    ("op", "values", "expected"),
    [
        ("EQ", ("12",), True),
        ("EQ", ("11",), False),
        ("NE", ("11", "13"), True),
        ("NE", ("12",), False),
        ("IN", ("1", "12"), True),
        ("GT", ("11",), True),
        ("GT", ("12",), False),
        ("GTE", ("12",), True),
        ("LT", ("13",), True),
        ("LTE", ("11",), False),
        ("EXISTS", (), True),
    ],
)
def test_counters_compare_as_numbers(op, values, expected):
    assert holds("counters.orders", op, *values) is expected


def test_counters_compare_as_numbers_not_as_text():
    # As text "9" > "12"; as numbers it is not.
    assert holds("counters.orders", "GT", "9")
    assert not holds("counters.orders", "LT", "9")


def test_unknown_counters_read_zero_and_zero_does_not_exist():
    assert holds("counters.stamps", "EQ", "0")
    assert holds("counters.stamps", "LT", "1")
    assert not holds("counters.stamps", "EXISTS")
    assert not holds("counters.points", "EXISTS")


# --- tags and venues


def test_a_tag_exists_when_held_and_reads_true_or_false():
    assert holds("tags.vip", "EXISTS")
    assert not holds("tags.staff", "EXISTS")
    assert holds("tags.staff", "EQ", "false")
    assert holds("tags.staff", "NE", "true")
    assert not holds("tags.vip", "NE", "true")
    assert holds("tags.vip", "IN", "true", "false")


def test_a_venue_exists_when_the_account_has_been_there():
    assert holds("venues.venue-1", "EXISTS")
    assert not holds("venues.venue-2", "EXISTS")
    assert holds("venues.venue-2", "EQ", "false")


@pytest.mark.parametrize("op", ["GT", "GTE", "LT", "LTE"])
def test_tags_and_venues_cannot_be_larger_or_smaller(op):
    assert refused_part(Constraint("tags.vip", op, ("true",))) == "op"


def test_tags_take_only_true_or_false():
    assert refused_part(Constraint("tags.vip", "EQ", ("yes",))) == "value[0]"


# --- text


def test_properties_compare_as_text_and_an_unset_property_is_absent():
    assert holds("properties.my_favourite", "EQ", "pizza")
    assert holds("properties.my_favourite", "IN", "sushi", "pizza")
    assert holds("properties.my_favourite", "GT", "pasta")  # "pi" after "pa"
    assert holds("properties.my_favourite", "EXISTS")
    assert holds("properties.my_empty", "EXISTS")  # set, though empty
    assert not holds("properties.my_drink", "EXISTS")
    assert not holds("properties.my_drink", "EQ", "")
    assert not holds("properties.my_drink", "LT", "zzz")
    # Absent is "not equal to any value", as SQL's `IS NULL OR NOT IN` says.
    assert holds("properties.my_drink", "NE", "cola")


def test_the_first_name_is_text():
    assert holds("header.firstName", "EQ", "Ann")
    assert not holds("header.firstName", "EQ", "ann")
    assert not holds("header.firstName", "EXISTS", facts=NEWCOMER)
    assert holds("header.firstName", "NE", "Bob", facts=NEWCOMER)


# --- dates


def test_win_back_is_last_order_more_than_30_days_ago():
    assert holds("header.lastOrder", "LT", "-P30D")  # 1 April is 61 days before 1 June
    assert not holds("header.lastOrder", "LT", "-P90D")
    assert holds("header.lastOrder", "GT", "-P90D")


def test_an_account_that_never_ordered_is_not_won_back():
    assert not holds("header.lastOrder", "LT", "-P30D", facts=NEWCOMER)
    assert not holds("header.lastOrder", "EXISTS", facts=NEWCOMER)


def test_dates_compare_as_moments_with_dates_read_as_utc_midnight():
    assert holds("header.created", "LT", "2024-01-11")
    assert holds("header.created", "GTE", "2024-01-10")
    assert holds("header.created", "EQ", "2024-01-10T01:00:00+01:00")
    assert not holds("header.created", "GT", "2024-01-10T00:00:00Z")


def test_relative_dates_are_resolved_against_now():
    resolved = resolve(Constraint("header.lastOrder", "LT", ("-P30D",)), NOW)
    assert resolved.kind is Kind.MOMENT
    assert resolved.operands == (datetime(2025, 5, 2, 12, 0, tzinfo=UTC),)
    future = resolve(Constraint("header.created", "LT", ("P1D",)), NOW)
    assert future.operands == (datetime(2025, 6, 2, 12, 0, tzinfo=UTC),)


def test_a_birthdate_compares_as_a_date_and_relative_ages_in_years():
    assert holds("header.birthdate", "LT", "2000-01-01")
    assert holds("header.birthdate", "LTE", "-P18Y")  # at least 18
    assert not holds("header.birthdate", "GT", "-P18Y")
    resolved = resolve(Constraint("header.birthdate", "LTE", ("-P18Y",)), NOW)
    assert resolved.kind is Kind.DAY and resolved.operands == (date(2007, 6, 1),)


def test_a_birthdate_with_month_and_day_ignores_the_year():
    assert holds("header.birthdate", "EQ", "--05-01")
    assert holds("header.birthdate", "IN", "--04-30", "--05-01")
    assert holds("header.birthdate", "GTE", "--05-01")
    assert holds("header.birthdate", "LT", "--05-02")
    assert not holds("header.birthdate", "NE", "--05-01")
    assert not holds("header.birthdate", "EQ", "--05-01", facts=NEWCOMER)
    resolved = resolve(Constraint("header.birthdate", "IN", ("--02-29", "--03-01")), NOW)
    assert resolved.kind is Kind.MONTH_DAY and resolved.operands == ((2, 29), (3, 1))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("header.birthdate", "--13-01"),
        ("header.birthdate", "--02-30"),
        ("header.birthdate", "2000-01-01T00:00:00Z"),
        ("header.created", "--05-01"),
        ("header.created", "2024-01-10T00:00:00"),  # no offset
        ("header.created", "last week"),
        ("header.lastOrder", "-P30X"),
        ("header.created", "2024-02-30"),
    ],
)
def test_date_values_that_are_not_dates_are_refused(field, value):
    assert refused_part(Constraint(field, "LT", (value,))) == "value[0]"


def test_month_days_and_dates_do_not_mix():
    with pytest.raises(ConstraintError):
        check(Constraint("header.birthdate", "IN", ("--05-01", "1990-05-01")))


# --- the shape of a constraint


@pytest.mark.parametrize(
    "field",
    [
        "counters.",
        "tags",
        "header.lastName",
        "wallet.points",
        "tags.a b",
        "c" * 65,
        "order.total",
        "counters.orders.x",
    ],
)
def test_fields_outside_the_grammar_are_refused(field):
    assert refused_part(Constraint(field, "EXISTS")) == "field"


@pytest.mark.parametrize(
    ("op", "values"),
    [
        ("EXISTS", ("1",)),
        ("EQ", ()),
        ("EQ", ("1", "2")),
        ("GT", ()),
        ("IN", ()),
        ("NE", ()),
        ("IN", tuple(str(n) for n in range(17))),
    ],
)
def test_each_op_takes_its_number_of_values(op, values):
    assert refused_part(Constraint("counters.orders", op, values)) == "value"


def test_unknown_ops_are_refused():
    assert refused_part(Constraint("counters.orders", "LIKE", ("1",))) == "op"


def test_counter_values_must_be_whole_numbers():
    for value in ("1.5", "five", "", "1" * 19):
        with pytest.raises(ConstraintError):
            check(Constraint("counters.orders", "GT", (value,)))


def test_field_kinds_follow_the_table_of_the_module():
    assert field_kind("counters.x") is Kind.NUMBER
    assert field_kind("properties.x") is Kind.TEXT
    assert field_kind("venues.x") is Kind.HELD
    assert field_kind("header.lastOrder") is Kind.MOMENT
    assert field_kind("header.birthdate", ["1990-01-01"]) is Kind.DAY
    assert field_kind("order.total", order=True) is Kind.NUMBER
    assert field_kind("order.product", order=True) is Kind.CONTAINS
    assert field_kind("order.channel", order=True) is Kind.TEXT


# --- AND


def test_no_constraints_select_everyone():
    assert matches([], NEWCOMER, NOW)


constraints = st.one_of(
    st.builds(
        lambda op, n: Constraint("counters.orders", op, (str(n),)),
        st.sampled_from(["EQ", "GT", "GTE", "LT", "LTE"]),
        st.integers(0, 20),
    ),
    st.builds(lambda tag: Constraint(f"tags.{tag}", "EXISTS"), st.sampled_from(["vip", "staff"])),
    st.builds(
        lambda days: Constraint("header.lastOrder", "LT", (f"-P{days}D",)), st.integers(0, 120)
    ),
    st.builds(
        lambda v: Constraint("properties.my_favourite", "NE", (v,)),
        st.sampled_from(["pizza", "sushi"]),
    ),
)
accounts = st.builds(
    AccountFacts,
    last_order=st.one_of(
        st.none(),
        st.datetimes(
            min_value=datetime(2025, 1, 1), max_value=datetime(2025, 6, 1), timezones=st.just(UTC)
        ),
    ),
    tags=st.frozensets(st.sampled_from(["vip", "staff"])),
    properties=st.dictionaries(st.just("my_favourite"), st.sampled_from(["pizza", "sushi"])),
    counters=st.dictionaries(st.just("orders"), st.integers(0, 20)),
)


@settings(max_examples=200)
@given(st.lists(constraints, max_size=5), st.lists(constraints, max_size=5), accounts)
def test_matches_is_and_across_items(first, second, facts):
    assert matches(first + second, facts, NOW) == (
        matches(first, facts, NOW) and matches(second, facts, NOW)
    )
    assert matches(first, facts, NOW) == all(matches([c], facts, NOW) for c in first)


# --- orders


LUNCH = OrderFacts(
    total=2500,
    venue="venue-1",
    channel="app",
    order_type="delivery",
    products=frozenset({"BURGER", "COLA"}),
)


def order_holds(field: str, op: str, *values: str, min_total: int = 0) -> bool:
    return order_matches([Constraint(field, op, values)], LUNCH, min_total)


def test_order_constraints_read_the_order():
    assert order_holds("order.total", "GTE", "2500")
    assert not order_holds("order.total", "GT", "2500")
    assert order_holds("order.venue", "EQ", "venue-1")
    assert order_holds("order.channel", "IN", "web", "app")
    assert order_holds("order.orderType", "NE", "pickup")
    assert order_holds("order.product", "EQ", "BURGER")
    assert order_holds("order.product", "IN", "FRIES", "COLA")
    assert not order_holds("order.product", "NE", "COLA", "FRIES")
    assert order_holds("order.product", "EXISTS")
    assert not order_matches([Constraint("order.product", "EXISTS")], OrderFacts(total=0))
    assert not order_matches([Constraint("order.venue", "EXISTS")], OrderFacts(total=0))


def test_an_order_below_the_minimum_total_does_not_count():
    assert order_matches([], LUNCH, min_total=2500)
    assert not order_matches([], LUNCH, min_total=2501)


def test_products_cannot_be_larger_or_smaller():
    with pytest.raises(ConstraintError):
        check(Constraint("order.product", "GT", ("A",)), order=True)


# --- describe


@pytest.mark.parametrize(
    ("constraint", "sentence"),
    [
        (Constraint("header.lastOrder", "LT", ("-P30D",)), "has not ordered for 30 days"),
        (Constraint("header.lastOrder", "GTE", ("-P1W",)), "has ordered in the last 1 week"),
        (Constraint("header.lastOrder", "EXISTS"), "has ordered at least once"),
        (Constraint("tags.vip", "EXISTS"), "has the tag vip"),
        (Constraint("tags.vip", "NE", ("true",)), "does not have the tag vip"),
        (Constraint("venues.v1", "EQ", ("true",)), "has been at venue v1"),
        (Constraint("venues.v1", "EQ", ("false",)), "has never been at venue v1"),
        (Constraint("counters.orders", "GTE", ("5",)), "has ordered at least 5 times"),
        (Constraint("counters.orders", "LT", ("2",)), "has ordered fewer than 2 times"),
        (Constraint("counters.points", "GT", ("100",)), "has more than 100 points to spend"),
        (Constraint("counters.stamps", "EQ", ("3",)), "has a stamps count of exactly 3"),
        (Constraint("counters.stamps", "EXISTS"), "has a non-zero stamps count"),
        (Constraint("header.birthdate", "EQ", ("--05-01",)), "birthday is on 05-01"),
        (
            Constraint("header.birthdate", "LTE", ("2000-01-01",)),
            "was born on or before 2000-01-01",
        ),
        (Constraint("header.created", "GT", ("-P30D",)), "joined in the last 30 days"),
        (Constraint("header.created", "LT", ("-P1Y",)), "joined more than 1 year ago"),
        (Constraint("header.firstName", "EXISTS"), "has given a first name"),
        (Constraint("properties.my_fav", "EQ", ("pizza",)), 'property my_fav is "pizza"'),
        (Constraint("order.product", "EQ", ("BURGER",)), "the order has the product BURGER"),
        (
            Constraint("order.total", "GTE", ("2000",)),
            "the order totals at least 2000 (minor units)",
        ),
    ],
)
def test_describe_says_it_in_plain_english(constraint, sentence):
    assert describe(constraint) == sentence


FIELDS = [
    "counters.orders",
    "counters.spent",
    "counters.visits",
    "counters.referrals",
    "counters.lifetimePoints",
    "counters.x",
    "properties.k",
    "tags.t",
    "venues.v",
    "header.firstName",
    "header.created",
    "header.lastOrder",
    "header.birthdate",
    "order.total",
    "order.venue",
    "order.channel",
    "order.orderType",
    "order.product",
]
VALUES = {
    "counters": ("5",),
    "properties": ("x",),
    "tags": ("true",),
    "venues": ("false",),
    "header.firstName": ("Ann",),
    "header.created": ("-P30D",),
    "header.lastOrder": ("2024-01-01",),
    "header.birthdate": ("--05-01",),
    "order.total": ("100",),
    "order.product": ("P1",),
}


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("op", OPS)
def test_describe_covers_every_field_kind_and_op(field, op):
    values = VALUES.get(field) or VALUES.get(field.split(".")[0]) or ("v",)
    if op == "EXISTS":
        values = ()
    if op in ("IN", "NE"):
        values = values * 2
    sentence = describe(Constraint(field, op, values))
    assert sentence and "?" not in sentence and "None" not in sentence


@settings(max_examples=200)
@given(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=70)),
    st.one_of(st.sampled_from(OPS), st.text(max_size=6)),
    st.lists(
        st.one_of(st.text(max_size=12), st.sampled_from(["-P30D", "--02-29", "P", "true"])),
        max_size=4,
    ),
)
def test_describe_never_raises(field, op, values):
    assert isinstance(describe(Constraint(field, op, tuple(values))), str)
