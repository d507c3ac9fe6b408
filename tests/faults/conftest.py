"""One restaurant served by gunicorn on a PostgreSQL server of its own, for every fault test:
they kill workers and restart that server, so neither is the session's shared one."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from loyalty import create_app
from loyalty.extensions import db
from loyalty.services.setup.api_clients import create_client
from loyalty.services.setup.team import create_user
from loyalty.services.setup.tenants import create_tenant
from tests.support.api import TOKEN_URL, basic
from tests.support.app import PASSWORD
from tests.support.deliverect import add_reward, checkout_customer
from tests.support.faults import Channel, Gunicorn, signed_post
from tests.support.postgres import TemporaryPostgres

SLUG = "trattoria"
OWNER = "owner@trattoria.test"
CUSTOMERS = 12
OPENING_POINTS = 100_000  # plenty: no cancel ever turns into debt


@dataclass
class Site:
    postgres: TemporaryPostgres
    server: Gunicorn
    engine: Engine  # the test's own view of the books
    channel: Channel
    customers: list[str]  # their loyaltyProviderCustomerIds
    api_token: str
    dashboard_cookie: str  # a signed-in owner's session


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    postgres = TemporaryPostgres()
    url = postgres.start()
    server = None
    try:
        channel_ids = {"accountId": "faults-account", "loyaltyProfileId": "faults-profile"}
        secret, api_key, client, customers = _seed(url)
        server = Gunicorn(url, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log")
        registered = signed_post(
            server.base_url,
            "/webhooks/deliverect/registration",
            {**channel_ids, "apiKey": api_key},
            secret,
        )
        assert registered.status == 200, registered.body
        channel = Channel(server.base_url, secret, channel_ids, "1", "5 off", 500)
        engine = create_engine(url, pool_pre_ping=True)
        yield Site(
            postgres,
            server,
            engine,
            channel,
            customers,
            _api_token(server.base_url, *client),
            _dashboard_cookie(server.base_url),
        )
        engine.dispose()
    finally:
        if server is not None:
            server.stop()
        postgres.stop()


def _seed(url: str) -> tuple[str, str, tuple[str, str], list[str]]:
    """Schema, the restaurant, its owner, an API client, one reward and CUSTOMERS customers."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "faults-seeding"})
    with app.app_context():
        db.create_all()
        tenant, issued = create_tenant(SLUG, "Trattoria Roma")
        create_user(tenant.id, OWNER, PASSWORD, role="owner", name="Olivia Owner")
        api = create_client(tenant.id, "faults", ("ROLE_LOYALTY",), "service")
        add_reward(tenant, "1", "discount_amount", cost=100, value=500, title="5 off")
        customers = [
            checkout_customer(tenant, OPENING_POINTS, first_name="Guest", email=f"g{n}@x.test")
            for n in range(CUSTOMERS)
        ]
        answer = (
            issued.webhook_secret,
            issued.api_key,
            (api.client.client_id, api.client_secret),
            [customer.external_id for customer in customers],
        )
        db.session.remove()
        db.engine.dispose()
    return answer


def _api_token(base_url: str, client_id: str, secret: str) -> str:
    request = urllib.request.Request(
        base_url + TOKEN_URL,
        data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
        headers=basic(client_id, secret, SLUG),
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["access_token"]


def _dashboard_cookie(base_url: str) -> str:
    """Sign the owner in through the login form (CSRF token and all); the session cookie."""
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with browser.open(base_url + "/login", timeout=10) as page:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.read().decode())[1]
    form = {"email": OWNER, "password": PASSWORD, "csrf_token": token}
    with browser.open(base_url + "/login", urllib.parse.urlencode(form).encode(), timeout=10):
        pass
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)
