"""The one field-error contract: what is wrong with a request, field by field, in the user's words.

Rules and services raise FieldErrors and never format it; each door renders it its own way: the
dashboard puts each message under its field (dashboard.forms.show_field_errors), the Deliverect
webhooks answer one 400 naming the fields (webhooks.responses.invalid_fields), the importers
report one line per field with where it is.
"""

from __future__ import annotations

from collections.abc import Mapping

# What kind of refusal it is, for doors that answer with a code of their own.
INVALID = "invalid"  # the values break a rule
CONFLICT = "conflict"  # another row already uses the value (a program id, a name, an email)


class FieldErrors(ValueError):
    """Nothing was saved: `errors` maps each field name to what is wrong with it."""

    def __init__(self, errors: Mapping[str, str], code: str = INVALID):
        self.errors = dict(errors)
        self.code = code
        super().__init__(self.describe())

    def describe(self, names: Mapping[str, str] | None = None) -> str:
        """As text, "field: message; other: message", fields spelled as `names` says (a door's)."""
        names = names or {}
        return "; ".join(f"{names.get(name, name)}: {text}" for name, text in self.errors.items())


def text_problem(text: str, most: int, missing: str) -> str | None:
    """Why a required one-line text (already stripped) is refused: `missing` when it is empty,
    or that it is longer than `most` characters; None when it will do."""
    if not text:
        return missing
    if len(text) > most:
        return f"use at most {most} characters"
    return None
