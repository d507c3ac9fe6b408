"""postEvent's body (Event[], §3.7: relation events and our ORDER event) and its answer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from ...rules.basket import MAX_AMOUNT, MAX_QUANTITY
from ...services.accounts.event_intake import EventOutcome, OrderEvent, RelationEvent
from .accounts import AccountId, text

MAX_EVENTS = 100
MAX_PRODUCTS = 100
Text64 = text(64)


class _Event(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    account: AccountId | None = Field(None, description="the account's id (or give `card`)")
    card: Text64 | None = Field(None, description="the account's card, when `account` is absent")
    ts: AwareDatetime | None = Field(
        None, description="when it happened (with an offset); default now"
    )


class RelationEventIn(_Event):
    """`account` INVITED / was INVITED_BY / is a FRIEND of account `id`; unless
    doNotProcessSymmetry, the mirror event goes on `id` when it is one of ours. Idempotent on
    (account, type, id, ts): send `ts` so a retry changes nothing."""

    type: Literal["INVITED_BY", "INVITED", "FRIEND", "UNKNOWN"]
    id: AccountId = Field(description="the other account's id (it may not have joined yet)")
    consents: dict[Text64, Text64] = Field(
        default_factory=dict, max_length=16, description="accepted, not used"
    )
    do_not_process_symmetry: bool = Field(False, alias="doNotProcessSymmetry")

    def event(self) -> RelationEvent:
        return RelationEvent(
            account=self.account,
            card=self.card or None,
            other=self.id,
            type=self.type,
            ts=self.ts,
            do_not_process_symmetry=self.do_not_process_symmetry,
        )


class Product(BaseModel):
    model_config = ConfigDict(extra="ignore")

    plu: Text64 = Field(description="the product's PLU (what ORDER states and earning read)")
    name: text(256) = ""
    price: StrictInt = Field(0, ge=0, le=MAX_AMOUNT, description="unit price, minor units")
    quantity: StrictInt = Field(1, ge=0, le=MAX_QUANTITY)


class Order(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: text(128, 1) = Field(description="the order's id: re-sending it changes nothing")
    total: StrictInt = Field(
        ge=0, le=MAX_AMOUNT, description="paid, in minor units of the restaurant's currency"
    )
    venue: Text64 | None = Field(None, description="location id")
    channel: Text64 | None = None
    products: list[Product] = Field(default_factory=list, max_length=MAX_PRODUCTS)


class OrderEventIn(_Event):
    """An order of the account, recorded as a Deliverect order is: it earns points by the
    earning rules and moves the account's campaigns. Idempotent by order id."""

    type: Literal["ORDER"]
    order: Order

    def event(self) -> OrderEvent:
        return OrderEvent(
            account=self.account,
            card=self.card or None,
            ts=self.ts,
            order_id=self.order.id,
            total=self.order.total,
            venue=self.order.venue,
            channel=self.order.channel,
            products=tuple(
                {"plu": p.plu, "name": p.name, "price": p.price, "quantity": p.quantity}
                for p in self.order.products
            ),
        )


Event = Annotated[RelationEventIn | OrderEventIn, Field(discriminator="type")]
Events = Annotated[list[Event], Field(max_length=MAX_EVENTS)]


class OrderRecorded(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    status: str = Field(description="placed, or cancelled when a cancel came first")
    points_earned: int = Field(alias="pointsEarned")
    points_spent: int = Field(alias="pointsSpent")


class EventRecorded(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    index: int = Field(description="the event's place in the body, from 0")
    type: str
    account: str = Field(description="the account it was recorded on")
    status: Literal["recorded", "duplicate"] = Field(
        description="duplicate: already recorded before, nothing changed"
    )
    mirrored: bool = Field(False, description="the mirror relation went on the other account")
    order: OrderRecorded | None = None

    @classmethod
    def of(cls, outcome: EventOutcome) -> EventRecorded:
        order = outcome.order
        return cls(
            index=outcome.index,
            type=outcome.type,
            account=outcome.account,
            status="duplicate" if outcome.duplicate else "recorded",
            mirrored=outcome.mirrored,
            order=OrderRecorded(
                id=order.external_id,
                status=order.status,
                points_earned=order.points_earned,
                points_spent=order.points_spent,
            )
            if order is not None
            else None,
        )


class EventsRecorded(BaseModel):
    events: list[EventRecorded]
