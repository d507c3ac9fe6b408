"""A restaurant's own settings: name, currency, time zone, points validity and the caps that
keep points honest (per-order points and amount, the staff adjustment limit), and the web
origins allowed to call the JSON API from a browser. The earning rules have their own page and
module (services.setup.earning)."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv6Address
from urllib.parse import urlsplit

from sqlalchemy import String, cast, exists, select

from ...extensions import db
from ...models import LedgerEntry, Order, Reward, Tenant
from ...rules.brand import ColourError, parse_colour
from ...rules.order_review import MAX_POINTS_PER_ORDER
from ...validation import FieldErrors, text_problem
from ..reporting import rollups
from .earning import time_zone_problem

NAME_MAX = 128
MAX_DECIMAL_DIGITS = 4
MAX_VALIDITY_DAYS = 3650
# Integer columns: a cap beyond these would stop capping anything.
MAX_ORDER_AMOUNT = 2_000_000_000
MAX_ADJUSTMENT_LIMIT = 10_000_000
DEFAULT_MAX_POINTS_PER_ORDER = 10_000
DEFAULT_MAX_ORDER_AMOUNT = 1_000_000
DEFAULT_ADJUSTMENT_OWNER_LIMIT = 1_000
MAX_ALLOWED_ORIGINS = 20
ORIGIN_MAX = 300  # a host name is at most 253 characters; scheme and port add a dozen
DEFAULT_PORTS = {"http": 80, "https": 443}
HOST_CHARACTERS = frozenset(string.ascii_lowercase + string.digits + "-.")
PAGE_URL_MAX = 500  # the logo_url and terms_url columns


@dataclass(frozen=True)
class TenantSettings:
    name: str
    currency: str  # ISO 4217 code, e.g. EUR
    decimal_digits: int
    points_validity_days: int | None  # None = points never expire
    # An order earning more, or paying more (minor units), is held for review.
    max_points_per_order: int | None = DEFAULT_MAX_POINTS_PER_ORDER
    max_order_amount: int | None = DEFAULT_MAX_ORDER_AMOUNT
    # Adjustments of more points than this (either way) need an owner.
    adjustment_owner_limit: int | None = DEFAULT_ADJUSTMENT_OWNER_LIMIT
    # IANA name: bonus hours, "a visit a day" and quiet hours are the restaurant's.
    time_zone: str = "UTC"
    # The guest pages' look: #rrggbb (the text on it is chosen for contrast, rules.brand), and
    # https addresses of the logo and the restaurant's terms; None = none.
    brand_colour: str | None = None
    logo_url: str | None = None
    terms_url: str | None = None


def stored_amounts(tenant_id: int) -> list[str]:
    """What already holds money in minor units, so changing decimal digits would rescale it.

    Rewards (values, minimum orders), orders and cash balances are all integers read with the
    tenant's decimal digits: 250 is 2.50 with two digits but 25.0 with one.
    """
    holders = (("rewards", Reward), ("orders", Order))
    found = [
        label
        for label, model in holders
        if db.session.scalar(select(exists().where(model.tenant_id == tenant_id)))
    ]
    cash = exists().where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.unit == "cash")
    if db.session.scalar(select(cash)):
        found.append("cash balances")
    return found


def update_settings(tenant_id: int, settings: TenantSettings) -> Tenant:
    tenant = db.session.get(Tenant, tenant_id)
    errors: dict[str, str] = {}
    name = (settings.name or "").strip()
    if problem := text_problem(name, NAME_MAX, "enter the restaurant's name"):
        errors["name"] = problem

    currency = (settings.currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors["currency"] = "enter a three-letter currency code, such as EUR"

    digits = settings.decimal_digits
    if digits is None or not 0 <= digits <= MAX_DECIMAL_DIGITS:
        errors["decimal_digits"] = f"must be from 0 to {MAX_DECIMAL_DIGITS}"
    elif digits != tenant.decimal_digits:
        in_use = stored_amounts(tenant_id)
        if in_use:
            errors["decimal_digits"] = (
                f"cannot change while {' and '.join(in_use)} exist: their amounts would be "
                "read at a different scale"
            )

    time_zone = (settings.time_zone or "").strip()
    if problem := time_zone_problem(time_zone):
        errors["time_zone"] = problem

    validity = settings.points_validity_days
    if validity is not None and not 1 <= validity <= MAX_VALIDITY_DAYS:
        errors["points_validity_days"] = (
            f"must be from 1 to {MAX_VALIDITY_DAYS} days, or empty for never"
        )

    caps = {
        "max_points_per_order": (settings.max_points_per_order, MAX_POINTS_PER_ORDER),
        "max_order_amount": (settings.max_order_amount, MAX_ORDER_AMOUNT),
        "adjustment_owner_limit": (settings.adjustment_owner_limit, MAX_ADJUSTMENT_LIMIT),
    }
    for field_name, (value, ceiling) in caps.items():
        if value is None or not 1 <= value <= ceiling:
            errors[field_name] = f"must be from 1 to {ceiling:,}"

    try:
        brand_colour = parse_colour(settings.brand_colour)
    except ColourError as error:
        errors["brand_colour"] = str(error)
    page_urls = {}
    for field_name in ("logo_url", "terms_url"):
        page_urls[field_name] = (getattr(settings, field_name) or "").strip() or None
        if problem := https_url_problem(page_urls[field_name]):
            errors[field_name] = problem

    if errors:
        raise FieldErrors(errors)
    for field_name, (value, _ceiling) in caps.items():
        setattr(tenant, field_name, value)
    for field_name, value in page_urls.items():
        setattr(tenant, field_name, value)
    tenant.brand_colour = brand_colour
    tenant.name = name
    tenant.currency = currency
    tenant.decimal_digits = digits
    tenant.points_validity_days = validity
    if time_zone != tenant.time_zone:
        rollups.forget(tenant_id)  # their days were the old zone's: read live until rebuilt
    tenant.time_zone = time_zone
    db.session.commit()
    return tenant


def https_url_problem(url: str | None) -> str | None:
    """Why an address shown to guests (logo, terms) is refused; None when it will do or is
    empty. Only https: the pages are served over https and must not load or link anything
    less safe."""
    if url is None:
        return None
    if len(url) > PAGE_URL_MAX:
        return f"use at most {PAGE_URL_MAX} characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "enter an address starting with https://"
    if parts.scheme != "https" or not url.startswith("https://") or not parts.hostname:
        return "enter an address starting with https://"
    if "@" in parts.netloc or any(c.isspace() or c in "\"'<>\\" for c in url):
        return "enter a plain https:// address, without spaces, quotes or user names"
    try:
        _host(parts.hostname)
        parts.port  # noqa: B018  (reading it checks it)
    except ValueError as error:
        return str(error)
    return None


def web_origin(typed: str) -> str:
    """`typed` spelled as a browser's Origin header spells it: scheme://host[:port], lower case,
    the default port left out, so comparing with the header is plain string equality.

    ValueError saying what is wrong otherwise. urlsplit reads the text once, left to right.
    """
    text = typed.strip()
    if len(text) > ORIGIN_MAX:
        raise ValueError(f"use at most {ORIGIN_MAX} characters")
    try:
        parts = urlsplit(text)
    except ValueError:  # unbalanced or invalid [IPv6] brackets
        raise ValueError("the address between [ ] is not an IPv6 address") from None
    if parts.scheme not in DEFAULT_PORTS or not text.lower().startswith(parts.scheme + "://"):
        raise ValueError("start with https:// (or http://), e.g. https://admin.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError("give only scheme, host and port, no path, e.g. https://admin.example.com")
    if "@" in parts.netloc:
        raise ValueError("leave out user names and passwords")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    host = _host(parts.hostname or "")
    if port == 0:
        raise ValueError("the port must be a number from 1 to 65535")
    keep_port = port is not None and port != DEFAULT_PORTS[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if keep_port else "")


def _host(hostname: str) -> str:
    """The host as an Origin header carries it (IDNA names in their xn-- form); ValueError."""
    if ":" in hostname:  # an IPv6 address, from between the brackets
        try:
            return f"[{IPv6Address(hostname).compressed}]"
        except ValueError:
            raise ValueError("the address between [ ] is not an IPv6 address") from None
    if not hostname.isascii():
        try:
            hostname = hostname.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("the host name is not a valid domain name") from None
    labels = hostname.split(".")
    if not hostname or not set(hostname) <= HOST_CHARACTERS or len(hostname) > 253:
        raise ValueError("give a host name such as admin.example.com (no * wildcards)")
    if any(not label or len(label) > 63 or label[0] == "-" or label[-1] == "-" for label in labels):
        raise ValueError("the host name is not a valid domain name")
    return hostname


def allowed_origins_problems(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """The origins on `lines` (blank lines skipped, repeats once) and what is wrong with them."""
    origins: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            origin = web_origin(line)
        except ValueError as error:
            problems.append(f"line {number}: {error}")
            continue
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ALLOWED_ORIGINS:
        problems.append(f"at most {MAX_ALLOWED_ORIGINS} origins")
    return origins, problems


def update_allowed_origins(tenant_id: int, lines: Iterable[str]) -> Tenant:
    """Set the web origins whose pages may call the API from a browser (CORS); all or none."""
    origins, problems = allowed_origins_problems(lines)
    if problems:
        raise FieldErrors({"api_allowed_origins": "; ".join(problems)})
    tenant = db.session.get(Tenant, tenant_id)
    tenant.api_allowed_origins = origins
    db.session.commit()
    return tenant


def origin_is_allowed(origin: str, tenant_slug: str | None) -> bool:
    """Whether the tenant named `tenant_slug` allows pages of `origin` to call the API; for None
    (a preflight, which cannot say its tenant), whether any tenant allows it."""
    if not origin or len(origin) > ORIGIN_MAX:
        return False
    if tenant_slug is not None:
        listed = db.session.scalar(
            select(Tenant.api_allowed_origins).where(Tenant.slug == tenant_slug)
        )
        return origin in (listed or ())
    # The stored JSON spells each origin as json.dumps does; LIKE narrows the tenants to read
    # (wildcards escaped), the exact comparison decides.
    pattern = json.dumps(origin).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    candidates = db.session.scalars(
        select(Tenant.api_allowed_origins).where(
            cast(Tenant.api_allowed_origins, String).like(f"%{pattern}%", escape="\\")
        )
    )
    return any(origin in (listed or ()) for listed in candidates)
