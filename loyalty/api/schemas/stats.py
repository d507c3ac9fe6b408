"""The stats operations' parameters and answers (spec §3.9)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ...time import parse_iso

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_BOUND_LENGTH = 64
Count = Annotated[int, Field(ge=0)]


def _date_or_moment(text: str) -> str:
    """A local day (YYYY-MM-DD) or a date-time with an offset; read by the view, which knows
    the restaurant's time zone."""
    try:
        if DATE.fullmatch(text):
            parse_iso(text + "T00:00:00Z")
        else:
            parse_iso(text)
    except (ValueError, OverflowError):
        raise ValueError(
            "must be a day such as 2026-06-01 or a date-time with an offset, such as "
            "2026-06-01T00:00:00Z"
        ) from None
    return text


Bound = Annotated[str, Field(max_length=MAX_BOUND_LENGTH), AfterValidator(_date_or_moment)]
CampaignName = Annotated[
    str,
    Field(
        min_length=3, max_length=64, pattern=r"^[a-zA-Z0-9_-]+$", description="the campaign's id"
    ),
]
FROM = (
    "where the period starts: a day (YYYY-MM-DD, from its start on the restaurant's clock) or a "
    "date-time with an offset; default: 30 days before `to`"
)
TO = (
    "where the period ends: a day (YYYY-MM-DD, included to its end on the restaurant's clock) or "
    "a date-time with an offset (excluded); default: now"
)


class GlobalCampaignStatsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: CampaignName


class PeriodQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    start: Bound | None = Field(None, alias="from", description=FROM)
    end: Bound | None = Field(None, alias="to", description=TO)


class CampaignStatsQuery(PeriodQuery):
    name: CampaignName


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class PushFigures(_Answer):
    sent: Count = Field(description="pushes registered")
    clicked: Count = Field(description="clicks on them, one per account and push")


class GlobalCampaignStats(_Answer):
    """globalCampaignStats: the campaign's all-time figures."""

    campaign: str = Field(description="the campaign's id")
    name: str
    initialized: bool = Field(description="initialised and running")
    cnt: Count = Field(description="accounts in the campaign, as the Campaign's cnt")
    stateStats: dict[str, Count] = Field(
        description="state id -> accounts that finished that state, as the Campaign's stateStats"
    )
    couponsIssued: Count
    couponsUsed: Count
    couponsExpired: Count
    pushes: PushFigures


class StateFigures(_Answer):
    state: str = Field(description="the state's id")
    type: str = Field(description="ACCOUNT, COUPON, MESSAGE, ORDER or WALLET")
    entered: Count = Field(description="moves into the state within the period")
    left: Count = Field(description="moves out of the state within the period")
    current: Count = Field(description="members in the state at the period's end")


class CouponFigures(_Answer):
    issued: Count = Field(description="coupons issued within the period")
    used: Count = Field(description="coupons used by an order placed within the period")
    expired: Count = Field(description="coupons expired whose validity ended within the period")


class CampaignStats(_Answer):
    """campaignStats: what happened in the campaign within the period."""

    campaign: str = Field(description="the campaign's id")
    start: Moment = Field(alias="from", description="the period's start (included)")
    end: Moment = Field(alias="to", description="the period's end (excluded)")
    states: list[StateFigures] = Field(description="every state, in the campaign's order")
    coupons: CouponFigures
    pushes: PushFigures = Field(description="pushes registered, and clicks, within the period")


class SexFigures(_Answer):
    MALE: Count
    FEMALE: Count
    OTHER: Count
    UNKNOWN: Count


class SegmentStats(_Answer):
    """segmentStats: the members at the end of the period, by sex, age band, consent and tag."""

    start: Moment = Field(
        alias="from", description="the start of the period's first day (included)"
    )
    end: Moment = Field(alias="to", description="the end of the period's last day (excluded)")
    total: Count = Field(description="members at the end of the period")
    newAccounts: Count = Field(description="of them, joined within the period")
    bySex: SexFigures
    byAge: dict[str, Count] = Field(
        description="age band (<18, 18-24, 25-34, 35-44, 45-54, 55-64, 65+, UNKNOWN) -> members"
    )
    withConsent: Count = Field(description="members who consented to marketing")
    byTag: dict[str, Count] = Field(description="tag -> members holding it")
