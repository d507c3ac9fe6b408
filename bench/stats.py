"""Stats at scale: three years of a restaurant's data, the rollup rebuild, and each stats page's
and API call's p50/p99 over real HTTP.

    .venv/bin/python bench/stats.py [--accounts 1000000] [--ledger 10000000] [--repetitions 30]
    .venv/bin/python bench/stats.py --accounts 20000 --ledger 200000 --repetitions 10   # developing

Into an EMPTY PostgreSQL database (default: a throw-away server started for the run) it writes,
set-based (INSERT ... SELECT over generate_series, no ORM row by row), one tenant on
Europe/Brussels with N accounts joining over three years (birthdates, sex, consent, tags, a few
merged or erased), their orders and some guests' at five locations, and a points ledger of about
L entries (an earn per order, redemptions of the rewards, reversals of cancelled orders, campaign
credits, expiry of lapsed balances), with balances, lifetime points and first/last orders derived
from those rows; rewards, tiers, segments and campaigns (memberships, history, coupons) through
the services or set-based. Then VACUUM ANALYZE, the rollup rebuild of the whole history and one
refresh (tick), timed; then the app under gunicorn, signed in through the login form and with an
API token, and K timed GETs of each page and API call (see PAGES).

`--database-url` with `--reuse` measures an earlier run's data again (no seeding): start a
server of your own, run once with `--database-url`, then as often as needed with `--reuse`.
`--reuse` creates tables added since (create_all) but no columns: the seeded database has no
Alembic version, so after a migration that adds columns run, with the newer code,
`flask db stamp <the revision it was seeded at>` then `flask db upgrade` against it first.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `loyalty` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text  # noqa: E402

from bench._support import (  # noqa: E402
    app_for,
    cleanup_on_exit,
    default_workers,
    free_port,
    git_commit,
    marker,
    note,
    scratch_dir,
    serve,
    start_postgres,
    write_results,
)
from loyalty.extensions import db  # noqa: E402
from loyalty.models import Campaign, Tenant  # noqa: E402

TIME_ZONE = "Europe/Brussels"
YEARS = 3
TARGET_P99_MS = 300.0  # for a 90-day range (issue 9)
PASSWORD = "bench stats password"
LOCATIONS = ("brussels-centre", "ghent-korenmarkt", "antwerp-meir", "leuven-ladeuze", "liege")
# Share of the orders each location takes (a flagship and smaller ones); the rest has none.
LOCATION_SHARES = (0.34, 0.24, 0.18, 0.12, 0.10)
REWARDS = (  # title, points, minor units off
    ("Coffee on us", 50, 250),
    ("Dessert", 80, 450),
    ("5.00 off", 120, 500),
    ("Pizza of the day", 150, 1_200),
    ("10.00 off", 200, 1_000),
)
TIERS = (("Bronze", 0, 100), ("Silver", 300, 110), ("Gold", 1_000, 125))
SEGMENTS = (  # name, search arguments (services.accounts.search.parse_criteria)
    ("VIP", {"tag": "vip"}),
    ("Lunch crowd", {"tag": "lunch"}),
    ("Marketing yes", {"consent": "yes"}),
)
FIRST_NAMES = (
    "Ana", "Bram", "Chloe", "Dario", "Elif", "Femke", "Giulia", "Hugo", "Ines", "Jan",
    "Kenji", "Lotte", "Marco", "Noor", "Oscar", "Priya", "Quentin", "Rosa", "Sven", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Janssens", "Peeters", "Maes", "Rossi", "Yilmaz", "De Vries", "Dubois", "Novak", "Garcia",
    "Muller", "Okafor", "Silva", "Tanaka", "Van Dijk", "Lukasz",
)  # fmt: skip
# Ledger entries per member order besides its earn: a redemption every fifth order of a regular,
# a reversal per cancelled order (1 %); and per account a campaign credit (30 % of those who
# ordered) and an expiry (the lapsed). Used to size the orders so the ledger comes out near L.
ENTRIES_PER_ORDER = 1.2
ENTRIES_PER_ACCOUNT = 0.5
GUEST_SHARE = 0.2  # of all orders


@dataclass(frozen=True)
class Page:
    label: str
    path: str  # path and query
    api: bool = False
    target: bool = False  # a 90-day range: p99 < TARGET_P99_MS


def pages(today: date, location: str, campaign: str) -> list[Page]:
    """What is measured, in order; the dashboard's pages signed in, the API's with a token."""
    since = (today - timedelta(days=89)).isoformat()
    api = "/loyalty-api/api/stats"
    return [
        Page("overview 7d", "/stats/?range=7d"),
        Page("overview 30d", "/stats/?range=30d"),
        Page("overview 90d", "/stats/?range=90d", target=True),
        Page("overview year", "/stats/?range=year"),
        Page("overview 90d, 1 location", f"/stats/?range=90d&location={location}", target=True),
        Page("cohorts", "/stats/cohorts"),
        Page("campaigns", "/stats/campaigns"),
        Page("segments 90d", "/stats/segments?range=90d", target=True),
        Page("overview.csv 90d", "/stats/overview.csv?range=90d", target=True),
        Page("home", "/"),
        Page("API campaign global", f"{api}/campaign/global?name={campaign}", api=True),
        Page(
            "API campaign 90d",
            f"{api}/campaign?name={campaign}&from={since}&to={today.isoformat()}",
            api=True,
            target=True,
        ),
        Page(
            "API segments 90d",
            f"{api}/segments?from={since}&to={today.isoformat()}",
            api=True,
            target=True,
        ),
    ]


# --- data -----------------------------------------------------------------------------------


@dataclass
class Seeded:
    tenant_id: int
    slug: str
    email: str  # the team member who signs in
    client_id: str
    client_secret: str
    campaign: str  # key of the campaign the API calls ask about
    now: datetime
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step
    counts: dict[str, int] = field(default_factory=dict)


class Steps:
    """Runs and times the seeding statements, one progress line each."""

    def __init__(self, params: dict) -> None:
        self.params = params
        self.seconds: dict[str, float] = {}

    @contextmanager
    def timed(self, label: str) -> Iterator[None]:
        note(f"  {label} ...")
        started = time.perf_counter()
        yield
        took = time.perf_counter() - started
        self.seconds[label] = self.seconds.get(label, 0.0) + took
        note(f"  {label}: {took:.1f} s")

    def run(self, label: str, sql: str, **extra) -> int:
        with self.timed(label):
            rows = db.session.execute(text(sql), {**self.params, **extra}).rowcount
            db.session.commit()
        note(f"    {rows:,} rows")
        return rows


def seed(app, accounts: int, ledger: int, now: datetime) -> Seeded:
    """One tenant with three years of data; every bulk step one set-based statement."""
    started_all = time.perf_counter()
    with app.app_context():
        db.create_all()
        from loyalty.services.setup.api_clients import create_client
        from loyalty.services.setup.team import create_user
        from loyalty.services.setup.tenants import create_tenant

        slug = f"stats-{now:%Y%m%d%H%M%S}-{secrets.token_hex(2)}"
        tenant, _credentials = create_tenant(slug, "Stats Brasserie")
        tenant.time_zone = TIME_ZONE
        db.session.commit()
        tenant_id = tenant.id
        email = f"owner@{slug}.example"
        create_user(tenant_id, email, PASSWORD, "owner", name="Bench Owner")
        issued = create_client(tenant_id, "stats bench", ["ROLE_LOYALTY_STATS"], "service")
        client_id, client_secret = issued.client.client_id, issued.client_secret
        tiers_and_rewards(tenant_id)
        reward_rows = db.session.execute(
            text("SELECT id, cost FROM rewards WHERE tenant_id = :t ORDER BY cost, id"),
            {"t": tenant_id},
        ).all()

        start = now - timedelta(days=365 * YEARS)
        member_orders = max(
            accounts, int((ledger - ENTRIES_PER_ACCOUNT * accounts) / ENTRIES_PER_ORDER)
        )
        # k orders per account: 30 % none, 20 % one, 30 % a few, 20 % regulars; the mean of the
        # scaled classes is 0.2 + 7.8 * scale.
        scale = max(0.05, (member_orders / accounts - 0.2) / 7.8)
        guests = int(member_orders * GUEST_SHARE / (1 - GUEST_SHARE))
        steps = Steps({"t": tenant_id, "start": start, "now": now, "n": accounts})
        bulk_session()
        write_accounts(steps)
        write_orders(steps, scale, guests)
        write_ledger(steps, [row.id for row in reward_rows], [row.cost for row in reward_rows])
        write_balances(steps)
        user_id = db.session.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": email})
        segments(tenant_id, user_id)
        campaign = write_campaigns(steps, tenant_id, now)
        db.session.execute(text("SET session_replication_role = DEFAULT"))
        db.session.commit()
        with steps.timed("VACUUM ANALYZE"):
            vacuum_analyze()
        counts = table_counts(tenant_id)
        db.session.remove()
    steps.seconds["total"] = time.perf_counter() - started_all
    return Seeded(
        tenant_id, slug, email, client_id, client_secret, campaign, now, steps.seconds, counts
    )


def bulk_session() -> None:
    """Foreign keys are right by construction: skip their per-row triggers for the bulk load
    (needs a superuser, as the throw-away server's is; elsewhere they just run)."""
    try:
        db.session.execute(text("SET session_replication_role = replica"))
        db.session.commit()
    except Exception:  # noqa: BLE001 - not a superuser: the load is slower, not wrong
        db.session.rollback()
        note("  (not a superuser: foreign keys are checked row by row)")


def tiers_and_rewards(tenant_id: int) -> None:
    from loyalty.services.setup.rewards import RewardDetails, create_reward
    from loyalty.services.setup.tiers import TierDetails, create_tier

    for name, threshold, multiplier in TIERS:
        create_tier(tenant_id, TierDetails(name, threshold, multiplier))
    for title, cost, value in REWARDS:
        create_reward(
            tenant_id,
            RewardDetails(title=title, type="discount_amount", cost=cost, value=value),
        )


def segments(tenant_id: int, user_id: int | None) -> None:
    from loyalty.services.accounts.search import parse_criteria
    from loyalty.services.accounts.segments import save_segment

    for name, args in SEGMENTS:
        criteria, errors = parse_criteria(args)
        if errors:
            raise RuntimeError(f"segment {name}: {errors}")
        save_segment(tenant_id, name, criteria, user_id)


def _sql_array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def write_accounts(steps: Steps) -> None:
    # Joining accelerates (n grows as t^1.7); a fifth have no birthdate, some no sex.
    steps.run(
        "accounts",
        "INSERT INTO accounts (tenant_id, external_id, card, email, phone, first_name, "
        "last_name, first_name_key, last_name_key, birthdate, sex, properties, consents, "
        "marketing_consent, status, points_balance, cash_balance, lifetime_points, points_debt, "
        "lock_version, created_at, updated_at) "
        "SELECT :t, 'st-' || n, 'ST' || lpad(n::text, 9, '0'), 'member' || n || '@stats.example', "
        "'+3248' || lpad(n::text, 7, '0'), f, l, lower(f), lower(replace(l, ' ', '')), "
        "CASE WHEN r1 < 0.8 THEN date '1950-01-01' + floor(r2 * 22000)::int END, "
        "CASE WHEN r3 < 0.45 THEN 'FEMALE' WHEN r3 < 0.85 THEN 'MALE' "
        "WHEN r3 < 0.88 THEN 'OTHER' END, '{}', '{}', r4 < 0.4, 'active', 0, 0, 0, 0, 0, "
        "joined, joined FROM ("
        f"  SELECT n, ({_sql_array(FIRST_NAMES)})[1 + floor(random() * {len(FIRST_NAMES)})] AS f,"
        f"  ({_sql_array(LAST_NAMES)})[1 + floor(random() * {len(LAST_NAMES)})] AS l,"
        "   random() AS r1, random() AS r2, random() AS r3, random() AS r4,"
        "   :start + (:now - :start) * power(n::float8 / :n, 0.6) AS joined"
        "  FROM generate_series(1, :n) AS n) AS s",
    )
    steps.run(
        "tags",
        "INSERT INTO account_tags (account_id, tag, tenant_id) "
        "SELECT id, CASE WHEN r < 0.1 THEN 'vip' WHEN r < 0.3 THEN 'lunch' ELSE 'family' END, :t "
        "FROM (SELECT id, random() AS r FROM accounts WHERE tenant_id = :t) AS a WHERE r < 0.4",
    )
    # A few retired: 0.5 % merged into their neighbour, 0.2 % erased (names and contact gone).
    steps.run(
        "merged accounts",
        "UPDATE accounts SET merged_into_id = id - 1, "
        "merged_at = created_at + (:now - created_at) * random() "
        "WHERE tenant_id = :t AND id > (SELECT min(id) FROM accounts WHERE tenant_id = :t) "
        "AND random() < 0.005",
    )
    steps.run(
        "erased accounts",
        "UPDATE accounts SET erased_at = created_at + (:now - created_at) * random(), "
        "first_name = '', last_name = '', first_name_key = '', last_name_key = '', email = NULL, "
        "phone = NULL, birthdate = NULL, sex = NULL "
        "WHERE tenant_id = :t AND merged_into_id IS NULL AND random() < 0.002",
    )


def write_orders(steps: Steps, scale: float, guests: int) -> None:
    shares = list(LOCATION_SHARES)
    bounds = [sum(shares[: i + 1]) for i in range(len(shares))]
    pick = (
        "CASE "
        + " ".join(
            f"WHEN {{r}} < {bound:.4f} THEN '{loc}'"
            for bound, loc in zip(bounds, LOCATIONS, strict=True)
        )
        + " END"
    )
    # Each account's plan: how many orders, its usual location, until when it could order.
    steps.run(
        "order plan",
        "CREATE TEMP TABLE bench_plan AS SELECT id AS account_id, created_at, "
        "LEAST(:now, COALESCE(merged_at, erased_at, :now)) AS ends, "
        + pick.format(r="h")
        + " AS home, CASE WHEN r < 0.3 THEN 0 WHEN r < 0.5 THEN 1 "
        "WHEN r < 0.8 THEN GREATEST(1, round((2 + r2 * 8) * :scale)) "
        "ELSE GREATEST(1, round((10 + r2 * 40) * :scale)) END::int AS k "
        "FROM (SELECT id, created_at, merged_at, erased_at, random() AS r, random() AS r2, "
        "random() AS h FROM accounts WHERE tenant_id = :t) AS a",
        scale=scale,
    )
    # The first order comes with joining (within three hours), the others any time after;
    # 80 % at the usual location; 1 % cancelled an hour later.
    with without_indexes("orders"):
        steps.run(
            "member orders",
            "INSERT INTO orders (tenant_id, external_id, account_id, status, location_id, "
            "order_type, decimal_digits, sub_total, discount_total, payment_amount, tip, "
            "points_earned, points_spent, cash_spent, shortfall_points, points_withheld, "
            "ordered_at, created_at, cancelled_at, payload) "
            "SELECT :t, 'so-' || p.account_id || '-' || i, p.account_id, "
            "CASE WHEN x.c < 0.01 THEN 'cancelled' ELSE 'placed' END, "
            "CASE WHEN x.w < 0.8 THEN p.home ELSE " + pick.format(r="x.l") + " END, "
            "1, 2, x.amount, 0, x.amount, 0, x.amount / 100, 0, 0, 0, 0, x.at, x.at, "
            "CASE WHEN x.c < 0.01 THEN x.at + interval '1 hour' END, '{}' "
            "FROM bench_plan AS p, generate_series(1, p.k) AS i, LATERAL ("
            "  SELECT CASE WHEN i = 1 THEN LEAST(p.ends, p.created_at + random() * interval "
            "  '3 hours') ELSE p.created_at + (p.ends - p.created_at) * random() END AS at, "
            "  random() AS c, random() AS w, random() AS l, "
            "  800 + floor(random() * 5200)::int AS amount) AS x",
        )
        # Guests: the same growth, spread over the three years, 3 % at no location.
        steps.run(
            "guest orders",
            "INSERT INTO orders (tenant_id, external_id, account_id, status, location_id, "
            "order_type, decimal_digits, sub_total, discount_total, payment_amount, tip, "
            "points_earned, points_spent, cash_spent, shortfall_points, points_withheld, "
            "ordered_at, created_at, cancelled_at, payload) "
            "SELECT :t, 'sg-' || g, NULL, CASE WHEN c < 0.01 THEN 'cancelled' ELSE 'placed' END, "
            "CASE WHEN l < 0.97 THEN " + pick.format(r="(l / 0.97)") + " END, "
            "1, 2, amount, 0, amount, 0, 0, 0, 0, 0, 0, at, at, "
            "CASE WHEN c < 0.01 THEN at + interval '1 hour' END, '{}' "
            "FROM (SELECT g, random() AS c, random() AS l, 600 + floor(random() * 4000)::int "
            "AS amount, :start + (:now - :start) * power(random(), 0.6) AS at "
            "FROM generate_series(1, :guests) AS g) AS s",
            guests=guests,
        )
    steps.run(
        "first and last orders",
        "UPDATE accounts AS a SET first_order_at = s.first, last_order_at = s.last "
        "FROM (SELECT account_id, min(ordered_at) AS first, max(ordered_at) AS last FROM orders "
        "WHERE tenant_id = :t AND status = 'placed' AND account_id IS NOT NULL "
        "GROUP BY account_id) AS s WHERE a.id = s.account_id",
    )


def write_ledger(steps: Steps, reward_ids: list[int], reward_costs: list[int]) -> None:
    """Every points entry with its running balance (one window over all of them), then expiry.

    Never negative by construction: the fifth, tenth ... placed order of an account redeems a
    reward it can pay with the points of the four placed orders before it, which no other
    redemption spent; a cancelled order's earn is taken back by its reversal an hour later.
    """
    with without_indexes("ledger_entries"):
        steps.run(
            "ledger: earn, redeem, reversal, campaign credit",
            "INSERT INTO ledger_entries (tenant_id, account_id, unit, kind, amount, balance_after,"
            " idempotency_key, reason, order_id, reward_id, created_at) "
            "SELECT :t, account_id, 'points', kind, amount, "
            "sum(amount) OVER (PARTITION BY account_id ORDER BY at, ref, step), key, reason, "
            "order_id, reward_id, at FROM ("
            # earn: every member order, cancelled ones too
            "  SELECT account_id, 'earn' AS kind, points_earned AS amount, 'earn:' || id AS key,"
            "  'order' AS reason, id AS order_id, NULL::int AS reward_id, ordered_at AS at,"
            "  1 AS step, id AS ref FROM orders"
            "  WHERE tenant_id = :t AND account_id IS NOT NULL AND points_earned > 0"
            "  UNION ALL"
            "  SELECT account_id, 'reversal', -points_earned, 'reversal:' || id, 'cancelled',"
            "  id, NULL, cancelled_at, 2, id FROM orders WHERE tenant_id = :t"
            "  AND account_id IS NOT NULL AND status = 'cancelled' AND points_earned > 0"
            "  UNION ALL"
            "  SELECT account_id, 'redeem', -cost, 'redeem:' || id, 'reward', id, reward_id,"
            "  ordered_at, 0, id FROM ("
            "    SELECT w.*, r.reward_id, r.cost FROM ("
            "      SELECT id, account_id, ordered_at, row_number() OVER win AS rn,"
            "      COALESCE(sum(points_earned) OVER (win ROWS BETWEEN 4 PRECEDING AND 1 PRECEDING),"
            "      0) AS spendable, random() AS pick FROM orders"
            "      WHERE tenant_id = :t AND account_id IS NOT NULL AND status = 'placed'"
            "      WINDOW win AS (PARTITION BY account_id ORDER BY ordered_at, id)) AS w,"
            "    LATERAL (SELECT c.reward_id, c.cost FROM unnest(CAST(:reward_ids AS int[]),"
            "      CAST(:reward_costs AS int[])) AS c(reward_id, cost) WHERE c.cost <= w.spendable"
            "      ORDER BY c.cost DESC LIMIT 1) AS r"
            "    WHERE w.rn % 5 = 0) AS redeemed"
            "  UNION ALL"
            # campaign credits: 30 % of those who ordered, between joining and the last order
            "  SELECT id, 'campaign_credit', CASE WHEN r < 0.15 THEN 50 ELSE 20 END,"
            "  'campaign:win-back:' || id || ':treat:1', 'campaign win-back', NULL, NULL,"
            "  created_at + (last_order_at - created_at) * r2, 3, id FROM ("
            "    SELECT id, created_at, last_order_at, random() AS r, random() AS r2"
            "    FROM accounts WHERE tenant_id = :t AND last_order_at IS NOT NULL) AS a"
            "  WHERE r < 0.3"
            ") AS entries",
            reward_ids=reward_ids,
            reward_costs=reward_costs,
        )
        # Lapsed balances expire a year after the last order (everything else is before it).
        steps.run(
            "ledger: expiry",
            "INSERT INTO ledger_entries (tenant_id, account_id, unit, kind, amount, balance_after,"
            " idempotency_key, reason, created_at) "
            "SELECT :t, a.id, 'points', 'expire', -s.points, 0, 'expire:' || a.id, "
            "'points expired', a.last_order_at + interval '365 days' FROM accounts AS a JOIN ("
            "  SELECT account_id, sum(amount) AS points FROM ledger_entries"
            "  WHERE tenant_id = :t AND unit = 'points' GROUP BY account_id) AS s"
            " ON s.account_id = a.id "
            "WHERE a.tenant_id = :t AND s.points > 0 "
            "AND a.last_order_at + interval '365 days' < :now",
        )


def write_balances(steps: Steps) -> None:
    steps.run(
        "balances from the ledger",
        "UPDATE accounts AS a SET points_balance = s.balance, lifetime_points = s.lifetime "
        "FROM (SELECT account_id, sum(amount) AS balance, "
        "sum(amount) FILTER (WHERE kind IN ('earn', 'campaign_credit') "
        "OR (kind = 'reversal' AND amount < 0)) AS lifetime "
        "FROM ledger_entries WHERE tenant_id = :t AND unit = 'points' GROUP BY account_id) AS s "
        "WHERE a.id = s.account_id",
    )


def campaign_definitions(now: datetime) -> list[dict]:
    return [
        {
            "id": "welcome",
            "type": "STANDARD",
            "name": "Welcome coupon",
            "dynamic": True,
            "constraints": [{"field": "counters.points", "op": "GTE", "value": ["0"]}],
            "states": [
                {
                    "id": "treat",
                    "type": "COUPON",
                    "couponType": "AMOUNT",
                    "value": 300,
                    "validDays": 30,
                    "title": "3.00 off",
                    "transitionTo": "thanks",
                },
                {"id": "thanks", "type": "WALLET", "points": 20},
            ],
        },
        {
            "id": "win-back",
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
        },
        {
            "id": "summer",
            "type": "STANDARD",
            "name": "Summer draft",
            "states": [{"id": "hello", "type": "ORDER", "transitionTo": None}],
        },
    ]


def write_campaigns(steps: Steps, tenant_id: int, now: datetime) -> str:
    """Two running campaigns (welcome: a coupon; win-back: waits for an order) and a draft;
    memberships of a tenth of the members each, their history and the welcome coupons."""
    import json

    from loyalty.rules import flow
    from loyalty.services.campaigns.lifecycle import TEMPLATE_KEY
    from loyalty.services.campaigns.memberships import columns
    from loyalty.services.campaigns.store import rules_campaign, save_campaign

    started = now - timedelta(days=180)
    for definition in campaign_definitions(now):
        row = save_campaign(tenant_id, definition, started)
        if definition["id"] == "summer":
            continue
        template = flow.advance(None, rules_campaign(row), flow.Join(TEMPLATE_KEY), started)
        progress = json.dumps(columns(template.membership)["progress"], default=str)
        first, later = definition["states"][0]["id"], "thanks"
        row.initialized_at = started
        row.initialized_by = "bench"
        row.started_at = started
        db.session.commit()
        # 10 %: joined some time after the start; 60 % of them moved on (to `later`, completed).
        steps.run(
            f"campaign {row.key}: memberships",
            "INSERT INTO campaign_memberships (tenant_id, campaign_id, account_id, state_id, "
            "entered_at, status, entry, progress, seq, created_at) "
            "SELECT :t, :c, id, CASE WHEN r2 < 0.6 THEN :later ELSE :first END, "
            "CASE WHEN r2 < 0.6 THEN at + (:now - at) * r2 ELSE at END, "
            "CASE WHEN r2 < 0.6 THEN 'completed' ELSE 'active' END, 1, CAST(:progress AS json), "
            "CASE WHEN r2 < 0.6 THEN 2 ELSE 1 END, at "
            "FROM (SELECT id, random() AS r, random() AS r2, "
            ":started + (:now - :started) * random() AS at FROM accounts "
            "WHERE tenant_id = :t AND merged_into_id IS NULL AND erased_at IS NULL) AS a "
            "WHERE r < 0.1",
            c=row.id,
            first=first,
            later=later,
            progress=progress,
            started=started,
        )
        steps.run(
            f"campaign {row.key}: history",
            "INSERT INTO campaign_membership_events (tenant_id, membership_id, seq, from_state, "
            "to_state, reason, at) "
            "SELECT :t, id, 1, NULL, :first, 'joined', created_at FROM campaign_memberships "
            "WHERE campaign_id = :c UNION ALL "
            "SELECT :t, id, 2, :first, :later, :reason, entered_at FROM campaign_memberships "
            "WHERE campaign_id = :c AND seq = 2",
            c=row.id,
            first=first,
            later=later,
            reason="coupon_used" if row.key == "welcome" else "order",
        )
        if row.key == "welcome":
            # A coupon per entry: used by those who moved on, expired for some who did not.
            steps.run(
                "campaign welcome: coupons",
                "INSERT INTO coupons (tenant_id, code, campaign_id, membership_id, entry_seq, "
                "issue_key, account_id, state_id, coupon_type, value, title, description, status, "
                "valid_to, created_at) "
                "SELECT :t, 'WELCOME' || m.id, :c, m.id, 1, "
                "'campaign:welcome:' || m.account_id || ':treat:1', m.account_id, 'treat', "
                "'AMOUNT', 300, '3.00 off', '', "
                "CASE WHEN m.seq = 2 THEN 'USED' WHEN m.created_at + interval '30 days' < :now "
                "THEN 'EXPIRED' ELSE 'ACTIVE' END, m.created_at + interval '30 days', m.created_at "
                "FROM campaign_memberships AS m WHERE m.campaign_id = :c",
                c=row.id,
            )
        db.session.execute(
            text(
                "UPDATE campaigns SET cnt = (SELECT count(*) FROM campaign_memberships "
                "WHERE campaign_id = :c AND status = 'active'), "
                "coupons_issued = (SELECT count(*) FROM coupons WHERE campaign_id = :c), "
                "coupons_redeemed = (SELECT count(*) FROM coupons WHERE campaign_id = :c "
                "AND status = 'USED') WHERE id = :c"
            ),
            {"c": row.id},
        )
        db.session.commit()
    return "welcome"


@contextmanager
def without_indexes(table: str) -> Iterator[None]:
    """Drop the table's secondary indexes (not its primary key or unique constraints) for a
    bulk load and build them again after it: one sorted build beats millions of inserts."""
    definitions = db.session.execute(
        text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes AS i WHERE i.tablename = :table "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conname = i.indexname)"
        ),
        {"table": table},
    ).all()
    for name, _definition in definitions:
        db.session.execute(text(f'DROP INDEX "{name}"'))
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        started = time.perf_counter()
        for _name, definition in definitions:
            db.session.execute(text(definition))
        db.session.commit()
        took = time.perf_counter() - started
        note(f"  {table}: {len(definitions)} indexes rebuilt in {took:.1f} s")


def vacuum_analyze() -> None:
    """VACUUM cannot run in a transaction: autocommit on a connection of its own."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def table_counts(tenant_id: int) -> dict[str, int]:
    counts = {}
    for table in (
        "accounts",
        "account_tags",
        "orders",
        "ledger_entries",
        "campaign_memberships",
        "campaign_membership_events",
        "coupons",
    ):
        counts[table] = db.session.scalar(
            text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": tenant_id}
        )
    counts["guest_orders"] = db.session.scalar(
        text("SELECT count(*) FROM orders WHERE tenant_id = :t AND account_id IS NULL"),
        {"t": tenant_id},
    )
    return counts


def check_consistency(tenant_id: int) -> dict[str, int]:
    """Balances equal the ledger sums; no running balance below zero."""
    row = db.session.execute(
        text(
            "SELECT (SELECT count(*) FROM accounts AS a LEFT JOIN (SELECT account_id, "
            "sum(amount) AS s FROM ledger_entries WHERE tenant_id = :t AND unit = 'points' "
            "GROUP BY account_id) AS l ON l.account_id = a.id WHERE a.tenant_id = :t "
            "AND a.points_balance <> COALESCE(l.s, 0)) AS mismatched, "
            "(SELECT count(*) FROM ledger_entries WHERE tenant_id = :t AND balance_after < 0) "
            "AS negative"
        ),
        {"t": tenant_id},
    ).one()
    return {"mismatched_balances": row.mismatched, "negative_balances": row.negative}


def find_seeded(app, now: datetime) -> Seeded:
    """--reuse: the newest tenant this script seeded, with a new login and API client."""
    from loyalty.services.setup.api_clients import create_client
    from loyalty.services.setup.team import create_user

    with app.app_context():
        db.create_all()  # tables added since that run (new columns need its migration)
        tenant = db.session.scalar(
            select(Tenant).where(Tenant.slug.like("stats-%")).order_by(Tenant.id.desc())
        )
        if tenant is None:
            raise SystemExit("--reuse: no tenant seeded by bench/stats.py in that database")
        email = f"owner-{secrets.token_hex(3)}@{tenant.slug}.example"
        create_user(tenant.id, email, PASSWORD, "owner")
        issued = create_client(tenant.id, "stats bench", ["ROLE_LOYALTY_STATS"], "service")
        campaign = db.session.scalar(
            select(Campaign.key).where(Campaign.tenant_id == tenant.id, Campaign.key == "welcome")
        )
        seeded = Seeded(
            tenant.id,
            tenant.slug,
            email,
            issued.client.client_id,
            issued.client_secret,
            campaign or "welcome",
            now,
            counts=table_counts(tenant.id),
        )
        db.session.remove()
    return seeded


def first_location(app, tenant_id: int) -> str:
    with app.app_context():
        found = db.session.scalar(
            text(
                "SELECT location_id FROM orders WHERE tenant_id = :t AND location_id IS NOT NULL "
                "LIMIT 1"
            ),
            {"t": tenant_id},
        )
        db.session.remove()
    return found or LOCATIONS[0]


# --- rollups ----------------------------------------------------------------------------------


def time_rollups(app, tenant_id: int, now: datetime) -> dict:
    """The whole history's rebuild, then one refresh (the tick's share), each timed."""
    result: dict = {"rebuild_s": None, "rebuild_days": None, "refresh_s": None, "next_day_s": None}
    with app.app_context():
        try:
            from loyalty.services.reporting import rollups
        except ImportError as error:
            note(f"rollups: not importable yet ({error})")
            return result
        rebuild: Callable | None = getattr(rollups, "rebuild", None)
        refresh_all: Callable | None = getattr(rollups, "refresh_all", None)
        if rebuild is None:
            note("rollups.rebuild: not there yet, skipped")
        else:
            note("rebuilding the rollups of the whole history ...")
            done = [0]

            def progress(days: int) -> None:
                done[0] += days

            started = time.perf_counter()
            days = rebuild(tenant_id, now, progress=progress)
            db.session.commit()
            result["rebuild_s"] = round(time.perf_counter() - started, 2)
            result["rebuild_days"] = days
            note(f"rebuild: {days} days in {result['rebuild_s']:.1f} s")
        if refresh_all is None:
            note("rollups.refresh_all: not there yet, skipped")
        else:
            # Twice: minutes later (nothing new to build) and the next day's first tick, which
            # builds the day that just ended.
            for label, later in (
                ("refresh", timedelta(minutes=5)),
                ("next_day", timedelta(days=1)),
            ):
                started = time.perf_counter()
                refreshed = refresh_all(now + later)
                db.session.commit()
                result[f"{label}_s"] = round(time.perf_counter() - started, 2)
                result[f"{label}_days"] = refreshed
                note(f"refresh_all {label}: {refreshed} days in {result[f'{label}_s']:.2f} s")
            if rebuild is not None:
                # Back to what the pages find at the real clock: a tick a few minutes ago.
                yesterday = now.astimezone(_zone()).date() - timedelta(days=1)
                rebuild(tenant_id, now, yesterday)
                db.session.commit()
        db.session.remove()
    return result


# --- HTTP -------------------------------------------------------------------------------------


@dataclass
class Timing:
    label: str
    path: str
    status: int | None
    target: bool
    samples_ms: list[float] = field(default_factory=list)
    load_before: float = 0.0
    load_after: float = 0.0
    error: str | None = None

    @property
    def p50(self) -> float | None:
        return percentile(self.samples_ms, 0.50)

    @property
    def p99(self) -> float | None:
        return percentile(self.samples_ms, 0.99)

    @property
    def met(self) -> bool | None:
        if not self.target or self.p99 is None:
            return None
        return self.p99 < TARGET_P99_MS

    def as_dict(self) -> dict:
        row = asdict(self)
        row.update(p50_ms=self.p50, p99_ms=self.p99, met=self.met)
        return row


def percentile(values: list[float], share: float) -> float | None:
    """Nearest rank: with 30 samples p99 is the slowest one."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)], 1)


def signed_in(base_url: str, email: str):
    """A requests session signed in through the login form, as a browser would."""
    import requests

    http = requests.Session()
    page = http.get(base_url + "/login", timeout=30)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.text
    )
    if page.status_code != 200 or not found:
        raise RuntimeError(f"no login form at /login ({page.status_code})")
    answer = http.post(
        base_url + "/login",
        data={"csrf_token": found.group(1), "email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"login refused ({answer.status_code}): {answer.text[:300]}")
    return http


def api_token(base_url: str, seeded: Seeded) -> str:
    import requests

    answer = requests.post(
        base_url + "/auth-oauth2/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(seeded.client_id, seeded.client_secret),
        headers={"X-Tenant": seeded.slug},
        timeout=30,
    )
    if answer.status_code != 200:
        raise RuntimeError(f"token endpoint refused ({answer.status_code}): {answer.text[:300]}")
    return answer.json()["access_token"]


def measure_pages(
    base_url: str, seeded: Seeded, plan: list[Page], repetitions: int, workers: int = 1
) -> list[Timing]:
    """Each page: warm-up GETs (not counted), two per gunicorn worker so that each has most
    likely compiled its statements once, as a running server's have, then `repetitions` timed
    GETs one after the other; a page answering anything but 200 is reported with its status
    and skipped."""
    import requests

    dashboard = signed_in(base_url, seeded.email)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {api_token(base_url, seeded)}"
    timings = []
    for page in plan:
        http = api if page.api else dashboard
        timing = Timing(page.label, page.path, None, page.target, load_before=os.getloadavg()[0])
        for _ in range(2 * workers):
            warm = http.get(base_url + page.path, timeout=120, allow_redirects=False)
            if warm.status_code != 200:
                break
        timing.status = warm.status_code
        if warm.status_code != 200:
            timing.error = warm.text[:200].replace("\n", " ")
            note(f"  {page.label}: {warm.status_code}, skipped")
        else:
            for _ in range(repetitions):
                started = time.perf_counter()
                answer = http.get(base_url + page.path, timeout=120, allow_redirects=False)
                _ = answer.content
                timing.samples_ms.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200:
                    timing.status = answer.status_code
                    timing.error = answer.text[:200]
                    break
            timing.load_after = os.getloadavg()[0]
            note(
                f"  {page.label}: p50 {timing.p50} ms, p99 {timing.p99} ms"
                f" (load {timing.load_before:.2f} -> {timing.load_after:.2f})"
            )
        timings.append(timing)
    return timings


# --- report -----------------------------------------------------------------------------------


def format_report(report: dict) -> str:
    counts = report["counts"]
    lines = [
        f"Stats on PostgreSQL: {counts.get('accounts', 0):,} accounts, "
        f"{counts.get('orders', 0):,} orders ({counts.get('guest_orders', 0):,} guests'), "
        f"{counts.get('ledger_entries', 0):,} ledger entries; {report['workers']} gunicorn "
        f"workers, {report['repetitions']} GETs each, one at a time",
    ]
    if report.get("seed_s") is not None:
        lines.append(f"data generated in {report['seed_s']:.0f} s (VACUUM ANALYZE included)")
    rollups = report["rollups"]
    rebuild = (
        "not available"
        if rollups.get("rebuild_s") is None
        else (f"{rollups['rebuild_s']:.1f} s ({rollups['rebuild_days']} days)")
    )
    refresh = "not available"
    if rollups.get("refresh_s") is not None:
        refresh = f"{rollups['refresh_s']:.2f} s idle"
    if rollups.get("next_day_s") is not None:
        refresh += f", {rollups['next_day_s']:.2f} s the next day ({rollups['next_day_days']} days)"
    lines += [f"rollup rebuild: {rebuild}; refresh_all (tick): {refresh}", ""]
    lines.append(
        f"{'page':<28}{'status':>7}{'p50 ms':>9}{'p99 ms':>9}  {'target':<16}{'load 1m':>9}"
    )
    for row in report["pages"]:
        p50 = "-" if row["p50_ms"] is None else f"{row['p50_ms']:.1f}"
        p99 = "-" if row["p99_ms"] is None else f"{row['p99_ms']:.1f}"
        target = "-"
        if row["target"]:
            target = f"p99<{TARGET_P99_MS:g} " + (
                "n/a" if row["met"] is None else marker(row["met"])
            )
        load = f"{row['load_before']:.2f}-{row['load_after']:.2f}"
        status = row["status"] or "-"
        lines.append(f"{row['label']:<28}{status:>7}{p50:>9}{p99:>9}  {target:<16}{load:>9}")
    lines.append("")
    lines.append(
        "machine load (1, 5, 15 min): before "
        + ", ".join(f"{v:.2f}" for v in report["load_before"])
        + "; after "
        + ", ".join(f"{v:.2f}" for v in report["load_after"])
        + f"; {os.cpu_count()} cores"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--ledger", type=int, default=10_000_000, help="about this many entries")
    parser.add_argument("--repetitions", type=int, default=30, help="timed GETs per page")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--database-url", help="an EMPTY PostgreSQL database (or one --reuse)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the data an earlier run left in --database-url",
    )
    parser.add_argument("--skip-rebuild", action="store_true", help="with --reuse: keep rollups")
    parser.add_argument("--seed-only", action="store_true", help="generate and rebuild, no HTTP")
    parser.add_argument("--no-results", action="store_true", help="do not write the JSON file")
    parser.add_argument("--only", help="comma-separated labels (or starts of labels) to measure")
    args = parser.parse_args(argv)
    if args.reuse and not args.database_url:
        parser.error("--reuse needs --database-url")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    load_before = os.getloadavg()
    with cleanup_on_exit() as stack:
        url = args.database_url
        if url is None:
            note("starting a throw-away PostgreSQL server ...")
            url = start_postgres(stack)
        app = app_for(url)
        seed_s = None
        if args.reuse:
            seeded = find_seeded(app, now)
        else:
            note(f"seeding {args.accounts:,} accounts, about {args.ledger:,} ledger entries ...")
            seeded = seed(app, args.accounts, args.ledger, now)
            seed_s = seeded.steps["total"]
            note(f"data generated in {seed_s:.0f} s: {seeded.counts}")
        with app.app_context():
            consistency = check_consistency(seeded.tenant_id)
            db.session.remove()
        note(f"consistency: {consistency}")
        rollups = {} if args.skip_rebuild else time_rollups(app, seeded.tenant_id, now)
        timings: list[Timing] = []
        if not args.seed_only:
            work = scratch_dir(stack, "loyalty-bench-stats-")
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            env = {
                "LOYALTY_DATABASE_URL": url,
                "LOYALTY_SECRET_KEY": "bench-" + secrets.token_urlsafe(24),
                "LOYALTY_PUBLIC_BASE_URL": base_url,
            }
            note(f"serving the app with {args.workers} gunicorn workers")
            server = serve(
                stack, "app", "app:app", workers=args.workers, env=env, log_dir=work, port=port
            )
            today = now.astimezone(_zone()).date()
            plan = pages(today, first_location(app, seeded.tenant_id), seeded.campaign)
            if args.only:
                wanted = [w.strip() for w in args.only.split(",") if w.strip()]
                plan = [p for p in plan if any(p.label.startswith(w) for w in wanted)]
            try:
                timings = measure_pages(base_url, seeded, plan, args.repetitions, args.workers)
            except RuntimeError:
                note(f"app log (last lines):\n{server.log_tail()}")
                raise
            if any(t.status and t.status >= 500 for t in timings):
                note(f"app log (last lines):\n{server.log_tail(60)}")
    report = {
        "commit": git_commit(),
        "accounts_asked": args.accounts,
        "ledger_asked": args.ledger,
        "counts": seeded.counts,
        "seed_s": None if seed_s is None else round(seed_s, 1),
        "seed_steps_s": {k: round(v, 2) for k, v in seeded.steps.items()},
        "consistency": consistency,
        "rollups": rollups,
        "workers": args.workers,
        "repetitions": args.repetitions,
        "target_p99_ms": TARGET_P99_MS,
        "pages": [t.as_dict() for t in timings],
        "load_before": list(load_before),
        "load_after": list(os.getloadavg()),
        "now": now.isoformat(),
    }
    print(format_report(report))
    if not args.no_results:
        print(f"\nresults: {write_results('stats', report)}")
    return 0 if all(t.met is not False for t in timings) else 1


def _zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(TIME_ZONE)


if __name__ == "__main__":
    sys.exit(main())
