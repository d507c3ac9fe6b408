"""Deliverect single sign-on's token exchange: Authlib's authorization server over our SSO clients,
codes and tokens, and the one transaction of a token request (`exchange`).

Authlib checks the client (client_secret_post or HTTP Basic) and runs the grant; the storage it
works on is services.deliverect.sso. Nothing here reads the Flask request: the door parses the
body and hands over the fields, the endpoint's public address and the Authorization header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from authlib.oauth2 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import (
    InsecureTransportError,
    InvalidClientError,
    InvalidGrantError,
    UnsupportedGrantTypeError,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import current_app

from ...basic_auth import basic_credentials
from ...extensions import db
from . import sso

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
GRANT_TYPES = ("authorization_code", "refresh_token")
# An unsupported grant_type is named back, cut to this many characters.
GRANT_TYPE_SHOWN = 40
WRONG_CODE = "the code is unknown, used or expired"
WRONG_LINK = "accountId and loyaltyProfileId are not registered to this client's restaurant"
WRONG_REFRESH_TOKEN = "the refresh token is unknown, used or expired"
REPLAYED = "a rotated refresh token was presented again: the pairs that replaced it are revoked"


@dataclass(frozen=True)
class TokenAnswer:
    """The token endpoint's answer: a token pair (`token`), or a refusal (`error`)."""

    status: int
    token: dict[str, str] | None = field(default=None, repr=False)
    error: str | None = None
    description: str | None = None
    tenant_id: int | None = None  # the authenticated client's restaurant, for the call log
    note: str | None = None


def exchange(
    fields: Mapping[str, str], *, url: str, authorization: str | None, now: datetime
) -> TokenAnswer:
    """Answer Deliverect's token request: a token pair for a guest's code or a refresh token.

    The claimed code (or rotated refresh token) and the new pair are committed together; a
    refusal rolls both back, except that a replayed rotated refresh token revokes the pairs
    that replaced it (committed). `url` is the endpoint as the internet reaches it: Authlib
    refuses anything but https (or this computer)."""
    try:
        oauth_request = TokenRequest(fields, url=url, authorization=authorization, now=now)
    except InsecureTransportError as error:
        return TokenAnswer(400, error=error.error, description=error.get_error_description())
    answer: TokenAnswer = server.create_token_response(oauth_request)
    client: OAuthClient | None = oauth_request.client
    answer = replace(answer, tenant_id=client.tenant_id if client else None)
    if answer.token is not None:
        db.session.commit()
        return answer
    db.session.rollback()
    replayed = (
        client is not None
        and answer.error == InvalidGrantError.error
        and fields.get("grant_type") == "refresh_token"
        and sso.revoke_replaced_pair(client.tenant_id, fields.get("refresh_token", ""), now=now)
    )
    if replayed:
        db.session.commit()
        return replace(answer, note=REPLAYED)
    return answer


# --- Authlib's view of our clients, guests and requests ------------------------------------------


@dataclass(frozen=True)
class OAuthClient(ClientMixin):
    """A tenant's SSO client as Authlib sees it (its repr shows no secret)."""

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
    """The account a code or refresh token was issued for (after merges)."""

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
    """The token request's fields, whatever the body's format was: Authlib reads `form` and
    `payload`. Its repr names the grant type only (the fields carry the secret and the code)."""

    def __init__(
        self, fields: Mapping[str, str], *, url: str, authorization: str | None, now: datetime
    ):
        super().__init__("POST", url, headers={"Authorization": authorization or ""})
        self.fields = dict(fields)
        self.payload = BasicOAuth2Payload(self.fields)
        self.now = now

    def __repr__(self) -> str:
        return f"<TokenRequest grant_type={self.fields.get('grant_type', '')[:GRANT_TYPE_SHOWN]!r}>"

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self.fields


def _client_if_secret_matches(
    query_client, client_id: str | None, secret: str | None
) -> OAuthClient | None:
    if not client_id or not secret or len(secret) > sso.MAX_SECRET_FIELD:
        return None
    client = query_client(client_id)
    return client if client is not None and client.check_client_secret(secret) else None


def authenticate_post(query_client, oauth_request: TokenRequest) -> OAuthClient | None:
    form = oauth_request.form
    return _client_if_secret_matches(query_client, form.get("client_id"), form.get("client_secret"))


def authenticate_basic(query_client, oauth_request: TokenRequest) -> OAuthClient | None:
    client_id, secret = basic_credentials(oauth_request.headers.get("Authorization"))
    return _client_if_secret_matches(query_client, client_id, secret)


class SsoGrant:
    """What both grants share: the authenticated client is remembered on the request at once
    (a refused grant is still logged under its restaurant), and the token pair is in the shape
    of Deliverect's examples: `scope` an empty string, `created_at` Unix seconds as a string."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    request: TokenRequest

    def authenticate_token_endpoint_client(self) -> OAuthClient:
        client = super().authenticate_token_endpoint_client()
        self.request.client = client
        return client

    def generate_token(self, *_args, **_kwargs) -> dict[str, str]:
        return {
            "token_type": "Bearer",
            "scope": "",
            "created_at": str(int(self.request.now.timestamp())),
            "access_token": sso.new_token(),
            "refresh_token": sso.new_token(),
        }


class CodeGrant(SsoGrant, grants.AuthorizationCodeGrant):
    """A guest's single-use code, given to Deliverect through the browser, for a token pair.
    The code is claimed (marked used) as it is found; `exchange` commits that with the token."""

    def query_authorization_code(self, code: str, client: OAuthClient) -> ClaimedCode | None:
        form = self.request.form
        account_id, profile_id = form.get("accountId"), form.get("loyaltyProfileId")
        if (account_id or profile_id) and not sso.link_is_tenants(
            client.tenant_id, account_id, profile_id
        ):
            raise InvalidGrantError(WRONG_LINK)
        claimed = sso.claim_code(client.tenant_id, code, now=self.request.now)
        if claimed is None:
            raise InvalidGrantError(WRONG_CODE)
        return ClaimedCode(claimed)

    def delete_authorization_code(self, authorization_code: ClaimedCode) -> None:
        """Already marked used when it was claimed."""

    def authenticate_user(self, authorization_code: ClaimedCode) -> Guest:
        return Guest(authorization_code.account_id)


class RefreshTokenGrant(SsoGrant, grants.RefreshTokenGrant):
    """A new token pair for a live refresh token; the old pair stops working (rotation)."""

    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> ClaimedRefreshToken | None:
        client: OAuthClient = self.request.client
        account_id = sso.claim_refresh_token(client.tenant_id, refresh_token, now=self.request.now)
        if account_id is None:
            raise InvalidGrantError(WRONG_REFRESH_TOKEN)
        return ClaimedRefreshToken(client.tenant_id, account_id)

    def authenticate_user(self, refresh_token: ClaimedRefreshToken) -> Guest:
        return Guest(refresh_token.account_id)

    def revoke_old_credential(self, refresh_token: ClaimedRefreshToken) -> None:
        """Already revoked when it was claimed."""


class SsoAuthorizationServer(AuthorizationServer):
    """Authlib's token endpoint, answering TokenAnswers instead of HTTP responses."""

    def query_client(self, client_id: str) -> OAuthClient | None:
        found = sso.client_for(client_id)
        return OAuthClient(found) if found else None

    def save_token(self, token: dict, request: TokenRequest) -> None:
        sso.record_token(
            request.client.tenant_id,
            request.user.account_id,
            token["access_token"],
            token["refresh_token"],
            issued_at=request.now,
            expires_in=int(current_app.config["SSO_ACCESS_TOKEN_SECONDS"]),
        )

    def create_oauth2_request(self, request: TokenRequest) -> TokenRequest:
        return request

    def handle_response(self, status: int, body: dict, headers) -> TokenAnswer:
        return TokenAnswer(status, token=body)

    def handle_error_response(self, request: TokenRequest, error: OAuth2Error) -> TokenAnswer:
        if isinstance(error, UnsupportedGrantTypeError):
            shown = str(error.grant_type or "")
            if len(shown) > GRANT_TYPE_SHOWN:
                shown = shown[:GRANT_TYPE_SHOWN] + "…"
            description = f"grant_type {shown!r} is not supported: use authorization_code"
        elif isinstance(error, InvalidClientError):  # Authlib's names its auth methods instead
            description = (
                "client_id or client_secret is wrong: use the client the registration answered"
            )
        else:
            description = error.get_error_description() or error.error
        return TokenAnswer(error.status_code, error=error.error, description=description)

    def send_signal(self, name: str, *args, **kwargs) -> None:
        """No one listens to Authlib's signals here."""


def create_server() -> SsoAuthorizationServer:
    authorization_server = SsoAuthorizationServer()
    authorization_server.register_client_auth_method("client_secret_basic", authenticate_basic)
    authorization_server.register_client_auth_method("client_secret_post", authenticate_post)
    authorization_server.register_grant(CodeGrant)
    authorization_server.register_grant(RefreshTokenGrant)
    return authorization_server


server = create_server()
