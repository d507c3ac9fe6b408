"""Integration page: URLs, links, the call log with filters, and test calls against this server."""

import threading

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import make_server

from loyalty.services.setup.team import create_user
from tests.support.app import PASSWORD
from tests.support.deliverect import Deliverect, add_reward


@pytest.fixture()
def registered(client, tenant):
    channel = Deliverect(client, tenant)
    channel.register()
    return channel


def test_owner_sees_registration_url_webhook_urls_and_links(owner_client, registered, tenant):
    page = owner_client.get("/integration/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "https://loyalty.example.com/webhooks/deliverect/registration" in html
    assert "https://loyalty.example.com/webhooks/deliverect/programs/validate" in html
    assert registered.ids["accountId"] in html
    assert tenant.api_key_hint in html
    assert tenant.issued.webhook_secret not in html
    assert "Send test calls" in html


def test_call_log_shows_latency_and_filters_by_endpoint_and_status(owner_client, registered):
    registered.get("/tiers")
    registered.get("/tiers", secret="wrong")
    html = owner_client.get("/integration/").get_data(as_text=True)
    assert "GET tiers" in html and " ms</td>" in html
    failures = owner_client.get("/integration/?status=4xx").get_data(as_text=True)
    assert ">401<" in failures and ">200<" not in failures
    only_registration = owner_client.get("/integration/?endpoint=registration").get_data(
        as_text=True
    )
    assert "POST registration" in only_registration and "GET tiers" not in only_registration


def test_filter_changes_swap_only_the_table_for_htmx(owner_client, registered):
    response = owner_client.get(
        "/integration/?status=2xx", headers={"HX-Request": "true", "HX-Target": "calls"}
    )
    html = response.get_data(as_text=True)
    assert '<div id="calls">' in html and "<html" not in html


def test_call_log_does_not_show_personal_data(owner_client, registered):
    registered.post(
        "/customer", {"email": "secret.person@x.com", "firstName": "Zelda"}, with_ids=True
    )
    html = owner_client.get("/integration/").get_data(as_text=True)
    assert "secret.person@x.com" not in html and "Zelda" not in html


def test_staff_may_look_but_not_send_test_calls(staff_client, registered):
    html = staff_client.get("/integration/").get_data(as_text=True)
    assert "Recent calls" in html and "Send test calls" not in html
    assert staff_client.post("/integration/test-calls", data={"api_key": "x"}).status_code == 403


def test_test_calls_refuse_a_key_that_is_not_the_tenants(owner_client, other_tenant):
    response = owner_client.post(
        "/integration/test-calls", data={"api_key": other_tenant.issued.api_key}
    )
    assert response.status_code == 422
    assert "not your current API key" in response.get_data(as_text=True)


def test_test_calls_need_a_key(owner_client):
    response = owner_client.post("/integration/test-calls", data={"api_key": ""})
    assert response.status_code == 422
    assert "Paste your API key" in response.get_data(as_text=True)


@pytest.fixture()
def live_server(app):
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{http.server_port}"
    try:
        yield app.config["PUBLIC_BASE_URL"]
    finally:
        app.config["PUBLIC_BASE_URL"] = "https://loyalty.example.com"
        http.shutdown()
        thread.join()


def test_send_test_calls_runs_the_simulator_against_this_server(owner_client, tenant, live_server):
    add_reward(tenant, "1", "discount_amount", 100, 200)
    response = owner_client.post(
        "/integration/test-calls", data={"api_key": tenant.issued.api_key, "scenario": "full"}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Passed" in html, html[html.find("test-result") : html.find("test-result") + 3000]
    assert f"POST {live_server}/webhooks/deliverect/registration" in html
    assert "cancel the order" in html
    assert tenant.issued.webhook_secret not in html
    assert response.headers["Cache-Control"] == "no-store"


def test_both_tenants_are_told_when_a_registration_is_refused_for_an_owned_account(
    app, client, tenant, other_tenant, owner
):
    """Item 3: the owner sees the attempt; the refused tenant sees why, without the owner's name."""
    Deliverect(client, tenant, account_id="acctA2", profile_id="profile-of-a").register()
    squatter = Deliverect(client, other_tenant, account_id="acctA2", profile_id="profile-of-b")
    squatter.post("/registration", {**squatter.ids, "apiKey": other_tenant.issued.api_key})

    client.post("/login", data={"email": owner.email, "password": PASSWORD})
    owner_page = client.get("/integration/").get_data(as_text=True)
    assert "Another restaurant tried to register your Deliverect account" in owner_page
    assert "acctA2" in owner_page and "profile-of-b" in owner_page
    assert other_tenant.name not in owner_page
    client.post("/logout")

    other_owner = create_user(other_tenant.id, "owner@burgerbar.test", PASSWORD, role="owner")
    client.post("/login", data={"email": other_owner.email, "password": PASSWORD})
    refused_page = client.get("/integration/").get_data(as_text=True)
    assert "Registration refused" in refused_page
    assert "belongs to another restaurant" in refused_page and "acctA2" in refused_page
    assert tenant.name not in refused_page and tenant.slug not in refused_page


@pytest.fixture()
def outbound(monkeypatch):
    """Every URL the simulator would open over the network, instead of opening it."""
    opened: list[str] = []

    def fake_urlopen(request, timeout=None):
        opened.append(request.full_url)
        raise OSError("no network in this test")

    monkeypatch.setattr("loyalty.webhooks.simulator.urllib.request.urlopen", fake_urlopen)
    return opened


@pytest.mark.parametrize(
    "headers",
    [{"Host": "attacker.example"}, {"X-Forwarded-Host": "attacker.example"}],
    ids=["Host", "X-Forwarded-Host"],
)
def test_test_calls_never_send_the_api_key_to_the_host_the_request_names(
    app, owner_client, tenant, outbound, headers
):
    """Item 10: without PUBLIC_BASE_URL, test calls run against this app in-process."""
    for (_domain, path, name), cookie in list(owner_client._cookies.items()):
        owner_client.set_cookie(name, cookie.value, domain="attacker.example", path=path)
    app.config["PUBLIC_BASE_URL"] = None
    direct = app.wsgi_app
    app.wsgi_app = ProxyFix(direct, x_host=1)  # as behind a proxy (PROXY_FIX_HOPS = 1)
    try:
        response = owner_client.post(
            "/integration/test-calls",
            data={"api_key": tenant.issued.api_key, "scenario": "smoke"},
            headers=headers,
        )
    finally:
        app.wsgi_app = direct
        app.config["PUBLIC_BASE_URL"] = "https://loyalty.example.com"
    assert response.status_code == 200
    assert outbound == []
    html = response.get_data(as_text=True)
    # The page may still show the request's host in the registration URL; no call goes there.
    assert "POST http://attacker.example" not in html
    assert "Passed" in html, html[html.find("test-result") : html.find("test-result") + 3000]
    assert "POST http://localhost/webhooks/deliverect/registration" in html


def test_test_calls_go_to_the_public_base_url_when_one_is_set(owner_client, tenant, outbound):
    response = owner_client.post(
        "/integration/test-calls",
        data={"api_key": tenant.issued.api_key, "scenario": "smoke"},
        headers={"X-Forwarded-Host": "attacker.example"},
    )
    assert response.status_code == 200
    assert outbound and all(
        url.startswith("https://loyalty.example.com/webhooks/") for url in outbound
    )
