"""CSV exports at scale: raw COPY vs the export service vs real HTTP downloads, and memory.

    .venv/bin/python bench/exports.py [--accounts 1000000] [--database-url URL] [--workers 1]

Seeds one tenant on PostgreSQL (a throw-away server unless --database-url names an EMPTY one):
N accounts by COPY (bench._support.seed_accounts), tags (10 % vip, 20 % lunch), birthdates and
sexes, three tiers, and placed orders at five venues for a third of the accounts. Then measures,
for the dashboard's accounts export and the API's export (its counters and venues):
- raw COPY: `COPY (SELECT the same columns, unformatted) TO STDOUT (FORMAT csv)` read through
  psycopg, the floor;
- the service (services.reporting: export_csv, account_csv) streamed to nowhere in-process,
  rows/s and its peak traced memory for all N and for the vip tenth;
- the Python formatting path the service used before (CsvStream.formatted) on the vip tenth;
- over HTTP: the dashboard download (signed in through the login form) and the API export
  (client-credentials token) from gunicorn, read in 64 KiB pieces, and the worker's peak RSS.
Prints rows/s and each ratio to raw COPY (target: the service at least 0.25); JSON in
bench/results/. Nothing is timed in tests; tests/integration/test_export_paths.py proves the
bytes are the same either way.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import time
import tracemalloc
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from bench._support import (  # noqa: E402
    app_for,
    cleanup_on_exit,
    free_port,
    git_commit,
    note,
    scratch_dir,
    seed_accounts,
    serve,
    start_postgres,
    write_results,
)
from loyalty.extensions import db  # noqa: E402
from loyalty.models import Account, Tenant  # noqa: E402
from loyalty.services.accounts.listing import AccountFilter  # noqa: E402
from loyalty.services.accounts.search import SearchCriteria  # noqa: E402
from loyalty.services.reporting.account_exports import account_csv  # noqa: E402
from loyalty.services.reporting.exports import CsvStream, ExportSpec, export_csv  # noqa: E402

PASSWORD = "bench exports password"
TARGET_RATIO = 0.25
VENUES = ("rome", "milan", "turin", "naples", "bologna")
ACTIVE = "tenant_id = %(t)s AND merged_into_id IS NULL AND erased_at IS NULL"
RAW_DASHBOARD = (
    "SELECT external_id, card, email, phone, first_name, last_name, birthdate, sex, "
    "lifetime_points, points_balance, points_debt, lifetime_points, cash_balance, "
    "(SELECT string_agg(tag, ',') FROM account_tags WHERE account_id = a.id), "
    f"marketing_consent, created_at, last_order_at FROM accounts AS a WHERE {ACTIVE} ORDER BY id"
)
PLACED = "FROM orders AS o WHERE o.account_id = a.id AND o.status = 'placed'"
RAW_API = (
    "SELECT external_id, card, email, phone, first_name, last_name, birthdate, sex, created_at, "
    "last_order_at, (SELECT string_agg(tag, ',') FROM account_tags WHERE account_id = a.id), "
    f"(SELECT string_agg(DISTINCT location_id, ',') {PLACED} AND location_id IS NOT NULL), "
    f"(SELECT count(*) {PLACED}), (SELECT coalesce(sum(payment_amount), 0) {PLACED}), "
    "points_balance, lifetime_points, "
    f"(SELECT count(DISTINCT (ordered_at AT TIME ZONE 'UTC')::date) {PLACED}), "
    "(SELECT count(*) FROM account_events WHERE account_id = a.id AND type = 'INVITED'), "
    f"marketing_consent FROM accounts AS a WHERE {ACTIVE} ORDER BY id"
)


def seed(app, accounts: int) -> dict:
    from loyalty.services.setup.api_clients import create_client
    from loyalty.services.setup.team import create_user
    from loyalty.services.setup.tenants import create_tenant
    from loyalty.services.setup.tiers import TierDetails, create_tier

    with app.app_context():
        db.create_all()
        if db.session.scalar(select(func.count()).select_from(Account)):
            sys.exit("the database already holds accounts: give an empty one")
        tenant, _ = create_tenant("exports", "Export Trattoria")
        tenant_id, slug = tenant.id, tenant.slug
        for name, threshold in (("Silver", 500), ("Gold", 2000), ("Platinum", 8000)):
            create_tier(tenant_id, TierDetails(name, threshold))
        email = f"owner@{slug}.example"
        create_user(tenant_id, email, PASSWORD, "owner", name="Bench Owner")
        issued = create_client(tenant_id, "exports bench", ["ROLE_LOYALTY"], "service")
        client = (issued.client.client_id, issued.client_secret)
        db.session.remove()
    started = time.perf_counter()
    seed_accounts(app, tenant_id, accounts, random.Random(5), prefix="exp")
    venues = "(ARRAY['" + "','".join(VENUES) + "'])"
    with app.app_context():
        for sql in (
            "UPDATE accounts SET birthdate = DATE '1950-01-01' + (id::bigint * 7919 % 20000)::int, "
            "sex = (ARRAY['MALE','FEMALE','OTHER',NULL])[1 + id % 4] WHERE tenant_id = :t",
            "INSERT INTO account_tags (account_id, tag, tenant_id) SELECT id, CASE WHEN id % 10 "
            "= 0 THEN 'vip' ELSE 'lunch' END, :t FROM accounts WHERE tenant_id = :t "
            "AND (id % 10 = 0 OR id % 10 IN (1, 2))",
            "INSERT INTO orders (tenant_id, external_id, account_id, status, location_id, "
            "order_type, decimal_digits, sub_total, discount_total, payment_amount, tip, "
            "points_earned, points_spent, cash_spent, shortfall_points, points_withheld, "
            "ordered_at, created_at, payload) "
            f"SELECT :t, 'eo-' || a.id || '-' || i, a.id, 'placed', {venues}[1 + (a.id + i) % 5], "
            "1, 2, 1500 + i * 100, 0, 1500 + i * 100, 0, 15, 0, 0, 0, 0, "
            "a.created_at - (i || ' days')::interval, a.created_at, '{}' "
            "FROM accounts AS a, generate_series(1, 1 + a.id % 3) AS i "
            "WHERE a.tenant_id = :t AND a.id % 3 = 0",
            "UPDATE accounts AS a SET last_order_at = s.last FROM (SELECT account_id, "
            "max(ordered_at) AS last FROM orders WHERE tenant_id = :t GROUP BY account_id) AS s "
            "WHERE a.id = s.account_id",
            "ANALYZE",
        ):
            db.session.execute(text(sql), {"t": tenant_id})
            db.session.commit()
        db.session.remove()
    note(f"seeded in {time.perf_counter() - started:.0f} s")
    return {"tenant_id": tenant_id, "slug": slug, "email": email, "client": client}


def raw_copy(sql: str, tenant_id: int) -> tuple[int, int, float]:
    """(rows, bytes, seconds) of COPY of `sql` read through psycopg: the floor."""
    connection = db.session.connection().connection.driver_connection
    started = time.perf_counter()
    rows = size = 0
    with psycopg.ClientCursor(connection) as cursor:
        statement = cursor.mogrify(f"COPY ({sql}) TO STDOUT (FORMAT csv)", {"t": tenant_id})
        with cursor.copy(statement) as copy:
            while data := copy.read():
                rows += 1
                size += len(data)
    elapsed = time.perf_counter() - started
    db.session.rollback()
    return rows, size, elapsed


def drained(chunks: Iterable[bytes]) -> int:
    return sum(len(chunk) for chunk in chunks)


def timed(stream: CsvStream, chunks: Iterable[bytes] | None = None) -> tuple[int, int, float]:
    """(rows, bytes, seconds) of streaming `stream` (or its `chunks`) to nowhere."""
    started = time.perf_counter()
    size = drained(stream if chunks is None else chunks)
    elapsed = time.perf_counter() - started
    db.session.rollback()
    return stream.written, size, elapsed


def peak(stream: CsvStream) -> tuple[int, int]:
    """(rows, peak traced bytes) of streaming it."""
    tracemalloc.start()
    drained(stream)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    db.session.rollback()
    return stream.written, traced


def worker_peak_rss(server) -> int:
    """The highest VmHWM (peak resident set, bytes) among the gunicorn master's workers."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    highest = 0
    for pid in children.read_text().split():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                highest = max(highest, int(line.split()[1]) * 1024)
    return highest


def downloaded(http, url: str, headers: dict | None = None) -> tuple[int, int, float]:
    """(lines, bytes, seconds) of one GET read in 64 KiB pieces."""
    started = time.perf_counter()
    lines = size = 0
    with http.get(url, headers=headers or {}, stream=True, timeout=900) as answer:
        if answer.status_code != 200:
            raise RuntimeError(f"{url}: {answer.status_code} {answer.text[:300]}")
        for piece in answer.iter_content(64 * 1024):
            size += len(piece)
            lines += piece.count(b"\n")
    return lines - 1, size, time.perf_counter() - started  # the header line is not a row


def signed_in(base_url: str, email: str):
    import re

    import requests

    http = requests.Session()
    page = http.get(base_url + "/login", timeout=30)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.text
    )
    if not found:
        raise RuntimeError(f"no login form at /login ({page.status_code})")
    answer = http.post(
        base_url + "/login",
        data={"csrf_token": found.group(1), "email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"login refused ({answer.status_code})")
    return http


def api_headers(base_url: str, seeded: dict) -> dict[str, str]:
    import requests

    answer = requests.post(
        base_url + "/auth-oauth2/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=seeded["client"],
        headers={"X-Tenant": seeded["slug"]},
        timeout=30,
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}", "x-tenant": seeded["slug"]}


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="an EMPTY PostgreSQL database (default: temporary)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (sync)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    results: dict[str, dict] = {}
    with cleanup_on_exit() as stack:
        url = args.database_url or start_postgres(stack)
        app = app_for(url)
        note(f"seeding {args.accounts:,} accounts ...")
        seeded = seed(app, args.accounts)
        tenant_id = seeded["tenant_id"]
        now = datetime.now(UTC)
        with app.app_context():
            tenant = db.session.get(Tenant, tenant_id)
            everyone = ExportSpec(tenant, SearchCriteria())
            vip = ExportSpec(tenant, SearchCriteria(tag="vip"))
            note("raw COPY ...")
            results["raw COPY, dashboard columns"] = dict(
                zip(("rows", "bytes", "s"), raw_copy(RAW_DASHBOARD, tenant_id), strict=True)
            )
            results["raw COPY, API columns"] = dict(
                zip(("rows", "bytes", "s"), raw_copy(RAW_API, tenant_id), strict=True)
            )
            note("the service ...")
            results["service, dashboard export"] = dict(
                zip(("rows", "bytes", "s"), timed(export_csv(everyone, bom=True)), strict=True)
            )
            results["service, API export"] = dict(
                zip(
                    ("rows", "bytes", "s"),
                    timed(account_csv(tenant_id, AccountFilter(), now)),
                    strict=True,
                )
            )
            old = export_csv(vip, bom=True)
            results["Python formatting (before), dashboard, vip"] = dict(
                zip(("rows", "bytes", "s"), timed(old, old.formatted()), strict=True)
            )
            note("memory ...")
            memory = {
                "all": peak(export_csv(everyone, bom=True)),
                "vip": peak(export_csv(vip, bom=True)),
                "API all": peak(account_csv(tenant_id, AccountFilter(), now)),
            }
            db.session.remove()
        work = scratch_dir(stack, "loyalty-bench-exports-")
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {
            "LOYALTY_DATABASE_URL": url,
            "LOYALTY_SECRET_KEY": "bench-" + secrets.token_urlsafe(24),
            "LOYALTY_PUBLIC_BASE_URL": base_url,
            # A sync worker busy with one long download must not be taken for a hung one.
            "GUNICORN_CMD_ARGS": "--timeout 900",
        }
        note(f"serving the app with {args.workers} gunicorn worker(s) ...")
        server = serve(
            stack, "app", "app:app", workers=args.workers, env=env, log_dir=work, port=port
        )
        http = signed_in(base_url, seeded["email"])
        api = api_headers(base_url, seeded)
        downloaded(http, base_url + "/accounts/export.csv?tag=nobody")  # warm the worker
        rss_warm = worker_peak_rss(server)
        note("HTTP ...")
        results["HTTP, dashboard download"] = dict(
            zip(
                ("rows", "bytes", "s"),
                downloaded(http, base_url + "/accounts/export.csv"),
                strict=True,
            )
        )
        results["HTTP, API export"] = dict(
            zip(
                ("rows", "bytes", "s"),
                downloaded(http, base_url + "/loyalty-api/api/export/accounts", api),
                strict=True,
            )
        )
        rss_after = worker_peak_rss(server)

    floor = {
        "dashboard": rate(
            results["raw COPY, dashboard columns"]["rows"],
            results["raw COPY, dashboard columns"]["s"],
        ),
        "API": rate(
            results["raw COPY, API columns"]["rows"], results["raw COPY, API columns"]["s"]
        ),
    }
    print(f"\n{args.accounts:,} accounts, PostgreSQL, {args.workers} gunicorn worker(s)")
    print(f"{'':<46}{'rows':>10}{'MiB':>8}{'s':>8}{'rows/s':>10}{'÷ raw':>7}")
    for label, figures in results.items():
        figures["rows_per_s"] = round(rate(figures["rows"], figures["s"]))
        kind = "API" if "API" in label else "dashboard"
        figures["ratio_to_raw"] = round(figures["rows_per_s"] / floor[kind], 3)
        print(
            f"{label:<46}{figures['rows']:>10,}{figures['bytes'] / 1_048_576:>8.1f}"
            f"{figures['s']:>8.2f}{figures['rows_per_s']:>10,}{figures['ratio_to_raw']:>7.2f}"
        )
    print("\npeak traced memory of the service (Python allocations while streaming):")
    for label, (rows, traced) in memory.items():
        print(f"  {label:<8} {rows:>10,} rows  {traced / 1_048_576:6.2f} MiB")
    print(f"  all / vip: {memory['all'][1] / memory['vip'][1]:.2f}")
    print(
        f"gunicorn worker peak RSS: {rss_warm / 1_048_576:.0f} MiB warmed, "
        f"{rss_after / 1_048_576:.0f} MiB after both full downloads"
    )
    service_ratio = results["service, dashboard export"]["ratio_to_raw"]
    print(f"service ÷ raw COPY (dashboard): {service_ratio:.2f} (target ≥ {TARGET_RATIO})")
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    path = write_results(
        "exports",
        {
            "commit": git_commit(),
            "accounts": args.accounts,
            "workers": args.workers,
            "results": results,
            "peak_traced_bytes": {k: v[1] for k, v in memory.items()},
            "worker_peak_rss_bytes": {"warm": rss_warm, "after": rss_after},
            "load_before": list(load_before),
            "load_after": list(load_after),
        },
    )
    note(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
