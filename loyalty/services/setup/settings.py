"""A restaurant's own settings: name, currency, time zone, points validity and the caps that
keep points honest (per-order points and amount, the staff adjustment limit). The earning
rules have their own page and module (services.setup.earning)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import exists, select

from ...extensions import db
from ...models import LedgerEntry, Order, Reward, Tenant
from ...rules.order_review import MAX_POINTS_PER_ORDER
from ...validation import FieldErrors, text_problem
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

    if errors:
        raise FieldErrors(errors)
    for field_name, (value, _ceiling) in caps.items():
        setattr(tenant, field_name, value)
    tenant.name = name
    tenant.currency = currency
    tenant.decimal_digits = digits
    tenant.points_validity_days = validity
    tenant.time_zone = time_zone
    db.session.commit()
    return tenant
