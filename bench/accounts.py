"""Account search and export at scale: latency per look-up kind, and export memory.

    .venv/bin/python bench/accounts.py [--accounts 1000000] [--database-url URL] [--samples 300]

Generates N accounts (bulk: PostgreSQL COPY, SQLite executemany in batches) with tags and a
ledger entry per account that has points, into an EMPTY database (default: a temporary
PostgreSQL server started for the run). Then, per look-up kind, prints p50/p99 latency through
the app's search service (services.accounts.search.search_accounts, what the dashboard
calls) and the ratio to the same look-up as one raw indexed SQL query; and the CSV export's
peak traced memory for all N accounts and for a tenth of them, which should be about the same.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loyalty import create_app  # noqa: E402
from loyalty.extensions import db  # noqa: E402
from loyalty.models import Account  # noqa: E402
from loyalty.services.accounts.search import SearchCriteria, parse_criteria, search_accounts  # noqa: E402
from loyalty.services.reporting.exports import ExportSpec, export_csv  # noqa: E402
from loyalty.services.setup.tenants import create_tenant  # noqa: E402

FIRST = [
    "mario",
    "anna",
    "zoe",
    "luca",
    "giulia",
    "marco",
    "sara",
    "paolo",
    "elena",
    "davide",
    "chiara",
    "matteo",
    "francesca",
    "andrea",
    "laura",
    "simone",
    "marta",
    "pietro",
]
LAST = [
    "rossi",
    "russo",
    "ferrari",
    "esposito",
    "bianchi",
    "romano",
    "colombo",
    "ricci",
    "marino",
    "greco",
    "bruno",
    "gallo",
    "conti",
    "deluca",
    "mancini",
    "costa",
    "giordano",
    "rizzo",
    "lombardi",
    "moretti",
    "barbieri",
    "fontana",
    "santoro",
    "mariani",
    "rinaldi",
]
BATCH = 20_000
ACCOUNT_COLUMNS = (
    "id",
    "tenant_id",
    "external_id",
    "card",
    "email",
    "phone",
    "first_name",
    "last_name",
    "first_name_key",
    "last_name_key",
    "birthdate",
    "properties",
    "consents",
    "marketing_consent",
    "status",
    "points_balance",
    "cash_balance",
    "lifetime_points",
    "last_order_at",
    "lock_version",
    "created_at",
    "updated_at",
)
LEDGER_COLUMNS = (
    "tenant_id",
    "account_id",
    "unit",
    "kind",
    "amount",
    "balance_after",
    "idempotency_key",
    "reason",
    "created_at",
)


def phone_of(number: int) -> str:
    return f"+324{70_000_000 + number:08d}"


def typed_phone(number: int) -> str:
    """How a team member types it: spaces, no E.164."""
    digits = f"{70_000_000 + number:08d}"
    return f"+32 4{digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}"


def account_rows(tenant_id: int, count: int, seed: int = 7) -> Iterator[tuple]:
    rng = random.Random(seed)
    start = datetime(2022, 1, 1, tzinfo=UTC)
    for number in range(count):
        first, last = (
            rng.choice(FIRST),
            rng.choice(LAST) + rng.choice(["", "i", "o", "ini", "elli"]),
        )
        lifetime = rng.choice([0, 0, rng.randint(1, 400), rng.randint(100, 5000)])
        points = rng.randint(0, lifetime) if lifetime else 0
        joined = start + timedelta(minutes=number * 1.3)
        ordered = joined + timedelta(days=rng.randint(0, 300)) if lifetime else None
        yield (
            number + 1,
            tenant_id,
            f"acc_{number:08x}",
            f"{1_000_000_000 + number}",
            f"{first}.{last}{number}@mail.example",
            phone_of(number),
            first.title(),
            last.title(),
            first,
            last,
            date(rng.randint(1950, 2006), rng.randint(1, 12), rng.randint(1, 28)),
            "{}",
            "{}",
            rng.random() < 0.4,
            "active",
            points,
            0,
            lifetime,
            ordered,
            0,
            joined,
            joined,
        )


def generate(tenant_id: int, count: int) -> None:
    """Bulk-load accounts, tags (10 % vip, 20 % lunch), a ledger entry per account with points."""
    dialect = db.engine.dialect.name
    with click.progressbar(
        length=count, label=f"Generating {count:,} accounts", file=sys.stderr
    ) as bar:
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            rng = random.Random(11)
            accounts, tags, ledger = [], [], []

            def flush() -> None:
                _write(cursor, dialect, "accounts", ACCOUNT_COLUMNS, accounts)
                _write(cursor, dialect, "account_tags", ("account_id", "tag", "tenant_id"), tags)
                _write(cursor, dialect, "ledger_entries", LEDGER_COLUMNS, ledger)
                raw.commit()
                bar.update(len(accounts))
                accounts.clear(), tags.clear(), ledger.clear()

            for row in account_rows(tenant_id, count):
                accounts.append(row)
                account_id, points, joined = row[0], row[15], row[20]
                draw = rng.random()
                if draw < 0.10:
                    tags.append((account_id, "vip", tenant_id))
                elif draw < 0.30:
                    tags.append((account_id, "lunch", tenant_id))
                if points:
                    ledger.append(
                        (
                            tenant_id,
                            account_id,
                            "points",
                            "opening",
                            points,
                            points,
                            f"bench:{account_id}",
                            "opening balance",
                            joined,
                        )
                    )
                if len(accounts) >= BATCH:
                    flush()
            if accounts:
                flush()
            if dialect == "postgresql":
                cursor.execute("SELECT setval('accounts_id_seq', (SELECT max(id) FROM accounts))")
                raw.commit()
        finally:
            raw.close()
    click.echo("analysing tables…", err=True)
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def _write(cursor, dialect: str, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    if dialect == "postgresql":
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(columns))
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks})", [_sqlite_row(r) for r in rows]
        )


def _sqlite_row(row: tuple) -> tuple:
    """The text SQLAlchemy would store: naive UTC datetimes, ISO dates."""
    out = []
    for value in row:
        if isinstance(value, datetime):
            value = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        elif isinstance(value, date):
            value = value.isoformat()
        out.append(value)
    return tuple(out)


def timed(call: Callable[[], object], samples: int) -> list[float]:
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        durations.append((time.perf_counter() - started) * 1000)
        db.session.rollback()  # no transaction or identity map carried between samples
    return durations


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def look_ups(tenant_id: int, count: int, samples: int):
    """(kind, service call, raw SQL call) per sample, drawn from the generated accounts."""
    rng = random.Random(3)
    generated = {row[0]: row for row in account_rows(tenant_id, min(count, 50_000))}
    ids = list(generated)
    star = (
        "SELECT * FROM accounts WHERE tenant_id = :t"
        " AND merged_into_id IS NULL AND erased_at IS NULL"
    )

    def service(args: dict) -> Callable[[], object]:
        criteria, errors = parse_criteria(args)
        assert not errors, errors
        return lambda: search_accounts(tenant_id, criteria)

    def raw(sql: str, **params) -> Callable[[], object]:
        statement = text(sql)
        return lambda: db.session.execute(statement, {"t": tenant_id, **params}).all()

    birth_month = (
        "EXTRACT(month FROM birthdate) = :m"
        if db.engine.dialect.name == "postgresql"
        else "CAST(strftime('%m', birthdate) AS INTEGER) = :m"
    )
    kinds = []
    for _ in range(samples):
        row = generated[rng.choice(ids)]
        number = row[0] - 1
        prefix = row[9][:3]
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        month = rng.randint(1, 12)
        kinds += [
            ("email", service({"q": row[4].upper()}), raw(f"{star} AND email = :v", v=row[4])),
            (
                "phone",
                service({"q": typed_phone(number)}),
                raw(f"{star} AND phone = :v", v=phone_of(number)),
            ),
            ("card", service({"q": row[3]}), raw(f"{star} AND card = :v", v=row[3])),
            (
                "name prefix",
                service({"q": prefix}),
                raw(
                    f"{star} AND last_name_key >= :p AND last_name_key < :u "
                    "ORDER BY last_name_key, first_name_key, id LIMIT 25",
                    p=prefix,
                    u=upper,
                ),
            ),
            (
                "filtered page",
                service({"tag": "vip", "birthday_month": str(month), "sort": "points"}),
                raw(
                    f"{star} AND EXISTS (SELECT 1 FROM account_tags WHERE account_id = accounts.id "
                    f"AND tenant_id = :t AND tag = 'vip') AND {birth_month} "
                    "ORDER BY points_balance DESC, id DESC LIMIT 25",
                    m=month,
                ),
            ),
        ]
    return kinds


def export_peak(spec: ExportSpec) -> tuple[int, int, float]:
    """(rows, peak traced bytes, seconds) of streaming the export to nowhere."""
    tracemalloc.start()
    started = time.perf_counter()
    stream = export_csv(spec, bom=True)
    for _chunk in stream:
        pass
    rows = stream.written
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    db.session.rollback()
    return rows, peak, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="an EMPTY database (default: temporary PostgreSQL)")
    parser.add_argument("--samples", type=int, default=300, help="look-ups per kind")
    args = parser.parse_args()

    server = None
    url = args.database_url
    if url is None:
        from tests.support.postgres import TemporaryPostgres

        server = TemporaryPostgres()
        url = server.start()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
        with app.app_context():
            db.create_all()
            if db.session.scalar(select(func.count()).select_from(Account)):
                sys.exit("the database already holds accounts: give an empty one")
            tenant, _ = create_tenant("bench", "Bench Trattoria")
            started = time.perf_counter()
            generate(tenant.id, args.accounts)
            print(
                f"{db.engine.dialect.name}: {args.accounts:,} accounts generated in "
                f"{time.perf_counter() - started:.0f} s"
            )

            results: dict[str, tuple[list[float], list[float]]] = {}
            for kind, service_call, raw_call in look_ups(tenant.id, args.accounts, args.samples):
                service_times, raw_times = results.setdefault(kind, ([], []))
                service_times += timed(service_call, 1)
                raw_times += timed(raw_call, 1)
            print(
                f"\n{'look-up':<15}{'p50 ms':>9}{'p99 ms':>9}"
                f"{'raw p50':>9}{'raw p99':>9}{'ratio':>7}"
            )
            for kind, (service_times, raw_times) in results.items():
                p50, p99 = percentile(service_times, 0.5), percentile(service_times, 0.99)
                raw50, raw99 = percentile(raw_times, 0.5), percentile(raw_times, 0.99)
                print(
                    f"{kind:<15}{p50:>9.2f}{p99:>9.2f}{raw50:>9.2f}{raw99:>9.2f}{p50 / raw50:>7.2f}"
                )

            print("\nexport (CSV, streamed):")
            everyone = export_peak(ExportSpec(tenant, SearchCriteria()))
            tenth = export_peak(ExportSpec(tenant, SearchCriteria(tag="vip")))
            for label, (rows, peak, seconds) in (("all", everyone), ("vip (~N/10)", tenth)):
                print(
                    f"  {label:<12} {rows:>10,} rows  peak {peak / 1_048_576:6.2f} MiB"
                    f"  {seconds:6.1f} s"
                )
            print(f"  peak ratio all / tenth: {everyone[1] / tenth[1]:.2f}")
            print(
                "\nmean of all service look-ups: "
                f"{statistics.mean(t for s, _ in results.values() for t in s):.2f} ms"
            )
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
