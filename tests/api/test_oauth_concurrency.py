"""One code or one refresh token used by several requests at the same moment, on PostgreSQL
(each request on its own thread, connection and test client, as parallel workers)."""

from __future__ import annotations

from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.models import ApiToken, Tenant
from loyalty.services.setup.tenants import create_tenant
from tests.support.accounts import customer
from tests.support.api import CODE_URL, basic, last_code, new_client, token_answer
from tests.support.app import at_once

WORKERS = 6


def tokens_issued() -> int:
    return db.session.scalar(select(func.count()).select_from(ApiToken))


def test_one_code_used_at_once_gives_exactly_one_token(pg_api_app):
    tenant, _ = create_tenant("trattoria", "Trattoria Roma")
    ann = customer(tenant, email="ann@example.com")
    guest_app = new_client(tenant, kind="customer-app")
    pg_api_app.test_client().post(
        CODE_URL, json={"login": "ann@example.com"}, headers=basic(*guest_app, tenant)
    ).close()  # the code is issued once the answer is out
    code = last_code(ann)

    def use_code(_: int) -> int:
        here = db.session.get(Tenant, tenant.id)
        return token_answer(
            pg_api_app.test_client(),
            here,
            guest_app,
            grant_type="password",
            username="ann@example.com",
            password=code,
        ).status_code

    statuses = at_once(pg_api_app, use_code, workers=WORKERS)

    assert sorted(statuses) == [200] + [400] * (WORKERS - 1)
    db.session.expire_all()
    assert tokens_issued() == 1


def test_one_refresh_token_used_at_once_gives_exactly_one_new_pair(pg_api_app):
    tenant, _ = create_tenant("trattoria", "Trattoria Roma")
    service = new_client(tenant)
    pair = token_answer(
        pg_api_app.test_client(), tenant, service, grant_type="client_credentials"
    ).get_json()

    def refresh(_: int) -> int:
        here = db.session.get(Tenant, tenant.id)
        return token_answer(
            pg_api_app.test_client(),
            here,
            service,
            grant_type="refresh_token",
            refresh_token=pair["refresh_token"],
        ).status_code

    statuses = at_once(pg_api_app, refresh, workers=WORKERS)

    assert sorted(statuses) == [200] + [400] * (WORKERS - 1)
    db.session.expire_all()
    assert tokens_issued() == 2
