"""Deliverect's request signature: hex HMAC-SHA256 of the raw body, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

HEADER = "X-Server-Authorization-HMAC-SHA256"


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, given: str | None, secrets: Iterable[str | None]) -> bool:
    """True when `given` is the signature of `body` under any of the non-empty `secrets`.

    Every candidate is compared (no early exit) so the time taken does not say which one matched.
    """
    if not given:
        return False
    given_bytes = given.strip().lower().encode()
    matched = False
    for secret in secrets:
        if secret:
            matched |= hmac.compare_digest(sign(secret, body).encode(), given_bytes)
    return matched
