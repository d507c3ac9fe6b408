"""What an order earns under the restaurant's earning rules, each rule's part kept apart.

Rule kinds: per spend, per visit, per item (stamp cards) and bonus multipliers. Several may be on
at once; the order earns the sum of their parts. Decisions, in one place:
- Money is integers: an order's amounts are scaled to the restaurant's minor units first.
- Spend is what was paid (net of discounts, so reward lines earn nothing) minus tips and fees
  (delivery, service charge, bag and small-order fees), never below zero.
- A spend rule "N points per M" gives N for each *whole* M of the order's spend, counted on the
  whole order, never per line: at 1 per 1.00, 9.99 earns 9; at 1 per 2.50 it earns 3.
- A visit rule gives N points to an order whose spend reaches its minimum, at most `per_day`
  times per account and local day (None: every order), so a split bill does not pay twice.
- An item rule (a stamp card) gives N per unit of its PLUs, at any depth: a sub-item's units are
  its quantity times its parents'. Units a redeemed reward made free earn nothing.
- Multipliers (the tier's and the bonuses') apply to spend points only: stamps and visits are
  counts that buy rewards ("9 stamps, a free coffee") and are never multiplied.
- Multipliers add their extras, they do not compound: a x1.5 tier on a x2 Tuesday earns
  spend x (1 + 0.5 + 1). Each extra is floored on its own; a bonus's extra is capped per order.
- A bonus applies when the order's local time (the restaurant's time zone) falls on one of its
  days (none chosen: every day) and within its hours (none: all day, end exclusive). With PLUs
  chosen, it multiplies only the spend points of those lines (their price with modifiers, at
  most the order's spend), else the whole order's.
- Every part is a whole number of points, never negative; the total is their sum.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .basket import Basket, BasketItem
from .money import format_points
from .order_review import scaled_amount
from .programs import Program, discounts_for
from .tiers import TierLevel

SPEND, VISIT, ITEM, BONUS = "spend", "visit", "item", "bonus"
KINDS = (SPEND, VISIT, ITEM, BONUS)
TIER = "tier"  # the kind of the tier's part, which no rule produces
NO_MULTIPLIER = 100  # multipliers are in hundredths: 150 = x1.5
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class EarningRule:
    """One of the restaurant's rules; which fields matter depends on `kind`."""

    id: int
    kind: str  # SPEND | VISIT | ITEM | BONUS
    name: str  # what the ledger and the account page call its part: "spend", "stamps"
    points: int = 0  # spend: N per step; visit: per visit; item: per unit
    per_amount: int = 0  # spend: the step M, in minor units
    min_amount: int = 0  # visit: the least spend that counts as a visit, minor units
    per_day: int | None = 1  # visit: most visits paid per account and local day; None: no limit
    plus: tuple[str, ...] = ()  # item: the PLUs that earn; bonus: the lines it multiplies
    multiplier_percent: int = NO_MULTIPLIER  # bonus
    weekdays: tuple[int, ...] = ()  # bonus: 0 Monday .. 6 Sunday; empty: every day
    starts_at: int | None = None  # bonus: minutes after local midnight, inclusive
    ends_at: int | None = None  # bonus: exclusive
    cap: int | None = None  # bonus: most extra points it adds to one order; None: no cap


@dataclass(frozen=True)
class Purchase:
    """What an order bought and paid, as the earning rules see it."""

    paid: int  # net of discounts, in the order's minor units
    tips: int = 0  # tip plus driver tip
    fees: int = 0  # delivery, service charge, bag and small-order fees
    decimal_digits: int = 2  # the order's
    items: tuple[BasketItem, ...] = ()
    free_units: Mapping[str, int] = field(default_factory=dict)  # PLU -> units rewards gave
    local_time: datetime | None = None  # when it was ordered, on the restaurant's clock
    visits_today: Mapping[int, int] = field(default_factory=dict)  # visit rule id -> paid today


@dataclass(frozen=True)
class Part:
    """What one rule (or the tier) gave an order."""

    rule_id: int | None  # None for the tier's extra
    kind: str
    label: str
    points: int


@dataclass(frozen=True)
class Breakdown:
    parts: tuple[Part, ...]

    @property
    def total(self) -> int:
        return sum(part.points for part in self.parts)

    def earned(self) -> list[dict]:
        """The parts that gave points, as stored with the earn entry (JSON)."""
        return [
            {"rule": part.rule_id, "kind": part.kind, "label": part.label, "points": part.points}
            for part in self.parts
            if part.points
        ]


def spend_of(purchase: Purchase, tenant_digits: int) -> int:
    """The spend that earns, in the restaurant's minor units: paid less tips and fees."""
    net = max(0, purchase.paid - max(0, purchase.tips) - max(0, purchase.fees))
    return scaled_amount(net, purchase.decimal_digits, tenant_digits)


def spend_points(rule: EarningRule, amount: int) -> int:
    """N for each whole M of `amount` (floored once, on the whole amount)."""
    if rule.per_amount <= 0:
        return 0
    return max(0, amount) // rule.per_amount * max(0, rule.points)


def units_of(items: Iterable[BasketItem], plus: Iterable[str], times: int = 1) -> dict[str, int]:
    """Units of each chosen PLU, sub-items included (their quantity is per parent unit)."""
    chosen = set(plus)
    units: dict[str, int] = {}
    for item in items:
        count = item.quantity * times
        if item.plu in chosen:
            units[item.plu] = units.get(item.plu, 0) + count
        for plu, more in units_of(item.sub_items, chosen, count).items():
            units[plu] = units.get(plu, 0) + more
    return units


def stamps(rule: EarningRule, purchase: Purchase) -> int:
    """N per unit of the rule's PLUs, less the units rewards made free."""
    units = units_of(purchase.items, rule.plus)
    paid_units = sum(
        max(0, count - max(0, purchase.free_units.get(plu, 0))) for plu, count in units.items()
    )
    return paid_units * max(0, rule.points)


def amount_of_lines(items: Iterable[BasketItem], plus: Iterable[str], times: int = 1) -> int:
    """What the lines of the chosen PLUs cost, modifiers included (order minor units)."""
    chosen = set(plus)
    total = 0
    for item in items:
        if item.plu in chosen:
            total += item.line_total * times
        else:
            total += amount_of_lines(item.sub_items, chosen, item.quantity * times)
    return total


def bonus_applies_at(rule: EarningRule, local_time: datetime | None) -> bool:
    """Is the order's local time on one of the bonus's days and within its hours?"""
    timed = bool(rule.weekdays) or rule.starts_at is not None or rule.ends_at is not None
    if not timed:
        return True
    if local_time is None:
        return False
    if rule.weekdays and local_time.weekday() not in rule.weekdays:
        return False
    minute = local_time.hour * 60 + local_time.minute
    starts = rule.starts_at if rule.starts_at is not None else 0
    ends = rule.ends_at if rule.ends_at is not None else MINUTES_PER_DAY
    return starts <= minute < ends


def visit_points(rule: EarningRule, spend: int, visits_today: Mapping[int, int]) -> int:
    if spend < max(0, rule.min_amount):
        return 0
    if rule.per_day is not None and visits_today.get(rule.id, 0) >= rule.per_day:
        return 0
    return max(0, rule.points)


def _extra(points: int, multiplier_percent: int) -> int:
    return max(0, points * (multiplier_percent - NO_MULTIPLIER) // NO_MULTIPLIER)


def earn(
    rules: Sequence[EarningRule],
    purchase: Purchase,
    tenant_digits: int,
    tier: TierLevel | None = None,
) -> Breakdown:
    """Each rule's part of what the order earns, in the rules' order, the tier's extra after
    the spend rules'. Parts of 0 are kept, so a preview can show every rule."""
    spend = spend_of(purchase, tenant_digits)
    spend_rules = [rule for rule in rules if rule.kind == SPEND]

    def spend_total(amount: int) -> int:
        return sum(spend_points(rule, amount) for rule in spend_rules)

    parts: list[Part] = []
    for rule in rules:
        if rule.kind == SPEND:
            parts.append(Part(rule.id, SPEND, rule.name, spend_points(rule, spend)))
        elif rule.kind == VISIT:
            points = visit_points(rule, spend, purchase.visits_today)
            parts.append(Part(rule.id, VISIT, rule.name, points))
        elif rule.kind == ITEM:
            parts.append(Part(rule.id, ITEM, rule.name, stamps(rule, purchase)))
        elif rule.kind == BONUS:
            points = _bonus(rule, purchase, spend, tenant_digits, spend_total)
            parts.append(Part(rule.id, BONUS, rule.name, points))
        if rule.kind == SPEND and rule is spend_rules[-1] and tier is not None:
            extra = _extra(spend_total(spend), tier.multiplier_percent)
            parts.append(Part(None, TIER, f"{tier.name} tier", extra))
    return Breakdown(tuple(parts))


def _bonus(
    rule: EarningRule,
    purchase: Purchase,
    spend: int,
    tenant_digits: int,
    spend_total: Callable[[int], int],
) -> int:
    if not bonus_applies_at(rule, purchase.local_time):
        return 0
    amount = spend
    if rule.plus:
        lines = amount_of_lines(purchase.items, rule.plus)
        amount = min(spend, scaled_amount(lines, purchase.decimal_digits, tenant_digits))
    extra = _extra(spend_total(amount), rule.multiplier_percent)
    return extra if rule.cap is None else min(extra, max(0, rule.cap))


def free_units(programs: Iterable[Program], basket: Basket) -> dict[str, int]:
    """PLU -> units the order's rewards made free (a free item, the free half of a BOGOF):
    reward lines, which earn no stamps."""
    free = [
        discount
        for program in programs
        for discount in discounts_for(program, basket)
        if discount.offer_type == "free"
    ]
    units: dict[str, int] = {}
    for discount in free:
        # A free item (product scope) may name units not in the basket yet: never count more
        # than are there. Item-scope free units are always in it.
        in_basket = sum(item.quantity for item in basket.items if item.plu == discount.plu)
        count = min(discount.quantity or 0, in_basket)
        if count:
            units[discount.plu] = units.get(discount.plu, 0) + count
    return units


def describe(parts: Sequence[Mapping]) -> str:
    """Stored parts in words, e.g. "12 = 10 spend + 2 stamps" ("-12 = -10 spend - 2 stamps"
    for a reversal); one part is just "10 spend"; no parts, ""."""
    if not parts:
        return ""
    words = [f"{format_points(parts[0]['points'])} {parts[0]['label']}"]
    for part in parts[1:]:
        sign = "-" if part["points"] < 0 else "+"
        words.append(f"{sign} {format_points(abs(part['points']))} {part['label']}")
    if len(parts) == 1:
        return words[0]
    return f"{format_points(sum(part['points'] for part in parts))} = {' '.join(words)}"
