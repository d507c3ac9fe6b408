"""The benchmarks' data, bodies and plumbing at tiny size, so they cannot rot unnoticed.

Nothing here is timed: the seeding and body builders run on the session's PostgreSQL, and one
pooled body per endpoint goes through the app's test client, exactly as wrk would send it.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bench import bare_app, floor_app
from bench import campaigns as campaigns_bench
from bench import exports as exports_bench
from bench import stats as stats_bench
from bench._support import PooledRequest, parse_wrk_output, write_pool
from bench.webhooks import (
    BARE_PATH,
    REGISTRATION_PATH,
    SIGNATURE_HEADER,
    build_pools,
    endpoint_paths,
    registration_body,
    seed,
    signed,
)
from loyalty.extensions import db
from loyalty.models import Tenant
from loyalty.rules.programs import REWARD_TYPES
from loyalty.services.accounts.listing import AccountFilter
from loyalty.services.accounts.search import SearchCriteria
from loyalty.services.reporting.account_exports import account_csv
from loyalty.services.reporting.exports import ExportSpec, export_csv
from tests.support.app import empty_all_tables, make_app

pytestmark = pytest.mark.postgres

PUBLIC_HOST = "loyalty.example.com"  # make_app's PUBLIC_BASE_URL


@pytest.fixture()
def bench_app(postgres_url):
    app = make_app(postgres_url)
    with app.app_context():
        db.create_all()
        empty_all_tables()
        db.session.remove()
    yield app
    with app.app_context():
        empty_all_tables()
        db.session.remove()


@pytest.fixture()
def seeded(bench_app):
    return seed(bench_app, accounts=120, rewards=50, rng=random.Random(7))


def test_seeded_balances_are_each_backed_by_one_opening_entry(bench_app, seeded):
    with bench_app.app_context():
        mismatches = db.session.execute(
            text(
                "SELECT a.external_id FROM accounts a LEFT JOIN ledger_entries l "
                "ON l.account_id = a.id AND l.kind = 'opening' WHERE a.tenant_id = :tenant "
                "GROUP BY a.id, a.external_id, a.points_balance, a.cash_balance "
                "HAVING a.points_balance <> COALESCE(SUM(l.amount) "
                "FILTER (WHERE l.unit = 'points'), 0) "
                "OR a.cash_balance <> COALESCE(SUM(l.amount) FILTER (WHERE l.unit = 'cash'), 0)"
            ),
            {"tenant": seeded.tenant_id},
        ).all()
        counts = db.session.execute(
            text(
                "SELECT (SELECT count(*) FROM accounts WHERE tenant_id = :t), "
                "(SELECT count(*) FROM rewards WHERE tenant_id = :t), "
                "(SELECT count(DISTINCT type) FROM rewards WHERE tenant_id = :t)"
            ),
            {"t": seeded.tenant_id},
        ).one()
    assert mismatches == []
    assert tuple(counts) == (120, 50, len(REWARD_TYPES))
    assert sum(account.points > 0 for account in seeded.accounts) > 60


def test_each_benchmarked_webhook_accepts_the_pooled_bodies(bench_app, seeded):
    client = bench_app.test_client()
    registration = signed(
        REGISTRATION_PATH, registration_body(seeded.api_key), seeded.webhook_secret
    )
    answer = client.post(REGISTRATION_PATH, data=registration.body, headers=registration.headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    paths = endpoint_paths(answer.get_json(), PUBLIC_HOST)
    pools = build_pools(
        seeded, programs_size=2, checkout_size=2, run_tag="smoke", rng=random.Random(3)
    )

    def send(endpoint: str, body: bytes):
        request = signed(paths[endpoint], body, seeded.webhook_secret)
        response = client.post(request.path, data=request.body, headers=request.headers)
        assert 200 <= response.status_code < 300, (endpoint, response.get_data(as_text=True))
        return response

    listed = send("programs", pools.programs[0]).get_json()
    assert isinstance(listed, list) and listed
    validated = send("validate", pools.validate[0]).get_json()
    asked = json.loads(pools.validate[0])["programIds"]
    assert [result["programId"] for result in validated] == asked
    # Order 0 completes checkout 0: same customer, and it redeems what was validated.
    order = json.loads(pools.order[0])
    assert [d["programId"] for d in order["discounts"]] == asked
    send("order", pools.order[0])
    send("order", pools.order[1])

    bare = bare_app.app.test_client().post(
        BARE_PATH, data=pools.programs[0], headers={"Content-Type": "application/json"}
    )
    assert bare.status_code == 200 and bare.get_json()["ok"] is True


def _same_shape(app_value, floor_value) -> None:
    """Same keys everywhere; a value may be null on one side only (an answer's own data)."""
    if isinstance(app_value, dict):
        assert isinstance(floor_value, dict) and set(app_value) == set(floor_value)
        for key, item in app_value.items():
            _same_shape(item, floor_value[key])
    elif isinstance(app_value, list) and app_value and floor_value:
        _same_shape(app_value[0], floor_value[0])
    elif app_value is not None and floor_value is not None:
        assert type(app_value) is type(floor_value), (app_value, floor_value)


def test_the_floor_answers_the_apps_wire_shapes_for_the_same_bodies(
    bench_app, seeded, postgres_url, monkeypatch
):
    """bench/floor_app.py is only a fair floor if the same signed bodies get the same shapes
    back (checkout 0 validates what order 0 redeems), and a bad signature is refused first."""
    client = bench_app.test_client()
    registration = signed(
        REGISTRATION_PATH, registration_body(seeded.api_key), seeded.webhook_secret
    )
    answer = client.post(REGISTRATION_PATH, data=registration.body, headers=registration.headers)
    paths = endpoint_paths(answer.get_json(), PUBLIC_HOST)
    app_pools, floor_pools = (
        build_pools(seeded, programs_size=1, checkout_size=1, run_tag=tag, rng=random.Random(3))
        for tag in ("app", "floor")
    )
    monkeypatch.setenv("FLOOR_DATABASE_URL", postgres_url)
    monkeypatch.setenv("FLOOR_TENANT_ID", str(seeded.tenant_id))
    monkeypatch.setenv("FLOOR_WEBHOOK_SECRET", seeded.webhook_secret)
    monkeypatch.setattr(floor_app, "_state", {})
    floor = floor_app.app.test_client()
    try:
        for endpoint in ("programs", "validate", "order"):
            answers = []
            for server, pools in ((client, app_pools), (floor, floor_pools)):
                body = getattr(pools, endpoint)[0]
                request = signed(paths[endpoint], body, seeded.webhook_secret)
                response = server.post(request.path, data=request.body, headers=request.headers)
                assert response.status_code == 200, (endpoint, response.get_data(as_text=True))
                answers.append(response.get_json())
            app_answer, floor_answer = answers
            if endpoint != "order":
                ids = [item["programId"] for item in app_answer]
                assert ids == [item["programId"] for item in floor_answer]
            _same_shape(app_answer, floor_answer)
        forged = signed(paths["programs"], floor_pools.programs[0], "not-the-secret")
        refused = floor.post(forged.path, data=forged.body, headers=forged.headers)
        assert refused.status_code == 401
    finally:
        if floor_app._state:
            floor_app._state["conn"].close()


def test_checkouts_have_their_own_sessions_and_order_ids(seeded):
    pools = build_pools(
        seeded, programs_size=5, checkout_size=40, run_tag="ids", rng=random.Random(5)
    )
    sessions = {json.loads(body)["sessionId"] for body in pools.validate}
    order_ids = {json.loads(body)["orderId"] for body in pools.order}
    assert len(sessions) == len(order_ids) == 40
    for body in pools.order:
        order = json.loads(body)
        assert order["paymentAmount"] == order["subTotal"] + order["discountTotal"] >= 0


def test_pool_lines_keep_the_signed_bytes_and_refuse_multiline_bodies(scratch_dir):
    body = b'{"a":"caf\xc3\xa9"}'
    request = signed("/x?y=1", body, "secret")
    path = scratch_dir / "p.pool"
    write_pool(path, [request])
    method, url, *headers, sent = path.read_bytes().rstrip(b"\n").split(b"\t")
    assert (method, url, sent) == (b"POST", b"/x?y=1", body)
    assert f"{SIGNATURE_HEADER}: {request.headers[SIGNATURE_HEADER]}".encode() in headers
    with pytest.raises(ValueError):
        write_pool(path, [PooledRequest("POST", "/x", {}, b'{\n"a":1}')])


def test_wrk_summary_line_is_read_with_its_failures():
    output = (
        "Running 1s test @ http://127.0.0.1:1\n"
        'BENCH_RESULT {"requests":2000,"duration_us":2000000,"bytes":1,'
        '"errors":{"connect":0,"read":1,"write":0,"status":3,"timeout":0},'
        '"latency_us":{"min":100,"mean":950.5,"max":9000,"p50":800,"p90":1500,"p99":4200,'
        '"p999":8000},"non2xx":3,"repeats":0}\n'
        'BENCH_SAMPLE 401 {"error":"bad signature"}\n'
    )
    result = parse_wrk_output(output)
    assert result.requests_per_s == 1000.0
    assert (result.p50_ms, result.p99_ms) == (0.8, 4.2)
    assert result.non2xx == 3 and result.socket_errors["read"] == 1
    assert result.samples == ['401 {"error":"bad signature"}']


def test_the_campaign_bench_initialises_every_account_and_ticks_idle(bench_app):
    report = campaigns_bench.measure(bench_app, 150)
    assert report["accounts"] == 150
    assert report["raw_insert_s"] > 0 and report["initialise_s"] > 0
    assert not any(report["tick_counts"].values())  # nothing to do
    assert "idle tick over 150 memberships" in campaigns_bench.format_report(report)
    with bench_app.app_context():
        members = db.session.execute(
            text("SELECT state_id, count(*) FROM campaign_memberships GROUP BY state_id")
        ).all()
    assert [tuple(row) for row in members] == [("wait", 150)]


def test_the_stats_bench_writes_consistent_history_and_rebuilds_it(bench_app):
    now = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)
    seeded = stats_bench.seed(bench_app, accounts=300, ledger=3_000, now=now)
    assert seeded.counts["accounts"] == 300
    # Sized from the ledger asked for (random draws: 300 accounts vary by a quarter or so; a
    # million land within 4 %), guests about a fifth of the orders.
    assert 1_800 <= seeded.counts["ledger_entries"] <= 4_200
    assert 0.1 <= seeded.counts["guest_orders"] / seeded.counts["orders"] <= 0.3
    with bench_app.app_context():
        assert stats_bench.check_consistency(seeded.tenant_id) == {
            "mismatched_balances": 0,
            "negative_balances": 0,
        }
        facts = db.session.execute(
            text(
                "SELECT "
                "(SELECT count(*) FROM accounts a WHERE a.tenant_id = :t AND a.first_order_at IS "
                "DISTINCT FROM (SELECT min(ordered_at) FROM orders o WHERE o.account_id = a.id "
                "AND o.status = 'placed')), "
                "(SELECT count(DISTINCT location_id) FROM orders WHERE tenant_id = :t), "
                "(SELECT min(ordered_at) >= :start AND max(ordered_at) <= :now FROM orders "
                "WHERE tenant_id = :t), "
                "(SELECT count(DISTINCT kind) FROM ledger_entries WHERE tenant_id = :t), "
                "(SELECT count(*) FROM ledger_entries WHERE tenant_id = :t AND kind = 'redeem' "
                "AND reward_id IS NULL), "
                "(SELECT count(*) FROM segments WHERE tenant_id = :t), "
                "(SELECT count(*) FROM campaigns WHERE tenant_id = :t "
                "AND initialized_at IS NOT NULL), "
                "(SELECT count(DISTINCT status) FROM coupons WHERE tenant_id = :t), "
                "(SELECT time_zone FROM tenants WHERE id = :t)"
            ),
            {"t": seeded.tenant_id, "start": now - timedelta(days=3 * 365), "now": now},
        ).one()
        db.session.remove()
    *fixed, statuses, zone = facts
    assert (*fixed, zone) == (0, 5, True, 5, 0, 3, 2, "Europe/Brussels")
    # USED and EXPIRED always; ACTIVE only if one of 300 accounts joined the campaign lately.
    assert statuses >= 2

    rollups = stats_bench.time_rollups(bench_app, seeded.tenant_id, now)
    assert rollups["rebuild_days"] > 1_000 and rollups["refresh_s"] is not None
    today = now.date()
    plan = stats_bench.pages(today, "ghent-korenmarkt", seeded.campaign)
    assert "/stats/?range=90d&location=ghent-korenmarkt" in [page.path for page in plan]
    assert [page.label for page in plan if page.target] == [
        "overview 90d",
        "overview 90d, 1 location",
        "segments 90d",
        "overview.csv 90d",
        "API campaign 90d",
        "API segments 90d",
    ]
    assert stats_bench.percentile([5.0, 1.0, 3.0], 0.5) == 3.0


def test_the_exports_bench_copies_the_rows_the_services_stream(bench_app):
    seeded = exports_bench.seed(bench_app, 200)
    with bench_app.app_context():
        tenant = db.session.get(Tenant, seeded["tenant_id"])
        raw = exports_bench.raw_copy(exports_bench.RAW_DASHBOARD, tenant.id)
        raw_api = exports_bench.raw_copy(exports_bench.RAW_API, tenant.id)
        service = exports_bench.timed(export_csv(ExportSpec(tenant, SearchCriteria()), bom=True))
        api = exports_bench.timed(account_csv(tenant.id, AccountFilter(), datetime.now(UTC)))
        orders = db.session.scalar(text("SELECT count(*) FROM orders"))
        db.session.remove()
    assert raw[0] == raw_api[0] == service[0] == api[0] == 200
    assert orders > 60  # a third of the accounts ordered, one to three times
