"""Campaign coupons: their codes, their life (ACTIVE, LOCKED, USED, EXPIRED) and what they give.

Codes are read aloud at tills and typed from screenshots, so the alphabet leaves out the look-
alikes 0/O and 1/I/L, and reading a code ignores case, spaces and dashes. Ten random characters
from 31 give about 49 bits: guessing someone's code is hopeless, and the service still checks
that a code belongs to the account presenting it (`not_yours`).

Life of a coupon, every move a pure function returning the new Coupon or raising CouponRefused
with one of the spec's reasons (§3.6):
    ACTIVE --lock--> LOCKED --use--> USED --restore (order cancelled)--> ACTIVE | EXPIRED
    LOCKED --unlock--> ACTIVE;   ACTIVE | LOCKED --expire (validTo passed, or finalised)--> EXPIRED
An order may also use an ACTIVE coupon without locking it first. Unlocking an unlocked coupon
and expiring an expired one change nothing, so doors can repeat them safely.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from .basket import Basket
from .programs import percent_of

COUPON_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RANDOM_LENGTH = 10  # 31 ** 10 is about 2 ** 49.5
MAX_PREFIX_LENGTH = 6
MAX_CODE_LENGTH = MAX_PREFIX_LENGTH + RANDOM_LENGTH
# Anything longer than this cannot be a code even with separators: refused before any work.
MAX_TYPED_LENGTH = 64
_SEPARATORS = re.compile(r"[\s-]+")

UNKNOWN, EXPIRED, USED, LOCKED, NOT_YOURS = "unknown", "expired", "used", "locked", "not_yours"


class CouponStatus(StrEnum):
    ACTIVE = "ACTIVE"
    LOCKED = "LOCKED"
    USED = "USED"
    EXPIRED = "EXPIRED"


class CouponRefused(ValueError):
    """A move the coupon's life does not allow; `reason` is one of the spec's refusal reasons."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Coupon:
    code: str
    account_id: str
    status: CouponStatus
    valid_to: datetime | None = None  # exclusive: expired from this instant; None = no end
    locked_at: datetime | None = None
    used_by_order: str | None = None


def new_code(prefix: str | None, random_below: Callable[[int], int]) -> str:
    """A fresh code: the state's prefix then RANDOM_LENGTH random characters of the alphabet.

    `random_below(n)` gives 0..n-1; pass `secrets.randbelow` (tests pass a fixed sequence).
    The code is already in normalised form, so normalise_code(code) == code.
    """
    return (prefix or "") + "".join(
        COUPON_ALPHABET[random_below(len(COUPON_ALPHABET))] for _ in range(RANDOM_LENGTH)
    )


def normalise_code(text: object) -> str | None:
    """The code as stored (capitals, no spaces or dashes); None when it cannot be any coupon
    (too long, empty, or a character outside the alphabet), which the doors answer `unknown`."""
    if not isinstance(text, str) or len(text) > MAX_TYPED_LENGTH:
        return None
    code = _SEPARATORS.sub("", text).upper()
    if not code or len(code) > MAX_CODE_LENGTH or any(c not in COUPON_ALPHABET for c in code):
        return None
    return code


def valid_to(
    valid_days: int | None, valid_to_at: datetime | None, issued_at: datetime
) -> datetime | None:
    """When a coupon issued at `issued_at` stops being valid: its state's validTo, or validDays
    after issue; None when the state sets neither (only a draft can)."""
    if valid_to_at is not None:
        return valid_to_at
    if valid_days is not None:
        return issued_at + timedelta(days=valid_days)
    return None


def is_past(coupon: Coupon, now: datetime) -> bool:
    return coupon.valid_to is not None and now >= coupon.valid_to


def refusal(coupon: Coupon | None, account_id: str, now: datetime) -> str | None:
    """Why the account cannot use the coupon now (spec §3.6 reasons); None when it can.

    `not_yours` comes before anything about the coupon, so a stranger learns nothing of it.
    """
    if coupon is None:
        return UNKNOWN
    if coupon.account_id != account_id:
        return NOT_YOURS
    if coupon.status is CouponStatus.USED:
        return USED
    if coupon.status is CouponStatus.EXPIRED or is_past(coupon, now):
        return EXPIRED
    if coupon.status is CouponStatus.LOCKED:
        return LOCKED
    return None


def lock(coupon: Coupon, account_id: str, now: datetime) -> Coupon:
    """Reserve the coupon at the till; a LOCKED one is refused (`locked`, the 409)."""
    reason = refusal(coupon, account_id, now)
    if reason:
        raise CouponRefused(reason)
    return replace(coupon, status=CouponStatus.LOCKED, locked_at=now)


def unlock(coupon: Coupon, now: datetime) -> Coupon:
    """Release a lock (order cancelled before payment); anything not LOCKED is left as it is."""
    if coupon.status is not CouponStatus.LOCKED:
        return coupon
    status = CouponStatus.EXPIRED if is_past(coupon, now) else CouponStatus.ACTIVE
    return replace(coupon, status=status, locked_at=None)


def use(coupon: Coupon, account_id: str, order_id: str, now: datetime) -> Coupon:
    """Consume the coupon for an order: LOCKED, or ACTIVE when the till did not lock first.

    The same order using it again is a repeat, not a second use, and changes nothing.
    """
    if coupon.status is CouponStatus.USED and coupon.used_by_order == order_id:
        return coupon
    reason = refusal(coupon, account_id, now)
    if reason not in (None, LOCKED):
        raise CouponRefused(reason)  # type: ignore[arg-type]
    return replace(coupon, status=CouponStatus.USED, used_by_order=order_id)


def restore(coupon: Coupon, order_id: str, now: datetime) -> Coupon:
    """The order that used the coupon was cancelled: usable again, or EXPIRED if past its date.

    Only the order that used it can give it back; anything else is left as it is.
    """
    if coupon.status is not CouponStatus.USED or coupon.used_by_order != order_id:
        return coupon
    status = CouponStatus.EXPIRED if is_past(coupon, now) else CouponStatus.ACTIVE
    return replace(coupon, status=status, used_by_order=None, locked_at=None)


def expire(coupon: Coupon) -> Coupon:
    """End an unused coupon (its date passed, or the campaign was finalised); used ones stay."""
    if coupon.status in (CouponStatus.ACTIVE, CouponStatus.LOCKED):
        return replace(coupon, status=CouponStatus.EXPIRED, locked_at=None)
    return coupon


def coupon_amount(coupon_type: str, value: int | None, product: str | None, basket: Basket) -> int:
    """Minor units the coupon takes off the basket's items (fees and tips are never discounted).

    AMOUNT: its value, at most the items total. PERCENT (value in hundredths): floored, the one
    rounding rule of programs.percent_of. PRODUCT: one unit of the product as configured
    (modifiers included, like a free_item program), 0 when it is not in the basket.
    """
    total = basket.items_total
    if coupon_type == "AMOUNT":
        return min(max(0, value or 0), total)
    if coupon_type == "PERCENT":
        return percent_of(total, value or 0)
    if coupon_type == "PRODUCT" and product:
        line = next((item for item in basket.items if item.plu == product and item.quantity), None)
        return min(line.unit_total, total) if line else 0
    return 0
