"""Settings → Guest pages: the restaurant's colour, logo and terms, and the join page's QR code."""

from __future__ import annotations

import pytest

from loyalty.extensions import db
from loyalty.members.qr import qr_document
from loyalty.models import Tenant
from tests.support.forms import errors_for, settings_form


def saved(tenant) -> Tenant:
    db.session.expire_all()
    return db.session.get(Tenant, tenant.id)


def test_the_look_is_saved_with_the_settings(owner_client, tenant):
    response = owner_client.post(
        "/settings/",
        data=settings_form(
            brand_colour="#A31F34",
            logo_url="https://cdn.roma.example/logo.png",
            terms_url="https://roma.example/terms",
        ),
    )
    assert response.status_code == 303
    row = saved(tenant)
    assert (row.brand_colour, row.logo_url, row.terms_url) == (
        "#a31f34",
        "https://cdn.roma.example/logo.png",
        "https://roma.example/terms",
    )
    owner_client.post("/settings/", data=settings_form())
    assert saved(tenant).brand_colour is None  # emptied: the default colour again


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("brand_colour", "red"),
        ("brand_colour", "#12345"),
        ("brand_colour", "#1234567"),
        ("brand_colour", "#12345g"),
        ("logo_url", "http://cdn.roma.example/logo.png"),
        ("logo_url", "javascript:alert(1)"),
        ("logo_url", "https://"),
        ("logo_url", "https://cdn.roma.example/a b.png"),
        ("logo_url", 'https://cdn.roma.example/"onload="x'),
        ("logo_url", "https://cdn.roma.example;script-src/logo.png"),
        ("terms_url", "ftp://roma.example/terms"),
        ("terms_url", "https://roma.example/" + "t" * 600),
    ],
)
def test_a_colour_or_address_that_cannot_be_used_is_refused(owner_client, tenant, field, value):
    response = owner_client.post("/settings/", data=settings_form(**{field: value}))
    assert response.status_code == 422
    assert errors_for(response, field)
    assert getattr(saved(tenant), field) is None


def test_the_settings_page_shows_the_join_address_and_its_qr_code(owner_client, tenant):
    page = owner_client.get("/settings/").get_data(as_text=True)
    assert 'href="https://loyalty.example.com/m/trattoria/join"' in page
    assert 'src="/settings/join-qr.svg"' in page


def test_the_join_qr_code_is_an_svg_of_the_public_address(owner_client, tenant):
    response = owner_client.get("/settings/join-qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    expected = qr_document("https://loyalty.example.com/m/trattoria/join", "Join Trattoria Roma")
    assert response.data == expected
    assert response.data.startswith(b"<?xml") and b"<svg" in response.data


def test_staff_cannot_open_the_owners_qr_code(staff_client):
    assert staff_client.get("/settings/join-qr.svg").status_code == 403
