"""The Campaign wire shape (spec §3.1–3.4) and the push, preview and progress answers.

Two families: what a request may send (`CampaignInput` and its `...Input` states) and what the
API answers (`Campaign`, with the read-only fields the server keeps). The request models check
the shape only (types, lengths, patterns, item counts) and drop keys they do not know, the
read-only fields among them, so a client may send back what it read. The business rules (a
complete campaign, transitions naming states, coupon values in range) stay in
rules.campaigns.parse_campaign, which the services run on what these models let through.

States and notifications are unions on `type` (`oneOf` with a discriminator in the document);
`tagged` validates each item against the variant its `type` names, so a problem is reported at
the item's own JSON path (`states[0].id`), not pydantic's `states[0].COUPON.id`.
"""

from __future__ import annotations

import functools
import operator
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    TypeAdapter,
    WrapValidator,
    create_model,
)

from ...rules import campaigns as definitions
from ...rules.basket import MAX_AMOUNT
from ...rules.constraints import (
    ACCOUNT_FIELD,
    MAX_FIELD_LENGTH,
    MAX_VALUE_LENGTH,
    MAX_VALUES,
    OPS,
    ORDER_FIELDS,
)
from ...rules.coupons import COUPON_ALPHABET, MAX_PREFIX_LENGTH
from ...rules.durations import MAX_DURATION_LENGTH
from ...services.campaigns.listing import SORTABLE
from ...services.campaigns.store import MAX_CAP
from ...time import parse_iso
from ..lists import ListQuery
from .accounts import text

ID = r"^[a-zA-Z0-9_-]+$"
PUSH_ID = r"^[a-zA-Z0-9_-]{1,32}$"
MAX_MOMENT_LENGTH = 64
MAX_LISTED_IDS = 100
MAX_ORDER_COUNT = 1000  # rules.campaigns: an ORDER state's count


def _moment(text: str) -> str:
    try:
        parse_iso(text)
    except (ValueError, OverflowError):
        raise ValueError(
            "must be a date-time with an offset, such as 2024-06-01T00:00:00Z"
        ) from None
    return text


Moment = Annotated[
    str,
    Field(max_length=MAX_MOMENT_LENGTH, json_schema_extra={"format": "date-time"}),
    AfterValidator(_moment),
]
StateId = Annotated[
    str, Field(min_length=1, max_length=definitions.MAX_STATE_ID_LENGTH, pattern=ID)
]
Text = text(definitions.MAX_TEXT_LENGTH)
Payload = Annotated[
    dict[Text, Text],
    Field(max_length=definitions.MAX_PAYLOAD_ENTRIES, description="texts by key"),
]
Duration = Annotated[
    str,
    Field(
        max_length=MAX_DURATION_LENGTH,
        json_schema_extra={"format": "duration"},
        description="an ISO-8601 duration such as P7D or PT12H",
    ),
]


def whole(least: int, most: int) -> Any:
    """A whole number from `least` to `most` (not a boolean, nor a number in a string); 5.0
    is 5, as JSON Schema's integer says."""
    return Annotated[int, BeforeValidator(_integral), Strict(), Field(ge=least, le=most)]


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


ValidDays = whole(1, definitions.MAX_VALID_DAYS)
Cap = whole(0, MAX_CAP)
CampaignType = Literal["STANDARD", "BIRTHDAY"]


def tagged(*variants: type[BaseModel]) -> Any:
    """The union of `variants` on their `type` field, each item erring at its own path."""
    by_type = {get_args(v.model_fields["type"].annotation)[0]: TypeAdapter(v) for v in variants}
    type_only = TypeAdapter(create_model("TypeOnly", type=(Literal[tuple(by_type)], ...)))

    def validate(value: Any, handler: Any) -> Any:
        if not isinstance(value, dict):
            return handler(value)  # pydantic's own "must be an object"
        kind = value.get("type")
        if isinstance(kind, str) and kind in by_type:
            return by_type[kind].validate_python(value)
        type_only.validate_python({"type": kind})  # raises: `type` missing or unknown
        return handler(value)

    union = functools.reduce(operator.or_, variants)
    return Annotated[union, Field(discriminator="type"), WrapValidator(validate)]


# --- constraints (§3.2)


class Constraint(BaseModel):
    """Selects accounts: `counters.*`, `properties.*`, `venues.*`, `tags.*` or a header field."""

    field: str = Field(max_length=MAX_FIELD_LENGTH, pattern=f"^(?:{ACCOUNT_FIELD.pattern})$")
    op: Literal[OPS]  # type: ignore[valid-type]
    value: list[text(MAX_VALUE_LENGTH)] = Field(
        default_factory=list, max_length=MAX_VALUES, description="EXISTS takes none"
    )


class OrderConstraint(BaseModel):
    """Selects orders, in an ORDER state."""

    field: Literal[ORDER_FIELDS]  # type: ignore[valid-type]
    op: Literal[OPS]  # type: ignore[valid-type]
    value: list[text(MAX_VALUE_LENGTH)] = Field(
        default_factory=list, max_length=MAX_VALUES, description="EXISTS takes none"
    )


Constraints = Annotated[list[Constraint], Field(max_length=definitions.MAX_CONSTRAINTS)]
OrderConstraints = Annotated[list[OrderConstraint], Field(max_length=definitions.MAX_CONSTRAINTS)]


# --- states (§3.3), as sent


class _StateInput(BaseModel):
    id: StateId = Field(description="unique in the campaign")
    transitionTo: StateId | None = Field(None, description="the next state; none: the end")


class AccountStateInput(_StateInput):
    """Waits until the account matches `constraints`; may give up after `timeout`."""

    type: Literal["ACCOUNT"]
    constraints: Constraints = Field(default_factory=list)
    timeout: Duration | None = None
    timeoutTransitionTo: StateId | None = None


class CouponStateInput(_StateInput):
    """Issues a coupon and waits until it is redeemed (or expires: `expiredTransitionTo`)."""

    type: Literal["COUPON"]
    couponType: Literal[definitions.COUPON_TYPES] | None = None  # type: ignore[valid-type]
    value: Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)] | None = Field(
        None,
        description="AMOUNT: minor units of the currency; PERCENT: percent, at most 2 "
        "decimals; PRODUCT: none",
    )
    product: text(definitions.MAX_PRODUCT_LENGTH) | None = Field(
        None, description="PRODUCT: its PLU"
    )
    validDays: ValidDays | None = None
    validTo: Moment | None = None
    codePrefix: str | None = Field(None, pattern=f"^[{COUPON_ALPHABET}]{{1,{MAX_PREFIX_LENGTH}}}$")
    title: Text | None = None
    description: text(definitions.MAX_DESCRIPTION_LENGTH) | None = None
    image: Text | None = None
    expiredTransitionTo: StateId | None = None


class MessageStateInput(_StateInput):
    """Sends an in-app/push message and waits until the member acknowledges it (`message`)."""

    type: Literal["MESSAGE"]
    title: Text | None = None
    message: Text | None = None
    image: Text | None = None
    payload: Payload = Field(default_factory=dict)


class OrderStateInput(_StateInput):
    """Waits for `count` orders (default 1) of at least `minTotal` matching `constraints`."""

    type: Literal["ORDER"]
    constraints: OrderConstraints = Field(default_factory=list)
    minTotal: whole(0, MAX_AMOUNT) | None = Field(None, description="minor units")
    count: whole(1, MAX_ORDER_COUNT) | None = None
    timeout: Duration | None = None
    timeoutTransitionTo: StateId | None = None


class WalletStateInput(_StateInput):
    """Credits `points` and moves on at once."""

    type: Literal["WALLET"]
    points: whole(1, MAX_AMOUNT) | None = None
    expires: Moment | None = None
    validDays: ValidDays | None = None


StateInput = tagged(
    AccountStateInput, CouponStateInput, MessageStateInput, OrderStateInput, WalletStateInput
)


# --- notifications (§3.4): sent and answered alike


class _Notification(BaseModel):
    title: Text | None = None
    message: Text | None = None
    image: Text | None = None
    payload: Payload = Field(default_factory=dict)
    dayPart: Literal[definitions.DAY_PARTS] | None = None  # type: ignore[valid-type]


class CouponExpirationCampaignNotification(_Notification):
    """A push `daysBefore` days before a coupon of this campaign expires."""

    type: Literal["COUPON_EXPIRATION"]
    daysBefore: whole(1, definitions.MAX_DAYS_BEFORE) | None = None


class DynamicJoinCampaignNotification(_Notification):
    """A push when an account joins a dynamic campaign."""

    type: Literal["DYNAMIC_JOIN"]


class SpecificTimeCampaignNotification(_Notification):
    """One broadcast to every member at `at`."""

    type: Literal["SPECIFIC_TIME"]
    at: Moment | None = None


Notification = tagged(
    CouponExpirationCampaignNotification,
    DynamicJoinCampaignNotification,
    SpecificTimeCampaignNotification,
)
Notifications = Annotated[list[Notification], Field(max_length=definitions.MAX_NOTIFICATIONS)]


# --- the campaign, as sent


class CampaignInput(BaseModel):
    """A campaign as putCampaign and postCampaign take it. Read-only fields (`initialized`,
    `cnt`, `stateStats`, a state's `stats`, ...) and unknown keys are ignored."""

    id: str = Field(
        "",
        max_length=definitions.MAX_ID_LENGTH,
        pattern=r"^[a-zA-Z0-9_-]*$",
        description="empty or left out: the path's id (postCampaign: a new id)",
    )
    type: CampaignType
    name: text(definitions.MAX_NAME_LENGTH, definitions.MIN_NAME_LENGTH)
    activeFrom: Moment | None = None
    activeTo: Moment | None = Field(None, description="exclusive")
    constraints: Annotated[
        list[Constraint], Field(min_length=1, max_length=definitions.MAX_CONSTRAINTS)
    ]
    states: Annotated[list[StateInput], Field(min_length=1, max_length=definitions.MAX_STATES)]
    dynamic: StrictBool = Field(False, description="accounts may join later when they match")
    notifications: Notifications = Field(default_factory=list)
    maxCoupons: Cap | None = Field(None, description="our extension: null for no cap")
    maxRedemptions: Cap | None = Field(None, description="our extension: null for no cap")
    maxPoints: Cap | None = Field(None, description="our extension: null for no cap")


# --- the campaign, as answered


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


Stats = Annotated[
    int, Field(ge=0, description="read-only: accounts that reached the state; absent: none")
]


class AccountStateDefinition(AccountStateInput, _Answer):
    stats: Stats | None = None


class CouponStateDefinition(CouponStateInput, _Answer):
    stats: Stats | None = None


class MessageStateDefinition(MessageStateInput, _Answer):
    stats: Stats | None = None


class OrderStateDefinition(OrderStateInput, _Answer):
    stats: Stats | None = None


class WalletStateDefinition(WalletStateInput, _Answer):
    stats: Stats | None = None


StateDefinition = tagged(
    AccountStateDefinition,
    CouponStateDefinition,
    MessageStateDefinition,
    OrderStateDefinition,
    WalletStateDefinition,
)


class Campaign(CampaignInput, _Answer):
    """A campaign with the read-only fields the server keeps. A draft saved on the dashboard
    may still lack its name, constraints or states."""

    id: str = Field(
        min_length=definitions.MIN_PATH_ID_LENGTH, max_length=definitions.MAX_ID_LENGTH, pattern=ID
    )
    name: str | None = Field(
        None, min_length=definitions.MIN_NAME_LENGTH, max_length=definitions.MAX_NAME_LENGTH
    )
    constraints: Constraints
    states: Annotated[list[StateDefinition], Field(max_length=definitions.MAX_STATES)]
    dynamic: bool
    notifications: Notifications
    maxCoupons: Cap | None
    maxRedemptions: Cap | None
    maxPoints: Cap | None
    initialized: bool = Field(description="initialised and running")
    initializedAt: Moment | None
    initializedBy: str | None = Field(description="the team member's e-mail or the client's name")
    finalizedAt: Moment | None
    cnt: int = Field(
        ge=0,
        description="accounts in the campaign: the last preview's prediction before "
        "initialisation, the live count after it",
    )
    stateStats: dict[str, Annotated[int, Field(ge=0)]] = Field(
        description="state id -> accounts that finished that state"
    )
    previewedAt: Moment | None
    samples: list[str] = Field(description="account ids from the last preview")


# --- previews, pushes and a member's progress


class CampaignPreview(_Answer):
    """previewCampaign: who the campaign selects now (recorded as its cnt, samples and
    previewedAt)."""

    campaign: str = Field(description="the campaign's id")
    cnt: int = Field(ge=0, description="accounts the campaign selects now")
    samples: list[str] = Field(description="up to 20 of their account ids")
    orderedRecently: int = Field(ge=0, description="of them, how many ordered in the last 30 days")
    previewedAt: Moment


def _push_id_field(value: Any) -> Any:
    """Validate a bare pushId body as the field `pushId`, so a refusal names it."""
    return _PushIdHolder.model_validate({"pushId": value}).pushId


class _PushIdHolder(BaseModel):
    pushId: str = Field(pattern=PUSH_ID)


PushId = Annotated[
    str,
    Field(pattern=PUSH_ID, description="the push's id within the campaign"),
    BeforeValidator(_push_id_field),
]


class PushInput(BaseModel):
    """registerPushV2: the push sent, with its title."""

    pushId: str = Field(pattern=PUSH_ID, description="the push's id within the campaign")
    title: Text = Field(min_length=1)


class CampaignPushRecord(_Answer):
    """A push recorded as sent for a campaign."""

    campaign: str
    pushId: str
    title: str | None = Field(description="registerPushV2's title; null when only v1 named it")
    sentAt: Moment = Field(description="when it was first registered")


class CampaignPushClickRecord(_Answer):
    """The caller's click on a campaign's push (one per account and push)."""

    campaign: str
    pushId: str
    clickedAt: Moment = Field(description="when the caller first opened it")


class CampaignProgress(_Answer):
    """Where the caller stands in a campaign after the call."""

    campaign: str
    state: str | None = Field(description="the current state; null once the flow has ended")
    status: Literal["active", "completed", "ended"]


# --- the list's filters (§3.8)


def _listed(value: Any) -> Any:
    """One id given as a bare value (`filter={"id": "summer"}`) is a list of one."""
    return [value] if isinstance(value, str) else value


class CampaignFilter(ListQuery):
    """getCampaigns: react-admin paging and sorting, and these filters (all must hold)."""

    sort_field: Literal[tuple(SORTABLE)] | None = Field(  # type: ignore[valid-type]
        None, alias="_sort", description="json-server: the field to sort by"
    )
    q: text(64) | None = Field(None, description="the name contains this (any case)")
    id: Annotated[
        list[Annotated[str, Field(max_length=definitions.MAX_ID_LENGTH, pattern=ID)]] | None,
        BeforeValidator(_listed),
    ] = Field(None, max_length=MAX_LISTED_IDS, description="only these campaigns (repeatable)")
    type: CampaignType | None = None
    active: bool | None = Field(None, description="now within activeFrom..activeTo, or not")
