"""Forms of the account page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ...services.accounts.events import RELATION_TYPES
from ...services.accounts.profile import Profile
from ...services.wallet.adjustments import MAX_ADJUSTMENT

SEX_CHOICES = [
    SelectChoice("", "Not said"),
    SelectChoice("FEMALE", "Female"),
    SelectChoice("MALE", "Male"),
    SelectChoice("OTHER", "Other"),
]
RELATION_LABELS = {
    "INVITED": "invited",
    "INVITED_BY": "was invited by",
    "FRIEND": "is a friend of",
    "UNKNOWN": "is related to",
}


class ProfileForm(FlaskForm):
    first_name = StringField("First name", validators=[Length(max=128)])
    last_name = StringField("Last name", validators=[Length(max=128)])
    email = EmailField("Email", validators=[Optional(), Length(max=254)])
    phone = StringField(
        "Phone",
        validators=[Optional(), Length(max=32)],
        description="With the country code, e.g. +32 470 12 34 56.",
    )
    card = StringField("Card number", validators=[Optional(), Length(max=64)])
    birthdate = DateField("Birthday", validators=[Optional()])
    sex = SelectField("Sex", choices=SEX_CHOICES, default="")
    marketing_consent = BooleanField("Agreed to receive marketing")

    @classmethod
    def for_account(cls, account) -> ProfileForm:
        return cls(
            data={
                "first_name": account.first_name,
                "last_name": account.last_name,
                "email": account.email,
                "phone": account.phone,
                "card": account.card,
                "birthdate": account.birthdate,
                "sex": account.sex or "",
                "marketing_consent": account.marketing_consent,
            }
        )

    def profile(self) -> Profile:
        return Profile(
            card=self.card.data,
            email=self.email.data,
            phone=self.phone.data,
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            birthdate=self.birthdate.data,
            sex=self.sex.data or None,
            marketing_consent=self.marketing_consent.data,
        )


class TagsForm(FlaskForm):
    tags = StringField("Tags", description="Separated by commas, e.g. vip, lunch-regular.")
    properties = TextAreaField("Properties", description="One per line as key: value.")


class AdjustForm(FlaskForm):
    points = IntegerField(
        "Points",
        validators=[
            InputRequired("Enter a number of points."),
            NumberRange(-MAX_ADJUSTMENT, MAX_ADJUSTMENT),
        ],
        description="Positive adds points, negative removes them.",
    )
    reason = StringField(
        "Reason",
        validators=[DataRequired("Say why the points change."), Length(max=500)],
        description="Kept in the ledger, e.g. “missing points from order 1234”.",
    )
    # A one-time key: submitting the same form twice adjusts once.
    token = HiddenField()


class RelationForm(FlaskForm):
    type = SelectField(
        "Relation",
        choices=[SelectChoice(t, f"This customer {RELATION_LABELS[t]}") for t in RELATION_TYPES],
        default="INVITED",
    )
    other = StringField(
        "Other customer",
        validators=[DataRequired("Name the other customer."), Length(max=254)],
        description="Their account id, card, email or phone.",
    )
    do_not_process_symmetry = BooleanField("Record it on this account only")


class MergeForm(FlaskForm):
    other_id = HiddenField(validators=[DataRequired()])
