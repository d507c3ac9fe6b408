"""A guest joins the restaurant's programme from its member page.

Nothing counts until the guest proves the address: the join page checks what they typed
(`join_choices`), the door keeps those choices in the guest's signed session, and after the
answer `open_join` makes a bare `activation_pending` account for a new e-mail or phone (no
names, no terms, no consent) and sends it a code, exactly as for an address already known. When
the guest enters the code, `activate` applies the choices in the sign-in's transaction. An
active account is never changed by a join (whoever typed the address may not be its owner).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import Flask
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Account, utcnow
from ...rules.identity import (
    IdentityError,
    name_key,
    normalise_email,
    normalise_phone,
    shows_as_typed,
)
from ...validation import FieldErrors, text_problem
from ..accounts.profile import AccountExists, Profile, add_account, consent_record, find_account
from ..accounts.search import FIRST_DAY
from ..accounts.sign_in_codes import CONTACT_FIELDS, send_code
from ..campaigns import engine, jobs

NAME_MAX = 128
PENDING = "activation_pending"  # Deliverect's status for an account whose owner has not confirmed


@dataclass(frozen=True)
class JoinRequest:
    first_name: str
    last_name: str
    contact: str  # an e-mail address or a phone number
    birthdate: date | None
    marketing_consent: bool


@dataclass(frozen=True)
class JoinChoices:
    """What the guest chose on the join page (the terms accepted with it), for the account the
    code proves: `login` as stored, e-mail lower-cased or phone in E.164."""

    login: str
    first_name: str
    last_name: str
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
        kind = "an e-mail address" if "@" in text else "a phone number"
        example = "" if "@" in text else " with its country code, e.g. +32 470 12 34 56"
        raise FieldErrors({"contact": f"this is not {kind} we can use{example}"}) from None


def details_problems(
    first_name: str, last_name: str, birthdate: date | None, today: date
) -> dict[str, str]:
    """What is wrong with a guest's names (already stripped) and birthday, by field: the one
    check of the join page and the guest's own details."""
    problems: dict[str, str] = {}
    if problem := text_problem(first_name, NAME_MAX, "enter your first name"):
        problems["first_name"] = problem
    if len(last_name) > NAME_MAX:
        problems["last_name"] = f"use at most {NAME_MAX} characters"
    for name, text in (("first_name", first_name), ("last_name", last_name)):
        if name not in problems and not shows_as_typed(text):
            problems[name] = "remove the hidden or control characters"
    if birthdate is not None and not FIRST_DAY <= birthdate <= today:
        problems["birthdate"] = "enter your birthday, a date in the past"
    return problems


def join_choices(request: JoinRequest, *, now: datetime, phone_region: str | None) -> JoinChoices:
    """The guest's choices when they can be used; FieldErrors names what to correct. Writes
    nothing."""
    first_name = (request.first_name or "").strip()
    last_name = (request.last_name or "").strip()
    errors = details_problems(first_name, last_name, request.birthdate, now.date())
    login = ""
    try:
        _field, login = contact_login(request.contact, phone_region)
    except FieldErrors as error:
        errors.update(error.errors)
    if errors:
        raise FieldErrors(errors)
    return JoinChoices(login, first_name, last_name, request.birthdate, request.marketing_consent)


def open_join(app: Flask, tenant_id: int, login: str) -> None:
    """After the answer: a pending account for a new `login` (commits), then a code to whoever
    owns it. The same work whether or not the address is known."""
    with app.app_context():
        _add_pending_account(tenant_id, login, utcnow())
    send_code(app, tenant_id, login)


def _add_pending_account(tenant_id: int, login: str, now: datetime) -> None:
    if find_account(tenant_id, login, CONTACT_FIELDS) is not None:
        db.session.rollback()
        return
    field_name = "email" if "@" in login else "phone"
    try:
        account = add_account(tenant_id, Profile(**{field_name: login}), now=now)
        account.status = PENDING
        db.session.commit()
    except (AccountExists, IntegrityError):
        # Taken by an account kept for the figures, or by a guest joining at the same moment:
        # theirs stays as it is, and the code goes to whoever owns the address.
        db.session.rollback()


def is_pending(account: Account) -> bool:
    """The guest proved the address but has not yet joined (names, terms): their code was
    entered on another phone than the join page, or the join page's choices were lost."""
    return account.status == PENDING


def finish_join(account: Account, choices: JoinChoices, *, now: datetime) -> bool:
    """A signed-in guest whose account is still pending joins now, with these choices (commits);
    False, changing nothing, when it is not pending or `choices` are for another address."""
    if not is_pending(account) or choices.login not in (account.email, account.phone):
        return False
    activate(account, choices, now=now)
    db.session.commit()
    return True


def activate(account: Account, choices: JoinChoices, *, now: datetime) -> None:
    """The proven guest's choices on their pending account, in the caller's transaction: names,
    birthday, terms accepted and marketing consent as of `now`, status active. An account that
    is not pending (active, or blocked by Deliverect) keeps everything it has."""
    if account.status != PENDING:
        return
    account.first_name, account.last_name = choices.first_name, choices.last_name
    account.first_name_key = name_key(choices.first_name)
    account.last_name_key = name_key(choices.last_name)
    account.birthdate = choices.birthdate
    account.accepted_tc_at = now
    account.marketing_consent = choices.marketing_consent
    account.consents = {
        **(account.consents or {}),
        "marketing": consent_record(choices.marketing_consent, None, now),
    }
    account.status = "active"
    db.session.flush()
    if choices.birthdate is not None:
        jobs.birthdate_changed(account.tenant_id, account.id, now)
    engine.on_account_changed(account.tenant_id, account.id, now)
