"""Importing customers from another provider's CSV: all or nothing, and safe to run twice."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.models import Account, LedgerEntry
from loyalty.services.accounts.profile import Profile, create_account, find_account
from loyalty.services.reporting.imports import ImportRejected, import_accounts
from loyalty.services.wallet.ledger import ledger_sum

HEADER = "id,card,email,phone,first_name,last_name,birthdate,points\n"


def run(tenant, text: str, **options):
    return import_accounts(tenant.id, io.StringIO(text), **options)


def rejected_lines(tenant, text: str) -> list[str]:
    with pytest.raises(ImportRejected) as caught:
        run(tenant, text)
    return [str(problem) for problem in caught.value.problems]


def count(model, tenant) -> int:
    return db.session.scalar(
        select(func.count()).select_from(model).where(model.tenant_id == tenant.id)
    )


def test_import_creates_accounts_with_normalised_identifiers(tenant):
    result = run(
        tenant,
        HEADER
        + "old-1,CARD-1,Anna.Peeters@Example.COM,0032 470 12 34 56,Anna,Peeters,1985-04-12,120\n"
        + "old-2,,,+31 6 12345678,Zoë,Müller,,\n",
    )

    assert (result.rows, result.created, result.already_present) == (2, 2, 0)
    anna = find_account(tenant.id, "old-1")
    assert anna.email == "anna.peeters@example.com"
    assert anna.phone == "+32470123456"
    assert anna.card == "CARD-1"
    assert str(anna.birthdate) == "1985-04-12"
    assert anna.marketing_consent is False
    zoe = find_account(tenant.id, "+31612345678")
    assert (zoe.external_id, zoe.first_name_key, zoe.last_name_key) == ("old-2", "zoe", "muller")


def test_national_phone_numbers_need_and_use_the_given_region(tenant):
    text = HEADER + "old-1,,,0470 12 34 56,Anna,Peeters,,\n"
    assert rejected_lines(tenant, text) == [
        "line 2: phone: '0470 12 34 56' is not a phone number in international form"
    ]

    run(tenant, text, phone_region="BE")

    assert find_account(tenant.id, "old-1").phone == "+32470123456"


def test_points_become_one_opening_entry_that_the_balance_matches(tenant):
    run(tenant, HEADER + "old-1,,anna@example.com,,,,,120\nold-2,,bob@example.com,,,,,0\n")

    anna = find_account(tenant.id, "old-1")
    entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.account_id == anna.id)).all()
    assert [(e.kind, e.amount, e.balance_after) for e in entries] == [("opening", 120, 120)]
    assert anna.points_balance == ledger_sum(anna.id) == 120
    assert anna.lifetime_points == 120
    bob = find_account(tenant.id, "old-2")
    assert bob.points_balance == ledger_sum(bob.id) == 0
    assert count(LedgerEntry, tenant) == 1


def test_running_the_same_file_again_changes_nothing(tenant):
    text = HEADER + "old-1,C1,anna@example.com,+32470123456,Anna,Peeters,1985-04-12,120\n"
    run(tenant, text)

    again = run(tenant, text)

    assert (again.created, again.already_present, again.opening_entries) == (0, 1, 0)
    assert count(Account, tenant) == 1
    assert count(LedgerEntry, tenant) == 1
    assert find_account(tenant.id, "old-1").points_balance == 120


def test_an_account_that_already_exists_gets_its_opening_balance_once(tenant):
    existing = create_account(tenant.id, Profile(external_id="old-1", email="anna@example.com"))
    text = HEADER + "old-1,,anna@example.com,,Anna,Peeters,,75\n"

    first = run(tenant, text)
    second = run(tenant, text)

    assert (first.created, first.already_present, first.opening_entries) == (0, 1, 1)
    assert second.opening_entries == 0
    db.session.refresh(existing)
    assert existing.points_balance == ledger_sum(existing.id) == 75
    assert existing.first_name == ""  # an existing account's profile is left as it is


def test_one_invalid_row_imports_nothing_and_every_problem_names_its_line(tenant):
    text = (
        HEADER
        + "old-1,,anna@example.com,,,,,10\n"
        + "old-2,,not-an-email,,,,,\n"
        + "old-3,,,12,,,,\n"
        + "old-4,,,,,,31/12/1980,\n"
        + "old-5,,,,,,1990-02-30,\n"
        + "old-6,,,,,,,-5\n"
        + "old-7,,,,,,,2.5\n"
        + ",,nobody@example.com,,,,,\n"
    )

    assert rejected_lines(tenant, text) == [
        "line 3: email: 'not-an-email' is not an email address",
        "line 4: phone: '12' is not a phone number in international form",
        "line 5: birthdate: '31/12/1980' is not a date; use YYYY-MM-DD",
        "line 6: birthdate: '1990-02-30' is not a real date",
        "line 7: points: must not be negative",
        "line 8: points: '2.5' is not a whole number of points",
        "line 9: id: required",
    ]
    assert count(Account, tenant) == 0
    assert count(LedgerEntry, tenant) == 0


def test_duplicates_within_the_file_name_both_lines(tenant):
    text = (
        HEADER
        + "old-1,C1,anna@example.com,+32470123456,,,,\n"
        + "old-1,C2,other@example.com,,,,,\n"
        + "old-3,C1,ANNA@example.com,0032470123456,,,,\n"
    )

    assert rejected_lines(tenant, text) == [
        "line 3: id: 'old-1' is also on line 2",
        "line 4: card: 'C1' is also on line 2",
        "line 4: email: 'anna@example.com' is also on line 2",
        "line 4: phone: '+32470123456' is also on line 2",
    ]
    assert count(Account, tenant) == 0


def test_identifiers_of_a_different_existing_account_are_refused(tenant):
    create_account(
        tenant.id,
        Profile(external_id="web-9", card="C9", email="anna@example.com", phone="+32470123456"),
    )
    text = (
        HEADER + "old-1,C9,anna@example.com,+32 470 12 34 56,,,,50\nold-2,,bob@example.com,,,,,5\n"
    )

    assert rejected_lines(tenant, text) == [
        "line 2: card: already belongs to account 'web-9'",
        "line 2: email: already belongs to account 'web-9'",
        "line 2: phone: already belongs to account 'web-9'",
    ]
    assert count(Account, tenant) == 1
    assert count(LedgerEntry, tenant) == 0


def test_the_same_customers_can_be_imported_by_two_restaurants(tenant, other_tenant):
    text = HEADER + "old-1,C1,anna@example.com,+32470123456,,,,10\n"

    run(tenant, text)
    result = run(other_tenant, text)

    assert result.created == 1
    assert find_account(other_tenant.id, "old-1").tenant_id == other_tenant.id


def test_the_header_is_required_and_columns_are_checked(tenant):
    assert rejected_lines(tenant, "") == ["line 1: header: the file is empty"]
    assert rejected_lines(tenant, "old-1,anna@example.com\n") == [
        "line 1: header: unknown column 'old-1'; columns are id, card, email, phone, "
        "first_name, last_name, birthdate, points",
        "line 1: header: unknown column 'anna@example.com'; columns are id, card, email, "
        "phone, first_name, last_name, birthdate, points",
        "line 1: header: the id column is required",
    ]
    assert rejected_lines(tenant, "id,email\nold-1\n") == [
        "line 2: row: has 1 fields, the header has 2"
    ]


def test_columns_may_be_a_subset_in_any_order_separated_by_semicolons(tenant):
    result = run(tenant, "Points ; email;ID\n40;anna@example.com;old-1\n\n")

    assert result.created == 1
    assert find_account(tenant.id, "anna@example.com").points_balance == 40


def test_line_numbers_count_lines_of_quoted_multi_line_fields(tenant):
    text = HEADER + 'old-1,,,,"Anna\nMaria",Peeters,,\nold-2,,bad-email,,,,,\n'

    assert rejected_lines(tenant, text) == ["line 4: email: 'bad-email' is not an email address"]


def test_progress_counts_every_row_twice(tenant):
    steps: list[int] = []
    run(tenant, HEADER + "old-1,,,,,,,\nold-2,,,,,,,\nold-3,,,,,,,\n", progress=steps.append)

    assert sum(steps) == 6
