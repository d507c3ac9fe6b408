"""Pydantic models of the Deliverect payloads: lenient where Deliverect varies, strict on money.

Baskets (items, sub-items, fees) are read by rules.basket, which names the offending field;
these models cover the rest of each body. `parse` turns any validation failure into one 400
whose description names the field, e.g. "order.items[0].price: Input should be ...".
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..validation import FieldErrors
from .responses import WebhookError, bad_request, invalid_fields


def _id_text(value: Any) -> Any:
    """Ids travel as strings, but some senders use numbers; a bool is never an id."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _whole_number(value: Any) -> Any:
    """Money and counts are integers; 500.0 is accepted, 500.5, "500" and true are not."""
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number of minor units")
        return int(value)
    if not isinstance(value, int):
        raise ValueError("must be an integer")
    return value


Id = Annotated[str, BeforeValidator(_id_text), Field(max_length=128)]
# Deliverect's own ids (24-character ObjectIds), stored in 64-character columns.
DeliverectId = Annotated[str, BeforeValidator(_id_text), Field(max_length=64)]
# Amounts are stored in 32-bit columns; 10^8 minor units (1,000,000.00) is far above any order.
MAX_AMOUNT = 10**8
Money = Annotated[int, BeforeValidator(_whole_number), Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
Count = Annotated[int, BeforeValidator(_whole_number), Field(ge=0, le=1000)]
Text = Annotated[str, Field(max_length=512)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class Registration(Payload):
    apiKey: Text
    accountId: DeliverectId | None = None
    account: DeliverectId | None = None  # deprecated duplicate of accountId
    loyaltyProfileId: DeliverectId

    @property
    def deliverect_account_id(self) -> str | None:
        return self.accountId or self.account


class CustomerRef(Payload):
    """The customer inside an order; `phoeNumber` is a typo found in Deliverect's examples."""

    email: Text | None = None
    phoneNumber: Text | None = None
    phoeNumber: Text | None = None
    name: Text | None = None
    loyaltyProviderCustomerId: Id | None = None


class NewCustomer(Payload):
    firstName: Text | None = None
    lastName: Text | None = None
    email: Text | None = None
    phoneNumber: Text | None = None
    dateOfBirth: Text | None = None
    acceptedTCAt: Text | None = None


# Profile fields (services.accounts.profile) as NewCustomer spells them, for error descriptions.
NEW_CUSTOMER_FIELDS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "phone": "phoneNumber",
    "birthdate": "dateOfBirth",
}


class OrderDiscount(Payload):
    programId: Id | None = None
    type: Text | None = None
    provider: Text | None = None
    name: Text | None = None
    referenceId: Id | None = None
    externalId: Id | None = None
    amount: Money | None = None
    value: Money | None = None


class Payment(Payload):
    amount: Money | None = None


class LoyaltyOrder(Payload):
    """The order inside programs/validate bodies (items are read by rules.basket)."""

    customer: CustomerRef | None = None
    orderType: Count | None = None
    discounts: list[OrderDiscount] | None = None
    items: list[Any] | None = None
    subTotal: Money | None = None
    paymentAmount: Money | None = None
    payment: Payment | None = None
    decimalDigits: Count | None = None


class ProgramsRequest(Payload):
    sessionId: Id | None = None
    programIds: list[Id] | None = None
    order: LoyaltyOrder


class ValidateProgramsRequest(Payload):
    sessionId: Id | None = None
    programIds: list[Id] = Field(max_length=100)
    order: LoyaltyOrder


class WalletUse(Payload):
    type: Literal["cash"]
    amount: Annotated[int, BeforeValidator(_whole_number), Field(gt=0, le=MAX_AMOUNT)]


class ValidateWalletRequest(Payload):
    sessionId: Id | None = None
    order: LoyaltyOrder
    wallet: WalletUse


class OrderNotification(Payload):
    orderId: Id
    sessionId: Id | None = None
    channelOrderDisplayId: Id | None = None
    locationId: DeliverectId | None = None
    location: DeliverectId | None = None
    channelLinkId: DeliverectId | None = None
    created: Text | None = None
    orderType: Count | None = None
    customer: CustomerRef | None = None
    items: list[Any] | None = None
    subTotal: Money | None = None
    taxTotal: Money | None = None
    discountTotal: Money | None = None
    paymentAmount: Money | None = None
    payment: Payment | None = None
    decimalDigits: Count | None = None
    discounts: list[OrderDiscount] | None = None
    tip: Money | None = None
    driverTip: Money | None = None
    bagFee: Money | None = None
    smallOrderFee: Money | None = None
    isCancelled: bool = False
    cancellationReason: Text | None = None


class CancelNotification(Payload):
    orderId: Id
    customer: CustomerRef | None = None
    isCancelled: bool | None = None
    cancellationReason: Text | None = None


class ChannelRetrieve(Payload):
    sessionId: Id | None = None
    order: LoyaltyOrder


class ChannelValidate(Payload):
    sessionId: Id | None = None
    programIds: list[Id] = Field(max_length=100)
    order: LoyaltyOrder


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], data: Any) -> Model:
    if not isinstance(data, dict):
        raise bad_request("request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid(error) from None


def invalid(error: ValidationError) -> WebhookError:
    problems: dict[str, str] = {}
    for item in error.errors()[:3]:
        problems.setdefault(_path(item["loc"]), _message(item))
    return invalid_fields(FieldErrors(problems))


def _path(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not str(part).startswith(("function-", "literal[", "nullable[")):
            path += f".{part}" if path else str(part)
    return path or "body"


def _message(item: dict) -> str:
    message = str(item.get("msg", "invalid"))
    return message.removeprefix("Value error, ")
