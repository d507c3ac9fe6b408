"""HTTP Basic credentials, as both OAuth token endpoints (the API's and Deliverect's SSO) read
them. Authlib's own reader lets non-ASCII and non-UTF-8 input escape as errors."""

from __future__ import annotations

import base64
from urllib.parse import unquote

MAX_CREDENTIALS_HEADER = 1024  # a client id and secret we issue fit in a tenth of this


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
