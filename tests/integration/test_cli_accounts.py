"""`flask loyalty accounts import`: exit codes, reports and the progress bar's summary."""

from __future__ import annotations

from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.models import Account
from loyalty.services.accounts.profile import find_account

HEADER = "id,card,email,phone,first_name,last_name,birthdate,points\n"


def write(scratch_dir, text: str, name: str = "customers.csv", encoding: str = "utf-8"):
    path = scratch_dir / name
    path.write_text(text, encoding=encoding)
    return str(path)


def accounts_in(tenant) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Account).where(Account.tenant_id == tenant.id)
    )


def test_import_reports_what_it_did_and_exits_0(runner, tenant, scratch_dir):
    path = write(scratch_dir, HEADER + "old-1,,anna@example.com,,Anna,,,120\nold-2,,,,,,,\n")

    result = runner.invoke(args=["loyalty", "accounts", "import", path, "--tenant", "trattoria"])

    assert result.exit_code == 0, result.output
    assert "2 accounts created, 0 already present; 1 opening balances written (120 points)" in (
        result.output
    )
    assert find_account(tenant.id, "anna@example.com").points_balance == 120


def test_invalid_rows_are_listed_with_line_numbers_and_exit_1(runner, tenant, scratch_dir):
    path = write(scratch_dir, HEADER + "old-1,,anna@example.com,,,,,\nold-2,,nope,,,,,-1\n")

    result = runner.invoke(args=["loyalty", "accounts", "import", path, "--tenant", "trattoria"])

    assert result.exit_code == 1
    assert "line 3: email: 'nope' is not an email address" in result.output
    assert "line 3: points: must not be negative" in result.output
    assert "2 problem(s)" in result.output and "nothing was imported" in result.output
    assert accounts_in(tenant) == 0


def test_phone_region_reads_national_numbers(runner, tenant, scratch_dir):
    path = write(scratch_dir, HEADER + "old-1,,,0470 12 34 56,,,,\n")
    args = ["loyalty", "accounts", "import", path, "--tenant", "trattoria"]

    assert runner.invoke(args=[*args, "--phone-region", "xx1"]).exit_code == 2
    result = runner.invoke(args=[*args, "--phone-region", "be"])

    assert result.exit_code == 0, result.output
    assert find_account(tenant.id, "old-1").phone == "+32470123456"


def test_a_spreadsheet_saved_with_a_byte_order_mark_imports(runner, tenant, scratch_dir):
    path = write(scratch_dir, HEADER + "old-1,,,,,,,\n", encoding="utf-8-sig")

    result = runner.invoke(args=["loyalty", "accounts", "import", path, "--tenant", "trattoria"])

    assert result.exit_code == 0, result.output
    assert find_account(tenant.id, "old-1") is not None


def test_a_file_that_is_not_utf8_is_refused_clearly(runner, tenant, scratch_dir):
    path = write(scratch_dir, HEADER + "old-1,,,,Zoë,,,\n", encoding="latin-1")

    result = runner.invoke(args=["loyalty", "accounts", "import", path, "--tenant", "trattoria"])

    assert result.exit_code == 1
    assert "is not UTF-8 text" in result.output
    assert accounts_in(tenant) == 0


def test_an_unknown_tenant_or_missing_file_is_an_error(runner, tenant, scratch_dir):
    path = write(scratch_dir, HEADER)

    unknown = runner.invoke(args=["loyalty", "accounts", "import", path, "--tenant", "nope"])
    missing = runner.invoke(
        args=["loyalty", "accounts", "import", str(scratch_dir / "x.csv"), "--tenant", "trattoria"]
    )

    assert unknown.exit_code == 1 and "no tenant 'nope'" in unknown.output
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_help_explains_the_columns(runner, app):
    result = runner.invoke(args=["loyalty", "accounts", "import", "--help"])

    assert result.exit_code == 0
    assert "id, card, email, phone, first_name, last_name, birthdate, points" in result.output
