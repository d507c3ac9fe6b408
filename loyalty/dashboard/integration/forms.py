"""The test-calls form: the API key, which we cannot show because we keep only its hash."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField
from wtforms.validators import DataRequired, Length


class TestCallsForm(FlaskForm):
    api_key = PasswordField(
        "API key",
        validators=[DataRequired(message="Paste your API key."), Length(max=200)],
        description="The key you entered in Deliverect. We store only a fingerprint of it, so the "
        "test asks for it; it is used for this test only and not kept.",
    )
    scenario = SelectField(
        "Calls",
        choices=[
            SelectChoice("full", "Full checkout: customer, programs, validation, order, cancel"),
            SelectChoice("smoke", "Quick check: registration, customer, wallet, programs"),
        ],
        default="full",
    )
