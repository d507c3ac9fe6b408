"""The guests' member pages under /m/<tenant>/: join, sign in with a one-time code, the card,
"Order online" through Deliverect's single sign-on, and the guest's own data.

The tenant comes from the address, the guest from a GuestSession of that tenant named by the
Flask session cookie; errors here are guest-facing pages in the restaurant's colours, not the
dashboard's.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, g, render_template, request, session

from ..errors import register_json_errors
from ..extensions import db
from ..models import Account, Tenant, utcnow
from ..security import CONTENT_SECURITY_POLICY
from ..services.members.sessions import signed_in_account
from ..services.setup.settings import web_origin
from ..services.setup.tenants import tenant_by_slug

bp = Blueprint("members", __name__, url_prefix="/m/<tenant>")

TENANT_SLUG = re.compile(r"[a-zA-Z0-9_-]{3,64}")
# The Flask session keeps {tenant id: session token}: one sign-in per restaurant.
SESSION_KEY = "guest_sessions"
PRIVATE = "private, no-store"


def member_tenant() -> Tenant:
    return g.member_tenant


def signed_in_guest() -> Account | None:
    return g.guest


def guest_token() -> str | None:
    tokens = session.get(SESSION_KEY)
    token = tokens.get(str(member_tenant().id)) if isinstance(tokens, dict) else None
    return token if isinstance(token, str) else None


def remember_token(token: str | None) -> None:
    """Keep (or, for None, forget) this tenant's session token in the cookie."""
    tokens = session.get(SESSION_KEY)
    tokens = dict(tokens) if isinstance(tokens, dict) else {}
    key = str(member_tenant().id)
    if token is None:
        tokens.pop(key, None)
    else:
        tokens[key] = token
    session[SESSION_KEY] = tokens


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
    return response


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


def render_error(status: int, title: str, description: str) -> Response:
    """Every error under /m/ (unknown tenant or page, CSRF, bad input, 500) as a guest page."""
    db.session.rollback()  # a failed transaction must not break the page that reports it
    tenant = g.get("member_tenant")
    if tenant is None and status != 500:
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
