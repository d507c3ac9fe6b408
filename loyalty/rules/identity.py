"""How customers are identified: normalised emails, E.164 phones, searchable name keys."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class IdentityError(ValueError):
    pass


# Characters that change how text is shown without being seen: bidirectional overrides and
# isolates, zero-width spaces, the word joiner and the byte-order mark. (The zero-width joiner
# and non-joiner are left alone: some scripts' names need them.)
_INVISIBLE = frozenset(
    "\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
)


def shows_as_typed(text: str) -> bool:
    """False when a name holds control or invisible characters, which would let two names that
    look the same differ, or one that reads one way be another ('Zoe\u202egnoW')."""
    return not any(c in _INVISIBLE or unicodedata.category(c) == "Cc" for c in text)


def normalise_email(text: str | None) -> str | None:
    """Emails compare as people read them: compatibility forms folded ('ﬁ' is 'fi'), lower-cased,
    trimmed, the domain in its ASCII (punycode) form without a trailing dot. An address with a
    control, format or unassigned character is refused, so no two stored addresses look alike."""
    if text is None or not text.strip():
        return None
    if len(text) > 1000:
        raise IdentityError("that is too long for an email address")
    email = unicodedata.normalize("NFKC", text.strip()).lower()
    if any(unicodedata.category(c)[0] in "CZ" for c in email):
        raise IdentityError(f"{text!r} is not an email address")
    local, at, domain = email.rpartition("@")
    try:
        domain = domain.removesuffix(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise IdentityError(f"{text!r} is not an email address") from None
    email = f"{local}{at}{domain}"
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
