"""API isolation: every operation answers 401 without a token and 403 to the wrong kind of token,
to a token without its role and to a token of another restaurant; another restaurant's objects
are missing (404, exactly like an id nobody has) and stay as they were.

Every operation of loyalty.api.operations.OPERATIONS has a row in ROWS: the request to make,
aimed at the other restaurant's objects where it takes one. An operation added without a row,
or a row left for an operation that is gone, fails the coverage test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Response
from sqlalchemy import select

from loyalty.api import PREFIX
from loyalty.api.operations import OPERATIONS, Access, Operation
from loyalty.extensions import db
from loyalty.models import Campaign
from loyalty.models.api import ROLES
from loyalty.services.campaigns.coupons import lock_coupon
from loyalty.services.campaigns.store import save_campaign
from loyalty.time import to_iso, utcnow
from tests.support.accounts import customer
from tests.support.api import (
    bearer,
    customer_token,
    new_client,
    service_token,
    staff_token,
    token_answer,
)
from tests.support.campaigns import coupons_of, running, welcome_series

Objects = SimpleNamespace  # the other restaurant's objects (or ids nobody has) a row aims at


@dataclass(frozen=True)
class Row:
    url: Callable[[Objects], str]  # below PREFIX, with its query
    body: Callable[[Objects], Any] | None = None  # sent as JSON
    # What the request answers with the right token of our restaurant, aimed at theirs: a
    # status (404: not found, like an id nobody has), a check of the answer (lists, upserts),
    # or None when the operation takes no object (my*: the caller's own account).
    across: int | Callable[[Response, Objects], None] | None = 404


def campaign_body(key: str) -> dict:
    return {**welcome_series(), "id": key, "name": "Ours now"}


def made_our_own(response: Response, theirs: Objects) -> None:
    """An upsert with their campaign's id creates our campaign of that id; theirs is untouched."""
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    assert response.get_json()["name"] == "Ours now"
    ours = db.session.scalar(
        select(Campaign).where(Campaign.key == theirs.draft.key, Campaign.tenant_id != theirs.id)
    )
    assert ours is not None


def shows_none_of_theirs(response: Response, theirs: Objects) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.get_data(as_text=True)
    for word in theirs.identifiers:
        assert word not in text


def counts_none(response: Response, _theirs: Objects) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() in (0, {"count": 0})


def counts_only_ours(response: Response, theirs: Objects) -> None:
    """Our one customer (Jane) and none of their two, nor their guest's tag."""
    shows_none_of_theirs(response, theirs)
    assert response.get_json()["total"] == 1
    assert response.get_json()["byTag"] == {}


def unknown_coupon(response: Response, _theirs: Objects) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"valid": False, "coupon": None, "reason": "unknown"}


ROWS: dict[str, Row] = {
    "getCampaign": Row(lambda t: f"/campaign/{t.draft.key}"),
    "putCampaign": Row(
        lambda t: f"/campaign/{t.draft.key}", lambda t: campaign_body(t.draft.key), made_our_own
    ),
    "postCampaign": Row(lambda t: "/campaign", lambda t: campaign_body(t.draft.key), made_our_own),
    "deleteCampaign": Row(lambda t: f"/campaign/{t.draft.key}"),
    "getCampaigns": Row(lambda t: "/campaigns", across=shows_none_of_theirs),
    "previewCampaign": Row(lambda t: f"/campaign/{t.draft.key}/preview"),
    "initializeCampaign": Row(lambda t: f"/campaign/{t.draft.key}/initialize"),
    "finalizeCampaign": Row(lambda t: f"/campaign/{t.campaign.key}/finalize"),
    "registerPush": Row(lambda t: f"/campaign/{t.campaign.key}/push", lambda t: "push-1"),
    "registerPushV2": Row(
        lambda t: f"/v2/campaign/{t.campaign.key}/push",
        lambda t: {"pushId": "push-1", "title": "Stolen"},
    ),
    "pushClick": Row(lambda t: f"/campaign/{t.campaign.key}/push/click", lambda t: "push-1"),
    "message": Row(lambda t: f"/campaign/{t.campaign.key}/message"),
    "coupon": Row(lambda t: f"/campaign/{t.campaign.key}/coupon"),
    "getAccounts": Row(lambda t: "/accounts", across=shows_none_of_theirs),
    "getAccountsCount": Row(
        lambda t: f"/accounts/count?q={t.account.external_id}", across=counts_none
    ),
    "getAccount": Row(lambda t: f"/account/{t.account.external_id}"),
    "getAccountByCard": Row(lambda t: f"/card/{t.account.card}/account"),
    "export": Row(lambda t: "/export/accounts", across=shows_none_of_theirs),
    "contactExport": Row(lambda t: "/export/contacts", across=shows_none_of_theirs),
    "getMyAccount": Row(lambda t: "/my/account", across=None),
    "setMyProfile": Row(lambda t: "/my/profile", lambda t: {"firstName": "Stolen"}, None),
    "setMyProperties": Row(
        lambda t: "/my/properties",
        lambda t: {"properties": {"my_pet": "cat"}, "addTags": ["my_stolen"]},
        None,
    ),
    "getMyCampaigns": Row(lambda t: "/my/campaigns", across=None),
    "postEvent": Row(
        lambda t: "/events",
        lambda t: [
            {
                "id": t.friend.external_id,
                "account": t.account.external_id,
                "type": "FRIEND",
                "ts": to_iso(utcnow()),
            }
        ],
    ),
    "verifyCoupon": Row(lambda t: f"/coupon/verify?coupon={t.coupon.code}", across=unknown_coupon),
    "verifyArbitraryAccountCoupon": Row(
        lambda t: (
            f"/coupon/verify/account?coupon={t.coupon.code}&account={t.account.external_id}"
            "&lock=true"
        )
    ),
    "unlockArbitraryAccountCoupon": Row(
        lambda t: f"/coupon/unlock/account?coupon={t.coupon.code}&account={t.account.external_id}"
    ),
    "globalCampaignStats": Row(lambda t: f"/stats/campaign/global?name={t.campaign.key}"),
    "campaignStats": Row(lambda t: f"/stats/campaign?name={t.campaign.key}"),
    "segmentStats": Row(lambda t: "/stats/segments", across=counts_only_ours),
}

# Ids no restaurant has: their objects must answer exactly as these do.
NOWHERE = Objects(
    id=None,
    draft=SimpleNamespace(key="no-such-draft"),
    campaign=SimpleNamespace(key="no-such-campaign"),
    account=SimpleNamespace(external_id="no-such-account", card="no-such-card"),
    friend=SimpleNamespace(external_id="no-such-friend"),
    coupon=SimpleNamespace(code="NEW2345678ABCD"),
)

# Rows about logins and tokens, which the refused requests may touch, are left out of snapshots.
NOT_SNAPSHOT = {
    "api_clients",
    "api_tokens",
    "customer_codes",
    "login_sessions",
    "login_throttles",
    "job_watermarks",
}


def snapshot(tenant_id: int | None = None) -> dict[str, list[dict]]:
    """Every row (of `tenant_id`, when given) a request could change."""
    db.session.expire_all()
    rows = {}
    for table in db.metadata.sorted_tables:
        if table.name in NOT_SNAPSHOT:
            continue
        query = select(table).order_by(*table.primary_key.columns)
        if tenant_id is not None:
            if "tenant_id" in table.c:
                query = query.where(table.c.tenant_id == tenant_id)
            elif table.name == "tenants":
                query = query.where(table.c.id == tenant_id)
            else:
                continue
        rows[table.name] = [dict(row._mapping) for row in db.session.execute(query)]
    return rows


@pytest.fixture()
def theirs(other_tenant) -> Objects:
    """The other restaurant's objects, built through the services: an account with a card and
    a coupon it has locked at a till, a friend, a running campaign and a draft."""
    now = utcnow()
    guest = customer(
        other_tenant,
        external_id="their-guest",
        card="900000001",
        email="guest@burgerbar.test",
        tags=["vip"],
    )
    friend = customer(other_tenant, external_id="their-friend", email="friend@burgerbar.test")
    campaign = running(
        other_tenant,
        {
            **welcome_series(),
            "id": "their-vips",
            "name": "Their VIPs",
            "constraints": [{"field": "tags.vip", "op": "EXISTS", "value": []}],
        },
        now,
    )
    [coupon] = coupons_of(guest)
    assert lock_coupon(other_tenant.id, coupon.code, now=now).valid
    draft = save_campaign(other_tenant.id, {**welcome_series(), "id": "their-draft"}, now)
    return Objects(
        id=other_tenant.id,
        slug=other_tenant.slug,
        account=guest,
        friend=friend,
        campaign=campaign,
        draft=draft,
        coupon=coupon,
        identifiers=(
            "their-guest",
            "their-friend",
            "900000001",
            "burgerbar.test",
            "their-vips",
            "their-draft",
            "Their VIPs",
            coupon.code,
        ),
    )


@pytest.fixture()
def jane(tenant):
    """Our own customer, who signs in to the customer app."""
    return customer(tenant, external_id="jane-1", email="jane@trattoria.test")


def registered(operation_id: str) -> Operation:
    assert operation_id in OPERATIONS, f"{operation_id} has a row but is not registered"
    return OPERATIONS[operation_id]


def send(http, op: Operation, row: Row, objects: Objects, headers: dict | None) -> Response:
    json = {"json": row.body(objects)} if row.body is not None else {}
    return http.open(PREFIX + row.url(objects), method=op.method.upper(), headers=headers, **json)


def allowed_role(op: Operation) -> str:
    """A role that lets a token in: the operation's first other than ROLE_SU."""
    return next((role for role in op.roles if role != "ROLE_SU"), "ROLE_SU")


def a_role_it_does_not_take(op: Operation) -> str | None:
    return next((role for role in ROLES if role not in op.roles and role != "ROLE_SU"), None)


def anonymous_token(http, tenant) -> str:
    """A guest app's token before anyone signs in (username=anonymous, empty password)."""
    client = new_client(tenant, kind="customer-app", name="guest app")
    response = token_answer(
        http, tenant, client, grant_type="password", username="anonymous", password=""
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def right_token(http, op: Operation, tenant, jane) -> str:
    if op.access is Access.CUSTOMER:
        return customer_token(http, tenant, jane)
    return service_token(http, tenant, roles=(allowed_role(op),))


@pytest.mark.parametrize("operation_id", sorted(ROWS))
def test_only_our_right_token_gets_in_and_only_to_our_objects(
    request, client, tenant, jane, theirs, operation_id
):
    op, row = registered(operation_id), ROWS[operation_id]
    wrong_tokens = [anonymous_token(client, tenant)]
    if op.access is Access.CUSTOMER:
        wrong_tokens += [
            service_token(client, tenant, roles=ROLES),
            staff_token(client, tenant, request.getfixturevalue("owner").email),
        ]
    else:
        wrong_tokens.append(customer_token(client, tenant, jane))
        if (role := a_role_it_does_not_take(op)) is not None:
            wrong_tokens.append(service_token(client, tenant, roles=(role,)))
    token = right_token(client, op, tenant, jane)
    before, theirs_before = snapshot(), snapshot(theirs.id)

    missing = send(client, op, row, theirs, {"x-tenant": tenant.slug})
    assert missing.status_code == 401
    assert missing.get_json()["error"] == "unauthorized"
    assert set(missing.get_json()) >= {"error", "message", "field"}
    for wrong in wrong_tokens:
        refused = send(client, op, row, theirs, bearer(wrong, tenant))
        assert refused.status_code == 403, refused.get_data(as_text=True)
        assert refused.get_json()["error"] == "forbidden"
    elsewhere = send(client, op, row, theirs, bearer(token, theirs.slug))
    assert elsewhere.status_code == 403, elsewhere.get_data(as_text=True)
    assert snapshot() == before

    headers = bearer(token, tenant)
    response = send(client, op, row, theirs, headers)
    if row.across is None:
        # No object to aim at: the token gets past the door, so the refusals were the tokens'.
        assert response.status_code not in (401, 403), response.get_data(as_text=True)
    elif callable(row.across):
        row.across(response, theirs)
    else:
        assert response.status_code == row.across, response.get_data(as_text=True)
        nobodys = send(client, op, row, NOWHERE, headers)
        assert nobodys.status_code == response.status_code
        assert response.get_json()["error"] == nobodys.get_json()["error"]
        assert response.get_json()["field"] == nobodys.get_json()["field"]
    assert snapshot(theirs.id) == theirs_before


def test_every_operation_has_a_row_and_every_row_an_operation(app):
    assert set(OPERATIONS) - set(ROWS) == set(), "operations without a row in ROWS"
    assert set(ROWS) - set(OPERATIONS) == set(), "rows for operations that are not registered"


def test_each_row_calls_its_own_operation(app, theirs):
    adapter = app.url_map.bind("localhost")
    for operation_id, row in ROWS.items():
        if operation_id in OPERATIONS:
            path = PREFIX + row.url(theirs).partition("?")[0]
            method = OPERATIONS[operation_id].method.upper()
            assert adapter.match(path, method=method)[0] == f"api.{operation_id}"
