"""The simulator's contract checks, run against a real server started in a thread."""

import threading

import pytest
from werkzeug.serving import make_server

from loyalty.extensions import db
from loyalty.models import Account, Hold
from loyalty.services.wallet.ledger import ledger_sum
from loyalty.webhooks.simulator import Simulator
from tests.support.deliverect import add_reward, add_tier


@pytest.fixture()
def server(app, tenant):
    add_tier(tenant, "Bronze", 0)
    add_tier(tenant, "Gold", 500, 150)
    add_reward(tenant, "1", "discount_amount", 100, 200)
    add_reward(tenant, "2", "free_item", 0, item_plu="SIM-1")
    db.session.commit()
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{http.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    try:
        yield base
    finally:
        app.config["PUBLIC_BASE_URL"] = "https://loyalty.example.com"
        http.shutdown()
        thread.join()


def test_full_scenario_passes_every_contract_check(server, tenant):
    simulator = Simulator(server, tenant.issued.api_key, tenant.issued.webhook_secret)
    exchanges = simulator.run("full")
    failures = [(e.step, e.problems, e.response_body) for e in exchanges if not e.ok]
    assert failures == []
    assert len(exchanges) >= 20
    assert {"register", "order", "cancel the order", "validate programs"} <= {
        e.step for e in exchanges
    }
    db.session.expire_all()
    for account in db.session.query(Account).all():
        assert account.points_balance == ledger_sum(account.id) == 0
    assert db.session.query(Hold).filter_by(status="held").count() == 0


def test_wrong_secret_fails_the_scenario(server, tenant):
    simulator = Simulator(server, tenant.issued.api_key, "not-the-secret")
    simulator.run("full")
    assert not simulator.ok
    assert "expected HTTP 200, got 401" in simulator.exchanges[0].problems


def simulate(runner, server: str, api_key: str, secret: str, scenario: str | None = None):
    """`flask loyalty simulate` against the server, with the default scenario unless named."""
    args = ["loyalty", "simulate", "--url", server, "--api-key", api_key, "--secret", secret]
    return runner.invoke(args=args + (["--scenario", scenario] if scenario else []))


def test_unreachable_server_is_reported_not_raised(tenant):
    simulator = Simulator("http://127.0.0.1:9", tenant.issued.api_key, "s", timeout=2)
    exchanges = simulator.run("full")
    assert len(exchanges) == 1 and "could not reach the server" in exchanges[0].problems[0]


def test_cli_prints_each_exchange_and_exits_non_zero_on_a_violation(server, tenant, runner):
    good = simulate(runner, server, tenant.issued.api_key, tenant.issued.webhook_secret, "full")
    assert good.exit_code == 0, good.output
    assert "[ok] register: POST" in good.output
    assert "exchanges follow the contract" in good.output
    bad = simulate(runner, server, tenant.issued.api_key, "wrong")
    assert bad.exit_code == 1
    assert "[FAIL] register" in bad.output


def test_prune_command_deletes_old_calls(runner, app):
    from datetime import timedelta

    from loyalty.models import WebhookCall, utcnow

    db.session.add_all(
        [
            WebhookCall(
                endpoint="tiers",
                method="GET",
                status=200,
                latency_ms=1,
                created_at=utcnow() - timedelta(days=30),
            ),
            WebhookCall(endpoint="tiers", method="GET", status=200, latency_ms=1),
        ]
    )
    db.session.commit()
    result = runner.invoke(args=["loyalty", "prune-webhook-log"])
    assert "deleted 1 webhook calls" in result.output
    assert db.session.query(WebhookCall).count() == 1
