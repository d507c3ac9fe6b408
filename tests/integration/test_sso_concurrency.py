"""One SSO code, or one refresh token, exchanged by several requests at the same moment, on
PostgreSQL (each request on its own thread, connection and test client, as parallel workers)."""

from __future__ import annotations

from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.models import SsoToken
from loyalty.services.setup.tenants import create_tenant
from tests.support.accounts import customer
from tests.support.app import at_once
from tests.support.deliverect import Deliverect
from tests.support.sso import TOKEN_URL, code_for, exchange, turn_on_sso

WORKERS = 6


def tokens_issued() -> int:
    return db.session.scalar(select(func.count()).select_from(SsoToken))


def sso_restaurant(app):
    tenant, credentials = create_tenant("trattoria", "Trattoria Roma")
    tenant.issued = credentials
    Deliverect(app.test_client(), tenant).register()
    return tenant, turn_on_sso(tenant)


def test_one_code_exchanged_at_once_gives_exactly_one_token(pg_app):
    tenant, set_up = sso_restaurant(pg_app)
    code = code_for(customer(tenant, email="ann@example.com"), set_up.shop)

    statuses = at_once(
        pg_app,
        lambda _: exchange(pg_app.test_client(), set_up, code).status_code,
        workers=WORKERS,
    )

    assert sorted(statuses) == [200] + [400] * (WORKERS - 1)
    db.session.expire_all()
    assert tokens_issued() == 1


def test_one_refresh_token_used_at_once_gives_exactly_one_new_pair(pg_app):
    tenant, set_up = sso_restaurant(pg_app)
    code = code_for(customer(tenant, email="ann@example.com"), set_up.shop)
    pair = exchange(pg_app.test_client(), set_up, code).get_json()
    refresh = {
        "grant_type": "refresh_token",
        "client_id": set_up.client_id,
        "client_secret": set_up.client_secret,
        "refresh_token": pair["refresh_token"],
    }

    statuses = at_once(
        pg_app,
        lambda _: pg_app.test_client().post(TOKEN_URL, json=refresh).status_code,
        workers=WORKERS,
    )

    assert sorted(statuses) == [200] + [400] * (WORKERS - 1)
    db.session.expire_all()
    assert tokens_issued() == 2
