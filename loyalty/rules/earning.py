"""How many points an order earns."""

from __future__ import annotations


def points_for_order(
    payment_amount: int,
    tip: int,
    decimal_digits: int,
    points_per_unit: int,
    multiplier_percent: int = 100,
) -> int:
    """Points for what the customer paid, tips excluded (spec, Unknowns §6).

    `payment_amount` is already net of discounts, so reward lines earn nothing; pass tip plus
    driverTip as `tip`. Only whole currency units earn (9.99 earns like 9), then the tier
    multiplier (hundredths: 150 = x1.5) applies and the result is floored. Never negative.
    """
    whole_units = max(0, payment_amount - tip) // 10**decimal_digits
    return max(0, whole_units * points_per_unit * multiplier_percent // 100)
