"""A guest joins the restaurant's programme from its member page.

A new e-mail or phone makes an account; one the restaurant already knows makes nothing and
changes nothing (whoever typed it may not be its owner): either way the guest is then sent a
sign-in code, and the page they see is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...rules.identity import IdentityError, normalise_email, normalise_phone
from ...validation import FieldErrors, text_problem
from ..accounts.profile import AccountExists, Profile, add_account, find_account
from ..accounts.search import FIRST_DAY
from ..accounts.sign_in_codes import CONTACT_FIELDS

NAME_MAX = 128


@dataclass(frozen=True)
class JoinRequest:
    first_name: str
    last_name: str
    contact: str  # an e-mail address or a phone number
    birthdate: date | None
    marketing_consent: bool


def contact_login(contact: str, phone_region: str | None) -> tuple[str, str]:
    """("email", address) or ("phone", E.164 number) for what the guest typed; FieldErrors
    (on `contact`) when it is neither."""
    text = (contact or "").strip()
    if not text:
        raise FieldErrors({"contact": "enter your e-mail address or phone number"})
    try:
        if "@" in text:
            return "email", normalise_email(text) or ""
        return "phone", normalise_phone(text, phone_region) or ""
    except IdentityError:
        kind = "e-mail address" if "@" in text else "phone number"
        example = "" if "@" in text else " with its country code, e.g. +32 470 12 34 56"
        raise FieldErrors({"contact": f"this is not an {kind} we can use{example}"}) from None


def join(tenant_id: int, request: JoinRequest, *, now: datetime, phone_region: str | None) -> str:
    """Make the guest's account unless their e-mail or phone is already known (commits); the
    login to send the sign-in code to. FieldErrors names what to correct; nothing is kept then."""
    errors: dict[str, str] = {}
    first_name = (request.first_name or "").strip()
    last_name = (request.last_name or "").strip()
    if problem := text_problem(first_name, NAME_MAX, "enter your first name"):
        errors["first_name"] = problem
    if len(last_name) > NAME_MAX:
        errors["last_name"] = f"use at most {NAME_MAX} characters"
    if request.birthdate is not None and not FIRST_DAY <= request.birthdate <= now.date():
        errors["birthdate"] = "enter your birthday, a date in the past"
    try:
        field_name, login = contact_login(request.contact, phone_region)
    except FieldErrors as error:
        errors.update(error.errors)
    if errors:
        raise FieldErrors(errors)
    if find_account(tenant_id, login, CONTACT_FIELDS) is not None:
        return login
    profile = Profile(
        first_name=first_name,
        last_name=last_name,
        birthdate=request.birthdate,
        accepted_tc_at=now,
        marketing_consent=request.marketing_consent,
        **{field_name: login},
    )
    try:
        add_account(tenant_id, profile, now=now)
        db.session.commit()
    except (AccountExists, IntegrityError):
        # Taken by an account kept for the figures, or by a guest joining at the same moment:
        # theirs stays as it is, and the code goes to whoever owns the address.
        db.session.rollback()
    return login
