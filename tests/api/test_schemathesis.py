"""schemathesis against a live server: every operation of the OpenAPI document, called with
generated requests (bounded), answers as the document says and never with a 5xx.

The real app runs under gunicorn on a free port, once on SQLite and once on PostgreSQL, its
database seeded through the services: a restaurant, a service client holding all four roles,
a customer signed in through the real one-time-code flow, an account with a card, a running
campaign whose coupon it holds and a push it registered. The schema is loaded from the live
/loyalty-api/api/openapi.json; customer operations are called with the customer's token, the
others with the service's, one request in ten with none. schemathesis generates valid and
invalid requests; half get the real ids in their path and query, so the answers include found
objects as well as 400s and 404s. The figures are printed at the end (pytest -s shows them).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine, make_url, text

from loyalty.api.operations import OPERATIONS, Access
from loyalty.extensions import db
from loyalty.models import utcnow
from loyalty.services.campaigns.pushes import register_push
from loyalty.services.campaigns.store import save_campaign
from loyalty.services.setup.api_clients import create_client
from loyalty.services.setup.tenants import create_tenant
from tests.support.accounts import customer
from tests.support.api import CODE_URL, TOKEN_URL, basic, next_server_code, server_codes
from tests.support.app import make_app
from tests.support.campaigns import coupons_of, running, welcome_series
from tests.support.postgres import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ALL_ROLES = ("ROLE_SU", "ROLE_LOYALTY", "ROLE_LOYALTY_CAMPAIGN", "ROLE_LOYALTY_STATS")
# Generated requests per operation and database: the whole file takes about a minute on two
# cores (2 x 30 x 40 requests).
MAX_EXAMPLES = 40
# gunicorn refuses request lines longer than 4094 bytes itself, in HTML, before the app.
GUNICORN_LIMIT = "Request Line is too large"
SCHEMATHESIS_DATABASE = "loyalty_schemathesis"
make_app("sqlite://")  # registers every operation, so that each can be a test of its own
OPERATION_IDS = sorted(OPERATIONS)
PUSH = "spring-push"
DRAFTS = ("to-delete", "to-start")
KNOWN_GOOD = {
    "deleteCampaign": [{"path_parameters": {"campaign": "to-delete"}}],
    "initializeCampaign": [{"path_parameters": {"campaign": "to-start"}}],
    "putCampaign": [
        {"path_parameters": {"campaign": "autumn"}, "body": welcome_series(id="autumn")}
    ],
    "postCampaign": [{"body": welcome_series(id="winter")}],
    "pushClick": [{"path_parameters": {"campaign": "welcome"}, "body": PUSH}],
    "globalCampaignStats": [{"query": {"name": "welcome"}}],
    "campaignStats": [{"query": {"name": "welcome", "from": "2026-06-01", "to": "2026-06-30"}}],
    "segmentStats": [{"query": {"from": "2026-06-01T00:00:00+02:00"}}],
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass
class LiveApi:
    url: str
    tenant: str
    service_token: str
    customer_token: str
    # Real ids mixed into the generated requests.
    known: dict[str, str]
    database: str
    calls: Counter = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)

    def headers_for(self, operation_id: str) -> dict[str, str]:
        for_customer = OPERATIONS[operation_id].access is Access.CUSTOMER
        token = self.customer_token if for_customer else self.service_token
        return {"Authorization": f"Bearer {token}", "x-tenant": self.tenant}


def _seed(database_url: str) -> tuple[dict, Flask]:
    """The restaurant and its data, written through the services into the server's database."""
    app = make_app(database_url)
    with app.app_context():
        db.create_all()
        tenant, _credentials = create_tenant("trattoria", "Trattoria Roma")
        service = create_client(tenant.id, "schemathesis", ALL_ROLES, "service")
        guest_app = create_client(tenant.id, "guest app", (), "customer-app")
        ann = customer(
            tenant,
            external_id="ann-1",
            card="4000123",
            email="ann@example.com",
            first_name="Ann",
            tags=["vip"],
        )
        running(tenant, welcome_series(), utcnow())
        for draft in DRAFTS:
            save_campaign(tenant.id, welcome_series(id=draft), utcnow())
        register_push(tenant.id, "welcome", PUSH, utcnow(), title="Spring is here")
        (coupon,) = coupons_of(ann)
        seeded = {
            "tenant": tenant.slug,
            "service": (service.client.client_id, service.client_secret),
            "guest_app": (guest_app.client.client_id, guest_app.client_secret),
            "account_id": ann.id,
            "known": {
                "campaign": "welcome",
                "account": "ann-1",
                "card": "4000123",
                "coupon": coupon.code,
            },
        }
        db.engine.dispose()
    return seeded, app


def _wait_until_up(server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url, timeout=10)
            return
        except requests.ConnectionError:
            assert server.poll() is None, "the server stopped: see its log"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)


def _token(url: str, tenant: str, client: tuple[str, str], **form: str) -> str:
    answer = requests.post(url + TOKEN_URL, data=form, headers=basic(*client, tenant), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def _customer_token(url: str, seeded: dict, app) -> str:
    """Through the real one-time-code flow: ask for a code, read it from the outbox, sign in."""
    tenant, guest_app = seeded["tenant"], seeded["guest_app"]
    earlier = server_codes(app, seeded["account_id"])
    asked = requests.post(
        url + CODE_URL,
        json={"login": "ann@example.com"},
        headers=basic(*guest_app, tenant),
        timeout=10,
    )
    assert asked.status_code == 202, asked.text
    code = next_server_code(app, seeded["account_id"], earlier)
    with app.app_context():
        db.engine.dispose()
    return _token(
        url,
        tenant,
        guest_app,
        grant_type="password",
        username="ann@example.com",
        password=code,
        scope="read",
    )


def _fresh_postgres_database(server_url: str) -> str:
    """A database of its own on the session's PostgreSQL server (the others' tests empty theirs
    between tests; this one keeps its data for the whole run)."""
    url = make_url(server_url)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {SCHEMATHESIS_DATABASE}"))
        connection.execute(text(f"CREATE DATABASE {SCHEMATHESIS_DATABASE}"))
    engine.dispose()
    return url.set(database=SCHEMATHESIS_DATABASE).render_as_string(hide_password=False)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_api(request, tmp_path_factory) -> Iterator[LiveApi]:
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'loyalty.db'}"
    else:
        database_url = _fresh_postgres_database(request.getfixturevalue("postgres_url"))
    seeded, app = _seed(database_url)
    log = (tmp_path_factory.mktemp("schemathesis-server") / "gunicorn.log").open("w")
    port = free_port()
    env = {
        **os.environ,
        "LOYALTY_DATABASE_URL": database_url,
        "LOYALTY_SECRET_KEY": "schemathesis-secret-key",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "app:app",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(server, url + "/loyalty-api/api/openapi.json")
        yield LiveApi(
            url=url,
            tenant=seeded["tenant"],
            service_token=_token(
                url, seeded["tenant"], seeded["service"], grant_type="client_credentials"
            ),
            customer_token=_customer_token(url, seeded, app),
            known=seeded["known"],
            database=request.param,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def api_schema(live_api: LiveApi):
    return schemathesis.openapi.from_url(live_api.url + "/loyalty-api/api/openapi.json")


@pytest.fixture(scope="module")
def findings(live_api: LiveApi) -> Iterator[list[str]]:
    """Every failed check, over the whole run (printed with the figures at the end)."""
    found: list[str] = []
    yield found
    cases = sum(live_api.calls.values())
    statuses: Counter = Counter()
    by_operation: dict[str, Counter] = {}
    for (operation_id, status), count in live_api.calls.items():
        statuses[status] += count
        by_operation.setdefault(operation_id, Counter())[status] += count
    print(
        f"\nschemathesis on {live_api.database}: {len(live_api.operations)} operations, "
        f"{cases} cases, {len(found)} failures; statuses {dict(sorted(statuses.items()))}"
    )
    for operation_id, counts in sorted(by_operation.items()):
        print(f"  {operation_id}: {dict(sorted(counts.items()))}")


def _with_known_ids(case, known: dict[str, str]):
    """The case with the real campaign, account, card and coupon where it names one (a stats
    query names its campaign `name`)."""
    for name in case.path_parameters:
        if name in known:
            case.path_parameters[name] = known[name]
    for name, known_as in (("coupon", "coupon"), ("account", "account"), ("name", "campaign")):
        if name in (case.query or {}):
            case.query[name] = known[known_as]
    return case


def _describe(case, response, problem: Exception) -> str:
    request = response.request
    body = (
        request.body.decode(errors="replace") if isinstance(request.body, bytes) else request.body
    )
    return (
        f"{case.operation.label}: {request.method} {request.url} body={str(body)[:300]!r} -> "
        f"{response.status_code} {response.headers.get('Content-Type')} "
        f"{response.text[:300]!r}: {str(problem)[:600]}"
    )


def test_every_operation_of_the_document_is_tested(api_schema, live_api: LiveApi):
    documented = {
        result.ok().definition.raw["operationId"] for result in api_schema.get_all_operations()
    }
    assert documented == set(OPERATION_IDS)
    live_api.operations.update(documented)


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_operation_answers_as_documented(
    operation_id: str, api_schema, live_api: LiveApi, findings: list[str]
):
    (operation,) = [
        result.ok()
        for result in api_schema.get_all_operations()
        if result.ok().definition.raw["operationId"] == operation_id
    ]
    generated = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    cases = st.one_of(generated, generated.map(lambda case: _with_known_ids(case, live_api.known)))
    headers = live_api.headers_for(operation_id)
    failed: list[str] = []

    def check(case, sent: dict[str, str] = headers) -> int:
        response = case.call(headers=sent, timeout=30)
        live_api.calls[(operation_id, response.status_code)] += 1
        if response.status_code == 414 and GUNICORN_LIMIT in response.text:
            return response.status_code  # gunicorn's own refusal of a URL over 4094 bytes
        try:
            case.validate_response(response, checks=CHECKS, headers=sent)
        except (AssertionError, FailureGroup) as problem:
            failed.append(_describe(case, response, problem))
        return response.status_code

    # What random requests almost never get right (a campaign's states must chain, a click needs
    # a registered push, only a draft may be deleted or started) is also sent as an integrator
    # would, to check the success answers too.
    for request in KNOWN_GOOD.get(operation_id, ()):
        status = check(operation.Case(media_type="application/json", **request))
        assert status < 300, f"{operation_id} refused {request}: {status}"

    sent = itertools.count(1)

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],  # no shrinking: each failure is reported as it was found
        suppress_health_check=list(HealthCheck),
    )
    @given(cases)
    def generated_requests(case):
        # One request in ten goes without a token, to check the documented 401.
        check(case, headers if next(sent) % 10 else {"x-tenant": live_api.tenant})

    generated_requests()
    findings.extend(failed)
    assert not failed, "\n".join(failed)
