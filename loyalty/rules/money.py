"""Money, percentages and points as integers: minor units with the tenant's decimal digits,
percent ×100, whole points.

Typed amounts ("2.50", "50") are parsed with Decimal, never float; anything finer than the
currency's smallest unit is refused rather than rounded, so what the team typed is what is stored.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

PERCENT_SCALE = 100  # 5000 = 50 %, 2050 = 20.50 %


class AmountError(ValueError):
    """A typed amount that cannot be stored exactly."""


def parse_money(text: str, decimal_digits: int) -> int:
    """'2.50' with 2 digits -> 250. Accepts a comma as decimal separator."""
    value = _parse_decimal(text, "2.50")
    minor = value.scaleb(decimal_digits)
    if minor != minor.to_integral_value():
        raise AmountError(f"use at most {decimal_digits} decimal places")
    return int(minor)


def format_money(minor: int, decimal_digits: int) -> str:
    """250 with 2 digits -> '2.50'; negative amounts keep their sign."""
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**decimal_digits)
    return f"{sign}{whole}.{frac:0{decimal_digits}d}" if decimal_digits else f"{sign}{whole}"


def format_points(points: int, signed: bool = False) -> str:
    """1234 -> '1,234'; signed shows the direction of a change: '+1,234', '-50'."""
    return f"{points:+,}" if signed else f"{points:,}"


def parse_percent(text: str, example: str = "50") -> int:
    """'50' -> 5000, '20.5' -> 2050 (hundredths of a percent). `example` is what a refusal
    suggests typing: hundredths also store multipliers, where "1.5" means ×1.5."""
    value = _parse_decimal(text, example)
    scaled = value * PERCENT_SCALE
    if scaled != scaled.to_integral_value():
        raise AmountError("use at most 2 decimal places")
    return int(scaled)


def format_percent(hundredths: int) -> str:
    """5000 -> '50', 2050 -> '20.5'."""
    text = f"{Decimal(hundredths) / PERCENT_SCALE:f}"
    # Only trailing zeros after a decimal point: 5000 must stay "50", not "5".
    return text.rstrip("0").rstrip(".") if "." in text else text


def _parse_decimal(text: str, example: str) -> Decimal:
    cleaned = (text or "").strip().replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise AmountError(f"enter a number such as {example}") from None
    if not value.is_finite():
        raise AmountError(f"enter a number such as {example}")
    if value < 0:
        raise AmountError("must not be negative")
    return value
