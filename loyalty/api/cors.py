"""CORS for the API and its token endpoint: a back office (react-admin) on another origin may call
them from a browser when the restaurant lists that origin in Settings.

Hand-written rather than flask-cors: flask-cors takes its allowed origins when it is set up (a
string, a list or a pattern), while ours are each tenant's own, kept in the database and changed
from the dashboard; a callable `origins` has been asked for there (flask-cors issue #281) but is
not released. No credentials are allowed: the API takes bearer tokens, never cookies.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

from ..services.setup.settings import origin_is_allowed

PREFIXES = ("/loyalty-api/", "/auth-oauth2/")
TOKEN_PREFIX = "/auth-oauth2/"
ALLOWED_METHODS = "GET, HEAD, POST, PUT, DELETE"
# Range: react-admin's simple-rest data provider asks for list pages with it.
ALLOWED_HEADERS = "Authorization, Content-Type, X-Tenant, Range, Accept"
# react-admin reads the total of a list page from these.
EXPOSED_HEADERS = "X-Total-Count, Content-Range"
PREFLIGHT_MAX_AGE_SECONDS = 600


def register_cors(app: Flask) -> None:
    # On the app, not a blueprint: a preflight must be answered before routing's 405 for
    # OPTIONS and before any view asks for a token.
    app.before_request(answer_preflight)
    app.after_request(allow_origin)


def _in_scope() -> bool:
    return request.path.startswith(PREFIXES)


def _is_preflight() -> bool:
    return (
        request.method == "OPTIONS"
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
    )


def _tenant_slug() -> str | None:
    """The tenant the request names: the X-Tenant header, or the token URL's alias
    /auth-oauth2/<tenant>/oauth/…; None when it names none."""
    return request.headers.get("X-Tenant", "").strip() or _tenant_slug_of_path()


def _tenant_slug_of_path() -> str | None:
    """The tenant of /auth-oauth2/<tenant>/oauth/…, the one name a browser's preflight carries:
    it lists the headers the request will send, X-Tenant among them, but not their values."""
    if request.path.startswith(TOKEN_PREFIX):
        segments = request.path[len(TOKEN_PREFIX) :].split("/")
        if len(segments) >= 2 and segments[1] == "oauth" and segments[0] not in ("", "oauth"):
            return segments[0]
    return None


def answer_preflight() -> Response | None:
    """Answer a CORS preflight (it carries no token and no header values) without a view.

    A browser's preflight names its tenant only in the path, if at all; without one it is
    allowed when any tenant lists the origin, and the actual request is then checked against
    its own tenant's list.
    """
    if not (_in_scope() and _is_preflight()):
        return None
    response = Response(status=204)
    origin = request.headers["Origin"]
    if origin_is_allowed(origin, _tenant_slug()):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
    return response


def allow_origin(response: Response) -> Response:
    """Let the calling page read the answer when its origin is allowed for the tenant named."""
    if not _in_scope():
        return response
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if not origin or _is_preflight():
        return response
    slug = _tenant_slug()
    if slug is not None and origin_is_allowed(origin, slug):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response
