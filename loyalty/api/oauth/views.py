"""The token endpoint (and its alias with the tenant in the path) and the one-time code request."""

from __future__ import annotations

from functools import partial

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError, UnauthorizedClientError
from flask import current_app, jsonify, request
from werkzeug.wrappers import Response

from ...errors import register_json_errors
from ...extensions import db
from ...services.accounts import sign_in_codes
from . import oauth
from .server import AUTH_METHODS, server


@oauth.post("/oauth/token")
@oauth.post("/<tenant>/oauth/token")
def token(tenant: str | None = None) -> Response:
    """An access token for the grant the form asks for (Authlib checks client and grant)."""
    response = server.create_token_response()
    # The token, a refresh token's rotation and a code's use are kept together, or not at all.
    if response.status_code == 200:
        db.session.commit()
    else:
        db.session.rollback()
    return response


@oauth.post("/oauth/code")
@oauth.post("/<tenant>/oauth/code")
def code(tenant: str | None = None) -> Response:
    """Send a one-time sign-in code to the customer `login` names, if there is one: the answer
    is the same either way, and the sending happens after it."""
    oauth_request = server.create_oauth2_request(request)
    try:
        client = server.authenticate_client(oauth_request, AUTH_METHODS)
        if client.row.kind != "customer-app":
            raise UnauthorizedClientError("only a customer-app client may ask for sign-in codes")
        login = _login()
    except OAuth2Error as error:
        return server.handle_error_response(oauth_request, error)
    response = jsonify({"sent": True})
    response.status_code = 202
    response.headers["Cache-Control"] = "no-store"
    response.call_on_close(
        partial(
            sign_in_codes.send_code,
            current_app._get_current_object(),
            client.row.tenant_id,
            login,
        )
    )
    return response


def render_http_error(status: int, _title: str, description: str) -> Response:
    """Routing 404/405s, 413s and unexpected errors under /auth-oauth2, in RFC 6749's shape."""
    response = jsonify(
        {
            "error": "server_error" if status >= 500 else "invalid_request",
            "error_description": description,
        }
    )
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


register_json_errors(oauth.url_prefix + "/", render_http_error)


def _login() -> str:
    if request.is_json:
        data = request.get_json(silent=True)
        login = data.get("login") if isinstance(data, dict) else None
    else:
        login = request.form.get("login")
    if not isinstance(login, str) or not login.strip():
        raise InvalidRequestError("give the customer's e-mail or phone as `login`")
    return login
