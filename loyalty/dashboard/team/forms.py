"""Team forms: add a member, change a role."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import Email, InputRequired, Length

from ...services.team import MIN_PASSWORD_LENGTH

ROLE_CHOICES = [
    ("staff", "Staff: looks after customers, sees rewards and tiers"),
    ("owner", "Owner: also changes rewards, tiers, settings and the team"),
]


class MemberForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[
            InputRequired("enter their email"),
            Email("enter a valid email address"),
            Length(max=254),
        ],
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
    role = SelectField("Role", choices=[("staff", "Staff"), ("owner", "Owner")])
