"""Authlib's authorization server for the API: the clients, grants and tokens it knows.

Nothing is committed here: the token view commits the issued token (with a refresh token's
rotation or a one-time code's use) only when the answer is a token, and rolls back otherwise.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import current_app, request
from joserfc import jwt
from sqlalchemy import select, update

from ...basic_auth import basic_credentials
from ...extensions import db
from ...models import Account, ApiClient, ApiToken, Tenant, User, utcnow
from ...models.api import ROLES
from ...services.accounts import sign_in_codes
from ...services.setup.api_clients import secret_matches
from ...services.setup.team import LoginThrottled, authenticate
from .signing import ALGORITHM, signing_key

ISSUER = "loyalty"
SCOPES = ("read", "write")
DEFAULT_SCOPE = "read"
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
# Each kind of client signs in its own way; any other grant is unauthorized_client.
GRANTS_BY_KIND = {
    "service": ("client_credentials", "refresh_token"),
    "admin-app": ("password", "refresh_token"),
    "customer-app": ("password", "refresh_token"),
}
OWNER_ROLES = ROLES
STAFF_ROLES = ("ROLE_LOYALTY",)
ANONYMOUS = "anonymous"
# Bounds on what a token request may send, far above any real value: longer is simply wrong.
MAX_FIELD = 320
WRONG_LOGIN = "the login or the code is wrong, used or expired"
WRONG_PASSWORD = "the e-mail or password is wrong, or the member cannot sign in"
THROTTLED = "too many failed sign-ins: wait a few minutes and try again"


def member_roles(role: str) -> tuple[str, ...]:
    """A team member's API roles: an owner may do everything, staff the everyday loyalty work."""
    return OWNER_ROLES if role == "owner" else STAFF_ROLES


@dataclass(frozen=True)
class OAuthClient(ClientMixin):
    """An ApiClient as Authlib sees it."""

    row: ApiClient
    tenant_slug: str

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The scopes asked for, each once (validate_requested_scope refused unknown ones)."""
        asked = set(scope_to_list(scope) or [DEFAULT_SCOPE])
        return list_to_scope([name for name in SCOPES if name in asked])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANTS_BY_KIND.get(self.row.kind, ())


@dataclass(frozen=True)
class Subject:
    """Whom a token speaks for: its `sub` claim, the answer's `UUID`, and its roles."""

    kind: str  # models.api.SUBJECT_KINDS
    sub: str
    roles: tuple[str, ...] = ()
    user_id: int | None = None
    account_id: int | None = None

    def get_user_id(self) -> str:
        return self.sub


def client_subject(client: OAuthClient) -> Subject:
    return Subject("client", client.row.client_id, tuple(client.row.roles or ()))


def member_subject(user: User) -> Subject:
    return Subject("user", str(user.id), member_roles(user.role), user_id=user.id)


def customer_subject(account: Account) -> Subject:
    return Subject("customer", account.external_id, account_id=account.id)


def anonymous_subject() -> Subject:
    return Subject(ANONYMOUS, str(uuid.uuid4()))


@dataclass(frozen=True)
class IssuedRefreshToken:
    """An ApiToken row found by its refresh token, as Authlib's refresh grant sees it."""

    row: ApiToken

    def check_client(self, client: OAuthClient) -> bool:
        return self.row.client_row_id == client.row.id

    def get_scope(self) -> str:
        return self.row.scope


def requested_tenant() -> str | None:
    """The tenant slug the request names (X-Tenant, or the alias path); None when it names
    none, or two different ones."""
    header = request.headers.get("X-Tenant")
    in_path = (request.view_args or {}).get("tenant")
    if header and in_path and header != in_path:
        return None
    return header or in_path or None


def query_client(client_id: str) -> OAuthClient | None:
    """A live client of the tenant the request names; anything else is unknown."""
    slug = requested_tenant()
    if not client_id or len(client_id) > 48 or not slug or len(slug) > 64:
        return None
    if "\x00" in client_id or "\x00" in slug:  # PostgreSQL cannot even compare such text
        return None
    found = db.session.execute(
        select(ApiClient, Tenant.slug)
        .join(Tenant, Tenant.id == ApiClient.tenant_id)
        .where(
            ApiClient.client_id == client_id,
            Tenant.slug == slug,
            ApiClient.revoked_at.is_(None),
        )
    ).first()
    return OAuthClient(*found) if found else None


ClientQuery = Callable[[str], OAuthClient | None]


def _client_if_secret_matches(
    query: ClientQuery, client_id: str | None, secret: str | None
) -> OAuthClient | None:
    if not client_id or not secret or len(secret) > MAX_FIELD:
        return None
    client = query(client_id)
    if client is None or not client.check_client_secret(secret):
        return None
    return client


def authenticate_basic(query: ClientQuery, oauth_request: OAuth2Request) -> OAuthClient | None:
    return _client_if_secret_matches(
        query, *basic_credentials(oauth_request.headers.get("Authorization"))
    )


def authenticate_post(query: ClientQuery, oauth_request: OAuth2Request) -> OAuthClient | None:
    form = oauth_request.form
    return _client_if_secret_matches(query, form.get("client_id"), form.get("client_secret"))


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """Signed JWT access tokens (exp, iat, jti, sub, client_id, tenant, roles, scope) and
    random refresh tokens; the answer adds `UUID`, the subject's id, as OrderingStack's does."""

    def __init__(self) -> None:
        super().__init__(
            issuer=ISSUER,
            alg=ALGORITHM,
            refresh_token_generator=lambda **_: secrets.token_urlsafe(32),
            expires_generator=lambda client, grant_type: access_token_seconds(),
        )

    def get_jwks(self):
        return signing_key()

    def get_extra_claims(self, client, grant_type, user, scope) -> dict:
        subject = user or client_subject(client)
        return {"tenant": client.tenant_slug, "roles": list(subject.roles)}

    def generate(
        self, grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True
    ) -> dict:
        token = super().generate(grant_type, client, user, scope, expires_in, include_refresh_token)
        token["token_type"] = "bearer"
        token["expires_in"] = access_token_seconds()
        token["UUID"] = (user or client_subject(client)).sub
        return token


def access_token_seconds() -> int:
    return int(current_app.config["API_ACCESS_TOKEN_SECONDS"])


def save_token(token: dict, oauth_request: OAuth2Request) -> None:
    """Record the issued token (its jti, subject, roles, refresh token's hash, expiries)."""
    client: OAuthClient = oauth_request.client
    subject: Subject = oauth_request.user or client_subject(client)
    claims = jwt.decode(token["access_token"], signing_key(), algorithms=[ALGORITHM]).claims
    issued_at = datetime.fromtimestamp(claims["iat"], UTC)
    refresh_token = token.get("refresh_token")
    refresh_days = int(current_app.config["API_REFRESH_TOKEN_DAYS"])
    db.session.add(
        ApiToken(
            tenant_id=client.row.tenant_id,
            jti=claims["jti"],
            client_row_id=client.row.id,
            subject_kind=subject.kind,
            subject=subject.sub,
            user_id=subject.user_id,
            account_id=subject.account_id,
            roles=list(subject.roles),
            scope=token.get("scope") or "",
            refresh_token_hash=hash_refresh_token(refresh_token) if refresh_token else None,
            issued_at=issued_at,
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            refresh_expires_at=issued_at + timedelta(days=refresh_days) if refresh_token else None,
        )
    )
    client.row.last_used_at = utcnow()


def hash_refresh_token(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()


class ClientAuthenticated:
    """Remembers the authenticated client on the request at once: the password grant's
    authenticate_user needs to know whose app is asking."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def authenticate_token_endpoint_client(self):
        client = super().authenticate_token_endpoint_client()
        self.request.client = client
        return client


class ClientCredentialsGrant(ClientAuthenticated, grants.ClientCredentialsGrant):
    """A service's own token, with the client's roles (and a refresh token, as for every kind)."""

    def create_token_response(self):
        token = self.generate_token(scope=self.request.payload.scope, include_refresh_token=True)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class PasswordGrant(ClientAuthenticated, grants.ResourceOwnerPasswordCredentialsGrant):
    """admin-app: a team member's e-mail and password; customer-app: a customer's e-mail or
    phone and one-time code, or `anonymous` with an empty password for a guest."""

    def authenticate_user(self, username: str, password: str) -> Subject:
        client: OAuthClient = self.request.client
        wrong = WRONG_PASSWORD if client.row.kind == "admin-app" else WRONG_LOGIN
        if len(username) > MAX_FIELD or len(password) > MAX_FIELD or "\x00" in username:
            raise InvalidGrantError(wrong)
        if client.row.kind == "admin-app":
            return self._team_member(client, username, password)
        if username == ANONYMOUS and password == "":
            return anonymous_subject()
        account = sign_in_codes.redeem_code(
            client.row.tenant_id,
            username,
            password,
            now=utcnow(),
            max_attempts=int(current_app.config["CUSTOMER_CODE_ATTEMPTS"]),
        )
        if account is None:
            raise InvalidGrantError(WRONG_LOGIN)
        return customer_subject(account)

    @staticmethod
    def _team_member(client: OAuthClient, email: str, password: str) -> Subject:
        config = current_app.config
        try:
            user = authenticate(
                email,
                password,
                request.remote_addr or "",
                max_failures=int(config["LOGIN_THROTTLE_MAX_FAILURES"]),
                window_seconds=int(config["LOGIN_THROTTLE_WINDOW_SECONDS"]),
            )
        except LoginThrottled:
            raise InvalidGrantError(THROTTLED) from None
        if user is None or user.tenant_id != client.row.tenant_id:
            raise InvalidGrantError(WRONG_PASSWORD)
        return member_subject(user)


class RefreshTokenGrant(ClientAuthenticated, grants.RefreshTokenGrant):
    """A new token pair for a live refresh token; the old pair stops working (rotation)."""

    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedRefreshToken | None:
        if not refresh_token or len(refresh_token) > MAX_FIELD:
            return None
        now = utcnow()
        # Revoked as it is found, in one statement: of two refreshes racing with the same
        # token, the second finds it revoked (the view rolls this back on any refusal).
        token_id = db.session.execute(
            update(ApiToken)
            .where(
                ApiToken.refresh_token_hash == hash_refresh_token(refresh_token),
                ApiToken.revoked_at.is_(None),
                ApiToken.refresh_expires_at > now,
            )
            .values(revoked_at=now)
            .returning(ApiToken.id)
        ).scalar()
        return IssuedRefreshToken(db.session.get(ApiToken, token_id)) if token_id else None

    def authenticate_user(self, credential: IssuedRefreshToken) -> Subject:
        row, client = credential.row, self.request.client
        if row.subject_kind == "client":
            return client_subject(client)
        if row.subject_kind == ANONYMOUS:  # the same guest, so the app keeps its UUID
            return Subject(ANONYMOUS, row.subject) if row.subject else anonymous_subject()
        if row.subject_kind == "user":
            user = db.session.get(User, row.user_id) if row.user_id else None
            if user is None or not user.active or user.tenant_id != row.tenant_id:
                raise InvalidGrantError("the member can no longer sign in")
            return member_subject(user)
        account = db.session.get(Account, row.account_id) if row.account_id else None
        if account is None or account.retired or account.tenant_id != row.tenant_id:
            raise InvalidGrantError("the account can no longer sign in")
        return customer_subject(account)

    def revoke_old_credential(self, refresh_token: IssuedRefreshToken) -> None:
        """Already revoked when it was found."""


def create_server() -> AuthorizationServer:
    server = AuthorizationServer(query_client=query_client, save_token=save_token)
    server.scopes_supported = list(SCOPES)
    server.register_token_generator("default", AccessTokenGenerator())
    server.register_client_auth_method("client_secret_basic", authenticate_basic)
    server.register_client_auth_method("client_secret_post", authenticate_post)
    for grant in (ClientCredentialsGrant, PasswordGrant, RefreshTokenGrant):
        server.register_grant(grant)
    return server


server = create_server()
