"""Loyalty programs (rewards bought with points): who may use them and what they take off a basket.

Decisions, in one place:
- Rounding: percentages are floored (`percent_of`), so the customer never gets more than the
  stated percent; it is the only rounding in the rules.
- A discount never exceeds what it applies to: an item discount is capped at the unit it covers,
  an order discount at `items_total`; fees and tips are never discounted.
- Item programs (item_discount_*, item_fixed_price, free_item) cover `quantity` units, None = one
  unit. Covered units are taken from matching lines (top-level lines whose PLU matches, never
  modifiers) in basket order.
- Item discounts and free items apply to the unit as configured, modifiers included; a fixed price
  replaces only the item's own price, so paid modifiers are still charged.
- Deliverect's item scope has no quantity: when an item discount covers only some units of a line,
  it is sent as flat_off of the exact amount so the channel cannot apply it to the whole line.
- buy_one_get_one_free needs two units of the PLU for each free unit; `quantity` caps the free
  units (None = one free unit per redemption).
- free_item is applicable without the item in the basket: it goes out as a product-scope discount
  and the POS adds the item. Its amount counts only units already in the basket (0 otherwise).
- A campaign coupon is offered as a program of cost 0 whose programId is its code
  (`coupon_program`), judged by exactly these rules; it ends at its validTo like a reward's
  active_to. Reward program ids and coupon codes never meet: see
  services.campaigns.checkout_coupons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from .availability import Availability, availability
from .basket import Basket, BasketItem
from .money import format_money

REWARD_TYPES = (
    "discount_amount",
    "discount_percentage",
    "item_discount_amount",
    "item_discount_percentage",
    "item_fixed_price",
    "buy_one_get_one_free",
    "free_item",
)
ITEM_TYPES = (
    "item_discount_amount",
    "item_discount_percentage",
    "item_fixed_price",
    "buy_one_get_one_free",
    "free_item",
)
PERCENT_TYPES = ("discount_percentage", "item_discount_percentage")

FULL_PERCENT = 10_000  # 100 % in hundredths

# A coupon's type (rules.coupons) as the program type Deliverect knows.
COUPON_PROGRAM_TYPES = {
    "AMOUNT": "discount_amount",
    "PERCENT": "discount_percentage",
    "PRODUCT": "free_item",
}


@dataclass(frozen=True)
class Program:
    program_id: str
    title: str
    type: str
    cost: int  # points
    # Minor units; hundredths of a percent for PERCENT_TYPES; the new unit price for
    # item_fixed_price; unused for buy_one_get_one_free and free_item.
    value: int
    item_plu: str | None = None
    # Units an item program covers (free units for BOGOF); None = one.
    quantity: int | None = None
    min_order_value: int | None = None  # minor units, compared with items_total
    active_from: datetime | None = None
    active_to: datetime | None = None  # exclusive: expired from this instant
    min_tier_rank: int | None = None  # 0 = lowest tier; None = open to everyone


@dataclass(frozen=True)
class Customer:
    points_available: int  # balance minus holds that belong to other baskets
    tier_rank: int | None


@dataclass(frozen=True)
class Discount:
    program_id: str
    offer_type: str  # "flat_off" | "percent_off" | "fixed_amount" | "free"
    offer_value: int | None
    scope_type: str  # "order" | "item" | "product"
    line_index: int | None
    plu: str | None
    quantity: int | None
    amount: int  # minor units this discount takes off the basket, by our own reckoning

    def to_wire(self) -> dict:
        """The LoyaltyDiscount object of Deliverect's validate response."""
        offer: dict = {"type": self.offer_type}
        if self.offer_type != "free":
            offer["value"] = self.offer_value
        elif self.quantity is not None:
            offer["quantity"] = self.quantity
        scope: dict
        if self.scope_type == "item":
            scope = {"type": "item", "lineIndex": self.line_index}
        elif self.scope_type == "product":
            # Deliverect requires the quantity key here; null means every unit.
            scope = {"type": "product", "plu": self.plu, "quantity": self.quantity}
        else:
            scope = {"type": "order"}
        return {
            "provider": "loyalty",
            "externalId": f"program_{self.program_id}",
            "offer": offer,
            "scope": scope,
        }


@dataclass(frozen=True)
class Verdict:
    applicable: bool
    reason: str | None  # for the restaurant team; None when applicable


@dataclass(frozen=True)
class ProgramResult:
    program_id: str
    errors: tuple[str, ...]  # customer-facing
    discounts: tuple[Discount, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Problem:
    team_reason: str
    customer_message: str


def coupon_program(
    code: str,
    title: str,
    coupon_type: str,
    value: int,
    product: str | None,
    valid_to: datetime | None,
) -> Program:
    """A campaign coupon as a program: free (cost 0), its code as the program id.

    AMOUNT's value is in minor units and PERCENT's in hundredths of a percent: both already the
    unit Deliverect's `discount` uses for these types. PRODUCT gives one unit of its PLU.
    An unknown type comes out as "unknown", which the rules refuse as unsupported.
    """
    kind = COUPON_PROGRAM_TYPES.get(coupon_type, "unknown")
    free_item = kind == "free_item"
    return Program(
        program_id=code,
        title=title,
        type=kind,
        cost=0,
        value=0 if free_item else value,
        item_plu=product if free_item else None,
        active_to=valid_to,
    )


def percent_of(amount: int, hundredths: int) -> int:
    """The one rounding rule: floor, so a discount never exceeds the stated percent."""
    return amount * max(0, min(hundredths, FULL_PERCENT)) // FULL_PERCENT


def check_program(
    program: Program, customer: Customer, basket: Basket | None, now: datetime
) -> Verdict:
    """Best-effort `applicable` for the programs list; validation is the authoritative check.

    Without a basket (or with an empty one) only the customer is checked: points, active window
    and tier. With a basket, the minimum order value and whether it discounts anything as well.
    """
    problems = _program_problems(program, customer.tier_rank, now)
    if customer.points_available < program.cost:
        problems.append(
            _Problem(
                f"needs {program.cost} points, customer has {customer.points_available}",
                "Not enough points",
            )
        )
    if basket is not None and not basket.is_empty:
        problems += _basket_problems(program, basket)
    if problems:
        return Verdict(False, "; ".join(problem.team_reason for problem in problems))
    return Verdict(True, None)


def discounts_for(program: Program, basket: Basket) -> list[Discount]:
    """Exactly what the program takes off this basket; [] when it takes nothing.

    Eligibility (points, dates, tier, minimum order) is not checked here. The one non-zero-amount
    exception is free_item, which is always offered: the POS adds the item when it is missing.
    """
    kind = program.type
    if kind == "discount_amount":
        amount = min(max(0, program.value), basket.items_total)
        return [_order_discount(program, "flat_off", amount, amount)] if amount else []
    if kind == "discount_percentage":
        amount = percent_of(basket.items_total, program.value)
        return [_order_discount(program, "percent_off", program.value, amount)] if amount else []
    if kind == "free_item":
        return [_free_item_discount(program, basket)] if program.item_plu else []
    if kind in ITEM_TYPES and program.item_plu:
        return _item_discounts(program, basket)
    return []


def validate_programs(
    requested: Sequence[Program],
    customer: Customer,
    basket: Basket,
    now: datetime,
    already_applied: frozenset[str] = frozenset(),
) -> list[ProgramResult]:
    """Deliverect's validate: one result per requested program, in the order given.

    Programs already applied to the basket (revalidation) are checked again but return no
    discounts; they still count against the points and the basket. They are settled first, so a
    newly requested program can never push out one the customer already has. Then the others, in
    the order given: points are consumed cumulatively, and each discount is capped at what is left
    of its line and of the basket, so the discounts together never take the basket below zero.
    `customer.points_available` must not already subtract this basket's own holds.
    """
    points_left = customer.points_available
    line_left = [item.line_total for item in basket.items]
    total_left = basket.items_total
    seen: set[str] = set()
    results: dict[int, ProgramResult] = {}

    applied_first = sorted(
        range(len(requested)), key=lambda i: requested[i].program_id not in already_applied
    )
    for position in applied_first:
        program = requested[position]
        problems = _program_problems(program, customer.tier_rank, now)
        problems += _basket_problems(program, basket)
        if program.program_id in seen:
            problems.append(_Problem("requested twice", "Program can only be used once per order"))
        seen.add(program.program_id)
        if not problems and program.cost > points_left:
            problems.append(_Problem("not enough points", "Not enough points"))
        granted: list[Discount] = []
        if not problems:
            for discount in discounts_for(program, basket):
                cap = total_left
                if discount.line_index is not None:
                    cap = min(cap, line_left[discount.line_index])
                capped = _reduced_to(discount, min(discount.amount, cap))
                if discount.amount and not capped.amount:
                    continue
                granted.append(capped)
                total_left -= capped.amount
                if capped.line_index is not None:
                    line_left[capped.line_index] -= capped.amount
            if not granted:
                problems.append(
                    _Problem("other discounts cover the order", "Discount exceeds the order total")
                )
        if problems:
            results[position] = ProgramResult(
                program.program_id, tuple(problem.customer_message for problem in problems), ()
            )
            continue
        points_left -= program.cost
        revalidation = program.program_id in already_applied
        results[position] = ProgramResult(
            program.program_id, (), () if revalidation else tuple(granted)
        )
    return [results[position] for position in range(len(requested))]


def points_to_hold(
    results: Sequence[ProgramResult],
    programs: Sequence[Program],
    already_applied: frozenset[str] = frozenset(),
) -> int:
    """Points to hold for this validation: programs that validated, minus those already held."""
    cost_by_id = {program.program_id: program.cost for program in programs}
    return sum(
        cost_by_id[result.program_id]
        for result in results
        if result.ok and result.program_id not in already_applied
    )


def _program_problems(program: Program, tier_rank: int | None, now: datetime) -> list[_Problem]:
    problems = []
    if program.type not in REWARD_TYPES:
        problems.append(_Problem(f"unsupported type {program.type}", "Program not available"))
    window = availability(program.active_from, program.active_to, now)
    if window is Availability.ENDED:
        problems.append(_Problem("expired", "Program expired"))
    elif window is Availability.SCHEDULED:
        problems.append(_Problem("not yet active", "Program not active yet"))
    minimum_rank = program.min_tier_rank
    if minimum_rank is not None and (tier_rank is None or tier_rank < minimum_rank):
        problems.append(_Problem("requires a higher tier", "Requires a higher tier"))
    return problems


def _basket_problems(program: Program, basket: Basket) -> list[_Problem]:
    if program.type not in REWARD_TYPES:
        return []
    if program.min_order_value is not None and basket.items_total < program.min_order_value:
        minimum = format_money(program.min_order_value, basket.decimal_digits)
        return [
            _Problem(
                f"order below minimum {minimum}", f"Order total below the minimum of {minimum}"
            )
        ]
    units = _units_of(basket, program.item_plu)
    if program.type == "buy_one_get_one_free" and units < 2:
        return [
            _Problem(
                f"needs 2 of item {program.item_plu} in basket",
                "Add two of this item to get one free",
            )
        ]
    if program.type in ITEM_TYPES and program.type != "free_item" and not units:
        return [_Problem(f"item {program.item_plu} not in basket", "Item not in basket")]
    if not discounts_for(program, basket):
        return [_Problem("nothing to discount", "Nothing to discount on this order")]
    return []


def _units_of(basket: Basket, plu: str | None) -> int:
    if not plu:
        return 0
    return sum(item.quantity for item in basket.items if item.plu == plu)


def _covered_lines(basket: Basket, plu: str, units: int) -> list[tuple[int, int]]:
    """(line index, units taken) for the first `units` units of the PLU, in basket order."""
    covered = []
    for index, item in enumerate(basket.items):
        if units <= 0:
            break
        if item.plu == plu and item.quantity:
            taken = min(units, item.quantity)
            covered.append((index, taken))
            units -= taken
    return covered


def _covered_units(program: Program) -> int:
    return max(1, program.quantity or 1)


def _order_discount(program: Program, offer_type: str, offer_value: int, amount: int) -> Discount:
    return Discount(program.program_id, offer_type, offer_value, "order", None, None, None, amount)


def _free_item_discount(program: Program, basket: Basket) -> Discount:
    units = _covered_units(program)
    amount = sum(
        basket.items[index].unit_total * taken
        for index, taken in _covered_lines(basket, program.item_plu or "", units)
    )
    return Discount(
        program.program_id, "free", None, "product", None, program.item_plu, units, amount
    )


def _item_discounts(program: Program, basket: Basket) -> list[Discount]:
    plu = program.item_plu or ""
    if program.type == "buy_one_get_one_free":
        units = min(_units_of(basket, plu) // 2, _covered_units(program))
    else:
        units = _covered_units(program)
    discounts = []
    for index, taken in _covered_lines(basket, plu, units):
        item = basket.items[index]
        whole_line = taken == item.quantity
        offer_type, offer_value, amount = _line_offer(program, item, taken)
        if not amount:
            continue
        quantity = None
        if offer_type == "free":
            quantity = taken
        elif not whole_line:
            offer_type, offer_value = "flat_off", amount
        discounts.append(
            Discount(
                program.program_id, offer_type, offer_value, "item", index, plu, quantity, amount
            )
        )
    return discounts


def _line_offer(program: Program, item: BasketItem, units: int) -> tuple[str, int | None, int]:
    """(offer type, offer value, amount) for `units` units of one line."""
    if program.type == "item_discount_amount":
        amount = min(max(0, program.value), item.unit_total) * units
        return "flat_off", amount, amount
    if program.type == "item_discount_percentage":
        return "percent_off", program.value, percent_of(item.unit_total * units, program.value)
    if program.type == "item_fixed_price":
        new_price = max(0, program.value)
        return "fixed_amount", new_price, max(0, item.unit_price - new_price) * units
    return "free", None, item.unit_total * units


def _reduced_to(discount: Discount, amount: int) -> Discount:
    """The discount limited to `amount`; a reduced one becomes flat_off so the channel agrees."""
    if amount == discount.amount:
        return discount
    return replace(discount, offer_type="flat_off", offer_value=amount, amount=amount)
