"""Login, password-change and button forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length

from ...services.setup.team import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in on this device for 30 days")


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[InputRequired("enter it")])
    new = PasswordField(
        "New password",
        validators=[
            InputRequired("choose a new password"),
            Length(
                min=MIN_PASSWORD_LENGTH, message=f"use at least {MIN_PASSWORD_LENGTH} characters"
            ),
        ],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )
    confirm = PasswordField(
        "New password again",
        validators=[InputRequired("type it again"), EqualTo("new", "the two do not match")],
    )


class EmptyForm(FlaskForm):
    """Gives POST-only buttons (logout, archive, rotate) their CSRF token."""
