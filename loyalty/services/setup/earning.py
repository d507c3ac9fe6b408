"""A restaurant's earning rules: list, add, change and delete them, and preview what an order
earns under them (the saved rules, or with a rule being edited, before it is saved).

The rules themselves are in rules.earning; this module checks what the team typed, stores it
(models.earning) and reads it back. What an order earned is stored with the order, so changing
or deleting a rule never changes points already earned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select

from ...extensions import db
from ...models import EarningRule, Order, Tenant
from ...rules import earning
from ...rules.basket import Basket, BasketError, basket_from_order
from ...rules.checkout import Payment, amount_paid
from ...rules.money import AmountError, parse_money
from ...rules.order_review import MAX_POINTS_PER_ORDER
from ...rules.tiers import TierLevel
from ...validation import FieldErrors, text_problem
from ..checkout.catalogue import load_catalogue

MAX_RULES = 20
MAX_RULE_POINTS = 10_000  # per step, visit or unit
MAX_STEP = 10**8  # minor units: the basket's own ceiling (rules.basket.MAX_AMOUNT)
MAX_VISITS_PER_DAY = 100
MAX_MULTIPLIER = 1_000  # x10
MAX_PLUS = 50
PLU_MAX = 64
NAME_MAX = 64
DEFAULT_NAMES = {"spend": "spend", "visit": "visit", "item": "stamps", "bonus": "bonus"}
RECENT_ORDERS = 20
FEE_FIELDS = ("deliveryCost", "serviceCharge", "bagFee", "smallOrderFee")
TIP_FIELDS = ("tip", "driverTip")


@dataclass(frozen=True)
class RuleDetails:
    """A rule as the team typed it; only the fields of its kind are read."""

    kind: str
    name: str = ""
    points: int | None = None
    per_amount: int | None = None  # spend: minor units
    min_amount: int | None = None  # visit: minor units
    per_day: int | None = 1  # visit: None = every order of the day counts
    plus: str = ""  # item, bonus: PLUs separated by commas, spaces or new lines
    multiplier_percent: int | None = None  # bonus: 200 = x2
    weekdays: tuple[int, ...] = ()  # bonus
    starts_at: int | None = None  # bonus: minutes after local midnight
    ends_at: int | None = None
    cap: int | None = None  # bonus


def rule_rows(tenant_id: int) -> list[EarningRule]:
    """The restaurant's rules in the order the team sees (and the rules add) them."""
    return list(
        db.session.scalars(
            select(EarningRule)
            .where(EarningRule.tenant_id == tenant_id)
            .order_by(EarningRule.position, EarningRule.id)
        )
    )


def earning_rules(tenant_id: int) -> tuple[earning.EarningRule, ...]:
    return tuple(as_rule(row) for row in rule_rows(tenant_id))


def as_rule(row: EarningRule) -> earning.EarningRule:
    return earning.EarningRule(
        id=row.id,
        kind=row.kind,
        name=row.name,
        points=row.points,
        per_amount=row.per_amount,
        min_amount=row.min_amount,
        per_day=row.per_day,
        plus=tuple(row.plus or ()),
        multiplier_percent=row.multiplier_percent,
        weekdays=tuple(row.weekdays or ()),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        cap=row.cap,
    )


def rule_row(tenant_id: int, rule_id: int) -> EarningRule | None:
    return db.session.scalar(
        select(EarningRule).where(EarningRule.id == rule_id, EarningRule.tenant_id == tenant_id)
    )


def checked_rule(details: RuleDetails, rule_id: int = 0) -> earning.EarningRule:
    """The rule the details describe, or FieldErrors naming each field that is wrong."""
    errors: dict[str, str] = {}
    kind = details.kind
    if kind not in earning.KINDS:
        raise FieldErrors({"kind": "choose what the rule rewards"})
    name = (details.name or "").strip() or DEFAULT_NAMES[kind]
    if problem := text_problem(name, NAME_MAX, "enter a name"):
        errors["name"] = problem
    values: dict[str, Any] = {}
    if kind in (earning.SPEND, earning.VISIT, earning.ITEM):
        values["points"] = _bounded(details.points, 1, MAX_RULE_POINTS, "points", errors)
    if kind == earning.SPEND:
        values["per_amount"] = _bounded(details.per_amount, 1, MAX_STEP, "per_amount", errors)
    if kind == earning.VISIT:
        values["min_amount"] = _bounded(details.min_amount or 0, 0, MAX_STEP, "min_amount", errors)
        if details.per_day is not None:
            values["per_day"] = _bounded(details.per_day, 1, MAX_VISITS_PER_DAY, "per_day", errors)
        else:
            values["per_day"] = None
    else:
        values["per_day"] = None
    if kind in (earning.ITEM, earning.BONUS):
        plus = _plus(details.plus, errors)
        if kind == earning.ITEM and not plus and "plus" not in errors:
            errors["plus"] = "enter the PLU of at least one item that earns stamps"
        values["plus"] = plus
    if kind == earning.BONUS:
        values.update(_bonus(details, errors))
    if errors:
        raise FieldErrors(errors)
    return earning.EarningRule(id=rule_id, kind=kind, name=name, **values)


def _bounded(value: int | None, low: int, high: int, field: str, errors: dict) -> int:
    if value is None or not low <= value <= high:
        errors[field] = f"must be from {low:,} to {high:,}"
        return low
    return value


def _plus(text: str, errors: dict) -> tuple[str, ...]:
    plus = tuple(dict.fromkeys(plu for plu in re.split(r"[\s,;]+", text or "") if plu))
    if len(plus) > MAX_PLUS:
        errors["plus"] = f"use at most {MAX_PLUS} PLUs"
    elif any(len(plu) > PLU_MAX for plu in plus):
        errors["plus"] = f"a PLU has at most {PLU_MAX} characters"
    return plus


def _bonus(details: RuleDetails, errors: dict) -> dict[str, Any]:
    multiplier = details.multiplier_percent
    if multiplier is None or not earning.NO_MULTIPLIER < multiplier <= MAX_MULTIPLIER:
        errors["multiplier_percent"] = "enter a multiplier above 1 and at most 10, such as 2"
    weekdays = tuple(sorted(set(details.weekdays)))
    if any(day not in range(7) for day in weekdays):
        errors["weekdays"] = "choose days of the week"
    starts, ends = details.starts_at, details.ends_at
    for field, minute in (("starts_at", starts), ("ends_at", ends)):
        if minute is not None and not 0 <= minute <= earning.MINUTES_PER_DAY:
            errors[field] = "enter a time of day, such as 15:00"
    if starts is not None and ends is not None and ends <= starts and "ends_at" not in errors:
        errors["ends_at"] = "must be after the start (a bonus ends by midnight)"
    cap = details.cap
    if cap is not None and not 1 <= cap <= MAX_POINTS_PER_ORDER:
        errors["cap"] = f"must be from 1 to {MAX_POINTS_PER_ORDER:,}, or empty for no cap"
    return {
        "multiplier_percent": multiplier or earning.NO_MULTIPLIER,
        "weekdays": weekdays,
        "starts_at": starts,
        "ends_at": ends,
        "cap": cap,
    }


def add_rule(tenant_id: int, details: RuleDetails) -> EarningRule:
    rule = checked_rule(details)
    count = db.session.scalar(
        select(func.count()).select_from(EarningRule).where(EarningRule.tenant_id == tenant_id)
    )
    if count >= MAX_RULES:
        raise FieldErrors({"kind": f"a restaurant has at most {MAX_RULES} earning rules"})
    last = db.session.scalar(
        select(func.max(EarningRule.position)).where(EarningRule.tenant_id == tenant_id)
    )
    row = EarningRule(tenant_id=tenant_id, position=(last or 0) + 1)
    _store(row, rule)
    db.session.add(row)
    db.session.commit()
    return row


def update_rule(tenant_id: int, rule_id: int, details: RuleDetails) -> EarningRule:
    """Changes the rule for orders from now on; what earlier orders earned stays as it was."""
    row = rule_row(tenant_id, rule_id)
    if row is None:
        raise LookupError(rule_id)
    _store(row, checked_rule(details, rule_id))
    db.session.commit()
    return row


def delete_rule(tenant_id: int, rule_id: int) -> None:
    row = rule_row(tenant_id, rule_id)
    if row is not None:
        db.session.delete(row)
        db.session.commit()


def add_default_rule(tenant_id: int, decimal_digits: int) -> None:
    """A new restaurant earns as before there were rules: 1 point per whole currency unit
    paid. Added to the caller's transaction."""
    row = EarningRule(tenant_id=tenant_id, position=0)
    _store(row, earning.EarningRule(0, earning.SPEND, "spend", 1, 10**decimal_digits))
    db.session.add(row)


def _store(row: EarningRule, rule: earning.EarningRule) -> None:
    row.kind = rule.kind
    row.name = rule.name
    row.points = rule.points
    row.per_amount = rule.per_amount
    row.min_amount = rule.min_amount
    row.per_day = rule.per_day
    row.plus = list(rule.plus)
    row.multiplier_percent = rule.multiplier_percent
    row.weekdays = list(rule.weekdays)
    row.starts_at = rule.starts_at
    row.ends_at = rule.ends_at
    row.cap = rule.cap


# --- time zones ----------------------------------------------------------------------------------


def time_zone_problem(name: str) -> str | None:
    """Why `name` is not an IANA time zone zoneinfo knows, or None."""
    if not name or name not in _known_zones():
        return "enter a time zone such as Europe/Brussels"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "enter a time zone such as Europe/Brussels"
    return None


@cache
def _known_zones() -> frozenset[str]:
    """Read from the system's zone files once per process."""
    return frozenset(available_timezones() | {"UTC"})


# --- the preview ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecentOrder:
    id: int
    label: str


@dataclass(frozen=True)
class PreviewPart:
    label: str
    kind: str
    points: int
    draft: bool  # the rule being edited, not yet saved


@dataclass(frozen=True)
class Preview:
    parts: tuple[PreviewPart, ...]
    total: int
    spend: int  # what counted as spend, restaurant minor units
    local_time: datetime  # on the restaurant's clock


def recent_orders(tenant_id: int) -> list[RecentOrder]:
    """The latest orders, to preview the rules on one of them."""
    rows = db.session.execute(
        select(Order.id, Order.external_id, Order.channel_order_display_id, Order.ordered_at)
        .where(Order.tenant_id == tenant_id, Order.status != "cancel_pending")
        .order_by(Order.ordered_at.desc(), Order.id.desc())
        .limit(RECENT_ORDERS)
    ).all()
    return [
        RecentOrder(
            row.id,
            f"{row.channel_order_display_id or row.external_id}"
            f" ({row.ordered_at:%Y-%m-%d %H:%M} UTC)",
        )
        for row in rows
    ]


def preview_earning(
    tenant_id: int,
    basket_text: str,
    order_id: int | None,
    when: datetime,
    tier: TierLevel | None = None,
    draft: earning.EarningRule | None = None,
) -> Preview:
    """The Earning page's preview: `basket_earning` of a recent order of the restaurant's, else
    of the basket typed. `basket_text` is a Deliverect order (JSON) or lines "PLU quantity
    price", a line starting with "+" being a modifier of the line above. Refusals are
    FieldErrors on "basket" or "order"."""
    digits = db.session.scalar(select(Tenant.decimal_digits).where(Tenant.id == tenant_id))
    order = _previewed_order(tenant_id, basket_text, order_id, digits)
    return basket_earning(tenant_id, order, when, tier, draft)


def basket_earning(
    tenant_id: int,
    order: dict,
    when: datetime,
    tier: TierLevel | None = None,
    draft: earning.EarningRule | None = None,
) -> Preview:
    """The points a basket (a Deliverect order dict, e.g. a programs request's) will earn under
    the saved rules, with `draft` in place of the rule of its id (added when its id is 0), as if
    ordered at `when` on the restaurant's clock (naive local time) by a customer of `tier`, on
    their first visit of the day. A basket that cannot be priced is FieldErrors on "basket"."""
    tenant = db.session.get(Tenant, tenant_id)
    try:
        basket = basket_from_order(order)
    except BasketError as error:
        raise FieldErrors({"basket": error.describe()}) from None
    rules = list(earning_rules(tenant_id))
    if draft is not None:
        replaced = [rule for rule in rules if rule.id == draft.id]
        rules = [draft if rule.id == draft.id else rule for rule in rules]
        if not replaced:
            rules.append(draft)
    purchase = purchase_of(order, basket, _programs_named(tenant_id, basket), when)
    breakdown = earning.earn(rules, purchase, tenant.decimal_digits, tier)
    parts = tuple(
        PreviewPart(
            part.label, part.kind, part.points, draft is not None and part.rule_id == draft.id
        )
        for part in breakdown.parts
    )
    return Preview(parts, breakdown.total, earning.spend_of(purchase, tenant.decimal_digits), when)


def purchase_of(
    order: dict,
    basket: Basket,
    programs: Sequence,
    when: datetime,
) -> earning.Purchase:
    """The Purchase a Deliverect order dict describes, ordered at `when` (local wall time);
    the customer's first visit of the day."""
    payment = Payment(
        payment_amount=_int(order.get("paymentAmount")),
        payment=_int((order.get("payment") or {}).get("amount"))
        if isinstance(order.get("payment"), dict)
        else None,
        sub_total=_int(order.get("subTotal")),
        discount_total=_int(order.get("discountTotal"), signed=True),
    )
    return earning.Purchase(
        paid=amount_paid(payment, basket),
        tips=sum(_int(order.get(name)) or 0 for name in TIP_FIELDS),
        fees=sum(_int(order.get(name)) or 0 for name in FEE_FIELDS),
        decimal_digits=basket.decimal_digits,
        items=basket.items,
        free_units=earning.free_units(programs, basket),
        local_time=when,
    )


def _int(value: Any, signed: bool = False) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if signed else max(0, value)


def _programs_named(tenant_id: int, basket: Basket) -> list:
    if not basket.applied_program_ids:
        return []
    shop = load_catalogue(tenant_id)
    return [
        shop.by_program_id[pid].program
        for pid in basket.applied_program_ids
        if pid in shop.by_program_id
    ]


def _previewed_order(tenant_id: int, text: str, order_id: int | None, decimal_digits: int) -> dict:
    if order_id:
        payload = db.session.scalar(
            select(Order.payload).where(Order.id == order_id, Order.tenant_id == tenant_id)
        )
        if payload is None:
            raise FieldErrors({"order": "choose one of the recent orders"})
        return payload
    text = (text or "").strip()
    if not text:
        raise FieldErrors({"basket": "type a basket, paste an order, or choose a recent order"})
    if text.startswith("{"):
        try:
            order = json.loads(text)
        except ValueError:
            raise FieldErrors({"basket": "this is not valid JSON"}) from None
        if not isinstance(order, dict):
            raise FieldErrors({"basket": "paste one order, a JSON object"})
        return order
    return _typed_order(text, decimal_digits)


def _typed_order(text: str, decimal_digits: int) -> dict:
    """Lines "PLU quantity price" ("+ PLU quantity price" for a modifier of the line above)."""
    items: list[dict] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        modifier = line.startswith("+")
        words = line.lstrip("+").split()
        if len(words) != 3:
            raise FieldErrors({"basket": f"line {number}: write PLU, quantity and price"})
        plu, quantity, price = words
        if not quantity.isdigit():
            raise FieldErrors({"basket": f"line {number}: the quantity is a whole number"})
        try:
            minor = parse_money(price, decimal_digits)
        except AmountError as error:
            raise FieldErrors({"basket": f"line {number}: {error}"}) from None
        entry = {"plu": plu, "name": plu, "price": minor, "quantity": int(quantity)}
        if modifier:
            if not items:
                raise FieldErrors({"basket": f"line {number}: a modifier needs a line above"})
            items[-1].setdefault("subItems", []).append(entry)
        else:
            items.append(entry)
    return {"items": items, "decimalDigits": decimal_digits}
