"""The two ways an export is written give the same bytes: PostgreSQL's COPY of SQL-formatted
cells and rows formatted in Python, for awkward accounts and every kind of filter, in every
shape (the dashboard's and CLI's accounts and contacts, the API's export and contactExport)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, literal, select

from loyalty.extensions import db
from loyalty.models import Account, Tenant
from loyalty.models.base import UTCDateTime
from loyalty.rules.basket import Basket, BasketItem
from loyalty.rules.constraints import Constraint
from loyalty.rules.money import format_money
from loyalty.services.accounts.erasure import erase_account
from loyalty.services.accounts.events import record_relation_event
from loyalty.services.accounts.listing import AccountFilter
from loyalty.services.accounts.merge import merge_accounts
from loyalty.services.accounts.profile import Profile, create_account
from loyalty.services.accounts.search import SearchCriteria
from loyalty.services.checkout.orders import OrderReport, record_order
from loyalty.services.reporting import exports
from loyalty.services.reporting.account_exports import account_csv, contact_csv
from loyalty.services.reporting.exports import (
    WHITESPACE,
    CsvStream,
    ExportSpec,
    export_csv,
    safe_cell,
    sql_cell,
    sql_moment,
    sql_money,
    sql_name,
)
from loyalty.services.setup.tenants import create_tenant
from loyalty.services.setup.tiers import TierDetails, create_tier
from loyalty.services.wallet.ledger import Posting, lock_account, take_back_points
from loyalty.time import to_iso, utcnow
from tests.support.accounts import customer, earn
from tests.support.api import bearer, service_token

API = "/loyalty-api/api"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
AWKWARD_NAMES = [
    ('Ann "The Boss"', "O'Neil"),
    ("Smith, Jr", "Comma,Last"),
    ("Line\nBreak", "Carriage\r\nReturn"),
    ("=cmd|' /C calc'!A0", "+SUM(1)"),
    ("-2+3", "@A1"),
    ("-15", "+32470000009"),  # plain numbers: left as they are
    ("-15\n", "+٣٤"),  # not plain numbers: a newline, non-ASCII digits
    ("Zoë", "李 🍕"),
    ("Tab\tinside", ""),
    ("", "Solo"),
]


@pytest.fixture()
def awkward(tenant, owner):
    """Accounts with every kind of awkward cell, tiers, orders, debts, tags; a merged and an
    erased account; and a second restaurant's accounts that no export of the first may show."""
    create_tier(tenant.id, TierDetails("Silver", 100))
    create_tier(tenant.id, TierDetails("=Gold", 500))
    made = []
    for number, (first, last) in enumerate(AWKWARD_NAMES):
        joined = NOW - timedelta(days=number * 40, microseconds=number * 12_345 % 1_000_000)
        made.append(
            create_account(
                tenant.id,
                Profile(
                    external_id=f"a-{number:02d}",
                    card=f"=C{number}" if number % 3 == 0 else None,
                    email=f"guest{number}@example.com" if number % 2 else None,
                    phone=f"+3247000{number:04d}" if number % 4 else None,
                    first_name=first,
                    last_name=last,
                    birthdate=date(1980 + number, number % 12 + 1, 28) if number % 3 else None,
                    sex=("MALE", "FEMALE", "OTHER", None)[number % 4],
                    marketing_consent=number % 2 == 0,
                    tags=[["vip", "lunch", "a-z", "Ölig"], ["lunch"], [], ["-minus"]][number % 4],
                ),
                now=joined,
            )
        )
    earn(made[1], 120)
    earn(made[2], 640)
    earn(made[3], 250, unit="cash", kind="campaign_credit")
    earn(made[4], 7, unit="cash", kind="campaign_credit")
    lock_account(made[5].id)
    take_back_points(
        tenant.id, made[5].id, Posting(unit="points", kind="reversal", amount=-225, key="t:c")
    )
    db.session.commit()
    visits = ((1, "rome"), (1, "milan"), (1, "rome"), (2, "=venue"), (6, None))
    for index, (number, venue) in enumerate(visits):
        paid = 1999 + number
        report = OrderReport(
            external_id=f"O-{index}",
            account_id=made[number].id,
            payment_amount=paid,
            basket=Basket((BasketItem("PIZZA", "Pizza", paid, 1),)),
            sub_total=paid,
            location_id=venue,
        )
        record_order(tenant, report, NOW - timedelta(days=number))
    record_relation_event(tenant.id, made[7].id, made[8].external_id, "INVITED")
    db.session.commit()
    merge_accounts(tenant.id, made[0].id, made[9].id, owner.id)
    erase_account(tenant.id, made[8].id, owner.id)
    other, _ = create_tenant("burgerbar", "Burger Bar", decimal_digits=0)
    customer(other, external_id="other-1", first_name="Ann", tags=["vip"], marketing_consent=True)
    return made


SEARCHES = [
    SearchCriteria(),
    SearchCriteria(include_retired=True),
    SearchCriteria(q="ann"),
    SearchCriteria(q="a-03"),
    SearchCriteria(q="+32 470 000 001"),
    SearchCriteria(tag="vip"),
    SearchCriteria(consent="yes"),
    SearchCriteria(points_min=100, points_max=700),
    SearchCriteria(birthday_month=3),
    SearchCriteria(joined_from=(NOW - timedelta(days=200)).date()),
    SearchCriteria(ordered_after=(NOW - timedelta(days=5)).date()),
    SearchCriteria(q="nobody-at-all"),
]
SELECTIONS = [
    AccountFilter(),
    AccountFilter(q="ann"),
    AccountFilter(tag="lunch"),
    AccountFilter(ids=("a-01", "a-02", "a-99")),
    AccountFilter(venue="rome"),
    AccountFilter(constraints=(Constraint("counters.orders", "GTE", ("1",)),)),
    AccountFilter(created_from=(NOW - timedelta(days=200)).date()),
    AccountFilter(contactable=True),
]


def both_ways(stream: CsvStream) -> tuple[bytes, bytes]:
    copied = b"".join(stream.copied())
    db.session.rollback()
    return copied, b"".join(stream.formatted())


# COPY is PostgreSQL's (SQLite always formats in Python): these run on PostgreSQL only.
on_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@on_postgresql
@pytest.mark.usefixtures("awkward")
@pytest.mark.parametrize("contacts", [False, True], ids=["accounts", "contacts"])
def test_the_dashboard_exports_are_the_same_bytes_either_way(tenant, contacts):
    shown = set()
    for criteria in SEARCHES:
        stream = export_csv(ExportSpec(tenant, criteria, contacts=contacts), bom=True)
        copied, formatted = both_ways(stream)
        assert copied == formatted, criteria
        rows = list(csv.reader(io.StringIO(formatted.decode().lstrip("\ufeff"))))
        shown |= {row[0] for row in rows[1:]}
        assert "other-1" not in shown
    # The searches found the awkward accounts (an erased one has a new id; contacts are only
    # those who agreed, not erased).
    everyone = {f"a-{n:02d}" for n in range(10) if n != 8}
    assert {id for id in shown if id.startswith("a-")} == (
        {"a-00", "a-02", "a-04", "a-06"} if contacts else everyone
    )


@on_postgresql
@pytest.mark.usefixtures("awkward")
def test_the_api_exports_are_the_same_bytes_either_way(tenant):
    for selection in SELECTIONS:
        for stream in (
            account_csv(tenant.id, selection, NOW),
            contact_csv(tenant.id, AccountFilter(**{**vars(selection), "contactable": True}), NOW),
        ):
            copied, formatted = both_ways(stream)
            assert copied == formatted, selection
            assert b"other-1" not in copied
    rows = b"".join(account_csv(tenant.id, AccountFilter(ids=("a-01",)), NOW).formatted())
    assert b',"milan,rome",3,6000,' in rows  # the venues and counters were read


@on_postgresql
@pytest.mark.usefixtures("awkward")
def test_the_downloads_carry_the_copied_bytes(owner_client, client, tenant):
    """The dashboard download (with a BOM) and the API export (without) stream COPY's rows."""
    downloaded = owner_client.get("/accounts/export.csv?tag=vip").get_data()
    spec = ExportSpec(tenant, SearchCriteria(tag="vip"))
    assert downloaded == b"".join(export_csv(spec, bom=True).formatted())
    assert downloaded.startswith("\ufeffid,card,".encode())
    staff = bearer(service_token(client, tenant, roles=("ROLE_LOYALTY",)), tenant)
    exported = client.get(f"{API}/export/contacts?tag=lunch", headers=staff).get_data()
    selection = AccountFilter(tag="lunch", contactable=True)
    assert exported == b"".join(contact_csv(tenant.id, selection, utcnow()).formatted())
    assert exported.startswith(b"id,card,name,")


def test_a_tenant_without_decimals_writes_whole_amounts(app):
    tenant, _ = create_tenant("yenbar", "Yen Bar", decimal_digits=0)
    earn(customer(tenant, external_id="y-1"), 1250, unit="cash", kind="campaign_credit")
    db.session.commit()
    text = b"".join(
        export_csv(ExportSpec(db.session.get(Tenant, tenant.id), SearchCriteria()), bom=False)
    )
    assert list(csv.DictReader(io.StringIO(text.decode())))[0]["cash_balance"] == "1250"


def test_a_download_stopped_half_way_leaves_the_connection_usable(app, tenant, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK", 100)
    for number in range(40):
        customer(tenant, external_id=f"g{number:02d}")
    chunks = iter(export_csv(ExportSpec(tenant, SearchCriteria()), bom=True))
    next(chunks), next(chunks)
    chunks.close()  # as when the browser goes away
    assert db.session.scalar(select(func.count()).select_from(Account)) == 40


@on_postgresql
def test_consents_read_as_python_reads_them_whatever_json_holds(tenant):
    """Consents recorded by other doors (imports, guest pages) may hold any JSON value: a value
    Python calls false is not a consent given, either way."""
    held = [
        {"marketing": "2026-01-01T00:00:00Z", "sms": True, "push": False},
        {"marketing": False, "email": 1, "post": 0, "fax": 0.0, "zz": "", "aa": "yes"},
        {"Ähm": [], "ok": [0], "b": {}, "a": {"x": 1}, "n": None},
        {},
    ]
    for number, consents in enumerate(held):
        account = customer(tenant, external_id=f"c-{number}", marketing_consent=True)
        account.consents = consents
    db.session.commit()
    stream = contact_csv(tenant.id, AccountFilter(contactable=True), NOW)
    copied, formatted = both_ways(stream)
    assert copied == formatted
    assert b'c-1,,,,,"aa,email,marketing"\r\nc-2,,,,,"a,ok,marketing"' in formatted


TWINS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Text PostgreSQL can hold (no NUL, no lone surrogate), biased towards what starts a formula.
cell_text = st.text(
    alphabet=st.one_of(
        st.sampled_from("=+-@\t\r\n 0123456789٣,\"'"),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    ),
    max_size=12,
)


@on_postgresql
@pytest.mark.usefixtures("app")
@TWINS
@given(values=st.lists(cell_text, min_size=1, max_size=20))
def test_sql_cell_is_safe_cell(values):
    cells = db.session.execute(select(*(sql_cell(literal(v)) for v in values))).one()
    assert [cell or "" for cell in cells] == [safe_cell(v) for v in values]


@on_postgresql
@pytest.mark.usefixtures("app")
@TWINS
@given(
    amounts=st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=20),
    digits=st.integers(0, 4),
)
def test_sql_money_is_format_money(amounts, digits):
    cells = db.session.execute(select(*(sql_money(literal(a), digits) for a in amounts))).one()
    assert list(cells) == [safe_cell(format_money(a, digits)) for a in amounts]


@on_postgresql
@pytest.mark.usefixtures("app")
@TWINS
@given(firsts=st.lists(cell_text, min_size=1, max_size=10), last=cell_text)
def test_sql_name_is_the_stripped_full_name(firsts, last):
    names = db.session.execute(select(*(sql_name(literal(f), literal(last)) for f in firsts))).one()
    assert [name or "" for name in names] == [safe_cell(f"{f} {last}".strip()) for f in firsts]


@on_postgresql
@pytest.mark.usefixtures("app")
@TWINS
@given(moments=st.lists(st.datetimes(timezones=st.just(UTC)), min_size=1, max_size=20))
def test_sql_moment_is_to_iso(moments):
    cells = db.session.execute(
        select(*(sql_moment(literal(m, UTCDateTime())) for m in moments))
    ).one()
    assert list(cells) == [to_iso(m) for m in moments]


def test_the_whitespace_list_is_what_str_strip_removes():
    assert set(WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}
