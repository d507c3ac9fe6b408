"""postEvent: account events from an integrator, at most 100 per call.

Relation events (INVITED_BY, INVITED, FRIEND, UNKNOWN) and ORDER events (ours: an order the
integrator took, recorded exactly as a Deliverect order, earning points by the earning rules;
amounts in minor units of the restaurant's currency). The whole body is checked before
anything is written: one bad event (unknown account, bad field) refuses the call and records
nothing. Then each event is recorded in its own transaction, in order; every event is
idempotent (an order by its id, a relation by account, type, other account and ts), so when a
call stops part-way (a 409: concurrent writers on one account), sending it again is safe.
"""

from __future__ import annotations

from ..extensions import db
from ..models import Tenant, utcnow
from ..services.accounts.event_intake import EventsNotRecorded, UnknownAccount, record_events
from . import api
from .errors import ApiError
from .operations import Reply, operation
from .principal import Principal
from .schemas.events import MAX_EVENTS, EventRecorded, Events, EventsRecorded

ROLES = ("ROLE_SU", "ROLE_LOYALTY")


@operation(
    api,
    "postEvent",
    "POST",
    "/events",
    summary="Record account events: relations and orders",
    tag="events",
    roles=ROLES,
    body=Events,
    replies=(
        Reply(200, "each event, in the body's order: recorded or already known", EventsRecorded),
        Reply(400, f"an event is not valid, or more than {MAX_EVENTS}: nothing was recorded"),
        Reply(404, "an event names no account of this restaurant: nothing was recorded"),
        Reply(409, "an event could not be recorded now (those before it were): send again"),
    ),
)
def post_event(principal: Principal, body: list) -> EventsRecorded:
    """At most 100 events. Relation events (INVITED_BY, INVITED, FRIEND, UNKNOWN) put the
    mirror event on the other account unless doNotProcessSymmetry; an ORDER event records an
    order exactly as a Deliverect order (earning rules, campaigns; amounts in minor units).
    The whole body is checked first: one bad event refuses the call and records nothing. Each
    event is then recorded on its own, in order; all are idempotent (an order by its id, a
    relation by account, type, other account and ts), so a call answered 409 part-way can be
    sent again as it was."""
    tenant = db.session.get(Tenant, principal.tenant_id)
    try:
        outcomes = record_events(tenant, [item.event() for item in body], utcnow())
    except UnknownAccount as problem:
        raise ApiError(404, "no account of this restaurant has this id", problem.field) from None
    except EventsNotRecorded as problem:
        raise ApiError(
            409,
            f"events before [{problem.index}] were recorded; [{problem.index}] and after "
            "were not: send the call again (recorded events do not change)",
            f"[{problem.index}]",
        ) from None
    return EventsRecorded(events=[EventRecorded.of(outcome) for outcome in outcomes])
