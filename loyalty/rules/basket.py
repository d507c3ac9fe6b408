"""The basket a Deliverect order describes, and its lenient, never-crashing parser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..validation import FieldErrors

# Deliverect nests modifiers a few levels deep; anything deeper is garbage, and refusing it keeps
# the recursive parser far from Python's recursion limit.
MAX_SUB_ITEM_DEPTH = 10
MAX_DECIMAL_DIGITS = 6
# Amounts are kept in 32-bit columns; 10^8 minor units (1,000,000.00) is far above any order, so
# a price, a fee or a basket beyond it is garbage, not a sale (1e20 once reached the ledger).
MAX_AMOUNT = 10**8
MAX_QUANTITY = 10_000


@dataclass(frozen=True)
class BasketItem:
    """One order line. Sub-items (modifiers) are priced per unit of their parent."""

    plu: str
    name: str
    unit_price: int
    quantity: int
    sub_items: tuple[BasketItem, ...] = ()

    @property
    def unit_total(self) -> int:
        """One unit of the line as configured: its own price plus its modifiers."""
        return self.unit_price + sum(sub.line_total for sub in self.sub_items)

    @property
    def line_total(self) -> int:
        # Deliverect sub-item prices and quantities are per parent unit: a burger ×2 with
        # cheese (100 ×1) costs (burger + 100) × 2.
        return self.unit_total * self.quantity


@dataclass(frozen=True)
class Basket:
    items: tuple[BasketItem, ...]
    decimal_digits: int = 2
    applied_program_ids: tuple[str, ...] = ()
    delivery_cost: int = 0
    service_charge: int = 0
    tip: int = 0

    @property
    def items_total(self) -> int:
        """What discounts may apply to: fees and tips are never discounted."""
        return sum(item.line_total for item in self.items)

    @property
    def is_empty(self) -> bool:
        return not any(item.quantity for item in self.items)


class BasketError(FieldErrors):
    """The order is not a basket we can price; `errors` names the offending field by its path in
    the order, e.g. {"order.items[0].price": "must be a non-negative integer"}."""


def basket_from_order(order: Any) -> Basket:
    """Read a Deliverect order dict into a Basket.

    Lenient where Deliverect varies (missing items, decimalDigits, fees or discounts; ids sent as
    numbers; integral floats such as 500.0), strict where money is concerned: a price or quantity
    that is negative, fractional, boolean or not a number raises BasketError. Quantity 0 is
    accepted (a line the customer emptied) and simply adds nothing. `tip` is tip plus driverTip.
    Raises only BasketError, whatever JSON it is given.
    """
    if not isinstance(order, dict):
        raise BasketError({"order": "must be an object"})
    raw_items = order.get("items")
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        raise BasketError({"order.items": "must be a list"})
    items = tuple(
        _item(raw, f"order.items[{index}]", depth=0) for index, raw in enumerate(raw_items)
    )
    decimal_digits = _optional_int(order, "decimalDigits", "order", default=2)
    if decimal_digits > MAX_DECIMAL_DIGITS:
        raise BasketError({"order.decimalDigits": f"must be at most {MAX_DECIMAL_DIGITS}"})
    basket = Basket(
        items=items,
        decimal_digits=decimal_digits,
        applied_program_ids=_applied_program_ids(order.get("discounts")),
        delivery_cost=_optional_int(order, "deliveryCost", "order"),
        service_charge=_optional_int(order, "serviceCharge", "order"),
        tip=_optional_int(order, "tip", "order") + _optional_int(order, "driverTip", "order"),
    )
    # Each price is bounded, but quantities multiply them through ten levels of sub-items.
    if basket.items_total + basket.delivery_cost + basket.service_charge > MAX_AMOUNT:
        raise BasketError({"order.items": f"the basket totals more than {MAX_AMOUNT} minor units"})
    return basket


def _item(raw: Any, path: str, depth: int) -> BasketItem:
    if depth > MAX_SUB_ITEM_DEPTH:
        raise BasketError({path: "sub-items nested too deeply"})
    if not isinstance(raw, dict):
        raise BasketError({path: "must be an object"})
    raw_subs = raw.get("subItems")
    if raw_subs is None:
        raw_subs = []
    if not isinstance(raw_subs, list):
        raise BasketError({f"{path}.subItems": "must be a list"})
    return BasketItem(
        plu=_text(raw.get("plu"), f"{path}.plu"),
        name=_text(raw.get("name"), f"{path}.name"),
        unit_price=_non_negative_int(raw.get("price"), f"{path}.price"),
        quantity=_non_negative_int(raw.get("quantity"), f"{path}.quantity", MAX_QUANTITY),
        sub_items=tuple(
            _item(sub, f"{path}.subItems[{index}]", depth + 1) for index, sub in enumerate(raw_subs)
        ),
    )


def _text(value: Any, path: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    # PLUs are sometimes sent as numbers; a bool is never a PLU.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise BasketError({path: "must be a string"})


def _non_negative_int(value: Any, path: str, maximum: int = MAX_AMOUNT) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BasketError({path: "must be a non-negative integer"})
    if value > maximum:
        raise BasketError({path: f"must be at most {maximum}"})
    return value


def _optional_int(order: dict, key: str, path: str, default: int = 0) -> int:
    value = order.get(key)
    return default if value is None else _non_negative_int(value, f"{path}.{key}")


def _applied_program_ids(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise BasketError({"order.discounts": "must be a list"})
    ids: list[str] = []
    for index, discount in enumerate(raw):
        if not isinstance(discount, dict):
            raise BasketError({f"order.discounts[{index}]": "must be an object"})
        # Cash (wallet) discounts carry no programId: they are not programs.
        program_id = _text(discount.get("programId"), f"order.discounts[{index}].programId")
        if program_id and program_id not in ids:
            ids.append(program_id)
    return tuple(ids)
