"""The key access tokens are signed with (HS256, derived from SECRET_KEY) and reading them back."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

ALGORITHM = "HS256"
# Longer than any token we sign (a few hundred characters); anything longer is not ours.
MAX_TOKEN_LENGTH = 4096


class BadToken(Exception):
    """Not a token we signed, or one whose `exp` has passed."""


def signing_key() -> OctKey:
    return _key_for(current_app.config["SECRET_KEY"])


@lru_cache(maxsize=4)
def _key_for(secret_key: str) -> OctKey:
    # Derived, so a leaked token key would not also forge session cookies.
    derived = hmac.new(secret_key.encode(), b"loyalty api access tokens", hashlib.sha256)
    return OctKey.import_key(derived.digest())


def read_claims(token: str) -> dict:
    """The claims of a live access token we signed; BadToken when it is not one, or expired."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise BadToken()
    try:
        claims = jwt.decode(token, signing_key(), algorithms=[ALGORITHM]).claims
        jwt.JWTClaimsRegistry(
            exp={"essential": True}, jti={"essential": True}, tenant={"essential": True}
        ).validate(claims)
    except (JoseError, ValueError, TypeError):
        raise BadToken() from None
    return claims
