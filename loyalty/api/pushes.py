"""A campaign's pushes and what a member does in it (spec §2, §3.6): push registration (v1 and
v2) by the service that sends them, and, for the signed-in customer, push clicks, the message
acknowledgement and the deprecated coupon call.

Choices: a click on a pushId the campaign never registered is a 404 (nothing to count it
against); a click needs no membership (whoever opened the push opened it). `message` and
`coupon` act on the caller's own membership: not a member is a 404, a member in no MESSAGE
(COUPON) state a 409. rules.flow leaves a COUPON state only when its coupon is redeemed or
expires, so the deprecated `coupon` call moves nobody: it answers the coupon the caller holds
in that state.
"""

from __future__ import annotations

from ..models import CampaignPush
from ..services.campaigns.coupons import coupon_json
from ..services.campaigns.member_calls import acknowledge, received_coupon
from ..services.campaigns.pushes import record_click, register_push
from ..time import to_iso, utcnow
from . import api
from .campaigns import CAMPAIGN_ROLES, UNKNOWN
from .operations import CAMPAIGN, Access, Reply, operation
from .principal import Principal
from .schemas.campaigns import (
    CampaignProgress,
    CampaignPushClickRecord,
    CampaignPushRecord,
    PushId,
    PushInput,
)
from .schemas.coupons import ApiCoupon

TAG = "campaigns"
REGISTERED = "the push as recorded (registering it again changes nothing"
BAD_PUSH = Reply(400, "the pushId is not 1 to 32 of a-z, A-Z, 0-9, _ and -")
NOT_A_MEMBER = Reply(404, "no such campaign, or the caller is not a member of it")


@operation(
    api,
    "registerPush",
    "PUT",
    "/campaign/{campaign}/push",
    summary="Record a push message sent for the campaign (legacy)",
    tag=TAG,
    roles=CAMPAIGN_ROLES,
    path_params=(CAMPAIGN,),
    body=PushId,
    body_content_types=("application/json", "text/plain"),
    replies=(
        Reply(200, REGISTERED + ")", CampaignPushRecord),
        BAD_PUSH,
        UNKNOWN,
    ),
)
def register_v1(principal: Principal, campaign: str, body: str) -> CampaignPushRecord:
    """The body is the pushId: a JSON string (`"spring-1"`) or plain text (`spring-1`)."""
    return _record(campaign, register_push(principal.tenant_id, campaign, body, utcnow()))


@operation(
    api,
    "registerPushV2",
    "PUT",
    "/v2/campaign/{campaign}/push",
    summary="Record a push sent for the campaign, with its title",
    tag=TAG,
    roles=CAMPAIGN_ROLES,
    path_params=(CAMPAIGN,),
    body=PushInput,
    replies=(
        Reply(200, REGISTERED + " but the title it gives)", CampaignPushRecord),
        BAD_PUSH,
        UNKNOWN,
    ),
)
def register_v2(principal: Principal, campaign: str, body: PushInput) -> CampaignPushRecord:
    push = register_push(principal.tenant_id, campaign, body.pushId, utcnow(), title=body.title)
    return _record(campaign, push)


@operation(
    api,
    "pushClick",
    "POST",
    "/campaign/{campaign}/push/click",
    summary="The caller opened one of the campaign's pushes",
    tag=TAG,
    access=Access.CUSTOMER,
    path_params=(CAMPAIGN,),
    body=PushId,
    body_content_types=("application/json", "text/plain"),
    replies=(
        Reply(200, "the click as recorded: one per account and push", CampaignPushClickRecord),
        BAD_PUSH,
        Reply(404, "no such campaign, or it registered no push with this pushId"),
    ),
)
def click(principal: Principal, campaign: str, body: str) -> CampaignPushClickRecord:
    """The body is the pushId, as a JSON string or plain text. Counted once per account and
    push in the campaign's stats; clicking again changes nothing."""
    recorded = record_click(principal.tenant_id, principal.account_id, campaign, body, utcnow())
    return CampaignPushClickRecord(
        campaign=campaign, pushId=body, clickedAt=to_iso(recorded.clicked_at)
    )


@operation(
    api,
    "message",
    "POST",
    "/campaign/{campaign}/message",
    summary="The caller read the message of their current MESSAGE state: move on",
    tag=TAG,
    access=Access.CUSTOMER,
    path_params=(CAMPAIGN,),
    replies=(
        Reply(200, "where the caller stands after moving on", CampaignProgress),
        NOT_A_MEMBER,
        Reply(409, "the caller is in no MESSAGE state of the campaign, or it is not active now"),
    ),
)
def message(principal: Principal, campaign: str) -> CampaignProgress:
    membership = acknowledge(principal.tenant_id, principal.account_id, campaign, utcnow())
    return CampaignProgress(campaign=campaign, state=membership.state_id, status=membership.status)


@operation(
    api,
    "coupon",
    "POST",
    "/campaign/{campaign}/coupon",
    summary="The caller received the coupon of their current COUPON state (deprecated)",
    tag=TAG,
    access=Access.CUSTOMER,
    path_params=(CAMPAIGN,),
    deprecated=True,
    replies=(
        Reply(200, "the coupon the caller holds in that state", ApiCoupon),
        NOT_A_MEMBER,
        Reply(409, "the caller is in no COUPON state of the campaign, or none was issued"),
    ),
)
def coupon(principal: Principal, campaign: str) -> ApiCoupon:
    """Moves nobody: the state is left when the coupon is redeemed or expires. Use
    verifyCoupon for the coupon's standing."""
    held = received_coupon(principal.tenant_id, principal.account_id, campaign)
    return ApiCoupon.model_validate(coupon_json(held))


def _record(campaign: str, push: CampaignPush) -> CampaignPushRecord:
    return CampaignPushRecord(
        campaign=campaign, pushId=push.push_key, title=push.title, sentAt=to_iso(push.sent_at)
    )
