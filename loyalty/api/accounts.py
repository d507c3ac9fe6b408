"""The account operations: the react-admin list and its count, one account by id or card, and
the two exports (every matching account, and the marketing contact list).

Filters are AccountFilter (§3.8); `constraints` selects exactly as a campaign would. Lists
sort by `id` (default), `card`, `header.lastName`, `header.firstName`, `header.created`,
`header.lastOrder`, `counters.points` or `counters.lifetimePoints`. Only active accounts are
listed; an old id of a merged account answers with the account it was merged into, an erased
one is a 404. Money (counters.spent, order totals) is in minor units of the restaurant's
currency.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator

from flask import Response, current_app, request, stream_with_context
from sqlalchemy import select

from ..extensions import db
from ..models import Account, Tenant, utcnow
from ..services.accounts.listing import (
    DEFAULT_SORT,
    SORTS,
    AccountFilter,
    account_batches,
    count_accounts,
    list_accounts,
)
from ..services.accounts.overview import overviews
from ..services.accounts.profile import resolve_merged
from ..services.reporting.account_exports import account_csv, contact_csv
from . import api
from .errors import ApiError
from .lists import list_response, paging
from .operations import ACCOUNT, CARD, Reply, operation
from .principal import Principal
from .schemas.accounts import AccountFilterQuery, AccountListQuery, ApiAccount, ConstraintProblem

log = logging.getLogger(__name__)

ROLES = ("ROLE_SU", "ROLE_LOYALTY")
CSV = "text/csv"
# Both names are in use for JSON lines; either answers one ApiAccount per line.
JSON_LINES = ("application/x-ndjson", "application/jsonl")
NO_ACCOUNT = Reply(404, "no account of this restaurant has this id")
NO_CARD = Reply(404, "no account of this restaurant has this card")
NOT_ACCEPTABLE = Reply(406, "Accept names neither text/csv nor JSON lines")


@operation(
    api,
    "getAccounts",
    "GET",
    "/accounts",
    summary="List accounts (react-admin)",
    tag="accounts",
    roles=ROLES,
    query=AccountListQuery,
    replies=(
        Reply(
            200,
            "one page of matching accounts",
            list[ApiAccount],
            headers=("X-Total-Count", "Content-Range"),
        ),
    ),
)
def get_accounts(principal: Principal, query: AccountListQuery) -> Response:
    """A page of ApiAccounts; X-Total-Count says how many match in all. Sort by `id` (the
    default), `card`, `header.lastName`, `header.firstName`, `header.created`,
    `header.lastOrder`, `counters.points` or `counters.lifetimePoints`."""
    page = paging(query, tuple(SORTS), DEFAULT_SORT)
    selection, now, region = _selection(query), utcnow(), _region()
    total = count_accounts(principal.tenant_id, selection, now, region)
    accounts = list_accounts(
        principal.tenant_id,
        selection,
        now,
        sort=page.sort,
        descending=page.descending,
        offset=page.offset,
        limit=page.limit,
        default_region=region,
    )
    items = [
        ApiAccount.of(overview).model_dump(mode="json", by_alias=True)
        for overview in overviews(principal.tenant_id, accounts)
    ]
    return list_response(items, total, page)


@operation(
    api,
    "getAccountsCount",
    "GET",
    "/accounts/count",
    summary="Count the accounts a list would hold",
    tag="accounts",
    roles=ROLES,
    query=AccountFilterQuery,
    replies=(Reply(200, "the number of matching accounts, a bare integer", int),),
)
def get_accounts_count(principal: Principal, query: AccountFilterQuery) -> int:
    return count_accounts(principal.tenant_id, _selection(query), utcnow(), _region())


@operation(
    api,
    "getAccount",
    "GET",
    "/account/{account}",
    summary="One account",
    tag="accounts",
    roles=ROLES,
    path_params=(ACCOUNT,),
    replies=(Reply(200, "the account", ApiAccount), NO_ACCOUNT),
)
def get_account(principal: Principal, account: str) -> ApiAccount:
    """By account id; an old id of a merged account answers with the account it became."""
    found = db.session.scalar(
        select(Account).where(
            Account.tenant_id == principal.tenant_id, Account.external_id == account
        )
    )
    return _shown(principal.tenant_id, found)


@operation(
    api,
    "getAccountByCard",
    "GET",
    "/card/{card}/account",
    summary="The account holding a loyalty card",
    tag="accounts",
    roles=ROLES,
    path_params=(CARD,),
    replies=(Reply(200, "the account", ApiAccount), NO_CARD),
)
def get_account_by_card(principal: Principal, card: str) -> ApiAccount:
    found = db.session.scalar(
        select(Account).where(Account.tenant_id == principal.tenant_id, Account.card == card)
    )
    return _shown(principal.tenant_id, found, NO_CARD, "card")


@operation(
    api,
    "export",
    "GET",
    "/export/accounts",
    summary="Export every matching account (CSV, or JSON lines by Accept)",
    tag="accounts",
    roles=ROLES,
    query=AccountFilterQuery,
    replies=(
        # One status, three bodies: CSV unless Accept asks for JSON lines (either name).
        Reply(200, "every matching account in id order: CSV, or JSON lines", str, content_type=CSV),
        *(
            Reply(200, "one ApiAccount per line", ApiAccount, content_type=kind)
            for kind in JSON_LINES
        ),
        NOT_ACCEPTABLE,
    ),
)
def export(principal: Principal, query: AccountFilterQuery) -> Response:
    """Streamed, all pages. `Accept: application/x-ndjson` (or `application/jsonl`) answers
    JSON lines; anything else that accepts text/csv answers CSV, its cells safe to open in a
    spreadsheet (a value starting = + - @ is prefixed with ')."""
    kind = _wanted_format()
    selection = _selection(query)
    tenant_id = principal.tenant_id
    _log_export(principal, "accounts")
    if kind == CSV:
        csv = account_csv(tenant_id, selection, utcnow(), default_region=_region())
        return _streamed(csv, CSV, _filename(tenant_id, "accounts"))
    return _streamed(_json_lines(tenant_id, selection), kind, None)


@operation(
    api,
    "contactExport",
    "GET",
    "/export/contacts",
    summary="CSV of the contactable accounts (marketing consent)",
    tag="accounts",
    roles=ROLES,
    query=AccountFilterQuery,
    replies=(
        Reply(
            200,
            "id, card, name, email, phone, consents of each matching account that agreed to "
            "marketing",
            str,
            content_type=CSV,
        ),
    ),
)
def contact_export(principal: Principal, query: AccountFilterQuery) -> Response:
    selection = _selection(query, contactable=True)
    _log_export(principal, "contacts")
    csv = contact_csv(principal.tenant_id, selection, utcnow(), default_region=_region())
    return _streamed(csv, CSV, _filename(principal.tenant_id, "contacts"))


def _selection(query: AccountFilterQuery, *, contactable: bool = False) -> AccountFilter:
    try:
        return query.selection(contactable=contactable)
    except ConstraintProblem as problem:
        raise ApiError(400, str(problem), problem.field) from None


def _shown(
    tenant_id: int, found: Account | None, missing: Reply = NO_ACCOUNT, field: str = "account"
) -> ApiAccount:
    account = resolve_merged(found)
    if account is None or account.erased_at is not None:
        raise ApiError(404, missing.description, field)
    return ApiAccount.of(overviews(tenant_id, [account])[0])


def _region() -> str | None:
    return current_app.config["DEFAULT_PHONE_REGION"]


def _batches(tenant_id: int, selection: AccountFilter):
    return account_batches(tenant_id, selection, utcnow(), default_region=_region())


def _overview_batches(tenant_id: int, selection: AccountFilter):
    """Whole ApiAccounts (relations, coupons, campaigns, orders...), for JSON lines."""
    for batch in _batches(tenant_id, selection):
        yield overviews(tenant_id, batch)


def _json_lines(tenant_id: int, selection: AccountFilter) -> Iterator[str]:
    for batch in _overview_batches(tenant_id, selection):
        for overview in batch:
            line = ApiAccount.of(overview).model_dump(mode="json", by_alias=True)
            yield json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"


def _wanted_format() -> str:
    if not request.headers.get("Accept"):
        return CSV
    best = request.accept_mimetypes.best_match((CSV, *JSON_LINES))
    if best is None:
        raise ApiError(406, "ask for text/csv or application/x-ndjson (application/jsonl)")
    return best


def _streamed(
    body: Iterable[str] | Iterable[bytes], mimetype: str, filename: str | None
) -> Response:
    response = Response(stream_with_context(body), mimetype=mimetype)
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _filename(tenant_id: int, what: str) -> str:
    return f"{db.session.get(Tenant, tenant_id).slug}-{what}.csv"


def _log_export(principal: Principal, what: str) -> None:
    who = f"user {principal.user_id}" if principal.user_id else f"client {principal.client_row_id}"
    log.info("%s exported %s of tenant %s through the API", who, what, principal.tenant_id)
