"""Creating, finding and editing loyalty accounts. Identifiers are normalised on the way in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, case, or_, select

from ...extensions import db
from ...models import Account, AccountTag, utcnow
from ...rules.identity import IdentityError, name_key, normalise_email, normalise_phone
from ...time import to_iso
from ...validation import CONFLICT, FieldErrors
from ..campaigns import engine, jobs
from ..scoping import get_for_tenant


class AccountExists(FieldErrors):
    """Another account of the tenant already uses the `field_name` identifier (id, card, email
    or phone): `account` is that one."""

    def __init__(self, account: Account, field_name: str):
        super().__init__({field_name: f"Another account already has this {field_name}."}, CONFLICT)
        self.account, self.field_name = account, field_name


@dataclass
class Profile:
    """What a team member, an import row or a webhook may say about a customer."""

    external_id: str | None = None
    card: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str = ""
    last_name: str = ""
    birthdate: date | None = None
    sex: str | None = None
    accepted_tc_at: datetime | None = None
    marketing_consent: bool | None = None
    tags: list[str] = field(default_factory=list)


def new_external_id() -> str:
    return "acc_" + secrets.token_hex(8)


def normalised(profile: Profile) -> Profile:
    """The profile with email lower-cased and phone in E.164; FieldErrors names a bad field."""
    try:
        email = normalise_email(profile.email)
    except IdentityError as error:
        raise FieldErrors({"email": str(error)}) from None
    try:
        phone = normalise_phone(profile.phone)
    except IdentityError as error:
        raise FieldErrors({"phone": str(error)}) from None
    if profile.sex is not None and profile.sex not in ("MALE", "FEMALE", "OTHER"):
        raise FieldErrors({"sex": "must be MALE, FEMALE or OTHER"})
    external_id = (profile.external_id or "").strip() or None
    if external_id is not None and not (1 <= len(external_id) <= 64):
        raise FieldErrors({"id": "must be 1 to 64 characters"})
    return Profile(
        external_id=external_id,
        card=(profile.card or "").strip() or None,
        email=email,
        phone=phone,
        first_name=(profile.first_name or "").strip()[:128],
        last_name=(profile.last_name or "").strip()[:128],
        birthdate=profile.birthdate,
        sex=profile.sex,
        accepted_tc_at=profile.accepted_tc_at,
        marketing_consent=profile.marketing_consent,
        tags=sorted({t.strip() for t in profile.tags if t and t.strip()}),
    )


def find_conflict(
    tenant_id: int, profile: Profile, exclude_id: int | None = None
) -> tuple[Account, str] | None:
    """The existing account that already uses one of the profile's unique identifiers."""
    checks = (
        ("id", Account.external_id, profile.external_id),
        ("card", Account.card, profile.card),
        ("email", Account.email, profile.email),
        ("phone", Account.phone, profile.phone),
    )
    for field_name, column, value in checks:
        if value is None:
            continue
        query = select(Account).where(Account.tenant_id == tenant_id, column == value)
        if exclude_id is not None:
            query = query.where(Account.id != exclude_id)
        existing = db.session.scalar(query)
        if existing is not None:
            return existing, field_name
    return None


def card_as_contact(card: str | None) -> tuple[str, str] | None:
    """("email", address) or ("phone", E.164 number) when a card reads as one, else None."""
    keys = identifier_keys(card)
    if keys is None:
        return None
    if keys.email:
        return "email", keys.email
    if keys.phone:
        return "phone", keys.phone
    return None


def check_card(tenant_id: int, card: str | None, exclude_id: int | None = None) -> None:
    """Refuse (FieldErrors) a card that reads as another account's email or phone.

    A marketplace sends whatever the shopper typed as providerId, which matches cards too: such
    a card would answer for the other customer.
    """
    contact = card_as_contact(card)
    if contact is None:
        return
    field_name, value = contact
    column = Account.email if field_name == "email" else Account.phone
    query = select(Account.id).where(Account.tenant_id == tenant_id, column == value)
    if exclude_id is not None:
        query = query.where(Account.id != exclude_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise FieldErrors({"card": f"is the {field_name} of another account"}, CONFLICT)


def add_account(tenant_id: int, profile: Profile, *, now: datetime | None = None) -> Account:
    """Add (not commit) a new account; raises AccountExists on a duplicate identifier, and
    FieldErrors on a card that is another account's email or phone. Dynamic campaigns it
    matches let it in; a birthdate it comes with is trusted (rules.flow.birthday_due)."""
    profile = normalised(profile)
    conflict = find_conflict(tenant_id, profile)
    if conflict:
        raise AccountExists(*conflict)
    check_card(tenant_id, profile.card)
    account = Account(
        tenant_id=tenant_id,
        external_id=profile.external_id or new_external_id(),
        card=profile.card,
        email=profile.email,
        phone=profile.phone,
        first_name=profile.first_name,
        last_name=profile.last_name,
        first_name_key=name_key(profile.first_name),
        last_name_key=name_key(profile.last_name),
        birthdate=profile.birthdate,
        sex=profile.sex,
        accepted_tc_at=profile.accepted_tc_at,
        marketing_consent=bool(profile.marketing_consent),
        consents={"marketing": consent_record(bool(profile.marketing_consent), None, now)},
        properties={},
    )
    account.tags = [AccountTag(tag=tag, tenant_id=tenant_id) for tag in profile.tags]
    db.session.add(account)
    db.session.flush()
    _campaigns_see(tenant_id, account.id, now)
    return account


def consent_record(given: bool, kept: object, now: datetime | None) -> str | bool:
    """What `consents[name]` keeps: when the consent was given (ISO-8601), or False. A consent
    still given keeps its first moment; rows from before moments were kept hold True."""
    if not given:
        return False
    if isinstance(kept, str) or kept is True:
        return kept
    return to_iso(now or utcnow())


def create_account(tenant_id: int, profile: Profile, *, now: datetime | None = None) -> Account:
    account = add_account(tenant_id, profile, now=now)
    db.session.commit()
    return account


def update_profile(
    tenant_id: int, account_id: int, profile: Profile, *, now: datetime | None = None
) -> Account:
    """Replace the editable profile fields; identifiers stay unique within the tenant. A
    birthdate set or changed is noted (a birthday treat is not due just after), and the
    account's campaigns see the new profile."""
    account = get_for_tenant(Account, account_id, tenant_id)
    profile = normalised(profile)
    profile.external_id = account.external_id
    conflict = find_conflict(account.tenant_id, profile, exclude_id=account.id)
    if conflict:
        raise AccountExists(*conflict)
    check_card(account.tenant_id, profile.card, exclude_id=account.id)
    account.card = profile.card
    account.email = profile.email
    account.phone = profile.phone
    account.first_name, account.last_name = profile.first_name, profile.last_name
    account.first_name_key = name_key(profile.first_name)
    account.last_name_key = name_key(profile.last_name)
    birthdate_set = profile.birthdate is not None and profile.birthdate != account.birthdate
    account.birthdate = profile.birthdate
    account.sex = profile.sex
    if profile.marketing_consent is not None:
        account.marketing_consent = profile.marketing_consent
        kept = (account.consents or {}).get("marketing")
        account.consents = {
            **(account.consents or {}),
            "marketing": consent_record(profile.marketing_consent, kept, now),
        }
    db.session.flush()
    _campaigns_see(account.tenant_id, account.id, now, birthdate_set=birthdate_set)
    db.session.commit()
    return account


def _campaigns_see(
    tenant_id: int, account_id: int, now: datetime | None, *, birthdate_set: bool = False
) -> None:
    """The account's campaigns look at its new profile (in the caller's transaction)."""
    now = now or utcnow()
    if birthdate_set:
        jobs.birthdate_changed(tenant_id, account_id, now)
    engine.on_account_changed(tenant_id, account_id, now)


# Which columns a look-up compares: anything typed (the dashboard, a marketplace providerId), or
# only the field Deliverect named, so a card equal to someone's email cannot answer for them.
ANY_IDENTIFIER = frozenset({"id", "card", "email", "phone"})
EMAIL_ONLY = frozenset({"email"})
PHONE_ONLY = frozenset({"phone"})


def find_account(
    tenant_id: int, identifier: str, fields: frozenset[str] = ANY_IDENTIFIER
) -> Account | None:
    """Look a customer up by whatever was typed: account id, card, email or phone (`fields`).

    When several accounts match, the account id wins, then email, phone and card. Merged
    accounts resolve to their survivor, so old ids, emails and cards keep working.
    """
    keys = identifier_keys(identifier)
    match = identifier_match(identifier, fields)
    if keys is None or match is None:
        return None
    account = db.session.scalar(
        select(Account)
        .where(Account.tenant_id == tenant_id, match)
        .order_by(match_rank(keys))
        .limit(1)
    )
    return resolve_merged(account)


def match_rank(keys: IdentifierKeys) -> ColumnElement[int]:
    """0 for an account id match, then email, phone, card: the order `find_account` prefers."""
    whens = [(Account.external_id == keys.text, 0)]
    if keys.email:  # never `email == None`, which SQL reads as IS NULL
        whens.append((Account.email == keys.email, 1))
    if keys.phone:
        whens.append((Account.phone == keys.phone, 2))
    return case(*whens, else_=3)


@dataclass(frozen=True)
class IdentifierKeys:
    """What a typed identifier can match: account id or card as typed, email, phone."""

    text: str
    email: str | None
    phone: str | None


def identifier_keys(identifier: str | None) -> IdentifierKeys | None:
    """The values `find_account` compares for `identifier`, normalised; None if blank."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    try:
        email = normalise_email(identifier) if "@" in identifier else None
    except IdentityError:
        email = None
    try:
        phone = normalise_phone(identifier)
    except IdentityError:
        phone = None
    return IdentifierKeys(identifier, email or None, phone or None)


def identifier_match(
    identifier: str | None, fields: frozenset[str] = ANY_IDENTIFIER
) -> ColumnElement[bool] | None:
    """The condition `find_account` looks up (account id, card, email or phone, as `fields`
    allow); None if blank or if `identifier` cannot be any of `fields`."""
    keys = identifier_keys(identifier)
    if keys is None:
        return None
    candidates = []
    if "id" in fields:
        candidates.append(Account.external_id == keys.text)
    if "card" in fields:
        candidates.append(Account.card == keys.text)
    if keys.email and "email" in fields:
        candidates.append(Account.email == keys.email)
    if keys.phone and "phone" in fields:
        candidates.append(Account.phone == keys.phone)
    return or_(*candidates) if candidates else None


def resolve_merged(account: Account | None) -> Account | None:
    seen = set()
    while account is not None and account.merged_into_id is not None and account.id not in seen:
        seen.add(account.id)
        account = db.session.get(Account, account.merged_into_id)
    return account
