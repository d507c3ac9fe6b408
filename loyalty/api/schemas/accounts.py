"""The account operations' parameters (AccountFilter, §3.8), ApiAccount (§3.5) and the my*
bodies (§3.6)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from ...rules.campaigns import MAX_CONSTRAINTS
from ...rules.constraints import Constraint, ConstraintError, check
from ...services.accounts.listing import AccountFilter
from ...services.accounts.overview import AccountOverview
from ...services.accounts.search import FIRST_DAY, LAST_DAY
from ...services.campaigns.account_campaigns import AccountMembership
from ...time import to_iso, to_iso_or_none
from ..lists import ListQuery


def storable(text: str) -> str:
    """Text the database can keep: PostgreSQL refuses NUL, and UTF-8 has no lone surrogates."""
    if "\x00" in text:
        raise ValueError("must not contain a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return text


def within_years(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"must be a date from {FIRST_DAY} to {LAST_DAY}")
    return day


def text(max_length: int, min_length: int = 0) -> Any:
    """A string type of that length the database can keep."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(storable),
    ]


Day = Annotated[date, AfterValidator(within_years)]
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
AccountId = Annotated[
    str, StringConstraints(min_length=3, max_length=64, pattern=r"^[a-zA-Z0-9._-]+$")
]
Card = text(64, 1)
WireId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")]
MAX_IDS = 100


class AccountFilterQuery(BaseModel):
    """AccountFilter: every given filter must hold (AND)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    q: text(200) | None = Field(
        None, description="account id, card, e-mail, phone or name beginning"
    )
    ids: list[AccountId] | None = Field(
        None, alias="id", max_length=MAX_IDS, description="account ids (repeat the parameter)"
    )
    card: Card | None = None
    tag: text(64, 1) | None = None
    venue: Annotated[str, StringConstraints(max_length=57, pattern=r"^[a-zA-Z0-9_-]+$")] | None = (
        Field(None, description="has placed an order at this venue (location id)")
    )
    campaign: WireId | None = Field(None, description="is or was a member of this campaign")
    state: WireId | None = Field(
        None, description="is waiting in this state (of `campaign` when given)"
    )
    birthdate_from: Day | None = Field(None, alias="birthdateFrom")
    birthdate_to: Day | None = Field(None, alias="birthdateTo")
    created_from: Day | None = Field(None, alias="createdFrom", description="UTC day, included")
    created_to: Day | None = Field(None, alias="createdTo", description="UTC day, included")
    last_order_from: Day | None = Field(None, alias="lastOrderFrom")
    last_order_to: Day | None = Field(None, alias="lastOrderTo")
    constraints: list[text(8192)] | None = Field(
        None,
        max_length=MAX_CONSTRAINTS,
        description="a JSON list of campaign constraints (§3.2), selecting exactly as a "
        "campaign would; also one JSON constraint per repeated parameter",
    )

    @field_validator("constraints", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        # Inside simple-rest's filter={...} the list arrives already parsed.
        if isinstance(value, list):
            return [item if isinstance(item, str) else json.dumps(item) for item in value]
        return value

    def selection(self, *, contactable: bool = False) -> AccountFilter:
        return AccountFilter(
            q=(self.q or "").strip(),
            ids=tuple(self.ids or ()),
            card=self.card,
            tag=self.tag,
            venue=self.venue,
            campaign=self.campaign,
            state=self.state,
            birthdate_from=self.birthdate_from,
            birthdate_to=self.birthdate_to,
            created_from=self.created_from,
            created_to=self.created_to,
            last_order_from=self.last_order_from,
            last_order_to=self.last_order_to,
            constraints=parsed_constraints(self.constraints or ()),
            contactable=contactable,
        )


class AccountListQuery(AccountFilterQuery, ListQuery):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class ConstraintProblem(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def parsed_constraints(texts: Iterable[str]) -> tuple[Constraint, ...]:
    """The constraints the JSON texts hold (each a list of constraints, or one), checked as a
    campaign's are; ConstraintProblem names the first one wrong."""
    raws: list[Any] = []
    for written in texts:
        try:
            value = json.loads(written)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            raise ConstraintProblem("constraints", "must be a JSON list of constraints") from None
        raws.extend(value if isinstance(value, list) else [value])
    if len(raws) > MAX_CONSTRAINTS:
        raise ConstraintProblem("constraints", f"give at most {MAX_CONSTRAINTS} constraints")
    parsed = []
    for index, raw in enumerate(raws):
        where = f"constraints[{index}]"
        if not isinstance(raw, dict):
            raise ConstraintProblem(where, "must be an object {field, op, value}")
        values = raw.get("value")
        values = [] if values is None else values
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConstraintProblem(f"{where}.value", "must be a list of strings")
        for index, text in enumerate(values):
            try:
                storable(text)
            except ValueError as problem:
                raise ConstraintProblem(f"{where}.value[{index}]", str(problem)) from None
        constraint = Constraint(raw.get("field"), raw.get("op"), tuple(values))
        try:
            check(constraint)
        except ConstraintError as error:
            raise ConstraintProblem(f"{where}.{error.part}", str(error)) from None
        parsed.append(constraint)
    return tuple(parsed)


# --- ApiAccount


class Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class Header(Wire):
    phone: str | None = None
    email: str | None = None
    push_id: str | None = Field(None, alias="pushId", description="not kept: always null")
    first_name: str | None = Field(None, alias="firstName")
    last_name: str | None = Field(None, alias="lastName")
    birthdate: date | None = None
    created: DateTime | None = None
    last_event: DateTime | None = Field(None, alias="lastEvent")
    last_logged: DateTime | None = Field(
        None, alias="lastLogged", description="when the customer's app last got a token"
    )
    last_order: DateTime | None = Field(None, alias="lastOrder")


class Consents(Wire):
    scope: Literal["ACCOUNT", "TRANSACTION"] = "ACCOUNT"
    transaction: str | None = None
    consents: dict[str, DateTime] = Field(
        default_factory=dict,
        description="consent name -> when it was given (terms: when the terms were accepted)",
    )


class Relation(Wire):
    id: str = Field(description="the other account's id")
    at: DateTime
    type: Literal["INVITED_BY", "INVITED", "FRIEND", "UNKNOWN"]


class CampaignPlace(Wire):
    id: str = Field(description="the campaign's id")
    state: str | None = Field(description="the state the account waits in; null once done")


class OrderSummary(Wire):
    id: str
    total: int = Field(description="minor units paid")
    at: DateTime
    venue: str | None = None


class ApiAccount(Wire):
    id: str
    card: str | None = None
    mgm: str | None = Field(None, description="referral code: not kept, always null")
    header: Header
    consents: Consents
    tags: list[str]
    important_tags: list[str] = Field(default_factory=list, alias="importantTags")
    venues: list[str] = Field(description="venues (location ids) the account has ordered at")
    properties: dict[str, str] = Field(description="string properties; sex as properties.sex")
    counters: dict[str, int] = Field(
        description="orders, spent (minor units), points, lifetimePoints, visits, referrals: "
        "the numbers campaign constraints compare"
    )
    relations: list[Relation]
    coupons: list[str] = Field(description="codes of the coupons it holds (ACTIVE or LOCKED)")
    campaigns: list[CampaignPlace]
    segment: str | None = Field(None, description="not assigned: always null")
    previous_orders: list[OrderSummary] = Field(
        alias="previousOrders", description="the latest orders, newest first"
    )

    @classmethod
    def of(cls, overview: AccountOverview) -> ApiAccount:
        account, facts = overview.account, overview.facts
        properties = dict(sorted(facts.properties.items()))
        if account.sex:
            properties["sex"] = account.sex
        return cls(
            id=account.external_id,
            card=account.card,
            header=Header(
                phone=account.phone,
                email=account.email,
                first_name=account.first_name or None,
                last_name=account.last_name or None,
                birthdate=account.birthdate,
                created=to_iso_or_none(account.created_at),
                last_event=to_iso_or_none(overview.last_event),
                last_logged=to_iso_or_none(overview.last_logged),
                last_order=to_iso_or_none(account.last_order_at),
            ),
            consents=Consents(consents=_consents(account)),
            tags=sorted(facts.tags),
            venues=sorted(facts.venues),
            properties=properties,
            counters=dict(facts.counters),
            relations=[
                Relation(id=r.other, at=to_iso(r.at), type=r.type) for r in overview.relations
            ],
            coupons=list(dict.fromkeys(overview.coupons)),
            campaigns=[CampaignPlace(id=c.campaign, state=c.state) for c in overview.campaigns],
            previous_orders=[
                OrderSummary(id=o.id, total=o.total, at=to_iso(o.at), venue=o.venue)
                for o in overview.previous_orders
            ],
        )


def _consents(account) -> dict[str, str]:
    """The consents given, each with when it was given; a marketing consent from before those
    moments were kept (True) shows the account's creation."""
    given: dict[str, str] = {}
    for name, value in sorted((account.consents or {}).items()):
        if isinstance(value, str) and value:
            given[name] = value
    if account.marketing_consent and "marketing" not in given:
        given["marketing"] = to_iso(account.created_at)
    if account.accepted_tc_at is not None:
        given.setdefault("terms", to_iso(account.accepted_tc_at))
    return given


# --- my*


class MyProfile(BaseModel):
    """The profile fields to change; a field left out stays as it is, null clears it."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    first_name: text(128) | None = Field(None, alias="firstName")
    last_name: text(128) | None = Field(None, alias="lastName")
    birthdate: date | None = None
    sex: Literal["MALE", "FEMALE", "OTHER"] | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the body named (services.accounts.self_service.PROFILE_FIELDS)."""
        return self.model_dump(include=self.model_fields_set)


PropertyValue = text(500)
OwnName = text(64, 1)


class MyProperties(BaseModel):
    """Names must be my_ followed by letters, digits or _ (^my_[a-zA-Z0-9_]+$): any other is
    refused (400 naming it) and nothing changes."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    properties: dict[OwnName, PropertyValue | None] = Field(
        default_factory=dict, max_length=50, description="set these (null removes one)"
    )
    add_tags: list[OwnName] = Field(default_factory=list, alias="addTags", max_length=50)
    remove_tags: list[OwnName] = Field(default_factory=list, alias="removeTags", max_length=50)


class MyCampaign(Wire):
    id: str = Field(description="the campaign's id")
    name: str
    state: str | None = Field(description="the state the caller waits in; null once done")
    state_type: str | None = Field(None, alias="stateType")
    status: Literal["active", "completed", "ended"]
    entered_at: DateTime = Field(alias="enteredAt", description="when it entered `state`")

    @classmethod
    def of(cls, membership: AccountMembership) -> MyCampaign:
        active = membership.status == "active"
        return cls(
            id=membership.campaign_key,
            name=membership.campaign_name,
            state=membership.state_id if active else None,
            state_type=membership.state_type if active else None,
            status=membership.status,  # type: ignore[arg-type]
            entered_at=to_iso(membership.entered_at),
        )
