"""What every dashboard form shares: showing a service's FieldErrors under the fields."""

from __future__ import annotations

from collections.abc import Mapping

from flask_wtf import FlaskForm

from ..validation import FieldErrors

NO_CHOICE = ""  # the value of a select's "none" option


def optional_id(value: str | int | None) -> int | None:
    """A select's chosen row id, or None for its "none" option (`NO_CHOICE`)."""
    if value in (None, NO_CHOICE, "None"):
        return None
    return int(value)


def show_field_errors(
    form: FlaskForm,
    error: FieldErrors,
    *,
    fallback: str,
    renamed: Mapping[str, str] | None = None,
) -> None:
    """Put each message under its field (`renamed` maps service names to form names); a message
    about something the form has no field for goes under the `fallback` field."""
    renamed = renamed or {}
    for name, message in error.errors.items():
        field = form._fields.get(renamed.get(name, name)) or form[fallback]
        field.errors = [*field.errors, message]
