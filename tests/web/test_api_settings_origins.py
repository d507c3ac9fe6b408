"""Settings → allowed web origins: the pages that may call the API from a browser (CORS)."""

from __future__ import annotations

import time

import pytest

from loyalty.extensions import db
from loyalty.models import Tenant
from loyalty.services.setup.settings import MAX_ALLOWED_ORIGINS, web_origin
from tests.support.forms import errors_for, settings_form


def origins_of(tenant) -> list[str]:
    db.session.expire_all()
    return db.session.get(Tenant, tenant.id).api_allowed_origins


@pytest.mark.parametrize(
    ("typed", "origin"),
    [
        ("https://admin.example.com", "https://admin.example.com"),
        ("  HTTPS://Admin.Example.COM/ ", "https://admin.example.com"),
        ("https://admin.example.com:443", "https://admin.example.com"),
        ("http://localhost:5173", "http://localhost:5173"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("https://münchen.example", "https://xn--mnchen-3ya.example"),
    ],
)
def test_an_origin_is_kept_as_a_browser_sends_it(typed, origin):
    assert web_origin(typed) == origin


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("admin.example.com", "start with https://"),
        ("ftp://admin.example.com", "start with https://"),
        ("null", "start with https://"),
        ("https://admin.example.com/app", "no path"),
        ("https://admin.example.com?x=1", "no path"),
        ("https://admin.example.com#top", "no path"),
        ("https://*.example.com", "no * wildcards"),
        ("https://me:pw@admin.example.com", "leave out user names"),
        ("https://admin.example.com:99999", "port must be a number"),
        ("https://admin.example.com:0", "port must be a number"),
        ("https://-admin.example.com", "not a valid domain name"),
        ("https://[::1", "not an IPv6 address"),
        ("https://" + "a" * 400 + ".com", "at most 300 characters"),
    ],
)
def test_anything_but_scheme_host_and_port_is_refused(typed, problem):
    with pytest.raises(ValueError, match=problem.replace("*", r"\*").replace("?", r"\?")):
        web_origin(typed)


def test_a_huge_line_is_refused_at_once():
    started = time.perf_counter()
    with pytest.raises(ValueError):
        web_origin("https://" + "a." * 500_000 + "com")
    assert time.perf_counter() - started < 0.5


def test_the_owner_saves_origins_one_per_line(owner_client, tenant):
    typed = "https://admin.example.com\n\nHTTP://LOCALHOST:5173\r\nhttps://admin.example.com/\n"
    response = owner_client.post("/settings/allowed-origins", data={"api_allowed_origins": typed})

    assert response.status_code == 303
    assert origins_of(tenant) == ["https://admin.example.com", "http://localhost:5173"]
    page = owner_client.get("/settings/").get_data(as_text=True)
    assert "Allowed web origins saved." in page
    assert "https://admin.example.com\nhttp://localhost:5173</textarea>" in page


def test_emptying_the_list_allows_no_web_page(owner_client, tenant):
    owner_client.post(
        "/settings/allowed-origins", data={"api_allowed_origins": "https://a.example"}
    )
    owner_client.post("/settings/allowed-origins", data={"api_allowed_origins": ""})
    assert origins_of(tenant) == []


def test_bad_lines_are_named_and_nothing_is_saved(owner_client, tenant):
    owner_client.post(
        "/settings/allowed-origins", data={"api_allowed_origins": "https://a.example"}
    )
    typed = "https://b.example\nhttps://b.example/admin\n*"

    response = owner_client.post("/settings/allowed-origins", data={"api_allowed_origins": typed})

    assert response.status_code == 422
    (message,) = errors_for(response, "api_allowed_origins")
    assert message.startswith("line 2: give only scheme, host and port, no path")
    assert "; line 3: start with https://" in message
    assert typed in response.get_data(as_text=True)  # what was typed stays to be corrected
    assert origins_of(tenant) == ["https://a.example"]


def test_at_most_twenty_origins(owner_client, tenant):
    typed = "\n".join(f"https://shop{n}.example" for n in range(MAX_ALLOWED_ORIGINS + 1))
    response = owner_client.post("/settings/allowed-origins", data={"api_allowed_origins": typed})
    assert response.status_code == 422
    assert errors_for(response, "api_allowed_origins") == ["at most 20 origins"]
    assert origins_of(tenant) == []


def test_saving_the_other_settings_keeps_the_origins(owner_client, tenant):
    owner_client.post(
        "/settings/allowed-origins", data={"api_allowed_origins": "https://a.example"}
    )
    assert owner_client.post("/settings/", data=settings_form(name="Roma")).status_code == 303
    assert origins_of(tenant) == ["https://a.example"]


def test_staff_cannot_change_the_origins(staff_client, tenant):
    response = staff_client.post(
        "/settings/allowed-origins", data={"api_allowed_origins": "https://evil.example"}
    )
    assert response.status_code == 403
    assert origins_of(tenant) == []


def test_each_restaurant_has_its_own_list(owner_client, tenant, other_tenant):
    owner_client.post(
        "/settings/allowed-origins", data={"api_allowed_origins": "https://a.example"}
    )
    assert origins_of(other_tenant) == []
