"""What every dashboard form shares: showing a service's FieldErrors under the fields."""

from __future__ import annotations

from collections.abc import Mapping

from flask_wtf import FlaskForm

from ..validation import FieldErrors


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
