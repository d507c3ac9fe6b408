"""Dashboard forms as a browser posts them, and the inline errors a page shows."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

from flask.testing import FlaskClient

from tests.support.app import PASSWORD, make_app


def errors_for(response, field_id: str) -> list[str]:
    """The inline errors rendered next to one field."""
    page = response.get_data(as_text=True)
    block = re.search(rf'<div class="field[^"]*" id="field-{field_id}">(.*?)</div>', page, re.S)
    assert block, f"no field {field_id} on the page"
    return [html.unescape(text) for text in re.findall(r'<p class="error">(.*?)</p>', block[1])]


def csrf_token(page: str) -> str:
    """The CSRF token a page's form (or button form) carries."""
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page)[1]


@contextmanager
def signed_in_checking_csrf(database_url: str, email: str) -> Iterator[FlaskClient]:
    """A client of an app that checks CSRF tokens, as a browser would, signed in as `email`."""
    app = make_app(database_url, WTF_CSRF_ENABLED=True)
    with app.test_client() as client:
        token = csrf_token(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        yield client


def reward_form(**overrides) -> dict:
    """A complete form as a browser would post it: €2.50 off the order for 100 points."""
    form = {
        "title": "€2.50 off",
        "description": "",
        "type": "discount_amount",
        "fields_for": "discount_amount",
        "value": "2.50",
        "item_plu": "",
        "quantity": "",
        "cost": "100",
        "min_order_value": "",
        "min_tier_id": "",
        "active_from": "",
        "active_to": "",
        "media_url": "",
        "media_type": "image",
    }
    form.update(overrides)
    if "fields_for" not in overrides:
        form["fields_for"] = form["type"]
    return form


def settings_form(**overrides) -> dict:
    """The settings form with the defaults of a new restaurant."""
    return {
        "name": "Trattoria Roma",
        "currency": "EUR",
        "decimal_digits": "2",
        "time_zone": "UTC",
        "points_validity_days": "",
        "max_points_per_order": "10000",
        "max_order_amount": "1000000",
        "adjustment_owner_limit": "1000",
    } | overrides
