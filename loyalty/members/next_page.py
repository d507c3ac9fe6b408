"""Where a guest goes after signing in: only a page of the same restaurant's member pages."""

from __future__ import annotations

from urllib.parse import quote, unquote

MAX_NEXT_LENGTH = 200


def local_next(target: object, prefix: str) -> str | None:
    """The path `target` names when it is under `prefix` (e.g. "/m/trattoria/"), else None, so
    a link can never send a guest to another site ("//evil.example", "https://...", "/\\evil")
    or to another restaurant's pages.

    The path is read as a browser reads it: percent-decoded once ("%2E" is a dot) and with its
    dot segments resolved ("/m/trattoria/../x" is "/m/x"), and only then compared; what is
    returned is that resolved path.
    """
    if not isinstance(target, str) or len(target) > MAX_NEXT_LENGTH or _unsafe(target):
        return None
    raw_path, mark, query = target.partition("?")
    path = unquote(raw_path, errors="strict") if _decodable(raw_path) else None
    if path is None or not path.startswith("/") or "%" in path or _unsafe(path):
        return None  # "%" left over: encoded twice ("%252e"), which no page's path is
    resolved = _without_dot_segments(path)
    if not resolved.startswith(prefix):
        return None
    return quote(resolved, safe="/-._~!$&'()*+,;=:@") + mark + query


def _unsafe(text: str) -> bool:
    return "//" in text or "\\" in text or any(ord(c) < 32 or ord(c) == 127 for c in text)


def _decodable(text: str) -> bool:
    try:
        unquote(text, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def _without_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 for an absolute path: "." goes, ".." takes the segment before it."""
    kept: list[str] = []
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                kept.append("")
        elif segment == "..":
            if kept:
                kept.pop()
            if last:
                kept.append("")
        else:
            kept.append(segment)
    return "/" + "/".join(kept)
