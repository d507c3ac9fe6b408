"""Campaign engine at scale: initialising a campaign over N accounts, and one idle tick.

    .venv/bin/python bench/campaigns.py [--accounts 1000000] [--database-url URL] [--no-results]

Into an EMPTY PostgreSQL database (default: a throw-away server started for the run) it writes
N accounts with one set-based INSERT, then times, in the same run:
- one raw `INSERT ... SELECT` of the N memberships (the floor: the same rows, written by hand
  into a scratch draft campaign, then deleted again);
- `initialise_campaign` of a win-back campaign that selects all N accounts (what the dashboard
  and the CLI call): every account enters an ORDER state, with its history row; target: at
  most 3 times the raw INSERT;
- one `run_campaign_jobs` (the campaigns' share of `loyalty tick`) over the N memberships with
  nothing to do: the campaign is dynamic, its members wait for an order with a 30-day timeout,
  its coupon reminder and broadcast have nothing due; target: under 5 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402

from bench._support import (  # noqa: E402
    app_for,
    cleanup_on_exit,
    marker,
    note,
    start_postgres,
    write_results,
)
from loyalty.extensions import db  # noqa: E402
from loyalty.models import Account, Membership  # noqa: E402
from loyalty.rules import flow  # noqa: E402
from loyalty.services.campaigns.jobs import run_campaign_jobs  # noqa: E402
from loyalty.services.campaigns.lifecycle import TEMPLATE_KEY, initialise_campaign  # noqa: E402
from loyalty.services.campaigns.memberships import columns  # noqa: E402
from loyalty.services.campaigns.store import rules_campaign, save_campaign  # noqa: E402
from loyalty.services.setup.tenants import create_tenant  # noqa: E402

RATIO_TARGET = 3.0
TICK_TARGET_S = 5.0
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def win_back(key: str) -> dict:
    """Everyone with points (all of them) waits for an order; after 30 days a nudge."""
    return {
        "id": key,
        "type": "STANDARD",
        "name": "Win-back",
        "dynamic": True,
        "constraints": [{"field": "counters.points", "op": "GTE", "value": ["0"]}],
        "states": [
            {
                "id": "wait",
                "type": "ORDER",
                "timeout": "P30D",
                "timeoutTransitionTo": "treat",
                "transitionTo": "thanks",
            },
            {"id": "treat", "type": "WALLET", "points": 50},
            {"id": "thanks", "type": "WALLET", "points": 20},
        ],
        "notifications": [
            {"type": "COUPON_EXPIRATION", "title": "Soon", "message": "Soon", "daysBefore": 3},
            {
                "type": "SPECIFIC_TIME",
                "title": "Party",
                "message": "Tonight",
                "at": "2026-01-01T18:00:00Z",
            },
        ],
    }


def seed(tenant_id: int, count: int) -> None:
    """N active accounts in one INSERT ... SELECT over generate_series, then ANALYZE."""
    db.session.execute(
        text(
            "INSERT INTO accounts (tenant_id, external_id, card, email, phone, first_name, "
            "last_name, first_name_key, last_name_key, properties, consents, marketing_consent, "
            "status, points_balance, cash_balance, lifetime_points, points_debt, lock_version, "
            "created_at, updated_at) "
            "SELECT :tenant, 'bench-' || n, 'CARD' || n, 'guest' || n || '@bench.example', "
            "'+3247' || lpad(n::text, 7, '0'), 'Guest', 'Number ' || n, 'guest', 'number', "
            "'{}', '{}', n % 3 = 0, 'active', n % 1000, 0, n % 1000, 0, 0, :now, :now "
            "FROM generate_series(1, :count) AS n"
        ),
        {"tenant": tenant_id, "count": count, "now": NOW - timedelta(days=400)},
    )
    db.session.commit()
    db.session.execute(text("ANALYZE accounts"))
    db.session.commit()


def raw_insert(tenant_id: int, campaign_id: int, progress_json: str, count: int) -> float:
    """Seconds of one hand-written INSERT ... SELECT of the same memberships (same columns and
    values as the service writes, same selection), committed; the rows are then deleted."""
    statement = text(
        "INSERT INTO campaign_memberships (tenant_id, campaign_id, account_id, state_id, "
        "entered_at, status, entry, progress, seq, created_at) "
        "SELECT :tenant, :campaign, id, 'wait', :now, 'active', 1, CAST(:progress AS json), 1, "
        ":now FROM accounts WHERE tenant_id = :tenant AND merged_into_id IS NULL "
        "AND erased_at IS NULL AND points_balance >= 0"
    )
    started = time.perf_counter()
    inserted = db.session.execute(
        statement,
        {"tenant": tenant_id, "campaign": campaign_id, "now": NOW, "progress": progress_json},
    ).rowcount
    db.session.commit()
    took = time.perf_counter() - started
    if inserted != count:
        raise RuntimeError(f"the raw INSERT wrote {inserted} memberships, not {count}")
    db.session.execute(
        text("DELETE FROM campaign_memberships WHERE campaign_id = :c"), {"c": campaign_id}
    )
    db.session.commit()
    return took


def measure(app, count: int) -> dict:
    """Seed, time the raw INSERT, the initialisation and an idle tick; the figures."""
    with app.app_context():
        db.create_all()
        if db.session.scalar(select(func.count()).select_from(Account)):
            raise SystemExit("the database already holds accounts: give an empty one")
        tenant, _credentials = create_tenant("bench", "Bench Trattoria")
        started = time.perf_counter()
        seed(tenant.id, count)
        note(f"{count:,} accounts written in {time.perf_counter() - started:.1f} s")

        scratch = save_campaign(tenant.id, win_back("scratch"), NOW)
        template = flow.advance(None, rules_campaign(scratch), flow.Join(TEMPLATE_KEY), NOW)
        progress_json = json.dumps(columns(template.membership)["progress"])
        save_campaign(tenant.id, win_back("win-back"), NOW)
        db.session.commit()

        raw_s = raw_insert(tenant.id, scratch.id, progress_json, count)
        note(f"raw INSERT ... SELECT: {raw_s:.2f} s")
        _vacuum()

        started = time.perf_counter()
        campaign = initialise_campaign(tenant.id, "win-back", NOW, by="bench")
        initialise_s = time.perf_counter() - started
        members = db.session.scalar(
            select(func.count()).where(Membership.campaign_id == campaign.id)
        )
        note(f"initialise_campaign: {initialise_s:.2f} s ({members:,} members)")
        if members != count:
            raise RuntimeError(f"initialise entered {members} accounts, not {count}")

        started = time.perf_counter()
        counts = run_campaign_jobs(NOW + timedelta(hours=1))
        tick_s = time.perf_counter() - started
        note(f"idle tick: {tick_s:.2f} s ({counts.summary()})")
        db.session.remove()
    ratio = initialise_s / raw_s
    return {
        "accounts": count,
        "raw_insert_s": round(raw_s, 3),
        "initialise_s": round(initialise_s, 3),
        "ratio": round(ratio, 2),
        "ratio_target": RATIO_TARGET,
        "ratio_met": ratio <= RATIO_TARGET,
        "tick_s": round(tick_s, 3),
        "tick_target_s": TICK_TARGET_S,
        "tick_met": tick_s < TICK_TARGET_S,
        "tick_counts": counts.__dict__,
    }


def format_report(report: dict) -> str:
    return "\n".join(
        [
            f"campaign initialisation over {report['accounts']:,} accounts (PostgreSQL)",
            f"  raw INSERT ... SELECT of the memberships  {report['raw_insert_s']:>9.2f} s",
            f"  initialise_campaign                       {report['initialise_s']:>9.2f} s",
            f"  ratio {report['ratio']:.2f} (target <= {report['ratio_target']:g})"
            f"  {marker(report['ratio_met'])}",
            f"  idle tick over {report['accounts']:,} memberships  {report['tick_s']:>9.2f} s"
            f" (target < {report['tick_target_s']:g} s)  {marker(report['tick_met'])}",
        ]
    )


def _vacuum() -> None:
    """VACUUM cannot run in a transaction: autocommit on a connection of its own."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE campaign_memberships"))
        connection.execute(text("VACUUM ANALYZE campaign_membership_events"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", help="an EMPTY PostgreSQL database (default: a throw-away server)"
    )
    parser.add_argument("--no-results", action="store_true", help="do not write the JSON file")
    args = parser.parse_args(argv)
    with cleanup_on_exit() as stack:
        url = args.database_url
        if url is None:
            note("starting a throw-away PostgreSQL server ...")
            url = start_postgres(stack)
        report = measure(app_for(url), args.accounts)
    print(format_report(report))
    if not args.no_results:
        print(f"\nresults: {write_results('campaigns', report)}")
    return 0 if report["ratio_met"] and report["tick_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
