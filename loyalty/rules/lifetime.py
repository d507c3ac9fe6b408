"""How lifetime points (which decide the tier) move when points are taken away.

Lifetime points are what orders earned plus what the team or campaigns credited. Spending
never lowers them; taking points back does, so nobody keeps a tier their history does not
support: cancelling an order removes all it earned, and a negative adjustment removes its
amount from the credited part but never from what orders earned.
"""

from __future__ import annotations


def lifetime_after_debit(lifetime: int, points: int, earned_by_orders: int) -> int:
    """A negative adjustment of `points` (>= 0) lowers lifetime points by as much, never below
    what orders (net of cancels) earned, and never raises them."""
    floor = max(0, min(lifetime, earned_by_orders))
    return max(floor, lifetime - points)
