"""The stats operations (spec §2, §3.9): a campaign's all-time figures, its figures within a
period, and the members by segment, from the same services as the Stats pages.

Choices: `from` and `to` are each a day (YYYY-MM-DD, on the restaurant's clock: `from` from the
day's start, `to` to its end, included) or a date-time with an offset (an instant, `to`
excluded); `to` defaults to now and `from` to 30 days before `to`. A period longer than
rules.periods.MAX_DAYS, or not ending after it starts, is a 400 naming `from` or `to`. The answer
echoes the period as date-times. segmentStats counts whole local days: the days its instants
fall on, and echoes where those days start and end.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from werkzeug.exceptions import NotFound

from ..extensions import db
from ..models import Tenant
from ..models.account import SEXES
from ..rules.periods import MAX_DAYS, Period, PeriodError, day_start, local_day
from ..services.campaigns.stats import campaign_period_stats, global_campaign_stats
from ..services.reporting.segment_stats import AGE_BANDS, segment_stats
from ..time import parse_iso, to_iso, utcnow
from . import api
from .errors import ApiError
from .operations import Reply, operation
from .principal import Principal
from .schemas.stats import (
    DATE,
    CampaignStats,
    CampaignStatsQuery,
    CouponFigures,
    GlobalCampaignStats,
    GlobalCampaignStatsQuery,
    PeriodQuery,
    PushFigures,
    SegmentStats,
    SexFigures,
    StateFigures,
)

STATS_ROLES = ("ROLE_SU", "ROLE_LOYALTY", "ROLE_LOYALTY_STATS")
TAG = "stats"
DEFAULT_DAYS = 30
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
# segment_stats groups an account without a sex or birth date under this key.
UNKNOWN_GROUP = "UNKNOWN"

UNKNOWN = Reply(404, "no campaign of this restaurant has this id")
BAD_PERIOD = Reply(
    400,
    "`from` or `to` is not a day or a date-time with an offset, or the period is reversed "
    f"or longer than {MAX_DAYS} days: `field` says which",
)


@operation(
    api,
    "globalCampaignStats",
    "GET",
    "/stats/campaign/global",
    summary="A campaign's all-time figures",
    tag=TAG,
    roles=STATS_ROLES,
    query=GlobalCampaignStatsQuery,
    replies=(Reply(200, "the campaign's figures", GlobalCampaignStats), UNKNOWN),
)
def global_campaign(principal: Principal, query: GlobalCampaignStatsQuery) -> GlobalCampaignStats:
    """`cnt` and `stateStats` are the Campaign's own; coupons and pushes count every one the
    campaign issued or registered."""
    stats = _named_campaign(global_campaign_stats, principal.tenant_id, query.name)
    return GlobalCampaignStats(
        campaign=stats.campaign,
        name=stats.name,
        initialized=stats.initialized,
        cnt=stats.cnt,
        stateStats=stats.state_stats,
        couponsIssued=stats.coupons_issued,
        couponsUsed=stats.coupons_used,
        couponsExpired=stats.coupons_expired,
        pushes=PushFigures(sent=stats.pushes.sent, clicked=stats.pushes.clicked),
    )


@operation(
    api,
    "campaignStats",
    "GET",
    "/stats/campaign",
    summary="A campaign's figures within a period",
    tag=TAG,
    roles=STATS_ROLES,
    query=CampaignStatsQuery,
    replies=(
        Reply(200, "the campaign's figures in the period", CampaignStats),
        BAD_PERIOD,
        UNKNOWN,
    ),
)
def campaign_in_period(principal: Principal, query: CampaignStatsQuery) -> CampaignStats:
    """Per state: the moves into and out of it within the period and its members at the end;
    coupons issued, used by an order placed and expired within it; pushes registered and
    clicked within it."""
    start, end = _span(query, _time_zone(principal.tenant_id), utcnow())
    stats = _named_campaign(campaign_period_stats, principal.tenant_id, query.name, start, end)
    return CampaignStats(
        campaign=stats.campaign,
        start=to_iso(stats.start),
        end=to_iso(stats.end),
        states=[
            StateFigures(
                state=state.state,
                type=state.type,
                entered=state.entered,
                left=state.left,
                current=state.current,
            )
            for state in stats.states
        ],
        coupons=CouponFigures(
            issued=stats.coupons_issued, used=stats.coupons_used, expired=stats.coupons_expired
        ),
        pushes=PushFigures(sent=stats.pushes.sent, clicked=stats.pushes.clicked),
    )


@operation(
    api,
    "segmentStats",
    "GET",
    "/stats/segments",
    summary="The members by sex, age band, consent and tag",
    tag=TAG,
    roles=STATS_ROLES,
    query=PeriodQuery,
    replies=(Reply(200, "the members at the end of the period", SegmentStats), BAD_PERIOD),
)
def segments(principal: Principal, query: PeriodQuery) -> SegmentStats:
    """Members at the end of the period (members who joined within it in `newAccounts`); an
    account without a sex or birth date counts as UNKNOWN."""
    now = utcnow()
    time_zone = _time_zone(principal.tenant_id)
    start, end = _span(query, time_zone, now)
    last = end - timedelta(microseconds=1)
    try:
        period = Period(local_day(start, time_zone), local_day(last, time_zone), time_zone)
    except PeriodError as refused:
        raise ApiError(400, str(refused), refused.field) from None
    stats = segment_stats(principal.tenant_id, period, now)

    def members(key: str) -> dict[str, int]:
        return {group.group: group.members for group in stats.breakdown(key).groups}

    by_sex, by_age = members("sex"), members("age")
    return SegmentStats(
        start=to_iso(period.start),
        end=to_iso(period.end),
        total=stats.total,
        newAccounts=stats.new_members,
        bySex=SexFigures(**{sex: by_sex.get(sex, 0) for sex in (*SEXES, UNKNOWN_GROUP)}),
        byAge={band: by_age.get(band, 0) for band in (*AGE_BANDS, UNKNOWN_GROUP)},
        withConsent=members("consent").get("consented", 0),
        byTag=members("tag"),
    )


Figures = TypeVar("Figures")


def _named_campaign(read: Callable[..., Figures], tenant_id: int, name: str, *span) -> Figures:
    """The figures of the campaign `name` names; its 404 says the query parameter."""
    try:
        return read(tenant_id, name, *span)
    except NotFound as missing:
        raise ApiError(404, missing.description, "name") from None


def _time_zone(tenant_id: int) -> str:
    return db.session.get(Tenant, tenant_id).time_zone


def _span(query: PeriodQuery, time_zone: str, now: datetime) -> tuple[datetime, datetime]:
    """The instants `from` and `to` stand for (the query model has checked their syntax)."""
    end = _within_reason(_bound(query.end, time_zone, "to"), "to") if query.end else now
    start = (
        _within_reason(_bound(query.start, time_zone, "from"), "from")
        if query.start
        else end - timedelta(days=DEFAULT_DAYS)
    )
    if start >= end:
        raise ApiError(400, "`from` must be before `to`", "from")
    if end - start > timedelta(days=MAX_DAYS):
        raise ApiError(400, f"a period is at most {MAX_DAYS} days", "from")
    return start, end


def _within_reason(moment: datetime, field: str) -> datetime:
    """Refuse moments so far off that the restaurant's clock or a default 30 days before them
    would leave the calendar."""
    if not EARLIEST <= moment <= LATEST:
        raise ApiError(400, f"must be after {EARLIEST.year} and before {LATEST.year}", field)
    return moment


def _bound(text: str, time_zone: str, field: str) -> datetime:
    """The instant a date-time names; for a day, where it starts (`from`) or ends (`to`) on the
    restaurant's clock."""
    if not DATE.fullmatch(text):
        return parse_iso(text)
    day = parse_iso(text + "T00:00:00Z").date()
    try:
        return day_start(day + timedelta(days=1) if field == "to" else day, time_zone)
    except OverflowError:  # the first or last day of the calendar, beyond UTC's
        raise ApiError(400, "the day is out of range", field) from None
