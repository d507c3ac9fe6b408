"""Getting API tokens in tests, the way an integrator's app does: issue a client, then ask the
token endpoint (HTTP Basic + X-Tenant, form-encoded) for a token of each kind."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select

from loyalty.api.oauth.resource import principal_from_request
from loyalty.api.principal import Principal
from loyalty.extensions import db
from loyalty.models import Account, OutboxMessage, Tenant, utcnow
from loyalty.services.accounts.sign_in_codes import request_code
from loyalty.services.setup.api_clients import create_client
from tests.support.app import PASSWORD

TOKEN_URL = "/auth-oauth2/oauth/token"
CODE_URL = "/auth-oauth2/oauth/code"


def new_client(
    tenant: Tenant,
    roles: Sequence[str] = ("ROLE_LOYALTY",),
    kind: str = "service",
    name: str = "test client",
) -> tuple[str, str]:
    """A new API client of the tenant: (client_id, secret)."""
    issued = create_client(tenant.id, name, roles if kind == "service" else (), kind)
    return issued.client.client_id, issued.client_secret


def basic(client_id: str, secret: str, tenant: Tenant | str | None = None) -> dict[str, str]:
    """Authorization: Basic for the client, and X-Tenant when a tenant is given."""
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}"}
    if tenant is not None:
        headers["X-Tenant"] = tenant if isinstance(tenant, str) else tenant.slug
    return headers


def token_answer(http, tenant: Tenant, client: tuple[str, str], **form: str):
    """POST the token endpoint with the client's Basic credentials and X-Tenant."""
    return http.post(TOKEN_URL, data=form, headers=basic(*client, tenant))


def _token(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def service_token(http, tenant: Tenant, roles: Sequence[str] = ("ROLE_LOYALTY",)) -> str:
    """A client_credentials token of a new service client with `roles`."""
    client = new_client(tenant, roles)
    return _token(token_answer(http, tenant, client, grant_type="client_credentials"))


def staff_token(http, tenant: Tenant, email: str, password: str = PASSWORD) -> str:
    """A team member's token through a new admin-app client (password grant)."""
    client = new_client(tenant, kind="admin-app", name="back office")
    return _token(
        token_answer(
            http,
            tenant,
            client,
            grant_type="password",
            username=email,
            password=password,
            scope="read",
        )
    )


def customer_token(http, tenant: Tenant, account: Account) -> str:
    """A customer's token through a new customer-app client: ask for a one-time code for the
    account's e-mail (else phone), read it from the outbox, then the password grant."""
    client = new_client(tenant, kind="customer-app", name="guest app")
    login = account.email or account.phone
    assert login, "the account needs an e-mail or phone to sign in with a code"
    before = _codes_queued(account)
    response = http.post(CODE_URL, json={"login": login}, headers=basic(*client, tenant))
    assert response.status_code == 202, response.get_data(as_text=True)
    response.close()  # the code is issued once the answer is out
    if _codes_queued(account) == before:
        # Past the hourly limit of codes (a test signing one customer in many times): a code
        # issued as the endpoint would, without the limit.
        config = http.application.config
        request_code(
            tenant.id,
            login,
            now=utcnow(),
            lifetime=timedelta(minutes=config["CUSTOMER_CODE_MINUTES"]),
            per_hour=before + 1,
            per_day=before + 1,
        )
    return _token(
        token_answer(
            http,
            tenant,
            client,
            grant_type="password",
            username=login,
            password=last_code(account),
            scope="read",
        )
    )


def _codes_queued(account: Account) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.account_id == account.id, OutboxMessage.kind == "one_time_code")
    )


def server_codes(app, account_id: int) -> int:
    """How many one-time codes a live server has queued for the account so far."""
    with app.app_context():
        account = db.session.get(Account, account_id)
        return _codes_queued(account)


def next_server_code(app, account_id: int, earlier: int, timeout: float = 10.0) -> str:
    """The code a live server queues for the account once its answer is out: waits until the
    account has more than `earlier` codes, then reads the newest."""
    deadline = time.monotonic() + timeout
    while server_codes(app, account_id) <= earlier:
        assert time.monotonic() < deadline, "the server queued no new one-time code"
        time.sleep(0.05)
    with app.app_context():
        return last_code(db.session.get(Account, account_id))


def last_code(account: Account) -> str:
    """The one-time code most recently queued for the account."""
    message = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.account_id == account.id, OutboxMessage.kind == "one_time_code")
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    assert message is not None, "no one-time code was queued for the account"
    return message.payload["code"]


def bearer(token: str, tenant: Tenant | str) -> dict[str, str]:
    """The headers of an API call with the token."""
    slug = tenant if isinstance(tenant, str) else tenant.slug
    return {"Authorization": f"Bearer {token}", "x-tenant": slug}


def principal_for(app, headers: dict[str, str]) -> Principal:
    """Who the API takes the caller of a request with `headers` to be (raises its ApiError)."""
    with app.test_request_context("/loyalty-api/api/", headers=headers):
        return principal_from_request()
