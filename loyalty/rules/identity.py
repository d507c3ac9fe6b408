"""How customers are identified: normalised emails, E.164 phones, searchable name keys."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class IdentityError(ValueError):
    pass


def normalise_email(text: str | None) -> str | None:
    """Emails compare case-insensitively: stored lower-cased and trimmed."""
    if text is None or not text.strip():
        return None
    email = text.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise IdentityError(f"{text!r} is not an email address")
    return email


def normalise_phone(text: str | None, default_region: str | None = None) -> str | None:
    """Any way a phone is typed ('+32 470 12 34 56', '0032470123456', '0470...' with a region)
    becomes E.164 ('+32470123456'); anything that is not a possible number is refused."""
    if text is None or not text.strip():
        return None
    raw = text.strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, None if raw.startswith("+") else default_region)
    except phonenumbers.NumberParseException:
        raise IdentityError(f"{text!r} is not a phone number in international form") from None
    if not phonenumbers.is_possible_number(number):
        raise IdentityError(f"{text!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(text: str) -> bool:
    digits = re.sub(r"[\s().-]", "", text)
    return bool(re.fullmatch(r"(\+|00)?\d{6,15}", digits))


def name_key(text: str | None) -> str:
    """Lower-case, accents removed: 'Zoë' and 'zoe' find the same customer, via a plain index."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()
