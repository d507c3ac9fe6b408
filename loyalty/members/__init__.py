"""The guests' member pages under /m/<tenant>/: join, sign in with a one-time code, the card,
"Order online" through Deliverect's single sign-on, and the guest's own data.

The tenant comes from the address, the guest from a GuestSession of that tenant named by its
own cookie (see `remember_token`); errors here are guest-facing pages in the restaurant's
colours, not the dashboard's.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, g, render_template, request, session
from werkzeug.exceptions import TooManyRequests

from ..errors import register_json_errors
from ..extensions import db
from ..models import Account, Tenant, utcnow
from ..security import CONTENT_SECURITY_POLICY
from ..services.members.join import JoinChoices
from ..services.members.sessions import signed_in_account
from ..services.setup.settings import web_origin
from ..services.setup.tenants import tenant_by_slug
from ..time import local_time

bp = Blueprint("members", __name__, url_prefix="/m/<tenant>")

TENANT_SLUG = re.compile(r"[a-zA-Z0-9_-]{3,64}")
# The guest's session token, in a cookie of its own scoped to /m/<slug>/: one sign-in per
# restaurant, never sent to the dashboard or another restaurant's pages.
GUEST_COOKIE = "guest_session"
PRIVATE = "private, no-store"
# The Flask session keeps {tenant id: the join page's choices} until the code is entered.
JOINS_KEY = "guest_joins"


class TooManyTries(TooManyRequests):
    """Too many codes asked for, or wrong codes typed, from one connection lately."""

    def __init__(self) -> None:
        minutes = max(1, int(current_app.config["LOGIN_THROTTLE_WINDOW_SECONDS"]) // 60)
        super().__init__(
            f"There were too many tries from your connection. Wait {minutes} minutes, then "
            "try again."
        )


def member_tenant() -> Tenant:
    return g.member_tenant


def signed_in_guest() -> Account | None:
    return g.guest


def guest_token() -> str | None:
    return request.cookies.get(GUEST_COOKIE)


def remember_token(token: str | None) -> None:
    """Keep (or, for None, forget) this tenant's session token in the guest's cookie, set on
    the answer.

    Its own cookie rather than the Flask session's: it lasts GUEST_SESSION_DAYS across browser
    restarts (a max-age) while the session cookie, which holds a dashboard login and the CSRF
    token, stays a browser-session cookie; HttpOnly, SameSite=Lax, Secure over HTTPS
    (SecureCookieResponse), and its Path keeps it to this restaurant's pages.
    """
    g.guest_cookie = token


def keep_join_choices(choices: JoinChoices | None) -> None:
    """Keep (or, for None, forget) what the guest chose on this restaurant's join page, in the
    signed session: it is applied only when their code proves the address."""
    joins = session.get(JOINS_KEY)
    joins = dict(joins) if isinstance(joins, dict) else {}
    key = str(member_tenant().id)
    if choices is None:
        if key not in joins:
            return
        joins.pop(key)
    else:
        joins[key] = {
            "login": choices.login,
            "first_name": choices.first_name,
            "last_name": choices.last_name,
            "birthdate": choices.birthdate.isoformat() if choices.birthdate else None,
            "marketing_consent": choices.marketing_consent,
        }
    session[JOINS_KEY] = joins


def kept_join_choices() -> JoinChoices | None:
    joins = session.get(JOINS_KEY)
    kept = joins.get(str(member_tenant().id)) if isinstance(joins, dict) else None
    if not isinstance(kept, dict):
        return None
    birthdate = kept.get("birthdate")
    return JoinChoices(
        login=str(kept.get("login") or ""),
        first_name=str(kept.get("first_name") or ""),
        last_name=str(kept.get("last_name") or ""),
        birthdate=date.fromisoformat(birthdate) if isinstance(birthdate, str) else None,
        marketing_consent=kept.get("marketing_consent") is True,
    )


def _tenant_named(slug: object) -> Tenant | None:
    if not isinstance(slug, str) or not TENANT_SLUG.fullmatch(slug):
        return None
    return tenant_by_slug(slug)


@bp.url_value_preprocessor
def _load_tenant_and_guest(_endpoint: str | None, values: dict | None) -> None:
    tenant = _tenant_named((values or {}).pop("tenant", None))
    if tenant is None:
        abort(404)
    g.member_tenant = tenant
    g.guest = None
    if request.endpoint == "members.brand_css":
        return  # a shared stylesheet: no guest, no cookie set on it
    token = guest_token()
    if token is not None:
        g.guest = signed_in_account(tenant.id, token, utcnow())
        if g.guest is None:  # expired, signed out elsewhere, erased or merged: forget it
            remember_token(None)


@bp.url_defaults
def _add_tenant(_endpoint: str, values: dict) -> None:
    if "tenant" not in values and "member_tenant" in g:
        values["tenant"] = g.member_tenant.slug


@bp.after_request
def _private_pages(response: Response) -> Response:
    if request.endpoint != "members.brand_css":
        response.headers["Cache-Control"] = PRIVATE
    response.headers["Content-Security-Policy"] = page_policy(g.get("member_tenant"))
    if "guest_cookie" in g:
        _set_guest_cookie(response, g.guest_cookie)
    return response


def _set_guest_cookie(response: Response, token: str | None) -> None:
    path = f"/m/{member_tenant().slug}/"
    if token is None:
        response.delete_cookie(GUEST_COOKIE, path=path, httponly=True, samesite="Lax")
        return
    response.set_cookie(
        GUEST_COOKIE,
        token,
        max_age=int(current_app.config["GUEST_SESSION_DAYS"]) * 24 * 3600,
        path=path,
        httponly=True,
        samesite="Lax",
    )


def page_policy(tenant: Tenant | None) -> str:
    """The app's policy, with the restaurant's logo host allowed as an image source, and
    Deliverect's sign-on addresses as form targets: "Order online" posts here and is redirected
    there, and browsers apply form-action to the redirect too."""
    policy = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        " ".join(
            [
                "form-action 'self'",
                *_origins(current_app.config["DELIVERECT_SSO_BASE_URLS"].values()),
            ]
        ),
    )
    logo = _origins([tenant.logo_url] if tenant is not None and tenant.logo_url else [])
    if logo:
        policy = policy.replace("img-src 'self' data:", f"img-src 'self' data: {logo[0]}")
    return policy


def _origins(addresses) -> list[str]:
    found = []
    for address in addresses:
        try:
            parts = urlsplit(address)
            found.append(web_origin(f"{parts.scheme}://{parts.netloc}"))
        except ValueError:  # a logo saved before the check, or edited by hand: not shown then
            continue
    return found


@bp.context_processor
def _restaurant() -> dict:
    return {"restaurant": g.get("member_tenant"), "guest": g.get("guest")}


@bp.app_template_filter("local_date")
def local_date(moment: datetime | None) -> str:
    """2026-12-01, the day on the restaurant's clock: guests read dates as theirs, not UTC."""
    return _on_restaurant_clock(moment, "%Y-%m-%d")


@bp.app_template_filter("local_datetime")
def local_datetime(moment: datetime | None) -> str:
    """2026-12-01 20:31 on the restaurant's clock."""
    return _on_restaurant_clock(moment, "%Y-%m-%d %H:%M")


def _on_restaurant_clock(moment: datetime | None, pattern: str) -> str:
    if moment is None:
        return ""
    tenant = g.get("member_tenant")
    return local_time(tenant.time_zone if tenant else None, moment).strftime(pattern)


def render_error(status: int, title: str, description: str) -> Response:
    """Every error under /m/ (unknown tenant or page, CSRF, bad input, 500) as a guest page."""
    db.session.rollback()  # a failed transaction must not break the page that reports it
    tenant = g.get("member_tenant")
    if tenant is None and status < 500:  # a 503 means the database is out of reach
        parts = request.path.split("/")
        tenant = _tenant_named(parts[2]) if len(parts) > 2 else None
    response = Response(
        render_template(
            "members/error.html",
            status=status,
            title=title,
            description=description,
            restaurant=tenant,
            guest=None,
        ),
        status,
        mimetype="text/html",
    )
    response.headers["Cache-Control"] = PRIVATE
    response.headers["Content-Security-Policy"] = page_policy(tenant)
    return response


# Not JSON despite the helper's name: it is the one way to give a door its own error pages,
# routing 404s included.
register_json_errors("/m/", render_error)

from . import views  # noqa: E402,F401
