"""The campaign editor's form: the definition as structured fields, to and from the wire shape.

The form keeps what the team typed as text (so a half-written draft redraws exactly as typed)
and turns it into the JSON of spec §3.1 for services.campaigns.store, which checks it with
rules.campaigns.parse_campaign. Problems come back keyed by JSON path (`states[1].transitionTo`)
and `show_problems` puts each beside the field it names. Money is typed in the currency
("2.50") and sent in minor units; percentages are typed as "12.5".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)

from ...rules import campaigns as definitions
from ...rules.constraints import ORDER_FIELDS, Constraint, describe
from ...rules.money import AmountError, format_money, parse_money
from ...time import parse_iso, to_iso

# Where a constraint looks, in the restaurant's words: a prefix needs a name after the dot.
ACCOUNT_FIELD_KINDS = {
    "counters": "A counter",
    "tags": "A tag",
    "properties": "A property",
    "venues": "A venue visited",
    "header.lastOrder": "Last order",
    "header.created": "Joined",
    "header.birthdate": "Birthdate",
    "header.firstName": "First name",
}
ORDER_FIELD_KINDS = {
    "order.total": "Order total",
    "order.product": "Product in the order",
    "order.venue": "Venue",
    "order.channel": "Channel",
    "order.orderType": "Order type",
}
assert set(ORDER_FIELD_KINDS) == set(ORDER_FIELDS)
NAMED_KINDS = ("counters", "tags", "properties", "venues")
KNOWN_COUNTERS = ("orders", "visits", "spent", "points", "lifetimePoints", "referrals")
OP_LABELS = {
    "EQ": "is",
    "NE": "is not",
    "IN": "is one of",
    "GT": "is more than",
    "GTE": "is at least",
    "LT": "is less than",
    "LTE": "is at most",
    "EXISTS": "exists",
}
CAMPAIGN_TYPE_LABELS = {"STANDARD": "Standard", "BIRTHDAY": "Birthday (yearly, on the day)"}
STATE_TYPE_LABELS = {
    "COUPON": "Give a coupon",
    "ORDER": "Wait for orders",
    "WALLET": "Credit points",
    "MESSAGE": "Send a message",
    "ACCOUNT": "Wait until the account matches",
}
COUPON_TYPE_LABELS = {
    "PERCENT": "A percentage off",
    "AMOUNT": "An amount off",
    "PRODUCT": "A free product",
}
NOTIFICATION_TYPE_LABELS = {
    "COUPON_EXPIRATION": "Before a coupon expires",
    "DYNAMIC_JOIN": "When an account joins later",
    "SPECIFIC_TIME": "At a set time",
}
DAY_PART_LABELS = {
    "": "Any time",
    "MORNING": "Morning",
    "AFTERNOON": "Afternoon",
    "EVENING": "Evening",
}
END = ""  # the transition picker's "end of the flow"
LOCAL_MINUTES = "%Y-%m-%dT%H:%M"
LOCAL_SECONDS = "%Y-%m-%dT%H:%M:%S"
_PATH_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")

# JSON names -> form field names, per level of the definition.
_CAMPAIGN_NAMES = {
    "id": "key",
    "activeFrom": "active_from",
    "activeTo": "active_to",
    "maxCoupons": "max_coupons",
    "maxRedemptions": "max_redemptions",
    "maxPoints": "max_points",
}
_STATE_NAMES = {
    "transitionTo": "transition_to",
    "couponType": "coupon_type",
    "validDays": "valid_days",
    "validTo": "valid_to",
    "codePrefix": "code_prefix",
    "expiredTransitionTo": "expired_transition_to",
    "minTotal": "min_total",
    "timeoutTransitionTo": "timeout_transition_to",
}
_NOTIFICATION_NAMES = {"dayPart": "day_part", "daysBefore": "days_before"}
_CONSTRAINT_NAMES = {"field": "kind", "value": "values"}


def _choices(labels: Mapping[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def _select(label: str, labels: Mapping[str, str], **kwargs) -> SelectField:
    # The service checks the choices (and says so in the team's words); a draft may hold a
    # value the form does not offer, which must redraw rather than vanish.
    return SelectField(label, choices=_choices(labels), validate_choice=False, **kwargs)


class ConstraintForm(Form):
    kind = _select("Field", {**ACCOUNT_FIELD_KINDS, **ORDER_FIELD_KINDS})
    name = StringField("Name", description="After the dot, e.g. orders, vip, city.")
    op = _select("Comparison", OP_LABELS)
    values = StringField(
        "Values",
        description="Separate several with commas. Dates may be relative: -P30D is 30 days ago.",
    )

    @property
    def needs_name(self) -> bool:
        return self.kind.data in NAMED_KINDS

    def field_name(self) -> str:
        kind = self.kind.data or ""
        return f"{kind}.{(self.name.data or '').strip()}" if kind in NAMED_KINDS else kind

    def value_list(self) -> list[str]:
        return [part.strip() for part in (self.values.data or "").split(",") if part.strip()]

    def wire(self) -> dict:
        values = [] if self.op.data == "EXISTS" else self.value_list()
        return {"field": self.field_name(), "op": self.op.data, "value": values}

    def sentence(self) -> str:
        """What the constraint selects, as rules.constraints.describe says it."""
        wire = self.wire()
        return describe(Constraint(wire["field"], wire["op"] or "", tuple(wire["value"])))


class StateForm(Form):
    id = StringField("State id", description="Letters, digits, _ or -; unique in the campaign.")
    type = _select("What it does", STATE_TYPE_LABELS, default="COUPON")
    transition_to = SelectField("Then go to", choices=[], validate_choice=False)
    # COUPON
    coupon_type = _select("The coupon gives", COUPON_TYPE_LABELS, default="PERCENT")
    value = StringField("Discount")
    product = StringField("Product PLU", description="The PLU of the free product in your POS.")
    valid_days = StringField("Valid for (days)")
    valid_to = StringField("Valid until (UTC)")
    code_prefix = StringField("Code prefix", description="Optional capitals, e.g. BDAY.")
    title = StringField("Title")
    description = TextAreaField("Description")
    image = StringField("Image address", description="Optional, https://…")
    expired_transition_to = SelectField(
        "If the coupon expires, go to", choices=[], validate_choice=False
    )
    # MESSAGE
    message = TextAreaField("Message")
    payload = TextAreaField("Payload", description="Optional: one key=value a line, for your app.")
    # ORDER and ACCOUNT
    constraints = FieldList(FormField(ConstraintForm), max_entries=definitions.MAX_CONSTRAINTS)
    min_total = StringField("Minimum order total")
    count = StringField("Orders needed", description="Empty: 1.")
    timeout = StringField("Give up after", description="A duration such as P14D (14 days).")
    timeout_transition_to = SelectField(
        "After the timeout, go to", choices=[], validate_choice=False
    )
    # WALLET
    points = StringField("Points to credit")
    expires = StringField("Points expire at (UTC)")


class NotificationForm(Form):
    type = _select("Send", NOTIFICATION_TYPE_LABELS)
    title = StringField("Title")
    message = TextAreaField("Message")
    image = StringField("Image address", description="Optional, https://…")
    payload = TextAreaField("Payload", description="Optional: one key=value a line, for your app.")
    day_part = _select("Time of day", DAY_PART_LABELS)
    days_before = StringField("Days before the coupon expires")
    at = StringField("At (UTC)")


class CampaignForm(FlaskForm):
    key = StringField(
        "Campaign id",
        description="3 to 64 letters, digits, _ or -; the API names the campaign by it. "
        "It cannot change later.",
    )
    name = StringField("Name")
    type = _select("Type", CAMPAIGN_TYPE_LABELS, default="STANDARD")
    active_from = StringField("Runs from (UTC)", description="Empty: from initialisation.")
    active_to = StringField("Runs until (UTC)", description="Empty: no end.")
    dynamic = BooleanField("Accounts that start matching later join too")
    max_coupons = StringField("At most this many coupons", description="Empty: no limit.")
    max_redemptions = StringField("At most this many redemptions", description="Empty: no limit.")
    max_points = StringField("At most this many points credited", description="Empty: no limit.")
    constraints = FieldList(FormField(ConstraintForm), max_entries=definitions.MAX_CONSTRAINTS)
    states = FieldList(FormField(StateForm), max_entries=definitions.MAX_STATES)
    notifications = FieldList(
        FormField(NotificationForm), max_entries=definitions.MAX_NOTIFICATIONS
    )

    def __init__(self, currency: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        # Problems that name a whole list or the campaign: shown at the top of their section.
        self.section_errors: dict[str, list[str]] = {}
        for constraint in self.constraint_forms():
            constraint.kind.choices = _with_current(ACCOUNT_FIELD_KINDS, constraint.kind.data)
        ids = self.state_ids()
        for state in self.state_forms():
            kinds = ORDER_FIELD_KINDS if state.type.data == "ORDER" else ACCOUNT_FIELD_KINDS
            for entry in state.constraints:
                entry.form.kind.choices = _with_current(kinds, entry.form.kind.data)
            for picker in (
                state.transition_to,
                state.expired_transition_to,
                state.timeout_transition_to,
            ):
                picker.choices = self._targets(ids, picker.data)
            state.value.label.text = (
                f"Amount off ({currency})" if state.coupon_type.data == "AMOUNT" else "Percent off"
            )
            state.value.description = (
                "An amount such as 5.00."
                if state.coupon_type.data == "AMOUNT"
                else "A percentage such as 20 or 12.5."
            )
            state.min_total.label.text = f"Minimum order total ({currency})"
            state.min_total.description = "Empty: any order."

    # --- reading the form

    def state_forms(self) -> list[StateForm]:
        return [entry.form for entry in self.states]

    def constraint_forms(self) -> list[ConstraintForm]:
        return [entry.form for entry in self.constraints]

    def state_ids(self) -> list[str]:
        return [
            state.id.data.strip() for state in self.state_forms() if (state.id.data or "").strip()
        ]

    @staticmethod
    def _targets(ids: list[str], current: str | None) -> list[SelectChoice]:
        choices = [SelectChoice(END, "— nowhere: the flow ends —")]
        choices += [SelectChoice(state_id, state_id) for state_id in ids]
        if current and current not in ids:
            choices.append(SelectChoice(current, f"{current} (no such state)"))
        return choices

    def to_wire(self, decimal_digits: int) -> tuple[dict, dict[str, str]]:
        """The definition as JSON for the store, and what could not be read, by JSON path."""
        problems: dict[str, str] = {}
        reader = _Typed(decimal_digits, problems)
        wire: dict[str, Any] = {"id": (self.key.data or "").strip(), "type": self.type.data}
        reader.put(wire, "name", _text(self.name.data))
        reader.put(wire, "activeFrom", reader.moment(self.active_from.data, "activeFrom"))
        reader.put(wire, "activeTo", reader.moment(self.active_to.data, "activeTo"))
        wire["dynamic"] = bool(self.dynamic.data)
        for key, form_field in (
            ("maxCoupons", self.max_coupons),
            ("maxRedemptions", self.max_redemptions),
            ("maxPoints", self.max_points),
        ):
            wire[key] = reader.whole(form_field.data)
        wire["constraints"] = [c.wire() for c in self.constraint_forms()]
        wire["states"] = [
            _state_wire(state, f"states[{index}]", reader)
            for index, state in enumerate(self.state_forms())
        ]
        wire["notifications"] = [
            _notification_wire(entry.form, f"notifications[{index}]", reader)
            for index, entry in enumerate(self.notifications)
        ]
        return wire, problems

    # --- showing problems

    def show_problems(self, problems: Mapping[str, str]) -> None:
        """Put each message (keyed by JSON path) beside its field, or atop its section."""
        for path, message in problems.items():
            target = self._field_at(path)
            if isinstance(target, Field) and not isinstance(target, FieldList | FormField):
                if message not in target.errors:
                    target.errors = [*target.errors, message]
                continue
            if isinstance(target, FieldList):
                target.list_errors = [*getattr(target, "list_errors", []), message]
                continue
            section = path.split("[", 1)[0].split(".", 1)[0]
            if section not in ("constraints", "states", "notifications"):
                section = "campaign"
            label = "" if section == "campaign" or path == section else f"{path}: "
            self.section_errors.setdefault(section, []).append(label + message)

    def _field_at(self, path: str) -> Field | None:
        node: Any = self
        names = _CAMPAIGN_NAMES
        for index, name in _PATH_PART.findall(path):
            if index:
                if not isinstance(node, FieldList):
                    return node if isinstance(node, Field) and node is not self else None
                if int(index) >= len(node.entries):
                    return None
                node = node.entries[int(index)]
                continue
            form = node.form if isinstance(node, FormField) else node
            if not isinstance(form, Form | FlaskForm):
                return node  # `value[0]` under `values`, a payload key under `payload`
            if isinstance(form, ConstraintForm):
                names = _CONSTRAINT_NAMES
                if name == "field" and form.needs_name:
                    name = "name"
            elif isinstance(form, StateForm):
                names = _STATE_NAMES
            elif isinstance(form, NotificationForm):
                names = _NOTIFICATION_NAMES
            node = form._fields.get(names.get(name, name))
            if node is None:
                return None
        if isinstance(node, FormField):
            first = next(iter(node.form._fields.values()))
            return first
        return node

    def describe_problems(self, problems: Mapping[str, str]) -> list[dict]:
        """Each problem as the team reads it: where (state 2 “bonus”, Points), what, and the
        id of the editor's field to link to."""
        described = []
        for path, message in problems.items():
            target = self._field_at(path)
            is_leaf = isinstance(target, Field) and not isinstance(target, FieldList | FormField)
            where = self._where(path)
            if is_leaf:
                where.append(str(target.label.text))
            described.append(
                {
                    "where": ", ".join(where) or "The campaign",
                    "message": message,
                    "anchor": f"field-{target.id}" if is_leaf else None,
                }
            )
        return described

    def _where(self, path: str) -> list[str]:
        words = []
        parts = _PATH_PART.findall(path)
        for position, (index, _name) in enumerate(parts):
            if not index:
                continue
            number = int(index)
            owner = parts[position - 1][1] if position else ""
            if owner == "states" and number < len(self.states.entries):
                state_id = self.states.entries[number].form.id.data
                words.append(
                    f"State {number + 1} “{state_id}”" if state_id else f"State {number + 1}"
                )
            elif owner == "states":
                words.append(f"State {number + 1}")
            elif owner == "constraints":
                words.append(f"constraint {number + 1}" if words else f"Constraint {number + 1}")
            elif owner == "notifications":
                words.append(f"Notification {number + 1}")
        if not words and parts and parts[0][1] in ("constraints", "states", "notifications"):
            words.append(parts[0][1].capitalize())
        return words

    def count_problems(self) -> int:
        count = sum(len(messages) for messages in self.section_errors.values())
        return count + sum(len(messages) for messages in _all_errors(self))

    # --- changing the lists (the add, remove and move buttons)

    def changed(self, action: str) -> dict | None:
        """The form's data after `action` (add-constraint, remove-state-2, ...); None when the
        action changes no list (a redraw)."""
        data = self.data
        data.pop("csrf_token", None)
        match = re.fullmatch(
            r"(add|remove|up)-(constraint|state|notification|state-constraint)(?:-(\d+))?(?:-(\d+))?",
            action,
        )
        if match is None:
            return None
        verb, what, first, second = match.groups()
        if what == "state-constraint":
            if first is None or int(first) >= len(data["states"]):
                return None
            items, limit, fresh = (
                data["states"][int(first)]["constraints"],
                definitions.MAX_CONSTRAINTS,
                _fresh_state_constraint(data["states"][int(first)]["type"]),
            )
            position = second
        else:
            key = {"constraint": "constraints", "state": "states", "notification": "notifications"}[
                what
            ]
            items = data[key]
            limit = {
                "constraints": definitions.MAX_CONSTRAINTS,
                "states": definitions.MAX_STATES,
                "notifications": definitions.MAX_NOTIFICATIONS,
            }[key]
            fresh = {
                "constraints": {"kind": "counters", "name": "orders", "op": "GTE", "values": "1"},
                "states": _fresh_state(data["states"]),
                "notifications": {"type": "COUPON_EXPIRATION", "days_before": "3"},
            }[key]
            position = first
        if verb == "add":
            if len(items) < limit:
                items.append(fresh)
            return data
        if position is None or not 0 <= int(position) < len(items):
            return None
        index = int(position)
        if verb == "remove":
            del items[index]
        elif index > 0:
            items[index - 1], items[index] = items[index], items[index - 1]
        return data

    # --- the outline of the flow

    def outline(self) -> list[dict]:
        """Each state as a box of the drawn flow: what it does and where it leads."""
        boxes = []
        for index, state in enumerate(self.state_forms()):
            leads = []
            if state.transition_to.data:
                leads.append(("then", state.transition_to.data))
            if state.type.data == "COUPON" and state.expired_transition_to.data:
                leads.append(("if it expires", state.expired_transition_to.data))
            if state.type.data in ("ORDER", "ACCOUNT") and state.timeout_transition_to.data:
                leads.append(
                    (
                        f"after {state.timeout.data or 'the timeout'}",
                        state.timeout_transition_to.data,
                    )
                )
            boxes.append(
                {
                    "number": index + 1,
                    "id": (state.id.data or "").strip() or f"(state {index + 1})",
                    "does": _state_summary(state, self.currency),
                    "leads": leads,
                    "ends": not state.transition_to.data,
                    "next_id": _next_id(self.state_forms(), index),
                }
            )
        return boxes


def initial_data(wire: Mapping[str, Any], decimal_digits: int) -> dict:
    """A stored campaign (its wire shape) as the form shows it."""
    return {
        "key": wire.get("id", ""),
        "name": wire.get("name", ""),
        "type": wire.get("type", "STANDARD"),
        "active_from": _local(wire.get("activeFrom")),
        "active_to": _local(wire.get("activeTo")),
        "dynamic": bool(wire.get("dynamic")),
        "max_coupons": _shown(wire.get("maxCoupons")),
        "max_redemptions": _shown(wire.get("maxRedemptions")),
        "max_points": _shown(wire.get("maxPoints")),
        "constraints": [_constraint_data(c) for c in wire.get("constraints", [])],
        "states": [_state_data(s, decimal_digits) for s in wire.get("states", [])],
        "notifications": [_notification_data(n) for n in wire.get("notifications", [])],
    }


# --- wire <-> form values


class _Typed:
    """Reads typed text into JSON values, noting what cannot be read under its JSON path."""

    def __init__(self, decimal_digits: int, problems: dict[str, str]):
        self.decimal_digits = decimal_digits
        self.problems = problems

    @staticmethod
    def put(out: dict, key: str, value: object) -> None:
        if value is not None:
            out[key] = value

    @staticmethod
    def whole(text: str | None) -> int | str | None:
        """A whole number; other text goes on as typed, for the service to refuse in words."""
        text = _text(text)
        if text is None:
            return None
        return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else text

    def money(self, text: str | None, path: str) -> int | None:
        text = _text(text)
        if text is None:
            return None
        try:
            return parse_money(text, self.decimal_digits)
        except AmountError as error:
            self.problems[path] = str(error)
            return None

    def percent(self, text: str | None, path: str) -> Decimal | str | None:
        text = _text(text)
        if text is None:
            return None
        try:
            return Decimal(text.replace(",", "."))
        except InvalidOperation:
            return text

    def moment(self, text: str | None, path: str) -> str | None:
        text = _text(text)
        if text is None:
            return None
        for pattern in (LOCAL_MINUTES, LOCAL_SECONDS):
            try:
                return to_iso(datetime.strptime(text, pattern).replace(tzinfo=UTC))
            except ValueError:
                continue
        self.problems[path] = "enter a date and time, such as 2026-06-01 09:00"
        return None

    def payload(self, text: str | None, path: str) -> dict[str, str]:
        payload = {}
        for line in (text or "").splitlines():
            if not line.strip():
                continue
            key, equals, value = line.partition("=")
            if not equals or not key.strip():
                self.problems[path] = "write one key=value a line"
                return {}
            payload[key.strip()] = value.strip()
        return payload


def _state_wire(state: StateForm, path: str, reader: _Typed) -> dict:
    kind = state.type.data
    out: dict[str, Any] = {"id": (state.id.data or "").strip(), "type": kind}
    reader.put(out, "transitionTo", state.transition_to.data or None)
    if kind == "COUPON":
        coupon_type = state.coupon_type.data
        out["couponType"] = coupon_type
        if coupon_type == "AMOUNT":
            reader.put(out, "value", reader.money(state.value.data, f"{path}.value"))
        elif coupon_type == "PERCENT":
            reader.put(out, "value", reader.percent(state.value.data, f"{path}.value"))
        else:
            reader.put(out, "product", _text(state.product.data))
        reader.put(out, "validDays", reader.whole(state.valid_days.data))
        reader.put(out, "validTo", reader.moment(state.valid_to.data, f"{path}.validTo"))
        reader.put(out, "codePrefix", _text(state.code_prefix.data))
        reader.put(out, "title", _text(state.title.data))
        reader.put(out, "description", _text(state.description.data))
        reader.put(out, "image", _text(state.image.data))
        reader.put(out, "expiredTransitionTo", state.expired_transition_to.data or None)
    elif kind == "MESSAGE":
        reader.put(out, "title", _text(state.title.data))
        reader.put(out, "message", _text(state.message.data))
        reader.put(out, "image", _text(state.image.data))
        out["payload"] = reader.payload(state.payload.data, f"{path}.payload")
    elif kind in ("ORDER", "ACCOUNT"):
        out["constraints"] = [entry.form.wire() for entry in state.constraints]
        if kind == "ORDER":
            reader.put(out, "minTotal", reader.money(state.min_total.data, f"{path}.minTotal"))
            reader.put(out, "count", reader.whole(state.count.data))
        reader.put(out, "timeout", _text(state.timeout.data))
        reader.put(out, "timeoutTransitionTo", state.timeout_transition_to.data or None)
    elif kind == "WALLET":
        reader.put(out, "points", reader.whole(state.points.data))
        reader.put(out, "expires", reader.moment(state.expires.data, f"{path}.expires"))
        reader.put(out, "validDays", reader.whole(state.valid_days.data))
    return out


def _notification_wire(form: NotificationForm, path: str, reader: _Typed) -> dict:
    out: dict[str, Any] = {"type": form.type.data}
    reader.put(out, "title", _text(form.title.data))
    reader.put(out, "message", _text(form.message.data))
    reader.put(out, "image", _text(form.image.data))
    out["payload"] = reader.payload(form.payload.data, f"{path}.payload")
    reader.put(out, "dayPart", form.day_part.data or None)
    if form.type.data == "COUPON_EXPIRATION":
        reader.put(out, "daysBefore", reader.whole(form.days_before.data))
    if form.type.data == "SPECIFIC_TIME":
        reader.put(out, "at", reader.moment(form.at.data, f"{path}.at"))
    return out


def _constraint_data(wire: Mapping[str, Any]) -> dict:
    field_name = str(wire.get("field", ""))
    prefix, _, name = field_name.partition(".")
    kind, name = (prefix, name) if prefix in NAMED_KINDS else (field_name, "")
    return {
        "kind": kind,
        "name": name,
        "op": wire.get("op", "EQ"),
        "values": ", ".join(str(v) for v in wire.get("value", [])),
    }


def _state_data(wire: Mapping[str, Any], decimal_digits: int) -> dict:
    coupon_type = wire.get("couponType", "PERCENT")
    value = wire.get("value")
    if value is None:
        shown_value = ""
    elif coupon_type == "AMOUNT" and isinstance(value, int):
        shown_value = format_money(value, decimal_digits)
    else:
        shown_value = str(value)
    min_total = wire.get("minTotal")
    return {
        "id": wire.get("id", ""),
        "type": wire.get("type", "COUPON"),
        "transition_to": wire.get("transitionTo", END),
        "coupon_type": coupon_type,
        "value": shown_value,
        "product": wire.get("product", ""),
        "valid_days": _shown(wire.get("validDays")),
        "valid_to": _local(wire.get("validTo")),
        "code_prefix": wire.get("codePrefix", ""),
        "title": wire.get("title", ""),
        "description": wire.get("description", ""),
        "image": wire.get("image", ""),
        "expired_transition_to": wire.get("expiredTransitionTo", END),
        "message": wire.get("message", ""),
        "payload": _payload_text(wire.get("payload")),
        "constraints": [_constraint_data(c) for c in wire.get("constraints", [])],
        "min_total": format_money(min_total, decimal_digits) if min_total is not None else "",
        "count": _shown(wire.get("count")),
        "timeout": wire.get("timeout", ""),
        "timeout_transition_to": wire.get("timeoutTransitionTo", END),
        "points": _shown(wire.get("points")),
        "expires": _local(wire.get("expires")),
    }


def _notification_data(wire: Mapping[str, Any]) -> dict:
    return {
        "type": wire.get("type", "COUPON_EXPIRATION"),
        "title": wire.get("title", ""),
        "message": wire.get("message", ""),
        "image": wire.get("image", ""),
        "payload": _payload_text(wire.get("payload")),
        "day_part": wire.get("dayPart", ""),
        "days_before": _shown(wire.get("daysBefore")),
        "at": _local(wire.get("at")),
    }


def _fresh_state(states: list[dict]) -> dict:
    taken = {state.get("id") for state in states}
    number = len(states) + 1
    while f"s{number}" in taken:
        number += 1
    return {"id": f"s{number}", "type": "COUPON", "coupon_type": "PERCENT"}


def _fresh_state_constraint(state_type: str) -> dict:
    if state_type == "ORDER":
        return {"kind": "order.total", "op": "GTE", "values": "1000"}
    return {"kind": "tags", "name": "vip", "op": "EXISTS", "values": ""}


def _state_summary(state: StateForm, currency: str) -> str:
    kind = state.type.data
    if kind == "COUPON":
        value = (state.value.data or "").strip() or "?"
        gives = {
            "PERCENT": f"{value}% off",
            "AMOUNT": f"{value} {currency} off",
            "PRODUCT": f"a free {(state.product.data or '').strip() or 'product'}",
        }.get(state.coupon_type.data, "a coupon")
        days = (state.valid_days.data or "").strip()
        return f"Gives a coupon: {gives}" + (f", valid {days} days" if days else "")
    if kind == "ORDER":
        count = (state.count.data or "").strip() or "1"
        return f"Waits for {count} order{'' if count == '1' else 's'}"
    if kind == "WALLET":
        return f"Credits {(state.points.data or '').strip() or '?'} points"
    if kind == "MESSAGE":
        title = (state.title.data or "").strip()
        return f"Sends “{title}”" if title else "Sends a message"
    if kind == "ACCOUNT":
        return "Waits until the account matches"
    return kind or "?"


def _next_id(states: list[StateForm], index: int) -> str | None:
    return (states[index + 1].id.data or "").strip() if index + 1 < len(states) else None


def _all_errors(form) -> list[list[str]]:
    found = []
    for form_field in form:
        if isinstance(form_field, FieldList):
            found.append(list(getattr(form_field, "list_errors", [])))
            for entry in form_field.entries:
                found.extend(_all_errors(entry.form))
        elif form_field.errors and not isinstance(form_field, FormField):
            found.append(list(form_field.errors))
    return found


def _with_current(labels: Mapping[str, str], current: str | None) -> list[SelectChoice]:
    choices = _choices(labels)
    if current and current not in labels:
        choices.append(SelectChoice(current, current))
    return choices


def _text(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def _shown(value: object) -> str:
    return "" if value is None else str(value)


def _local(iso: str | None) -> str:
    """An ISO moment as a datetime-local input shows it, in UTC."""
    if not iso:
        return ""
    moment = parse_iso(iso).astimezone(UTC)
    return moment.strftime(LOCAL_SECONDS if moment.second else LOCAL_MINUTES)


def _payload_text(payload: Mapping[str, str] | None) -> str:
    return "\n".join(f"{key}={value}" for key, value in (payload or {}).items())
