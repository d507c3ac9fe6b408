"""The simulator's `sso` scenario: Deliverect's side of single sign-on, in-process and against a
real server started in a thread (through `flask loyalty simulate` too)."""

from __future__ import annotations

import json
import threading

import pytest
from werkzeug.serving import make_server

from loyalty.extensions import db
from loyalty.models import SsoToken
from loyalty.webhooks.simulator import Simulator, app_transport
from tests.support.accounts import customer
from tests.support.sso import code_for, turn_on_sso

STEPS = [
    "register",
    "register again (same URLs)",
    "exchange the guest's code",
    "get customer with the access token",
    "the same code again",
    "a wrong client secret",
    "get customer with a wrong access token",
]


@pytest.fixture()
def ann(tenant):
    return customer(tenant, email="ann@example.com", first_name="Ann")


@pytest.fixture()
def server(app):
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


def failures(exchanges) -> list:
    return [(e.step, e.problems, e.response_body) for e in exchanges if not e.ok]


def in_process_simulator(app, tenant, ann) -> Simulator:
    """The simulator playing Deliverect against this app, SSO on, with a code for Ann."""
    shop = turn_on_sso(tenant).shop
    return Simulator(
        "https://loyalty.example.com",
        tenant.issued.api_key,
        tenant.issued.webhook_secret,
        app_transport(app),
        sso_code=code_for(ann, shop),
        sso_customer="ann@example.com",
    )


def test_sso_scenario_in_process(app, client, tenant, ann):
    simulator = in_process_simulator(app, tenant, ann)
    exchanges = simulator.run("sso")
    assert failures(exchanges) == []
    assert [e.step for e in exchanges] == STEPS
    assert simulator.ok
    db.session.expire_all()
    assert db.session.query(SsoToken).count() == 1


def test_the_exchanges_shown_carry_no_api_key_and_no_guests_details(app, client, tenant, ann):
    simulator = in_process_simulator(app, tenant, ann)
    shown = json.dumps([(e.request_body, e.response_body) for e in simulator.run("sso")])
    assert simulator.ok
    for private in (tenant.issued.api_key, "ann@example.com", '"Ann"'):
        assert private not in shown


def test_sso_scenario_against_a_live_server(server, tenant, ann):
    shop = turn_on_sso(tenant).shop
    simulator = Simulator(
        server,
        tenant.issued.api_key,
        tenant.issued.webhook_secret,
        sso_code=code_for(ann, shop),
        sso_customer="ann@example.com",
    )
    assert failures(simulator.run("sso")) == []
    assert simulator.urls["oauthUrl"] == f"{server}/webhooks/deliverect/oauth"


def test_the_cli_mints_a_code_for_the_customer_and_plays_the_exchange(server, runner, tenant, ann):
    turn_on_sso(tenant)
    args = ["loyalty", "simulate", "--url", server, "--api-key", tenant.issued.api_key]
    args += ["--secret", tenant.issued.webhook_secret, "--scenario", "sso"]
    result = runner.invoke(args=[*args, "--customer", "ann@example.com"])
    assert result.exit_code == 0, result.output
    assert "[ok] exchange the guest's code: POST" in result.output
    assert "[ok] the same code again" in result.output
    assert "exchanges follow the contract" in result.output
    db.session.refresh(tenant)
    assert tenant.sso_client_secret not in result.output  # printed as [hidden]
    assert '"oauthClientSecret":"[hidden]"' in result.output
    assert tenant.issued.api_key not in result.output and '"apiKey":"[hidden]"' in result.output
    # The real guest's profile is printed as the call log keeps it.
    assert "ann@example.com" not in result.output and '"email":"[redacted]"' in result.output
    assert runner.invoke(args=args).exit_code == 2  # neither --customer nor --code
    unknown = runner.invoke(args=[*args, "--customer", "nobody@example.com"])
    assert unknown.exit_code == 1 and "has no customer nobody@example.com" in unknown.output


def test_without_sso_the_scenario_reports_what_registration_lacks(app, client, tenant, ann):
    simulator = Simulator(
        "https://loyalty.example.com",
        tenant.issued.api_key,
        tenant.issued.webhook_secret,
        app_transport(app),
        sso_code="any",
    )
    exchanges = simulator.run("sso")
    assert not simulator.ok
    assert exchanges[0].problems == [
        "with single sign-on on, registration must answer "
        "oauthUrl, oauthClientId, oauthClientSecret"
    ]


def test_a_token_naming_another_guest_fails_the_scenario(app, client, tenant, ann):
    shop = turn_on_sso(tenant).shop
    simulator = Simulator(
        "https://loyalty.example.com",
        tenant.issued.api_key,
        tenant.issued.webhook_secret,
        app_transport(app),
        sso_code=code_for(ann, shop),
        sso_customer="zoe@example.com",
    )
    simulator.run("sso")
    [failed] = [e for e in simulator.exchanges if not e.ok]
    assert failed.step == "get customer with the access token"
    assert failed.problems == ["the token must name the guest zoe@example.com"]


def test_the_integration_pages_test_calls_never_show_the_sso_secret(server, owner_client, tenant):
    turn_on_sso(tenant)
    response = owner_client.post(
        "/integration/test-calls", data={"api_key": tenant.issued.api_key, "scenario": "smoke"}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "oauthClientSecret" in page and "[hidden]" in page
    db.session.refresh(tenant)
    assert tenant.sso_client_secret not in page
