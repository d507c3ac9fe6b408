"""Initialise and finalise a campaign: every matching account enters states[0], set-based.

Entering is one INSERT ... SELECT of memberships over the matching accounts and one of their
history rows, whatever the number of accounts (on PostgreSQL one statement: the history is
written from the members the first INSERT returns). That works because every member of a snapshot
joins identically: rules.flow.advance is asked once, for a template member, and what it says
(state, entry, progress; the steps taken) is the same JSON for all of them (memberships.py).
Then the entry effects of the template run over the new members in batches: coupons with
codes drawn in Python and written with one executemany INSERT per batch, WALLET credits through
the ledger (one keyed entry per member, so a rerun credits nobody twice). Caps are honoured:
no more coupons or points than the campaign allows, in member id order.

An ACCOUNT first state is entered without looking at the account (the template knows none);
the tick moves on the members who already match. A campaign initialised before its window
opens is entered by the first tick inside the window (`started_at` says whether it was).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import (
    JSON,
    String,
    cast,
    exists,
    func,
    literal,
    null,
    select,
    text,
    true,
    union_all,
    update,
)

from ...extensions import db
from ...models import Account, Campaign, Coupon, Membership, MembershipEvent
from ...rules import campaigns as definitions
from ...rules import flow
from ...rules.availability import Availability, availability
from ...validation import CONFLICT, FieldErrors
from .coupons import expire_coupons
from .effects import (
    announce_join,
    coupon_values,
    credit_points,
    entry_of,
    insert_coupons,
    insert_ignoring_duplicates,
    move_counter,
    queue_message,
)
from .memberships import columns, membership_key
from .selection import campaign_condition
from .store import campaign_wire, get_campaign

BATCH_SIZE = 1000
ANALYZE_AFTER = 10_000
TEMPLATE_KEY = "template"

Progress = Callable[[int], None]


def initialise_campaign(
    tenant_id: int,
    campaign_key: str,
    now: datetime,
    by: str | None = None,
    progress: Progress | None = None,
) -> Campaign:
    """initializeCampaign: check the campaign is complete (FieldErrors listing every problem),
    mark it running and enter every matching account (one transaction, committed)."""
    row = get_campaign(tenant_id, campaign_key, lock=True)
    if row.status != "draft":
        raise FieldErrors({"campaign": f"is already {row.status}"}, CONFLICT)
    definition = definitions.parse_campaign(campaign_wire(row), draft=False)
    if availability(definition.active_from, definition.active_to, now) is Availability.ENDED:
        raise FieldErrors({"activeTo": "has passed: the campaign would never run"})
    row.initialized_at = now
    row.initialized_by = by
    row.cnt = 0  # the preview's prediction gives way to the live count
    if row.type == "BIRTHDAY":
        row.started_at = now  # members enter on their birthdays (the tick)
    else:
        enter_snapshot(row, definition, now, progress)
    db.session.commit()
    return row


def finalise_campaign(tenant_id: int, campaign_key: str, now: datetime) -> Campaign:
    """finalizeCampaign: no more transitions; ACTIVE and LOCKED coupons expire (committed).
    Finalising a finalised campaign changes nothing."""
    row = get_campaign(tenant_id, campaign_key, lock=True)
    if row.status == "draft":
        raise FieldErrors({"campaign": "is a draft: delete it instead"}, CONFLICT)
    if row.status == "running":
        row.finalized_at = now
        expire_coupons(Coupon.campaign_id == row.id)
        db.session.execute(
            update(Membership)
            .where(Membership.campaign_id == row.id, Membership.status == "active")
            .values(status="ended")
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return row


def enter_snapshot(
    row: Campaign,
    definition: definitions.Campaign,
    now: datetime,
    progress: Progress | None = None,
) -> int:
    """Every matching account not yet a member enters states[0]; returns how many did.

    The initial snapshot and, for a dynamic campaign, each tick's joins. Nothing enters
    outside the window (rules.flow); `started_at` is set when the snapshot is taken.
    """
    template = flow.advance(None, definition, flow.Join(TEMPLATE_KEY), now)
    if template.membership is None:
        return 0
    values = columns(template.membership)
    seq = len(template.transitions)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    joining = row.started_at is not None  # after the snapshot, entering is a dynamic join
    selecting = [campaign_condition(row.tenant_id, definition, now)]
    if joining:
        # The snapshot has no members yet (ON CONFLICT covers a concurrent one); a join skips
        # the members up front rather than one conflict at a time.
        selecting.append(
            ~exists().where(Membership.campaign_id == row.id, Membership.account_id == Account.id)
        )
    # Another host entering the same accounts at once: its rows win, ours are skipped.
    entering = insert_ignoring_duplicates(Membership.__table__).from_select(
        [
            "tenant_id",
            "campaign_id",
            "account_id",
            "state_id",
            "entered_at",
            "status",
            "entry",
            "progress",
            "seq",
            "created_at",
        ],
        select(
            literal(row.tenant_id),
            literal(row.id),
            Account.id,
            literal(values["state_id"], String(32)),
            literal(now, Membership.entered_at.type),
            literal(values["status"], String(12)),
            literal(values["entry"]),
            _json(values["progress"], postgres),
            literal(seq),
            literal(now, Membership.created_at.type),
        ).where(*selecting),
    )
    if postgres:
        entered = _enter_with_history(row, entering, template.transitions, now)
    else:
        entered = db.session.execute(entering).rowcount
        _enter_history(row, template.transitions, now)
    if row.started_at is None:
        row.started_at = now
        if postgres and entered >= ANALYZE_AFTER:
            # The planner's picture of a table that just grew by a whole snapshot, so the next
            # tick's join looks members up by index, not by rescanning the table per account.
            db.session.execute(text("ANALYZE campaign_memberships"))
    if entered:
        move_counter(row.id, "members", entered)
    db.session.flush()
    if progress and not per_member_effects(template.effects):
        progress(entered)
    if not entered:
        db.session.expire(row)
        return 0
    # Only those who entered now: a dynamic campaign's earlier members are done with (and
    # the index on campaign, status, state and entry time finds the new ones at once).
    fresh = (
        Membership.status == values["status"],
        Membership.state_id == values["state_id"],
        Membership.entered_at == now,
        Membership.created_at == now,
    )
    for effect in template.effects:
        if isinstance(effect, flow.IssueCoupon):
            _issue_coupons(row, effect, seq, now, progress, fresh)
        else:
            _each_member(row, seq, _member_effect(row, effect, now), *fresh, progress=progress)
    if joining:

        def announce(member_id: int, account_id: int, key: str) -> None:
            announce_join(row, definition, member_id, account_id, key, now)

        _each_member(row, seq, announce, *fresh)
    db.session.expire(row)
    return entered


def per_member_effects(effects) -> list[flow.Effect]:
    """The effects written member by member: what a progress bar counts."""
    return [
        e
        for e in effects
        if isinstance(e, flow.IssueCoupon | flow.CreditPoints | flow.QueueMessage)
    ]


def initialisation_work(tenant_id: int, campaign_key: str, now: datetime) -> int:
    """How many steps initialise_campaign will report: members times per-member effects."""
    row = get_campaign(tenant_id, campaign_key)
    definition = definitions.parse_campaign(campaign_wire(row), draft=True)
    template = flow.advance(None, definition, flow.Join(TEMPLATE_KEY), now)
    effects = per_member_effects(template.effects) if template.membership else []
    return matching_count(tenant_id, definition, now) * max(1, len(effects))


def _steps(transitions):
    """The template's transitions as rows (seq, from_state, to_state, reason)."""
    return union_all(
        *(
            select(
                literal(number).label("seq"),
                _text(transition.from_state).label("from_state"),
                _text(transition.to_state).label("to_state"),
                literal(transition.reason, String(32)).label("reason"),
            )
            for number, transition in enumerate(transitions, start=1)
        )
    ).subquery()


def _enter_with_history(row: Campaign, entering, transitions, now: datetime) -> int:
    """PostgreSQL: the members' INSERT ... SELECT, their history rows written from what it
    returned and the count, in one statement (no second pass looking for members without
    history, which a plan made before the table filled would walk once per member)."""
    entered = entering.returning(Membership.__table__.c.id).cte("entered")
    history = _history_rows(row, entered, transitions, now).cte("history")
    return db.session.scalar(select(func.count()).select_from(entered).add_cte(history))


def _enter_history(row: Campaign, transitions, now: datetime) -> None:
    """SQLite: the template's transitions for every member that has no history yet."""
    fresh = (
        select(Membership.id)
        .where(
            Membership.campaign_id == row.id,
            ~exists().where(MembershipEvent.membership_id == Membership.id),
        )
        .subquery()
    )
    db.session.execute(_history_rows(row, fresh, transitions, now))


def _history_rows(row: Campaign, members, transitions, now: datetime):
    """INSERT of the template's transitions as history of each of `members` (by its `id`)."""
    steps = _steps(transitions)
    return MembershipEvent.__table__.insert().from_select(
        ["tenant_id", "membership_id", "seq", "from_state", "to_state", "reason", "at"],
        select(
            literal(row.tenant_id),
            members.c.id,
            steps.c.seq,
            steps.c.from_state,
            steps.c.to_state,
            steps.c.reason,
            literal(now, MembershipEvent.at.type),
        ).select_from(members.join(steps, true())),
    )


def _template_members(row: Campaign, seq: int, *conditions):
    """Members still exactly where the template put them (nothing has moved them since)."""
    return (
        select(Membership.id, Membership.account_id)
        .where(Membership.campaign_id == row.id, Membership.seq == seq, *conditions)
        .order_by(Membership.id)
    )


def _issue_coupons(
    row: Campaign,
    effect: flow.IssueCoupon,
    seq: int,
    now: datetime,
    progress: Progress | None,
    fresh: tuple,
) -> None:
    entry = entry_of(effect.key)
    suffix = effect.key.removeprefix(TEMPLATE_KEY)
    without = ~exists().where(Coupon.membership_id == Membership.id, Coupon.entry_seq == entry)
    while True:
        allowed = _coupons_left(row.id)
        if allowed == 0:
            return
        query = _template_members(row, seq, without, *fresh).limit(min(BATCH_SIZE, allowed))
        batch = db.session.execute(query).all()
        if not batch:
            return
        insert_coupons(
            [
                coupon_values(
                    row.tenant_id,
                    row.id,
                    member_id,
                    account_id,
                    membership_key(row.id, account_id) + suffix,
                    effect.state,
                    now,
                )
                for member_id, account_id in batch
            ]
        )
        move_counter(row.id, "coupons", len(batch))
        if progress:
            progress(len(batch))


def _member_effect(row: Campaign, template: flow.Effect, now: datetime):
    """The template's credit or message, written for one member under that member's key."""
    suffix = template.key.removeprefix(TEMPLATE_KEY)

    def write(member_id: int, account_id: int, key: str) -> None:
        if isinstance(template, flow.CreditPoints):
            credit = flow.CreditPoints(template.state, template.points, key + suffix)
            credit_points(row, account_id, credit, now)
        elif isinstance(template, flow.QueueMessage):
            message = flow.QueueMessage(template.state, key + suffix)
            queue_message(row, member_id, account_id, message, now)

    return write


def _each_member(
    row: Campaign,
    seq: int,
    write: Callable[[int, int, str], None],
    *conditions,
    progress: Progress | None = None,
) -> None:
    """`write(membership id, account id, membership key)` for each member the template placed,
    in batches of member ids."""
    last_id = 0
    while True:
        batch = db.session.execute(
            _template_members(row, seq, Membership.id > last_id, *conditions).limit(BATCH_SIZE)
        ).all()
        if not batch:
            return
        for member_id, account_id in batch:
            write(member_id, account_id, membership_key(row.id, account_id))
            last_id = member_id
        if progress:
            progress(len(batch))


def _coupons_left(campaign_id: int) -> int:
    cap, issued = db.session.execute(
        select(Campaign.max_coupons, Campaign.coupons_issued).where(Campaign.id == campaign_id)
    ).one()
    return BATCH_SIZE if cap is None else max(0, cap - issued)


def _json(value: dict, postgres: bool):
    """A JSON constant for an INSERT ... SELECT (PostgreSQL needs the type said)."""
    return cast(literal(value, JSON), JSON) if postgres else literal(value, JSON)


def _text(value: str | None):
    return literal(value, String(32)) if value is not None else cast(null(), String(32))


def matching_count(tenant_id: int, definition: definitions.Campaign, now: datetime) -> int:
    """How many accounts the campaign selects now (the CLI's progress bar length)."""
    return db.session.scalar(
        select(func.count()).where(campaign_condition(tenant_id, definition, now))
    )
