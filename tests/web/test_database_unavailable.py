"""When the database cannot be reached, every door answers 503 in its own shape with
Retry-After, and says so once in the log; a statement the database refuses is still a 500.

The unreachable database is a real PostgreSQL URL whose port nothing listens on: the driver
really fails to connect, as when the server is down or restarting.
"""

from __future__ import annotations

import logging
import time

import pytest
from joserfc import jwt

from loyalty.api.oauth.signing import ALGORITHM, signing_key
from loyalty.errors import RETRY_AFTER_SECONDS
from tests.support.app import PASSWORD, make_app
from tests.support.postgres import free_port

UNREACHABLE = f"postgresql+psycopg://loyalty@127.0.0.1:{free_port()}/loyalty"


@pytest.fixture()
def down():
    return make_app(UNREACHABLE)


def _retry_after(response) -> str:
    return response.headers["Retry-After"]


def test_a_deliverect_webhook_answers_503_in_the_deliverect_error_shape(down):
    response = down.test_client().post(
        "/webhooks/deliverect/orders",
        json={"accountId": "a", "loyaltyProfileId": "p", "orderId": "T1"},
    )
    assert response.status_code == 503
    assert _retry_after(response) == str(RETRY_AFTER_SECONDS)
    body = response.get_json()
    assert body["error"] == "service_unavailable"
    assert body["http_code"] == 503
    assert "try again" in body["description"].lower()


def test_the_api_answers_503_in_its_error_shape(down):
    with down.app_context():
        claims = {"exp": int(time.time()) + 600, "jti": "j1", "tenant": "trattoria"}
        token = jwt.encode({"alg": ALGORITHM}, claims, signing_key())
    response = down.test_client().get(
        "/loyalty-api/api/accounts/count",
        headers={"Authorization": f"Bearer {token}", "X-Tenant": "trattoria"},
    )
    assert response.status_code == 503
    assert _retry_after(response) == str(RETRY_AFTER_SECONDS)
    body = response.get_json()
    assert body["error"] == "unavailable"
    assert body["field"] is None
    assert "try again" in body["message"].lower()


def test_a_guest_page_answers_a_503_page(down):
    response = down.test_client().get("/m/trattoria/sign-in")
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert _retry_after(response) == str(RETRY_AFTER_SECONDS)
    assert "try again" in response.get_data(as_text=True).lower()


def test_a_signed_in_dashboard_page_answers_a_503_page(down):
    client = down.test_client()
    with client.session_transaction() as session:
        # A team member signed in on this browser: who they are is read from the database.
        session["_user_id"] = "1:a-session-token"
    response = client.get("/")
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert _retry_after(response) == str(RETRY_AFTER_SECONDS)
    assert "try again" in response.get_data(as_text=True).lower()


def test_signing_in_logs_one_line_without_the_password(down, caplog):
    caplog.set_level(logging.INFO)
    response = down.test_client().post(
        "/login", data={"email": "owner@trattoria.test", "password": PASSWORD}
    )
    assert response.status_code == 503
    assert [r.levelname for r in caplog.records if r.name == "loyalty.errors"] == ["WARNING"]
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_statement_the_database_refuses_is_still_an_internal_error(tmp_path):
    """SQLite with no tables: the database is there and says "no such table", a bug that
    trying again would not fix."""
    broken = make_app(f"sqlite:///{tmp_path / 'empty.db'}")
    response = broken.test_client().post(
        "/webhooks/deliverect/orders",
        json={"accountId": "a", "loyaltyProfileId": "p", "orderId": "T1"},
    )
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_error"
    assert "Retry-After" not in response.headers
    page = broken.test_client().get("/m/trattoria/sign-in")
    assert page.status_code == 500
    assert "Retry-After" not in page.headers
