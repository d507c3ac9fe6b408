"""Deliverect single sign-on, our side: the token endpoint Deliverect exchanges a guest's code at
(Authlib's authorization server, a second instance beside the API's), what registration adds
for it, and the Bearer token Get Customer may carry.

Deliverect sends the token request as JSON (`client_id` and `client_secret` in the body, as
client_secret_post); form bodies and HTTP Basic work too. Every answer is in the Deliverect
error shape (webhooks.responses), and the call log keeps it with the secrets redacted.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from flask import current_app, request
from werkzeug.wrappers import Response

from ..extensions import db
from ..models import Account, Tenant, utcnow
from ..services.deliverect import sso
from . import webhooks
from .context import Call, check_body, logged, read_json, refuse_too_deep
from .responses import WebhookError, error_response
from .urls import sso_urls

PREFIX = "/webhooks/deliverect"
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
GRANT_TYPES = ("authorization_code", "refresh_token")
# The fields a token request may carry; anything else in the body is ignored.
FIELDS = (
    "grant_type",
    "client_id",
    "client_secret",
    "code",
    "refresh_token",
    "accountId",
    "loyaltyProfileId",
    "redirect_uri",
    "scope",
)
MAX_CREDENTIALS_HEADER = 1024
WRONG_CODE = "the code is unknown, used or expired"
WRONG_LINK = "accountId and loyaltyProfileId are not registered to this client's restaurant"
WRONG_REFRESH_TOKEN = "the refresh token is unknown, used or expired"


# --- Authlib's view of our clients, guests and requests ------------------------------------------


@dataclass(frozen=True)
class OAuthClient(ClientMixin):
    """A tenant's SSO client as Authlib sees it."""

    client: sso.SsoClient

    @property
    def tenant_id(self) -> int:
        return self.client.tenant_id

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        return ""  # the tokens open one thing: the guest's profile

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return self.client.secret_matches(client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


@dataclass(frozen=True)
class Guest:
    """The account a code or refresh token was issued for."""

    account_id: int

    def get_user_id(self) -> str:
        return str(self.account_id)


@dataclass(frozen=True)
class ClaimedRefreshToken:
    """A refresh token found (and revoked) for the client's tenant."""

    tenant_id: int
    account_id: int

    def check_client(self, client: OAuthClient) -> bool:
        return client.tenant_id == self.tenant_id

    def get_scope(self) -> str:
        return ""


@dataclass(frozen=True)
class ClaimedCode:
    account_id: int

    def get_redirect_uri(self) -> None:
        return None

    def get_scope(self) -> str:
        return ""


class TokenRequest(OAuth2Request):
    """The Flask request with the fields read from its JSON or form body (`token_fields`):
    Authlib reads `form` and `payload`, whatever the body's format was."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(request.method, request.url, headers=request.headers)
        self.fields = fields
        self.payload = BasicOAuth2Payload(fields)

    @property
    def args(self):
        return request.args

    @property
    def form(self) -> dict[str, str]:
        return self.fields


def query_client(client_id: str) -> OAuthClient | None:
    found = sso.client_for(client_id)
    return OAuthClient(found) if found else None


def _client_if_secret_matches(client_id: str | None, secret: str | None) -> OAuthClient | None:
    if not client_id or not secret or len(secret) > sso.MAX_SECRET_FIELD:
        return None
    client = query_client(client_id)
    return client if client is not None and client.check_client_secret(secret) else None


def authenticate_post(_query, oauth_request: TokenRequest) -> OAuthClient | None:
    form = oauth_request.form
    return _client_if_secret_matches(form.get("client_id"), form.get("client_secret"))


def authenticate_basic(_query, oauth_request: TokenRequest) -> OAuthClient | None:
    return _client_if_secret_matches(*basic_credentials(oauth_request.headers.get("Authorization")))


def basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """client_id and secret from `Authorization: Basic ...`; (None, None) for anything else."""
    if not header or len(header) > MAX_CREDENTIALS_HEADER:
        return None, None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(value.strip().encode("ascii"), validate=True).decode("utf-8")
    except (ValueError, UnicodeError):
        return None, None
    client_id, colon, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if colon else (None, None)


class TokenGenerator(BearerTokenGenerator):
    """Opaque random tokens, in the answer Deliverect's examples show: `scope` an empty string
    and `created_at` the Unix seconds as a string."""

    def __init__(self) -> None:
        super().__init__(
            access_token_generator=lambda **_: sso.new_token(),
            refresh_token_generator=lambda **_: sso.new_token(),
            expires_generator=lambda client, grant_type: int(
                current_app.config["SSO_ACCESS_TOKEN_SECONDS"]
            ),
        )

    def generate(
        self,
        grant_type,
        client,
        user=None,
        scope=None,
        expires_in=None,
        include_refresh_token=True,
    ) -> dict:
        token = super().generate(grant_type, client, user, scope, expires_in, include_refresh_token)
        return {
            "token_type": "Bearer",
            "scope": "",
            "created_at": str(int(utcnow().timestamp())),
            "access_token": token["access_token"],
            "refresh_token": token.get("refresh_token"),
            "expires_in": token["expires_in"],
        }


def save_token(token: dict, oauth_request: TokenRequest) -> None:
    client: OAuthClient = oauth_request.client
    guest: Guest = oauth_request.user
    sso.record_token(
        client.tenant_id,
        guest.account_id,
        token["access_token"],
        token.get("refresh_token"),
        issued_at=datetime.fromtimestamp(int(token["created_at"]), UTC),
        expires_in=int(token["expires_in"]),
    )


class ClientAuthenticated:
    """Remembers the authenticated client on the request at once, so that a refused grant is
    still logged under the client's restaurant."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def authenticate_token_endpoint_client(self) -> OAuthClient:
        client = super().authenticate_token_endpoint_client()
        self.request.client = client
        return client


class CodeGrant(ClientAuthenticated, grants.AuthorizationCodeGrant):
    """A guest's single-use code, given to Deliverect through the browser, for a token pair.
    The code is claimed (marked used) as it is found; the view commits that with the token."""

    def query_authorization_code(self, code: str, client: OAuthClient) -> ClaimedCode | None:
        form = self.request.form
        account_id, profile_id = form.get("accountId"), form.get("loyaltyProfileId")
        if (account_id or profile_id) and not sso.link_is_tenants(
            client.tenant_id, account_id, profile_id
        ):
            raise InvalidGrantError(WRONG_LINK)
        claimed = sso.claim_code(client.tenant_id, code, now=utcnow())
        if claimed is None:
            raise InvalidGrantError(WRONG_CODE)
        return ClaimedCode(claimed)

    def delete_authorization_code(self, authorization_code: ClaimedCode) -> None:
        """Already marked used when it was claimed."""

    def authenticate_user(self, authorization_code: ClaimedCode) -> Guest:
        return Guest(authorization_code.account_id)


class RefreshTokenGrant(ClientAuthenticated, grants.RefreshTokenGrant):
    """A new token pair for a live refresh token; the old pair stops working (rotation)."""

    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> ClaimedRefreshToken | None:
        client: OAuthClient = self.request.client
        account_id = sso.claim_refresh_token(client.tenant_id, refresh_token, now=utcnow())
        if account_id is None:
            raise InvalidGrantError(WRONG_REFRESH_TOKEN)
        return ClaimedRefreshToken(client.tenant_id, account_id)

    def authenticate_user(self, refresh_token: ClaimedRefreshToken) -> Guest:
        return Guest(refresh_token.account_id)

    def revoke_old_credential(self, refresh_token: ClaimedRefreshToken) -> None:
        """Already revoked when it was claimed."""


class SsoAuthorizationServer(AuthorizationServer):
    """Answers and errors in Deliverect's shape, never cached."""

    def create_oauth2_request(self, oauth_request: TokenRequest) -> TokenRequest:
        return oauth_request

    def handle_error_response(self, oauth_request, error: OAuth2Error) -> Response:
        response = error_response(
            error.status_code, error.error, error.get_error_description() or error.error
        )
        response.headers["Cache-Control"] = "no-store"
        if error.status_code == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="loyalty"'
        return response


def create_server() -> SsoAuthorizationServer:
    server = SsoAuthorizationServer(query_client=query_client, save_token=save_token)
    server.register_token_generator("default", TokenGenerator())
    server.register_client_auth_method("client_secret_basic", authenticate_basic)
    server.register_client_auth_method("client_secret_post", authenticate_post)
    server.register_grant(CodeGrant)
    server.register_grant(RefreshTokenGrant)
    return server


server = create_server()


# --- the token endpoint -------------------------------------------------------------------------


@webhooks.post(f"{PREFIX}/oauth/token")
@logged("sso.token")
def sso_token(call: Call) -> Response:
    """A token pair for a guest's code (or a refresh token); Authlib checks client and grant."""
    fields = token_fields()
    call.request_data = fields  # the log redacts the secret, the code and the tokens
    try:
        oauth_request = TokenRequest(fields)
    except OAuth2Error as error:  # plain http to a public host: Authlib insists on https
        raise WebhookError(400, error.error, error.get_error_description()) from None
    response = server.create_token_response(oauth_request)
    if oauth_request.client is not None:
        call.tenant_id = oauth_request.client.tenant_id
    # The claimed code or refresh token and the new token are kept together, or not at all.
    if response.status_code == 200:
        db.session.commit()
    else:
        db.session.rollback()
        call.notes.append((response.get_json() or {}).get("description", ""))
    return response


def token_fields() -> dict[str, str]:
    """The token request's fields from a JSON or form body; 400 for anything else."""
    raw = request.get_data(cache=True)  # at most MAX_CONTENT_LENGTH: see webhooks.bound_body
    if request.mimetype == "application/x-www-form-urlencoded":
        form = request.form
        repeated = [name for name in FIELDS if len(form.getlist(name)) > 1]
        if repeated:
            raise _invalid_request(f"{repeated[0]}: give it once")
        body: Any = {name: form[name] for name in FIELDS if name in form}
    else:
        body = read_json(raw)
    try:
        refuse_too_deep(body)
        check_body(body)
    except WebhookError as refused:
        raise _invalid_request(refused.description) from None
    if not isinstance(body, dict):
        raise _invalid_request("send the token request as a JSON object (or a form)")
    fields: dict[str, str] = {}
    for name in FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise _invalid_request(f"{name} must be a string")
        if len(value) > sso.MAX_SECRET_FIELD:
            raise _invalid_request(f"{name}: at most {sso.MAX_SECRET_FIELD} characters")
        fields[name] = value
    if "grant_type" not in fields:
        raise _invalid_request("grant_type is required: authorization_code")
    return fields


def _invalid_request(description: str) -> WebhookError:
    return WebhookError(400, "invalid_request", description)


# --- what registration and Get Customer add for SSO ----------------------------------------------


def registration_fields(tenant: Tenant) -> dict[str, str]:
    """The SSO part of the registration answer: empty unless SSO is ready."""
    urls = sso_urls(tenant)
    if not urls:
        return {}
    return {
        **urls,
        "oauthClientId": tenant.sso_client_id,
        "oauthClientSecret": tenant.sso_client_secret,
    }


def bearer_guest(call: Call, tenant_id: int) -> Account | None:
    """The guest an `Authorization: Bearer` token names, None without a Bearer header; 401
    `invalid_token` for a token that is not a live one of this tenant."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    guest = sso.guest_for_token(tenant_id, token.strip(), now=utcnow())
    if guest is None:
        call.notes.append("bearer token refused")
        raise WebhookError(401, "invalid_token", "the access token is unknown or expired")
    call.notes.append("customer named by the SSO access token")
    return guest
