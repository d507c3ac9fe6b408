"""A membership row as rules.flow sees it, and the write of what an advance decided.

The row keeps the current state, its entry number and when it was entered in columns (the tick
and the pages select on them); the rest of rules.flow.Membership (orders counted, a pending
exit, the events already seen, and the steps with what each did and where the member stood
before) lives in `progress`. Effect keys are never stored: they are
`<membership key>:<state>:<entry>` (rules.flow), and the membership key is derived from the
row (`campaign:<campaign id>:<account id>`, plus `:<year>` for a BIRTHDAY year), so the
progress of every member of an initial snapshot is the same JSON and one INSERT ... SELECT
writes it for all. Only a membership a merge moved to the surviving account keeps its old key
in `progress` (until a new BIRTHDAY year keys it afresh).

Every write goes through `record`: one conditional UPDATE on `seq` (a concurrent writer that
moved the member first makes it fail instead of doubling a move) and one appended
MembershipEvent per transition, numbered by `seq`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update

from ...extensions import db
from ...models import Membership, MembershipEvent
from ...rules import campaigns as definitions
from ...rules import flow
from ...time import parse_iso, to_iso

# The key a membership moved to another account by a merge keeps (progress["key"]).
MOVED_KEY = "key"


class MembershipMoved(RuntimeError):
    """Another writer changed the membership between its read and this write (retry)."""


def membership_key(campaign_id: int, account_id: int, joined_year: int | None = None) -> str:
    key = f"campaign:{campaign_id}:{account_id}"
    return f"{key}:{joined_year}" if joined_year else key


def key_of(row: Membership) -> str:
    """The row's membership key; a membership moved by a merge keeps the key it had, so the
    keys of what it already did (its coupons, its credits) still name it."""
    return (row.progress or {}).get(MOVED_KEY) or membership_key(
        row.campaign_id, row.account_id, row.joined_year
    )


def lock_memberships(*conditions, skip_locked: bool = False) -> list[Membership]:
    """Memberships matching `conditions`, row-locked on PostgreSQL and read fresh."""
    query = select(Membership).where(*conditions).order_by(Membership.id)
    query = query.with_for_update(skip_locked=skip_locked)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def to_rules(row: Membership, campaign: definitions.Campaign) -> flow.Membership:
    progress = row.progress or {}
    return flow.Membership(
        key=key_of(row),
        state_id=row.state_id,
        entered_at=row.entered_at,
        entry=row.entry,
        entries=progress.get("entries", row.entry),
        orders=tuple(progress.get("orders", ())),
        pending=_pending(progress.get("pending")),
        seen=frozenset(progress.get("seen", ())),
        history=tuple(_step(key_of(row), step, campaign) for step in progress.get("history", ())),
    )


def columns(membership: flow.Membership) -> dict[str, Any]:
    """The row's columns for a rules membership (everything but ids, year and seq)."""
    return {
        "state_id": membership.state_id,
        "entered_at": membership.entered_at,
        "entry": membership.entry,
        "status": "completed" if membership.completed else "active",
        "progress": {
            "entries": membership.entries,
            "orders": list(membership.orders),
            "pending": _pending_json(membership.pending),
            "seen": sorted(membership.seen),
            "history": [_step_json(step) for step in membership.history],
        },
    }


def record(
    row: Membership,
    membership: flow.Membership,
    transitions: Sequence[flow.Transition],
    order_id: int | None = None,
    *,
    reason: str | None = None,
    status: str | None = None,
    joined_year: int | None = None,
) -> None:
    """Write the member's new position and append its transitions; MembershipMoved if another
    writer got there first. `reason` replaces each transition's (e.g. "reversed")."""
    values = columns(membership)
    if status is not None:
        values["status"] = status
    if joined_year is not None:
        values["joined_year"] = joined_year  # a new year's entry: keyed afresh
    elif MOVED_KEY in (row.progress or {}):
        values["progress"][MOVED_KEY] = row.progress[MOVED_KEY]
    events = list(transitions) or [None]
    bumped = row.seq + len(events)
    moved = db.session.execute(
        update(Membership)
        .where(Membership.id == row.id, Membership.seq == row.seq)
        .values(**values, seq=bumped)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise MembershipMoved(f"membership {row.id} changed meanwhile")
    rows = [
        {
            "tenant_id": row.tenant_id,
            "membership_id": row.id,
            "seq": row.seq + number,
            "from_state": transition.from_state,
            "to_state": transition.to_state,
            "reason": reason or transition.reason,
            "order_id": order_id,
            "at": transition.at,
        }
        for number, transition in enumerate(events, start=1)
        if transition is not None
    ]
    if rows:
        db.session.execute(insert(MembershipEvent.__table__), rows)
    db.session.expire(row)


def _pending(data: dict | None) -> flow.Pending | None:
    return flow.Pending(data["to"], data["reason"]) if data else None


def _pending_json(pending: flow.Pending | None) -> dict | None:
    return {"to": pending.to, "reason": pending.reason} if pending else None


def _position(data: dict | None) -> flow.Position | None:
    if data is None:
        return None
    return flow.Position(
        data["state"],
        parse_iso(data["at"]),
        data["entry"],
        tuple(data["orders"]),
        _pending(data["pending"]),
    )


def _position_json(position: flow.Position | None) -> dict | None:
    if position is None:
        return None
    return {
        "state": position.state_id,
        "at": to_iso(position.entered_at),
        "entry": position.entry,
        "orders": list(position.orders),
        "pending": _pending_json(position.pending),
    }


def _step(key: str, data: dict, campaign: definitions.Campaign) -> flow.Step:
    return flow.Step(
        data["state"],
        data["entry"],
        parse_iso(data["at"]),
        tuple(_effects(key, data, campaign)),
        data["event"],
        data["order"],
        _position(data["before"]),
    )


def _effects(key: str, data: dict, campaign: definitions.Campaign) -> list[flow.Effect]:
    """The step's effects again from the definition (a running campaign keeps its state ids);
    a credit keeps the points it gave, so writing it off takes back exactly that."""
    effects: list[flow.Effect] = []
    for effect in data["effects"]:
        state = campaign.state(effect["state"])
        effect_key = f"{key}:{effect['state']}:{data['entry']}"
        if isinstance(state, definitions.CouponState):
            effects.append(flow.IssueCoupon(state, effect_key))
        elif isinstance(state, definitions.MessageState):
            effects.append(flow.QueueMessage(state, effect_key))
        elif isinstance(state, definitions.WalletState):
            effects.append(flow.CreditPoints(state, effect["points"], effect_key))
    return effects


def _step_json(step: flow.Step) -> dict:
    return {
        "state": step.state_id,
        "entry": step.entry,
        "at": to_iso(step.at),
        "effects": [_effect_json(effect) for effect in step.effects],
        "event": step.event_key,
        "order": step.order_id,
        "before": _position_json(step.before),
    }


def _effect_json(effect: flow.Effect) -> dict:
    if isinstance(effect, flow.CreditPoints):
        return {"kind": "points", "state": effect.state.id, "points": effect.points}
    kind = "coupon" if isinstance(effect, flow.IssueCoupon) else "message"
    return {"kind": kind, "state": effect.state.id}
