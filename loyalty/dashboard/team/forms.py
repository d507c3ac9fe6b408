"""Team forms: add a member, change a role."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, ValidationError

from ...rules.identity import IdentityError, normalise_email
from ...services.setup.team import MIN_PASSWORD_LENGTH

ROLE_CHOICES = [
    SelectChoice("staff", "Staff: looks after customers, sees rewards and tiers"),
    SelectChoice("owner", "Owner: also changes rewards, tiers, settings and the team"),
]


def email_address(form: FlaskForm, field: EmailField) -> None:
    """The same email rule as customer accounts (rules.identity)."""
    try:
        normalise_email(field.data)
    except IdentityError:
        raise ValidationError("enter a valid email address") from None


class MemberForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[InputRequired("enter their email"), email_address, Length(max=254)],
    )
    name = StringField("Name", validators=[Length(max=128)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="staff")
    password = PasswordField(
        "Initial password",
        validators=[
            InputRequired("choose a password to give them"),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=f"use at least {MIN_PASSWORD_LENGTH} characters",
            ),
        ],
        description=f"At least {MIN_PASSWORD_LENGTH} characters. Give it to them in person.",
    )


class RoleForm(FlaskForm):
    role = SelectField(
        "Role", choices=[SelectChoice("staff", "Staff"), SelectChoice("owner", "Owner")]
    )
