"""What customers change on their own account from the member app: their profile, and the
tags and properties named `my_...` (every other tag and property is the restaurant's)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime

from sqlalchemy import delete

from ...extensions import db
from ...models import Account, AccountTag, utcnow
from ...validation import FieldErrors
from ..campaigns import engine
from ..scoping import get_for_tenant
from ..wallet.ledger import lock_account
from .profile import Profile, update_profile
from .search import FIRST_DAY

OWN_NAME = re.compile(r"my_[a-zA-Z0-9_]{1,61}")  # at most 64 characters, as tags are kept
MAX_VALUE_LENGTH = 500
# The profile fields a customer may change.
PROFILE_FIELDS = ("first_name", "last_name", "birthdate", "sex")


def is_own_name(name: str) -> bool:
    return bool(OWN_NAME.fullmatch(name))


def update_own_profile(
    tenant_id: int, account_id: int, changes: Mapping[str, object], *, now: datetime | None = None
) -> Account:
    """Change the fields of PROFILE_FIELDS that `changes` names (None clears one); identifiers,
    consents and tags stay as they are. Through profile.update_profile, so the account's
    campaigns see the new profile (dynamic joins) and a new birthdate is noted."""
    now = now or utcnow()
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise FieldErrors({unknown[0]: "is not a profile field a customer may change"})
    account = get_for_tenant(Account, account_id, tenant_id)
    birthdate = changes.get("birthdate", account.birthdate)
    if birthdate is not None and not (
        isinstance(birthdate, date) and FIRST_DAY <= birthdate <= now.date()
    ):
        raise FieldErrors({"birthdate": f"must be a date from {FIRST_DAY} to today"})
    profile = Profile(
        card=account.card,
        email=account.email,
        phone=account.phone,
        first_name=_text(changes.get("first_name", account.first_name)),
        last_name=_text(changes.get("last_name", account.last_name)),
        birthdate=birthdate,  # type: ignore[arg-type]
        sex=changes.get("sex", account.sex),  # type: ignore[arg-type]
    )
    return update_profile(tenant_id, account.id, profile, now=now)


def set_own_properties(
    tenant_id: int,
    account_id: int,
    properties: Mapping[str, str | None],
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    *,
    now: datetime | None = None,
) -> Account:
    """Set (a None value removes) the `my_` properties and add or remove `my_` tags, in one
    transaction under the account lock; any other name is refused (FieldErrors naming it) and
    then nothing changes. The account's campaigns see the result."""
    add_tags, remove_tags = list(add_tags), list(remove_tags)
    errors: dict[str, str] = {}
    for key, value in properties.items():
        if not is_own_name(key):
            errors.setdefault(f"properties.{key[:64]}", _OWN_RULE)
        elif value is not None and len(value) > MAX_VALUE_LENGTH:
            errors.setdefault(f"properties.{key}", f"at most {MAX_VALUE_LENGTH} characters")
    for where, tags in (("addTags", add_tags), ("removeTags", remove_tags)):
        for index, tag in enumerate(tags):
            if not is_own_name(tag):
                errors.setdefault(f"{where}[{index}]", _OWN_RULE)
    for index, tag in enumerate(remove_tags):
        if tag in add_tags:
            errors.setdefault(f"removeTags[{index}]", "is also in addTags")
    if errors:
        raise FieldErrors(errors)
    account = get_for_tenant(Account, account_id, tenant_id)
    lock_account(account.id)
    db.session.refresh(account)
    if properties:
        kept = dict(account.properties or {})
        for key, value in properties.items():
            if value is None:
                kept.pop(key, None)
            else:
                kept[key] = value
        account.properties = kept
    held = set(account.tag_names)
    for tag in sorted(set(add_tags) - held):
        db.session.add(AccountTag(account_id=account.id, tag=tag, tenant_id=tenant_id))
    if remove_tags:
        db.session.execute(
            delete(AccountTag).where(
                AccountTag.account_id == account.id, AccountTag.tag.in_(set(remove_tags))
            )
        )
    db.session.flush()
    db.session.expire(account, ["tags"])
    engine.on_account_changed(tenant_id, account.id, now or utcnow())
    db.session.commit()
    return account


_OWN_RULE = "must be my_ followed by letters, digits or _ (at most 64 characters)"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
