"""The member pages' forms; every one carries the CSRF token and bounds what it accepts."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..services.accounts.sign_in_codes import MAX_LOGIN_LENGTH
from ..services.members.join import NAME_MAX

CODE_MAX = 32  # codes are 6 digits; room for spaces typed between them
NEXT_MAX = 200


def _text(typed: str | None) -> str:
    return (typed or "").strip()


class ContactForm(FlaskForm):
    """Sign in, step 1: where to send the code."""

    contact = StringField(
        "E-mail or phone number",
        filters=[_text],
        validators=[
            InputRequired("enter your e-mail address or phone number"),
            Length(max=MAX_LOGIN_LENGTH, message="this is too long for an address"),
        ],
        description="Phone numbers with their country code, e.g. +32 470 12 34 56.",
    )
    next = HiddenField(filters=[_text], validators=[Length(max=NEXT_MAX)])


class CodeForm(FlaskForm):
    """Sign in, step 2: the code, with the address it was sent to (carried by the page)."""

    login = HiddenField(filters=[_text], validators=[Length(max=MAX_LOGIN_LENGTH)])
    code = StringField(
        "Sign-in code",
        filters=[_text],
        validators=[
            InputRequired("enter the code we sent you"),
            Length(max=CODE_MAX, message="a code has 6 digits"),
        ],
    )
    next = HiddenField(filters=[_text], validators=[Length(max=NEXT_MAX)])


class DetailsForm(FlaskForm):
    first_name = StringField(
        "First name",
        filters=[_text],
        validators=[InputRequired("enter your first name"), Length(max=NAME_MAX)],
    )
    last_name = StringField("Last name", filters=[_text], validators=[Length(max=NAME_MAX)])
    birthdate = DateField(
        "Birthday (optional)",
        validators=[Optional()],
        description="Some restaurants send a treat on it.",
        format="%Y-%m-%d",
    )
    marketing_consent = BooleanField("Send me news and offers")


class JoinForm(DetailsForm):
    contact = ContactForm.contact
    terms = BooleanField(
        "I accept the terms and conditions",
        validators=[DataRequired("accept the terms to join")],
    )


class EmptyForm(FlaskForm):
    """The CSRF token of a button: sign out, order online, delete."""
