"""The coupon operations' parameters and their answer (spec §3.5 coupon object, §3.6 verdict)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...rules.coupons import MAX_TYPED_LENGTH

DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class CouponQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    coupon: str = Field(
        min_length=1,
        max_length=MAX_TYPED_LENGTH,
        description="the coupon code as typed: case, spaces and dashes do not matter",
    )


class AccountCouponQuery(CouponQuery):
    account: str = Field(
        min_length=3,
        max_length=64,
        pattern=r"^[a-zA-Z0-9._-]+$",
        description="the account presenting the coupon (its account id)",
    )


class LockQuery(AccountCouponQuery):
    lock: bool = Field(
        False,
        description="reserve a valid coupon (LOCKED) until it is unlocked or used by an order",
    )


class ApiCoupon(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    code: str
    campaign: str = Field(description="the id of the campaign that issued it")
    state: str = Field(description="the COUPON state of the campaign that issued it")
    coupon_type: Literal["AMOUNT", "PERCENT", "PRODUCT"] = Field(alias="couponType")
    value: int | float = Field(
        description="AMOUNT: minor units of the restaurant's currency; PERCENT: percent "
        "(12.5 allowed); PRODUCT: 0"
    )
    product: str | None = Field(None, description="PRODUCT: the PLU of the free unit")
    valid_to: DateTime | None = Field(None, alias="validTo")
    status: Literal["ACTIVE", "LOCKED", "USED", "EXPIRED"]
    locked_at: DateTime | None = Field(None, alias="lockedAt")


class CouponVerdict(BaseModel):
    valid: bool = Field(description="whether the coupon can be used now")
    coupon: ApiCoupon | None = Field(
        None, description="the coupon; null when it is unknown or belongs to someone else"
    )
    reason: Literal["unknown", "expired", "used", "locked", "not_yours"] | None = Field(
        None, description="why it is not valid; null when it is"
    )
