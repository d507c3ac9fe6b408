"""Where a guest goes after signing in: only a page of the same restaurant's member pages."""

from __future__ import annotations

MAX_NEXT_LENGTH = 200


def local_next(target: object, prefix: str) -> str | None:
    """`target` when it is a path under `prefix` (e.g. "/m/trattoria/"), else None, so a link
    can never send a guest to another site ("//evil.example", "https://...", "/\\evil") or
    to another restaurant's pages."""
    if (
        not isinstance(target, str)
        or not target.startswith(prefix)
        or len(target) > MAX_NEXT_LENGTH
    ):
        return None
    if "//" in target or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    if "/../" in target or target.endswith("/.."):
        return None
    return target
