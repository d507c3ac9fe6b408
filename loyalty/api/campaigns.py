"""The campaign operations (spec §2): get, upsert (put by path id, post by body id), delete,
the react-admin list, preview, initialise and finalise.

Choices: putCampaign and postCampaign answer 201 when they created the campaign and 200 when
they updated it; postCampaign without an id creates one under a new id made from the name. Only
a draft can be deleted, as on the dashboard (a campaign that ran keeps its members and coupons:
finalise it instead), so deleting a running or finalised one is a 409. previewCampaign answers
the preview itself (count, sample ids, how many ordered recently), recorded on the campaign as
its cnt (while a draft), samples and previewedAt.
"""

from __future__ import annotations

from flask import Response, jsonify

from ..models import Campaign as CampaignRow
from ..services.campaigns.lifecycle import finalise_campaign, initialise_campaign
from ..services.campaigns.listing import (
    SORTABLE,
    CampaignCriteria,
    actor_name,
    create_with_new_id,
    find_campaigns,
    upsert_campaign,
)
from ..services.campaigns.selection import preview
from ..services.campaigns.store import campaign_json, delete_campaign, get_campaign
from ..time import to_iso, utcnow
from . import api
from .lists import list_response, paging
from .operations import CAMPAIGN, Reply, operation
from .principal import Principal
from .schemas.campaigns import Campaign, CampaignFilter, CampaignInput, CampaignPreview

CAMPAIGN_ROLES = ("ROLE_SU", "ROLE_LOYALTY", "ROLE_LOYALTY_CAMPAIGN")
# Seed 002 confirms the list for the loyalty administrators only.
LIST_ROLES = ("ROLE_SU", "ROLE_LOYALTY")
TAG = "campaigns"

FOUND = Reply(200, "the campaign", Campaign)
UPDATED = Reply(200, "the campaign existed and was updated", Campaign)
CREATED = Reply(201, "the campaign was created", Campaign)
INVALID = Reply(400, "the body breaks the Campaign shape or a campaign rule: `field` says where")
UNKNOWN = Reply(404, "no campaign of this restaurant has this id")
FINALISED = Reply(409, "the campaign is finalised and can no longer change")


@operation(
    api,
    "getCampaign",
    "GET",
    "/campaign/{campaign}",
    summary="Fetch one campaign",
    tag=TAG,
    roles=CAMPAIGN_ROLES,
    path_params=(CAMPAIGN,),
    replies=(FOUND, UNKNOWN),
)
def get_one(principal: Principal, campaign: str) -> dict:
    """With its read-only fields: initialisation, counts per state, the last preview."""
    return campaign_json(get_campaign(principal.tenant_id, campaign))


@operation(
    api,
    "putCampaign",
    "PUT",
    "/campaign/{campaign}",
    summary="Create or update the campaign with this id (upsert)",
    tag=TAG,
    roles=CAMPAIGN_ROLES,
    path_params=(CAMPAIGN,),
    body=CampaignInput,
    replies=(UPDATED, CREATED, INVALID, FINALISED),
)
def put_one(principal: Principal, campaign: str, body: CampaignInput) -> Response:
    """The body's `id` must be the path's, or empty or left out. A draft may still be
    incomplete; a running campaign must stay complete and keep its states' ids."""
    row, created = upsert_campaign(principal.tenant_id, _wire(body), utcnow(), campaign)
    return _answer(row, created)


@operation(
    api,
    "postCampaign",
    "POST",
    "/campaign",
    summary="Create a campaign, or update the one with the body's id (upsert)",
    tag=TAG,
    roles=CAMPAIGN_ROLES,
    body=CampaignInput,
    replies=(UPDATED, CREATED, INVALID, FINALISED),
)
def post_one(principal: Principal, body: CampaignInput) -> Response:
    """Without an `id` (or with an empty one) the campaign is created under a new id made from
    its name, such as `summer-deal-3f9a1c`; the answer carries it."""
    data, now = _wire(body), utcnow()
    if not body.id:
        return _answer(create_with_new_id(principal.tenant_id, data, now), True)
    row, created = upsert_campaign(principal.tenant_id, data, now)
    return _answer(row, created)


@operation(
    api,
    "deleteCampaign",
    "DELETE",
    "/campaign/{campaign}",
    summary="Delete a draft campaign (irreversible)",
    tag=TAG,
    roles=CAMPAIGN_ROLES,
    path_params=(CAMPAIGN,),
    replies=(
        Reply(204, "the draft was deleted"),
        UNKNOWN,
        Reply(409, "the campaign is running or finalised: only a draft can be deleted"),
    ),
)
def delete_one(principal: Principal, campaign: str) -> None:
    """Only a draft, as on the dashboard: a campaign that ran keeps its members, coupons and
    history, so finalise it instead."""
    delete_campaign(principal.tenant_id, campaign)


@operation(
    api,
    "getCampaigns",
    "GET",
    "/campaigns",
    summary="The campaigns, a page at a time (react-admin list)",
    tag=TAG,
    roles=LIST_ROLES,
    query=CampaignFilter,
    replies=(
        Reply(
            200,
            "one page of the matching campaigns",
            list[Campaign],
            headers=("X-Total-Count", "Content-Range"),
        ),
        Reply(400, "a filter, the paging or the sort is malformed"),
    ),
)
def list_all(principal: Principal, query: CampaignFilter) -> Response:
    """Sortable by id, name, type, activeFrom and activeTo (empty dates sort last)."""
    page = paging(query, tuple(SORTABLE), "id")
    criteria = CampaignCriteria(
        name_contains=query.q, keys=query.id, type=query.type, active=query.active
    )
    found = find_campaigns(
        principal.tenant_id,
        criteria,
        utcnow(),
        sort=page.sort,
        descending=page.descending,
        offset=page.offset,
        limit=page.limit,
    )
    return list_response(found.items, found.total, page)


@operation(
    api,
    "previewCampaign",
    "POST",
    "/campaign/{campaign}/preview",
    summary="Count and sample the accounts the campaign selects now",
    tag=TAG,
    roles=CAMPAIGN_ROLES,
    path_params=(CAMPAIGN,),
    replies=(Reply(200, "the preview", CampaignPreview), UNKNOWN),
)
def preview_one(principal: Principal, campaign: str) -> CampaignPreview:
    """A dry run of the saved campaign's selection, recorded on it as `previewedAt` and
    `samples`, and as `cnt` while it is a draft (after initialisation `cnt` is the live count)."""
    now = utcnow()
    result = preview(principal.tenant_id, campaign, now)
    return CampaignPreview(
        campaign=campaign,
        cnt=result.cnt,
        samples=[sample.external_id for sample in result.samples],
        orderedRecently=result.ordered_recently,
        previewedAt=to_iso(now),
    )


@operation(
    api,
    "initializeCampaign",
    "POST",
    "/campaign/{campaign}/initialize",
    summary="Start the campaign: every matching account enters its first state",
    tag=TAG,
    roles=CAMPAIGN_ROLES,
    path_params=(CAMPAIGN,),
    replies=(
        FOUND,
        Reply(400, "the campaign is incomplete or its window has passed: `field` says where"),
        UNKNOWN,
        Reply(409, "the campaign is already running or finalised"),
    ),
)
def initialise_one(principal: Principal, campaign: str) -> dict:
    """`initializedBy` records the team member's e-mail, or the API client's name."""
    by = actor_name(principal.tenant_id, principal.user_id, principal.client_row_id)
    return campaign_json(initialise_campaign(principal.tenant_id, campaign, utcnow(), by=by))


@operation(
    api,
    "finalizeCampaign",
    "POST",
    "/campaign/{campaign}/finalize",
    summary="Close the campaign: no more transitions, unused coupons expire",
    tag=TAG,
    roles=CAMPAIGN_ROLES,
    path_params=(CAMPAIGN,),
    replies=(FOUND, UNKNOWN, Reply(409, "the campaign is a draft: delete it instead")),
)
def finalise_one(principal: Principal, campaign: str) -> dict:
    """Finalising a finalised campaign changes nothing."""
    return campaign_json(finalise_campaign(principal.tenant_id, campaign, utcnow()))


def _wire(body: CampaignInput) -> dict:
    """What the client sent, as parse_campaign reads it (keys it left out stay out: a cap
    not sent keeps its value, a cap sent as null is lifted)."""
    return body.model_dump(mode="json", exclude_unset=True)


def _answer(row: CampaignRow, created: bool) -> Response:
    response = jsonify(campaign_json(row))
    response.status_code = 201 if created else 200
    return response
