"""Campaign definitions (spec §3.1, §3.3, §3.4): read from the wire, checked, and written back.

`parse_campaign(data, draft=...)` is the only way in. A draft (what the dashboard saves while the
team is still writing) may be incomplete: no name, no constraints or states yet, a state whose
coupon or points are not chosen yet. It may never be *wrong*: a value of the wrong type, an id
that breaks the pattern, a transition to a state that does not exist. Initialising needs a
complete campaign (`draft=False`). Every problem is collected and raised as one FieldErrors keyed
by JSON path (`states[1].transitionTo`, `constraints[0].value[0]`), so a door can show them all.

Read-only fields the server keeps (`initialized`, `cnt`, `stateStats`, a state's `stats`, ...)
and keys we do not know are ignored on the way in, so a client may send back what it read;
`campaign_to_json(campaign, status)` writes them from a CampaignStatus.

Coupon values are integers: AMOUNT in minor units, PERCENT in hundredths (1250 = 12.5 %, the
scale of rules.money and programs.percent_of). A float is only the JSON carrier of a fractional
percent on the way out: 12.5 or 12.34 is written by its shortest repr, which reads back exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from loyalty.time import parse_iso, to_iso
from loyalty.validation import FieldErrors

from .basket import MAX_AMOUNT
from .constraints import Constraint, ConstraintError, check
from .coupons import COUPON_ALPHABET, MAX_PREFIX_LENGTH
from .durations import Duration, DurationError, parse_duration
from .money import PERCENT_SCALE

CAMPAIGN_TYPES = ("STANDARD", "BIRTHDAY")
STATE_TYPES = ("ACCOUNT", "COUPON", "MESSAGE", "ORDER", "WALLET")
# States whose action completes at once: a loop made only of them would never wait.
IMMEDIATE_STATE_TYPES = ("WALLET",)
COUPON_TYPES = ("PERCENT", "AMOUNT", "PRODUCT")
NOTIFICATION_TYPES = ("COUPON_EXPIRATION", "DYNAMIC_JOIN", "SPECIFIC_TIME")
DAY_PARTS = ("MORNING", "AFTERNOON", "EVENING")

MAX_ID_LENGTH = 64
MIN_PATH_ID_LENGTH = 3
MAX_STATE_ID_LENGTH = 32
MIN_NAME_LENGTH, MAX_NAME_LENGTH = 3, 128
MAX_CONSTRAINTS, MAX_STATES, MAX_NOTIFICATIONS = 16, 10, 3
MAX_TEXT_LENGTH = 256  # titles, messages, image URLs
MAX_DESCRIPTION_LENGTH = 1024
MAX_PRODUCT_LENGTH = 64
MAX_PAYLOAD_ENTRIES = 16
MAX_VALID_DAYS = 3660
MAX_DAYS_BEFORE = 365
FULL_PERCENT = 100 * PERCENT_SCALE
_ID = re.compile(r"[a-zA-Z0-9_-]+")


@dataclass(frozen=True)
class AccountState:
    """Waits until the account matches `constraints`; may give up after `timeout`."""

    id: str
    transition_to: str | None = None
    constraints: tuple[Constraint, ...] = ()
    timeout: Duration | None = None
    timeout_transition_to: str | None = None
    type: ClassVar[str] = "ACCOUNT"


@dataclass(frozen=True)
class CouponState:
    """Issues a coupon on entry and waits for it to be redeemed (or to expire).

    `value` is minor units for AMOUNT, hundredths of a percent for PERCENT, None for PRODUCT.
    Fields are None only in drafts, except the optional texts.
    """

    id: str
    transition_to: str | None = None
    coupon_type: str | None = None
    value: int | None = None
    product: str | None = None
    valid_days: int | None = None
    valid_to: datetime | None = None
    code_prefix: str | None = None
    title: str | None = None
    description: str | None = None
    image: str | None = None
    expired_transition_to: str | None = None
    type: ClassVar[str] = "COUPON"


@dataclass(frozen=True)
class MessageState:
    """Queues an in-app/push message on entry and waits for the member to acknowledge it."""

    id: str
    transition_to: str | None = None
    title: str | None = None
    message: str | None = None
    image: str | None = None
    payload: Mapping[str, str] = field(default_factory=dict)
    type: ClassVar[str] = "MESSAGE"


@dataclass(frozen=True)
class OrderState:
    """Waits for `count` orders (default 1) of at least `min_total` matching `constraints`."""

    id: str
    transition_to: str | None = None
    constraints: tuple[Constraint, ...] = ()  # over order.* fields
    min_total: int | None = None  # minor units; None = any total
    count: int | None = None
    timeout: Duration | None = None
    timeout_transition_to: str | None = None
    type: ClassVar[str] = "ORDER"

    @property
    def orders_needed(self) -> int:
        return self.count or 1


@dataclass(frozen=True)
class WalletState:
    """Credits `points` on entry and moves on at once; the credit may expire."""

    id: str
    transition_to: str | None = None
    points: int | None = None  # None only in drafts
    expires: datetime | None = None
    valid_days: int | None = None
    type: ClassVar[str] = "WALLET"


StateDefinition = AccountState | CouponState | MessageState | OrderState | WalletState


@dataclass(frozen=True)
class Notification:
    """A push template. `days_before` only for COUPON_EXPIRATION, `at` only for SPECIFIC_TIME."""

    type: str
    title: str | None = None
    message: str | None = None
    image: str | None = None
    payload: Mapping[str, str] = field(default_factory=dict)
    day_part: str | None = None
    days_before: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Campaign:
    id: str  # "" when the body left it to the path
    type: str  # a draft without one reads as STANDARD
    name: str | None = None  # None only in drafts
    active_from: datetime | None = None
    active_to: datetime | None = None  # exclusive, like every end in the rules
    constraints: tuple[Constraint, ...] = ()
    states: tuple[StateDefinition, ...] = ()
    dynamic: bool = False
    notifications: tuple[Notification, ...] = ()

    def state(self, state_id: str | None) -> StateDefinition | None:
        return next((state for state in self.states if state.id == state_id), None)


@dataclass(frozen=True)
class CampaignStatus:
    """The read-only extras of the wire shape, kept by the server (spec §3.1)."""

    initialized: bool = False
    initialized_at: datetime | None = None
    initialized_by: str | None = None
    finalized_at: datetime | None = None
    cnt: int | None = None
    state_stats: Mapping[str, int] = field(default_factory=dict)  # finished each state
    state_reached: Mapping[str, int] = field(default_factory=dict)  # a state's `stats`
    previewed_at: datetime | None = None
    samples: tuple[str, ...] = ()


def check_campaign_id(text: object, key: str = "campaign") -> str:
    """A campaign id from a path: 3..64 of [a-zA-Z0-9_-]; FieldErrors under `key` otherwise."""
    if (
        not isinstance(text, str)
        or not MIN_PATH_ID_LENGTH <= len(text) <= MAX_ID_LENGTH
        or not _ID.fullmatch(text)
    ):
        raise FieldErrors({key: "use 3 to 64 letters, digits, _ or -"})
    return text


def parse_campaign(data: Any, *, draft: bool) -> Campaign:
    """The campaign the JSON describes; FieldErrors naming every problem at once."""
    reader = _Reader(draft)
    campaign = reader.campaign(data)
    if reader.errors:
        raise FieldErrors(reader.errors)
    assert campaign is not None
    return campaign


def campaign_to_json(campaign: Campaign, status: CampaignStatus | None = None) -> dict:
    """The wire shape of §3.1; parse_campaign reads it back to an equal Campaign."""
    out: dict[str, Any] = {"id": campaign.id, "type": campaign.type}
    _put(out, "name", campaign.name)
    _put(out, "activeFrom", _iso(campaign.active_from))
    _put(out, "activeTo", _iso(campaign.active_to))
    out["constraints"] = [_constraint_json(c) for c in campaign.constraints]
    reached = status.state_reached if status else {}
    out["states"] = [_state_json(state, reached.get(state.id)) for state in campaign.states]
    out["dynamic"] = campaign.dynamic
    out["notifications"] = [_notification_json(n) for n in campaign.notifications]
    if status is not None:
        out.update(
            initialized=status.initialized,
            initializedAt=_iso(status.initialized_at),
            initializedBy=status.initialized_by,
            finalizedAt=_iso(status.finalized_at),
            cnt=status.cnt,
            stateStats=dict(status.state_stats),
            previewedAt=_iso(status.previewed_at),
            samples=list(status.samples),
        )
    return out


def percent_to_json(hundredths: int) -> int | float:
    """1250 -> 12.5, 5000 -> 50: the JSON number of a stored percent."""
    whole, rest = divmod(hundredths, PERCENT_SCALE)
    return whole if not rest else float(Decimal(hundredths) / PERCENT_SCALE)


# --- reading


class _Reader:
    """Walks the JSON once, noting problems by path instead of stopping at the first."""

    def __init__(self, draft: bool):
        self.draft = draft
        self.errors: dict[str, str] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    def missing(self, path: str, message: str = "is required") -> None:
        if not self.draft:
            self.fail(path, message)

    def campaign(self, data: Any) -> Campaign | None:
        if not isinstance(data, dict):
            self.fail("campaign", "must be an object")
            return None
        campaign_id = self.text(data, "id", "id", most=MAX_ID_LENGTH, pattern=True) or ""
        kind = self.choice(data, "type", "type", CAMPAIGN_TYPES)
        if data.get("type") is None:
            self.missing("type")
        name = self.text(data, "name", "name", most=MAX_NAME_LENGTH)
        if name is not None and len(name) < MIN_NAME_LENGTH:
            self.fail("name", f"use at least {MIN_NAME_LENGTH} characters")
        if name is None:
            self.missing("name")
        active_from = self.moment(data, "activeFrom", "activeFrom")
        active_to = self.moment(data, "activeTo", "activeTo")
        if active_from and active_to and active_from >= active_to:
            self.fail("activeTo", "must be after activeFrom")
        constraints = self.constraints(data, "constraints", "constraints", order=False)
        states = self.states(data)
        dynamic = data.get("dynamic", False)
        if not isinstance(dynamic, bool):
            self.fail("dynamic", "must be true or false")
            dynamic = False
        notifications = self.notifications(data)
        return Campaign(
            id=campaign_id,
            type=kind or "STANDARD",
            name=name,
            active_from=active_from,
            active_to=active_to,
            constraints=constraints,
            states=states,
            dynamic=dynamic,
            notifications=notifications,
        )

    # --- lists

    def items(self, data: dict, key: str, path: str, least: int, most: int) -> list:
        raw = data.get(key)
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            self.fail(path, "must be a list")
            return []
        if len(raw) > most:
            self.fail(path, f"give at most {most}")
            return []
        if len(raw) < least:
            self.missing(path, f"give at least {least}")
        return raw

    def constraints(
        self, data: dict, key: str, path: str, *, order: bool, least: int = 1
    ) -> tuple[Constraint, ...]:
        parsed = []
        for index, raw in enumerate(self.items(data, key, path, least, MAX_CONSTRAINTS)):
            item_path = f"{path}[{index}]"
            if not isinstance(raw, dict):
                self.fail(item_path, "must be an object")
                continue
            values = raw.get("value")
            if values is None:
                values = []
            if not isinstance(values, list):
                self.fail(f"{item_path}.value", "must be a list of strings")
                continue
            constraint = Constraint(raw.get("field"), raw.get("op"), tuple(values))
            try:
                check(constraint, order=order)
            except ConstraintError as error:
                self.fail(f"{item_path}.{error.part}", str(error))
                continue
            parsed.append(constraint)
        return tuple(parsed)

    def states(self, data: dict) -> tuple[StateDefinition, ...]:
        raws = self.items(data, "states", "states", 1, MAX_STATES)
        ids: dict[str, int] = {}
        for index, raw in enumerate(raws):
            state_id = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(state_id, str) and state_id in ids:
                self.fail(f"states[{index}].id", "another state already has this id")
            elif isinstance(state_id, str):
                ids[state_id] = index
        states = []
        for index, raw in enumerate(raws):
            state = self.state(raw, f"states[{index}]", ids)
            if state is not None:
                states.append(state)
        if len(states) == len(raws):
            self.immediate_loops(states)
        return tuple(states)

    def state(self, raw: Any, path: str, ids: Mapping[str, int]) -> StateDefinition | None:
        if not isinstance(raw, dict):
            self.fail(path, "must be an object")
            return None
        state_id = self.text(
            raw, "id", f"{path}.id", most=MAX_STATE_ID_LENGTH, least=1, pattern=True
        )
        if state_id is None and raw.get("id") is None:
            self.fail(f"{path}.id", "is required")
        kind = self.choice(raw, "type", f"{path}.type", STATE_TYPES)
        if kind is None and raw.get("type") is None:
            self.fail(f"{path}.type", "is required")
        base = {"id": state_id or "", "transition_to": self.target(raw, "transitionTo", path, ids)}
        if kind == "ACCOUNT":
            return AccountState(
                **base,
                constraints=self.constraints(
                    raw, "constraints", f"{path}.constraints", order=False
                ),
                **self.timeout(raw, path, ids),
            )
        if kind == "ORDER":
            return OrderState(
                **base,
                constraints=self.constraints(
                    raw, "constraints", f"{path}.constraints", order=True, least=0
                ),
                min_total=self.integer(raw, "minTotal", f"{path}.minTotal", 0, MAX_AMOUNT),
                count=self.integer(raw, "count", f"{path}.count", 1, 1000),
                **self.timeout(raw, path, ids),
            )
        if kind == "MESSAGE":
            return MessageState(
                **base,
                title=self.required_text(raw, "title", f"{path}.title"),
                message=self.required_text(raw, "message", f"{path}.message"),
                image=self.text(raw, "image", f"{path}.image", most=MAX_TEXT_LENGTH),
                payload=self.payload(raw, f"{path}.payload"),
            )
        if kind == "WALLET":
            return self.wallet(raw, path, base)
        if kind == "COUPON":
            return self.coupon(raw, path, base, ids)
        return None

    def wallet(self, raw: dict, path: str, base: dict) -> WalletState:
        points = self.integer(raw, "points", f"{path}.points", 1, MAX_AMOUNT)
        if raw.get("points") is None:
            self.missing(f"{path}.points")
        expires = self.moment(raw, "expires", f"{path}.expires")
        valid_days = self.integer(raw, "validDays", f"{path}.validDays", 1, MAX_VALID_DAYS)
        if expires and valid_days:
            self.fail(f"{path}.validDays", "give expires or validDays, not both")
        return WalletState(**base, points=points, expires=expires, valid_days=valid_days)

    def coupon(self, raw: dict, path: str, base: dict, ids: Mapping[str, int]) -> CouponState:
        coupon_type = self.choice(raw, "couponType", f"{path}.couponType", COUPON_TYPES)
        if coupon_type is None and raw.get("couponType") is None:
            self.missing(f"{path}.couponType")
        value = self.coupon_value(raw, f"{path}.value", coupon_type)
        product = self.text(raw, "product", f"{path}.product", most=MAX_PRODUCT_LENGTH)
        if coupon_type == "PRODUCT" and not product:
            self.missing(f"{path}.product", "name the product (PLU) the coupon gives")
        elif coupon_type in ("PERCENT", "AMOUNT") and product is not None:
            self.fail(f"{path}.product", "only a PRODUCT coupon names a product")
        valid_days = self.integer(raw, "validDays", f"{path}.validDays", 1, MAX_VALID_DAYS)
        valid_to = self.moment(raw, "validTo", f"{path}.validTo")
        if valid_days and valid_to:
            self.fail(f"{path}.validDays", "give validDays or validTo, not both")
        elif raw.get("validDays") is None and raw.get("validTo") is None:
            self.missing(f"{path}.validDays", "give validDays or validTo")
        prefix = self.text(raw, "codePrefix", f"{path}.codePrefix", most=MAX_PREFIX_LENGTH)
        if prefix is not None and (not prefix or any(c not in COUPON_ALPHABET for c in prefix)):
            self.fail(f"{path}.codePrefix", f"use capitals and digits from {COUPON_ALPHABET}")
        return CouponState(
            **base,
            coupon_type=coupon_type,
            value=value,
            product=product,
            valid_days=valid_days,
            valid_to=valid_to,
            code_prefix=prefix,
            title=self.text(raw, "title", f"{path}.title", most=MAX_TEXT_LENGTH),
            description=self.text(
                raw, "description", f"{path}.description", most=MAX_DESCRIPTION_LENGTH
            ),
            image=self.text(raw, "image", f"{path}.image", most=MAX_TEXT_LENGTH),
            expired_transition_to=self.target(raw, "expiredTransitionTo", path, ids),
        )

    def coupon_value(self, raw: dict, path: str, coupon_type: str | None) -> int | None:
        value = raw.get("value")
        if coupon_type == "PRODUCT":
            if value is not None:
                self.fail(path, "a PRODUCT coupon has no value: it gives the product")
            return None
        if value is None:
            if coupon_type is not None:
                self.missing(path)
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            self.fail(path, "must be a number")
            return None
        try:
            # str() of a float is its shortest repr: 12.34 reads as Decimal("12.34").
            exact = Decimal(str(value))
        except InvalidOperation:
            self.fail(path, "must be a number")
            return None
        if not exact.is_finite():
            self.fail(path, "must be a number")
            return None
        if coupon_type == "PERCENT":
            hundredths = exact * PERCENT_SCALE
            if hundredths != hundredths.to_integral_value():
                self.fail(path, "use at most 2 decimal places")
                return None
            if not 0 < hundredths <= FULL_PERCENT:
                self.fail(path, "must be more than 0 and at most 100 (percent)")
                return None
            return int(hundredths)
        if exact != exact.to_integral_value() or not 0 < exact <= MAX_AMOUNT:
            self.fail(path, f"must be a whole number of minor units from 1 to {MAX_AMOUNT}")
            return None
        return int(exact)

    def timeout(self, raw: dict, path: str, ids: Mapping[str, int]) -> dict:
        timeout = None
        text = raw.get("timeout")
        if text is not None:
            try:
                timeout = parse_duration(text)
            except DurationError as error:
                self.fail(f"{path}.timeout", str(error))
            else:
                if timeout.is_zero:
                    self.fail(f"{path}.timeout", "must be longer than nothing")
                    timeout = None
        timeout_to = self.target(raw, "timeoutTransitionTo", path, ids)
        if timeout_to is not None and text is None:
            self.fail(f"{path}.timeoutTransitionTo", "needs a timeout")
        return {"timeout": timeout, "timeout_transition_to": timeout_to}

    def immediate_loops(self, states: list[StateDefinition]) -> None:
        by_id = {state.id: index for index, state in enumerate(states)}
        for start, state in enumerate(states):
            seen = {state.id}
            current = state
            while current.type in IMMEDIATE_STATE_TYPES and current.transition_to in by_id:
                current = states[by_id[current.transition_to]]
                if current.id in seen:
                    if current.id == state.id:
                        self.fail(
                            f"states[{start}].transitionTo",
                            "WALLET states move on at once: this loop would credit forever",
                        )
                    break
                seen.add(current.id)

    def notifications(self, data: dict) -> tuple[Notification, ...]:
        parsed = []
        for index, raw in enumerate(
            self.items(data, "notifications", "notifications", 0, MAX_NOTIFICATIONS)
        ):
            path = f"notifications[{index}]"
            if not isinstance(raw, dict):
                self.fail(path, "must be an object")
                continue
            kind = self.choice(raw, "type", f"{path}.type", NOTIFICATION_TYPES)
            if kind is None:
                if raw.get("type") is None:
                    self.fail(f"{path}.type", "is required")
                continue
            days_before = at = None
            if kind == "COUPON_EXPIRATION":
                days_before = self.integer(
                    raw, "daysBefore", f"{path}.daysBefore", 1, MAX_DAYS_BEFORE
                )
                if raw.get("daysBefore") is None:
                    self.missing(f"{path}.daysBefore")
            if kind == "SPECIFIC_TIME":
                at = self.moment(raw, "at", f"{path}.at")
                if raw.get("at") is None:
                    self.missing(f"{path}.at")
            parsed.append(
                Notification(
                    type=kind,
                    title=self.required_text(raw, "title", f"{path}.title"),
                    message=self.required_text(raw, "message", f"{path}.message"),
                    image=self.text(raw, "image", f"{path}.image", most=MAX_TEXT_LENGTH),
                    payload=self.payload(raw, f"{path}.payload"),
                    day_part=self.choice(raw, "dayPart", f"{path}.dayPart", DAY_PARTS),
                    days_before=days_before,
                    at=at,
                )
            )
        return tuple(parsed)

    # --- single values

    def text(
        self, raw: dict, key: str, path: str, *, most: int, least: int = 0, pattern: bool = False
    ) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(path, "must be a string")
            return None
        if len(value) > most:
            self.fail(path, f"use at most {most} characters")
            return None
        if len(value) < least:
            self.fail(path, f"use at least {least} character{'s' if least > 1 else ''}")
            return None
        if pattern and value and not _ID.fullmatch(value):
            self.fail(path, "use only letters, digits, _ and -")
            return None
        return value

    def required_text(self, raw: dict, key: str, path: str) -> str | None:
        value = self.text(raw, key, path, most=MAX_TEXT_LENGTH)
        if raw.get(key) in (None, ""):
            self.missing(path)
        return value

    def choice(self, raw: dict, key: str, path: str, allowed: tuple[str, ...]) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if value not in allowed:
            self.fail(path, "must be one of " + ", ".join(allowed))
            return None
        return value

    def integer(self, raw: dict, key: str, path: str, least: int, most: int) -> int | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "must be a whole number")
            return None
        if not least <= value <= most:
            self.fail(path, f"must be from {least} to {most}")
            return None
        return value

    def moment(self, raw: dict, key: str, path: str) -> datetime | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > 64:
            self.fail(path, "must be a date-time such as 2024-06-01T00:00:00Z")
            return None
        try:
            return parse_iso(value)
        except (ValueError, OverflowError):  # an offset can push year 1 or 9999 off the calendar
            self.fail(path, "must be a date-time with an offset, such as 2024-06-01T00:00:00Z")
            return None

    def target(self, raw: dict, key: str, path: str, ids: Mapping[str, int]) -> str | None:
        value = self.text(
            raw, key, f"{path}.{key}", most=MAX_STATE_ID_LENGTH, least=1, pattern=True
        )
        if value is None:
            return None
        if value not in ids:
            self.fail(f"{path}.{key}", "must be the id of a state of this campaign")
            return None
        return value

    def payload(self, raw: dict, path: str) -> dict[str, str]:
        value = raw.get("payload")
        if value is None:
            return {}
        if not isinstance(value, dict) or len(value) > MAX_PAYLOAD_ENTRIES:
            self.fail(path, f"must be an object of at most {MAX_PAYLOAD_ENTRIES} texts")
            return {}
        for key, text in value.items():
            if not isinstance(text, str) or len(key) > MAX_TEXT_LENGTH:
                self.fail(f"{path}.{key}", "must be a string")
                return {}
            if len(text) > MAX_TEXT_LENGTH:
                self.fail(f"{path}.{key}", f"use at most {MAX_TEXT_LENGTH} characters")
                return {}
        return dict(value)


# --- writing


def _put(out: dict, key: str, value: object) -> None:
    if value is not None:
        out[key] = value


def _iso(moment: datetime | None) -> str | None:
    return to_iso(moment) if moment is not None else None


def _constraint_json(constraint: Constraint) -> dict:
    return {"field": constraint.field, "op": constraint.op, "value": list(constraint.value)}


def _state_json(state: StateDefinition, reached: int | None) -> dict:
    out: dict[str, Any] = {"id": state.id, "type": state.type}
    _put(out, "transitionTo", state.transition_to)
    if isinstance(state, AccountState | OrderState):
        out["constraints"] = [_constraint_json(c) for c in state.constraints]
    if isinstance(state, OrderState):
        _put(out, "minTotal", state.min_total)
        _put(out, "count", state.count)
    if isinstance(state, AccountState | OrderState):
        _put(out, "timeout", state.timeout.to_text() if state.timeout else None)
        _put(out, "timeoutTransitionTo", state.timeout_transition_to)
    if isinstance(state, CouponState):
        _put(out, "couponType", state.coupon_type)
        if state.value is not None:
            is_percent = state.coupon_type == "PERCENT"
            out["value"] = percent_to_json(state.value) if is_percent else state.value
        for key, value in (
            ("product", state.product),
            ("validDays", state.valid_days),
            ("validTo", _iso(state.valid_to)),
            ("codePrefix", state.code_prefix),
            ("title", state.title),
            ("description", state.description),
            ("image", state.image),
            ("expiredTransitionTo", state.expired_transition_to),
        ):
            _put(out, key, value)
    if isinstance(state, MessageState):
        for key, value in (("title", state.title), ("message", state.message)):
            _put(out, key, value)
        _put(out, "image", state.image)
        out["payload"] = dict(state.payload)
    if isinstance(state, WalletState):
        _put(out, "points", state.points)
        _put(out, "expires", _iso(state.expires))
        _put(out, "validDays", state.valid_days)
    _put(out, "stats", reached)
    return out


def _notification_json(notification: Notification) -> dict:
    out: dict[str, Any] = {"type": notification.type}
    _put(out, "title", notification.title)
    _put(out, "message", notification.message)
    _put(out, "image", notification.image)
    out["payload"] = dict(notification.payload)
    _put(out, "dayPart", notification.day_part)
    _put(out, "daysBefore", notification.days_before)
    _put(out, "at", _iso(notification.at))
    return out
