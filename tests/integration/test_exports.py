"""CSV exports: every matching account (not one page), consent-only contacts, safe cells,
streamed in batches; the same from the CLI."""

from __future__ import annotations

import csv
import io
import tracemalloc

import pytest

from loyalty.extensions import db
from loyalty.services.accounts.search import SearchCriteria
from loyalty.services.accounts.segments import save_segment
from loyalty.services.reporting import exports
from loyalty.services.reporting.exports import ExportSpec, export_csv, safe_cell
from loyalty.services.wallet.ledger import Posting, lock_account, take_back_points
from tests.support.accounts import customer, earn


def parse(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


@pytest.fixture()
def guests(tenant):
    made = []
    for number in range(60):
        made.append(
            customer(
                tenant,
                external_id=f"guest-{number:02d}",
                first_name="Guest",
                last_name=f"N{number:02d}",
                email=f"guest{number}@example.com",
                marketing_consent=number % 3 == 0,
                tags=["lunch"] if number % 2 == 0 else [],
            )
        )
    return made


@pytest.mark.usefixtures("guests")
def test_the_export_holds_every_matching_account_not_just_one_page(owner_client):
    response = owner_client.get("/accounts/export.csv?q=guest&tag=lunch")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="trattoria-accounts.csv"' in response.headers["Content-Disposition"]
    rows = parse(response.get_data(as_text=True))
    assert [row["id"] for row in rows] == [f"guest-{n:02d}" for n in range(0, 60, 2)]
    assert rows[0]["tags"] == "lunch" and rows[0]["email"] == "guest0@example.com"


@pytest.mark.usefixtures("guests")
def test_the_export_streams_instead_of_building_the_file(owner_client):
    response = owner_client.get("/accounts/export.csv")
    assert response.is_streamed
    assert len(parse(response.get_data(as_text=True))) == 60


@pytest.mark.usefixtures("guests")
def test_the_contact_export_holds_only_people_who_agreed_to_marketing(owner_client):
    rows = parse(owner_client.get("/accounts/contacts.csv").get_data(as_text=True))
    assert list(rows[0]) == ["id", "name", "email", "phone"]
    assert [row["id"] for row in rows] == [f"guest-{n:02d}" for n in range(0, 60, 3)]
    assert rows[0]["name"] == "Guest N00"


@pytest.mark.usefixtures("guests")
def test_the_contact_export_respects_the_search(owner_client):
    rows = parse(owner_client.get("/accounts/contacts.csv?tag=lunch").get_data(as_text=True))
    assert [row["id"] for row in rows] == [f"guest-{n:02d}" for n in range(0, 60, 6)]


@pytest.mark.usefixtures("guests")
def test_an_export_with_bad_filters_is_refused_clearly(owner_client):
    response = owner_client.get("/accounts/export.csv?points_min=many")
    assert response.status_code == 400 and "points_min" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("+32470123456", "+32470123456"),  # a phone number cannot carry a formula
        ("-15", "-15"),
        ("Zoë", "Zoë"),
        (None, ""),
        (0, "0"),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_quoted(value, written):
    assert safe_cell(value) == written


def test_names_typed_as_formulas_are_exported_as_text(owner_client, tenant):
    customer(tenant, external_id="evil", first_name="=cmd|' /C calc'!A0", marketing_consent=True)
    rows = parse(owner_client.get("/accounts/export.csv").get_data(as_text=True))
    assert rows[0]["first_name"] == "'=cmd|' /C calc'!A0"
    contacts = parse(owner_client.get("/accounts/contacts.csv").get_data(as_text=True))
    assert contacts[0]["name"].startswith("'=")


def test_export_rows_are_fetched_in_batches(app, tenant, monkeypatch):
    """With small batches and chunks the rows still all arrive, in id order, each chunk whole
    lines."""
    monkeypatch.setattr(exports, "BATCH", 7)
    monkeypatch.setattr(exports, "CHUNK", 100)
    for number in range(30):
        customer(tenant, external_id=f"g{number:02d}")
    stream = export_csv(ExportSpec(tenant, SearchCriteria()), bom=False)
    chunks = list(stream)
    assert len(chunks) > 3 and all(chunk.endswith(b"\r\n") for chunk in chunks)
    ids = [row["id"] for row in parse(b"".join(chunks).decode())]
    assert ids == [f"g{number:02d}" for number in range(30)]
    assert stream.written == 30


def test_export_memory_does_not_grow_with_the_number_of_accounts(app, tenant, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 25)  # both sizes span many batches and chunks
    monkeypatch.setattr(exports, "CHUNK", 2048)

    def peak_for(count: int) -> int:
        for number in range(count):
            customer(
                tenant,
                external_id=f"m{count}-{number}",
                email=f"m{count}-{number}@example.com",
                tags=[f"batch{count}"],
            )
        spec = ExportSpec(tenant, SearchCriteria(tag=f"batch{count}"))
        tracemalloc.start()
        lines = sum(chunk.count(b"\r\n") for chunk in export_csv(spec, bom=True))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert lines == count + 1  # and the header
        return peak

    small = peak_for(150)
    large = peak_for(1500)
    assert large < small * 1.5


def test_points_tier_and_money_are_exported(owner_client, tenant):
    account = customer(tenant, external_id="zoe")
    earn(account, 120)
    earn(account, 250, unit="cash", kind="campaign_credit")
    row = parse(owner_client.get("/accounts/export.csv").get_data(as_text=True))[0]
    assert (row["points"], row["lifetime_points"], row["cash_balance"]) == ("120", "120", "2.50")
    assert row["points_debt"] == "0"


def test_the_export_shows_who_owes_points_beside_the_balance(owner_client, tenant):
    debtor = customer(tenant, external_id="debtor")
    lock_account(debtor.id)
    take_back_points(
        tenant.id,
        debtor.id,
        Posting(unit="points", kind="reversal", amount=-225, key="test:cancel"),
    )
    db.session.commit()
    rows = parse(owner_client.get("/accounts/export.csv").get_data(as_text=True))
    assert list(rows[0])[list(rows[0]).index("points") + 1] == "points_debt"
    assert (rows[0]["points"], rows[0]["points_debt"]) == ("0", "225")


@pytest.mark.usefixtures("guests")
def test_the_cli_exports_a_segment_to_a_file(runner, tenant, owner, scratch_dir):
    save_segment(tenant.id, "Lunch crowd", SearchCriteria(tag="lunch"), owner.id)
    target = scratch_dir / "lunch.csv"
    result = runner.invoke(
        args=["loyalty", "accounts", "export", "--segment", "Lunch crowd", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    rows = parse(target.read_text(encoding="utf-8"))
    assert len(rows) == 30 and rows[0]["tags"] == "lunch"
    assert "30 accounts exported" in result.output


@pytest.mark.usefixtures("guests")
def test_the_cli_writes_contacts_to_stdout(runner, tenant):
    result = runner.invoke(
        args=["loyalty", "accounts", "export", "--contacts", "--tenant", "trattoria"]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith(("id,", "guest-"))]
    assert lines[0] == "id,name,email,phone" and len(lines) == 21


def test_the_cli_names_what_is_wrong(runner, tenant, other_tenant):
    several = runner.invoke(args=["loyalty", "accounts", "export"])
    assert several.exit_code != 0 and "--tenant" in several.output
    unknown = runner.invoke(
        args=["loyalty", "accounts", "export", "--tenant", "trattoria", "--segment", "nope"]
    )
    assert unknown.exit_code == 1 and "no segment 'nope'" in unknown.output
