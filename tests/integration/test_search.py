"""Search look-ups are answered from indexes on both databases (checked with EXPLAIN)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text

from loyalty.extensions import db
from loyalty.models import Account
from loyalty.services.accounts.search import (
    conditions,
    count_matching,
    order_by,
    page_statement,
    parse_criteria,
    search_accounts,
)

ACCOUNTS = 3000


@pytest.fixture()
def crowd(tenant):
    """Enough accounts for PostgreSQL's planner to prefer indexes when they fit."""
    now = datetime.now(UTC)
    surnames = ["rossi", "bianchi", "verdi", "russo", "ferrari", "esposito", "romano", "colombo"]
    db.session.execute(
        insert(Account),
        [
            {
                "tenant_id": tenant.id,
                "external_id": f"acc{n}",
                "card": f"C{n:07d}",
                "email": f"user{n}@example.com",
                "phone": f"+3247{n:07d}",
                "first_name_key": f"guest{n % 97}",
                "last_name_key": f"{surnames[n % len(surnames)]}{n % 89}",
                "properties": {},
                "consents": {},
                "created_at": now - timedelta(minutes=n),
                "updated_at": now,
                "points_balance": n % 500,
            }
            for n in range(ACCOUNTS)
        ],
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE accounts"))
    return tenant


def plan(tenant_id: int, args: dict) -> str:
    criteria, errors = parse_criteria(args)
    assert not errors
    where = conditions(tenant_id, criteria, None)
    statement = select(Account).where(*where).order_by(*order_by(criteria)).limit(25)
    sql = str(statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN " if db.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    return "\n".join(str(row[-1]) for row in db.session.execute(text(explain + sql)))


@pytest.mark.parametrize(
    ("args", "indexes"),
    [
        ({"q": "user17@example.com"}, ["email"]),
        ({"q": "user17@exa"}, ["email"]),
        ({"q": "+32 470 000 017"}, ["external_id", "card", "phone"]),
        ({"q": "C0000017"}, ["external_id", "card", "first_name_key", "last_name_key"]),
        ({"q": "ross"}, ["external_id", "card", "first_name_key", "last_name_key"]),
        ({"q": "guest1 ross"}, ["first_name_key", "last_name_key"]),
        ({}, ["ix_accounts_tenant_created"]),
        ({"sort": "name"}, ["ix_accounts_tenant_last_name"]),
        ({"sort": "points"}, ["ix_accounts_tenant_points"]),
    ],
)
def test_look_ups_and_sorted_pages_read_indexes_not_the_whole_table(crowd, args, indexes):
    """`indexes`: the columns searched through an index, or the index walked for the order."""
    text_plan = plan(crowd.id, args)
    index_lines = "\n".join(line for line in text_plan.splitlines() if "INDEX" in line.upper())
    if db.engine.dialect.name == "postgresql":
        assert "Seq Scan on accounts" not in text_plan, text_plan
    else:
        assert "SCAN accounts" not in text_plan, text_plan
        assert "USING INDEX ix_accounts_merged_into" not in text_plan
    for index in indexes:
        assert index in index_lines, (index, text_plan)


def test_each_look_up_finds_its_account(crowd):
    for typed in ("user17@example.com", "+32 470 000 017", "C0000017", "acc17"):
        criteria, _ = parse_criteria({"q": typed})
        assert [a.external_id for a in search_accounts(crowd.id, criteria).accounts] == ["acc17"]


def test_searches_of_one_shape_each_find_their_own_accounts(crowd, other_tenant):
    """The SQL of a shape is built once and reused: the values must never be."""
    for number in (17, 18, 1017):
        criteria, _ = parse_criteria({"q": f"user{number}@example.com"})
        assert [a.external_id for a in search_accounts(crowd.id, criteria).accounts] == [
            f"acc{number}"
        ]
        assert search_accounts(other_tenant.id, criteria).accounts == []  # not its restaurant
    for low, high in ((0, 9), (490, 499)):
        criteria, _ = parse_criteria({"points_min": str(low), "points_max": str(high)})
        page = search_accounts(crowd.id, criteria, per_page=1000)
        assert page.accounts and all(low <= a.points_balance <= high for a in page.accounts)
        assert count_matching(crowd.id, criteria) == len(page.accounts)


def test_conditions_of_several_searches_in_one_statement_keep_their_values(crowd):
    """Segment figures count several saved searches in one SELECT."""
    from sqlalchemy import and_, case

    searches = [parse_criteria({"q": q})[0] for q in ("user17@example.com", "acc18", "acc19")]
    columns = [
        func.sum(case((and_(*conditions(crowd.id, search, None)), 1), else_=0))
        for search in searches
    ]
    assert db.session.execute(select(*columns).select_from(Account)).one() == (1, 1, 1)


def test_counting_does_not_load_rows_and_stops_at_the_cap(crowd):
    criteria, _ = parse_criteria({})
    assert count_matching(crowd.id, criteria) == ACCOUNTS
    assert count_matching(crowd.id, criteria, cap=100) == 101
    page = search_accounts(crowd.id, criteria, page=120)
    assert page.has_next is False and len(page.accounts) == 25
    assert search_accounts(crowd.id, criteria, page=119).has_next is True


def test_name_prefix_matches_exactly_even_with_like_wildcards(crowd):
    criteria, _ = parse_criteria({"q": "ross%"})
    assert search_accounts(crowd.id, criteria).accounts == []
    criteria, _ = parse_criteria({"q": "rossi1"})
    found = search_accounts(crowd.id, criteria, per_page=1000).accounts
    assert found and all(a.last_name_key.startswith("rossi1") for a in found)


def test_a_name_search_lists_identifiers_then_last_names_then_first_names_once_each(tenant):
    from tests.support.accounts import customer

    customer(tenant, external_id="marco", first_name="Zed", last_name="Zulu")
    customer(tenant, external_id="m1", first_name="Marco", last_name="Marini")
    customer(tenant, external_id="m2", first_name="Anna", last_name="Marchi")
    for number in range(30):
        customer(
            tenant, external_id=f"f{number:02d}", first_name=f"Marco{number:02d}", last_name="Bo"
        )
    criteria, _ = parse_criteria({"q": "marco"})
    first = search_accounts(tenant.id, criteria)
    assert [a.external_id for a in first.accounts][:3] == ["marco", "m1", "f00"]
    second = search_accounts(tenant.id, criteria, page=2)
    listed = [a.external_id for a in first.accounts + second.accounts]
    assert len(listed) == len(set(listed)) == 32 and not second.has_next
    criteria, _ = parse_criteria({"q": "mar"})
    assert [a.external_id for a in search_accounts(tenant.id, criteria).accounts][:2] == [
        "m2",
        "m1",
    ]


def test_a_name_search_page_reads_indexes_in_order(crowd):
    if db.engine.dialect.name == "postgresql":
        # 3,000 rows are few enough to hash-join in full; at scale the planner joins by key.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
    criteria, _ = parse_criteria({"q": "ross"})
    statement, params = page_statement(crowd.id, criteria, 1, 25)
    statement = statement.params(params)
    sql = str(statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN " if db.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    text_plan = "\n".join(str(row[-1]) for row in db.session.execute(text(explain + sql)))
    if db.engine.dialect.name == "postgresql":
        assert "Seq Scan on accounts" not in text_plan, text_plan
    else:
        assert "SCAN accounts" not in text_plan, text_plan
    assert (
        "ix_accounts_tenant_last_name" in text_plan and "ix_accounts_tenant_first_name" in text_plan
    )
