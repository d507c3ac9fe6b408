"""Refuses request text the database cannot store, before any view reads it."""

from __future__ import annotations

from flask import abort, request


def refuse_unstorable_text() -> None:
    """PostgreSQL cannot store NUL characters: refuse them up front instead of failing mid-write."""
    for value in (*request.args.values(), *request.form.values()):
        if "\x00" in value:
            abort(400, "The text sent contains a NUL character, which cannot be stored.")
