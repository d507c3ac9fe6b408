"""Orders too large to be true: they are recorded but credit nothing until the team looks.

A restaurant sets two caps: the points one order may earn and the amount one order may
plausibly pay. An order over either is held for review instead of crediting, so a bad
integration or a forged amount cannot hand out a tier in one go.
"""

from __future__ import annotations

# Balances are 32-bit columns: no order may earn more than this, whatever the settings say.
MAX_POINTS_PER_ORDER = 10**8


def scaled_amount(amount: int, order_digits: int, tenant_digits: int) -> int:
    """An order's amount in the restaurant's minor units (orders say their own digits)."""
    if order_digits <= tenant_digits:
        return amount * 10 ** (tenant_digits - order_digits)
    return amount // 10 ** (order_digits - tenant_digits)


def review_reason(
    points: int,
    amount: int,
    max_points: int,
    max_amount: int,
) -> str | None:
    """Why an order earning `points` for `amount` (restaurant minor units) needs review, or
    None when it may credit."""
    if amount > max_amount:
        return "amount over the plausible order amount"
    if points > max_points:
        return f"earns {points:,} points, over the {max_points:,} per order"
    return None
