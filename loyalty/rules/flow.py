"""How one account moves through a campaign's states (spec §4): events in, transitions and
effects out, no I/O.

`advance(membership, campaign, event, now)` answers what happens, and the service writes it: the
new Membership, the Transitions (for history and stats) and the Effects to carry out (issue a
coupon, queue a message, credit points), each with an idempotency key unique to one entry into
one state (`<membership key>:<state id>:<entry number>`), so retrying a write never doubles it.

Decisions, in one place:
- Entering a state runs its action. WALLET completes at once; COUPON waits for its coupon to be
  redeemed (or to expire: `expiredTransitionTo`, else the end); MESSAGE for the acknowledgement;
  ORDER for `count` matching orders; ACCOUNT until the account matches, checked whenever an event
  brings the account's facts (AccountChanged, a Tick or a Join that carries them).
- No `transitionTo` ends the flow: the membership is completed (state_id None).
- A timeout (ACCOUNT, ORDER) is looked at before the event: an order arriving after the timeout
  is too late, even if the tick that would have noticed has not run yet.
- Nothing advances outside activeFrom..activeTo or once the campaign is finalised.
- Loop guard: one `advance` enters a state at most once. When the chain would enter a state a
  second time it stops, with the exit kept as `pending`; the next event or tick takes it.
- Idempotence: OrderPlaced and coupon events carry ids, remembered in `seen`; the same one twice
  moves nobody twice. Coupon events name the entry that issued the coupon (`entry_key`), so a
  coupon from an earlier pass through a loop cannot move the member on from a later one.
- MessageAcknowledged carries no id (the API call names none): it acknowledges the current
  MESSAGE state, whatever that is when it arrives.
- `reverse_order` undoes a cancelled order: the member goes back to where it was just before the
  order counted, everything after is undone (its credits written off, its coupons withdrawn), and
  the order stays in `seen` so a replay of it does not count again.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from .availability import Availability, availability
from .campaigns import (
    AccountState,
    Campaign,
    CouponState,
    MessageState,
    OrderState,
    StateDefinition,
    WalletState,
)
from .constraints import AccountFacts, OrderFacts, matches, order_matches
from .durations import DurationError

# --- events


@dataclass(frozen=True)
class Join:
    """The account enters the campaign (initialisation or a dynamic join)."""

    membership_key: str
    facts: AccountFacts | None = None


@dataclass(frozen=True)
class OrderPlaced:
    order_id: str
    order: OrderFacts


@dataclass(frozen=True)
class CouponRedeemed:
    code: str
    entry_key: str  # IssueCoupon.key of the coupon
    order_id: str | None = None  # the order that used it, so cancelling it steps back


@dataclass(frozen=True)
class CouponExpired:
    code: str
    entry_key: str


@dataclass(frozen=True)
class MessageAcknowledged:
    pass


@dataclass(frozen=True)
class AccountChanged:
    facts: AccountFacts


@dataclass(frozen=True)
class Tick:
    """Time passed (timeouts); with facts, ACCOUNT states whose constraints depend on `now`
    (such as `header.lastOrder LT -P30D`) are checked too."""

    facts: AccountFacts | None = None


Event = (
    Join
    | OrderPlaced
    | CouponRedeemed
    | CouponExpired
    | MessageAcknowledged
    | AccountChanged
    | Tick
)

# --- effects and transitions


@dataclass(frozen=True)
class IssueCoupon:
    state: CouponState
    key: str


@dataclass(frozen=True)
class QueueMessage:
    state: MessageState
    key: str


@dataclass(frozen=True)
class CreditPoints:
    state: WalletState
    points: int
    key: str


Effect = IssueCoupon | QueueMessage | CreditPoints


@dataclass(frozen=True)
class Transition:
    from_state: str | None  # None when joining
    to_state: str | None  # None when the flow ends
    reason: str  # join, wallet, coupon_redeemed, coupon_expired, message, order, account, timeout
    at: datetime


# --- membership


@dataclass(frozen=True)
class Pending:
    """An exit already decided but not yet taken (the loop guard stopped it)."""

    to: str | None
    reason: str


@dataclass(frozen=True)
class Position:
    """Where a member is: enough to put it back there."""

    state_id: str | None
    entered_at: datetime
    entry: int
    orders: tuple[str, ...]
    pending: Pending | None


@dataclass(frozen=True)
class Step:
    """One entry into a state (state_id None: the end), what it did, and what caused it."""

    state_id: str | None
    entry: int
    at: datetime
    effects: tuple[Effect, ...]
    event_key: str | None  # the seen-key of the event whose advance made the step
    order_id: str | None  # the order behind that event, if any
    before: Position | None  # before the event whose advance made the step; None for the join


@dataclass(frozen=True)
class Membership:
    key: str  # unique per (campaign, account); prefixes every idempotency key
    state_id: str | None  # None once completed
    entered_at: datetime
    entry: int = 0  # number of the current entry
    entries: int = 0  # entries ever made: never goes back, so keys are never reused
    orders: tuple[str, ...] = ()  # orders counted in the current ORDER state
    pending: Pending | None = None
    seen: frozenset[str] = frozenset()
    history: tuple[Step, ...] = ()

    @property
    def completed(self) -> bool:
        return self.state_id is None

    @property
    def entry_key(self) -> str:
        """The key of the current entry: what its coupon's events must name."""
        return f"{self.key}:{self.state_id}:{self.entry}"

    @property
    def position(self) -> Position:
        return Position(self.state_id, self.entered_at, self.entry, self.orders, self.pending)


@dataclass(frozen=True)
class Advance:
    membership: Membership | None  # None: the event did not make the account a member
    transitions: tuple[Transition, ...] = ()
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class Reversal:
    membership: Membership
    write_off: tuple[CreditPoints, ...]  # credits made after the order counted
    withdraw: tuple[IssueCoupon, ...]  # coupons issued after it


def advance(
    membership: Membership | None,
    campaign: Campaign,
    event: Event,
    now: datetime,
    *,
    finalised: bool = False,
) -> Advance:
    """What `event` does to the member (None before it joins), by the decisions above."""
    unchanged = Advance(membership)
    window = availability(campaign.active_from, campaign.active_to, now)
    if finalised or window is not Availability.LIVE or not campaign.states:
        return unchanged
    if isinstance(event, Join):
        if membership is not None:
            return unchanged
        newcomer = Membership(key=event.membership_key, state_id=None, entered_at=now)
        run = _Run(newcomer, campaign, now, event.facts, "join", None)
        run.move(Pending(campaign.states[0].id, "join"), joining=True)
        return run.result()
    if membership is None or membership.completed:
        return unchanged
    event_key = _event_key(event)
    if event_key is not None and event_key in membership.seen:
        return unchanged
    facts = event.facts if isinstance(event, AccountChanged | Tick) else None
    order_id = event.order_id if isinstance(event, OrderPlaced | CouponRedeemed) else None
    run = _Run(membership, campaign, now, facts, event_key, order_id)
    run.settle()
    state = campaign.state(run.membership.state_id)
    if state is not None and run.membership.pending is None:
        timeout = _timed_out(state, run.membership, now)
        if timeout is not None:
            run.move(timeout)
        else:
            run.handle(state, event)
    return run.result()


def reverse_order(membership: Membership, order_id: str) -> Reversal:
    """Undo a cancelled order: back to where the member was just before it counted.

    That is the state the order (or the coupon it used) moved the member out of, or the same
    ORDER state with one order fewer when the order had not moved it yet. Steps after that point
    are undone too; their credits are returned for writing off and their coupons for withdrawing.
    """
    for index, step in enumerate(membership.history):
        before = step.before
        if before is None or not (step.order_id == order_id or order_id in before.orders):
            continue
        undone = membership.history[index:]
        effects = [effect for undone_step in undone for effect in undone_step.effects]
        forgotten = {s.event_key for s in undone if s.event_key is not None}
        restored = replace(
            membership,
            state_id=before.state_id,
            entered_at=before.entered_at,
            entry=before.entry,
            orders=tuple(o for o in before.orders if o != order_id),
            pending=before.pending,
            seen=(membership.seen - forgotten) | {_order_key(order_id)},
            history=membership.history[:index],
        )
        return Reversal(
            restored,
            tuple(e for e in effects if isinstance(e, CreditPoints)),
            tuple(e for e in effects if isinstance(e, IssueCoupon)),
        )
    if order_id in membership.orders:
        counted = tuple(o for o in membership.orders if o != order_id)
        return Reversal(replace(membership, orders=counted), (), ())
    return Reversal(membership, (), ())


def birthday_in(birthdate: date, year: int) -> date:
    """The birthday in `year`; 29 February is kept on 28 February in other years."""
    if birthdate.month == 2 and birthdate.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthdate.replace(year=year)


def birthday_due(
    birthdate: date,
    window: tuple[datetime | None, datetime | None],
    year: int,
    birthdate_changed_at: datetime | None,
    guard_days: int = 30,
) -> bool:
    """Whether a BIRTHDAY campaign is due for this account in `year`.

    The birthday (a UTC day) must overlap the window [activeFrom, activeTo), and the birthdate
    must not have been set or changed in the `guard_days` before it: otherwise anyone could
    type today's date to collect a birthday reward. None for `birthdate_changed_at` means it
    came with the account (imported or set long ago) and is trusted.
    """
    day = birthday_in(birthdate, year)
    starts = datetime(day.year, day.month, day.day, tzinfo=UTC)
    active_from, active_to = window
    if active_from is not None and starts + timedelta(days=1) <= active_from:
        return False
    if active_to is not None and starts >= active_to:
        return False
    return birthdate_changed_at is None or birthdate_changed_at <= starts - timedelta(
        days=guard_days
    )


class _Run:
    """One advance: the membership as it changes, and what has been decided so far."""

    def __init__(
        self,
        membership: Membership,
        campaign: Campaign,
        now: datetime,
        facts: AccountFacts | None,
        event_key: str | None,
        order_id: str | None,
    ):
        self.membership = membership
        self.start = membership.position
        if event_key is not None:
            self.membership = replace(membership, seen=membership.seen | {event_key})
        self.campaign = campaign
        self.now = now
        self.facts = facts
        self.event_key = event_key
        self.order_id = order_id
        self.entered: set[str] = set()
        self.transitions: list[Transition] = []
        self.effects: list[Effect] = []

    def result(self) -> Advance:
        return Advance(self.membership, tuple(self.transitions), tuple(self.effects))

    def handle(self, state: StateDefinition, event: Event) -> None:
        member = self.membership
        if isinstance(state, OrderState) and isinstance(event, OrderPlaced):
            if not order_matches(state.constraints, event.order, state.min_total or 0):
                return
            orders = (*member.orders, event.order_id)
            self.membership = replace(member, orders=orders)
            if len(orders) >= state.orders_needed:
                self.move(Pending(state.transition_to, "order"))
        elif isinstance(state, CouponState) and isinstance(event, CouponRedeemed | CouponExpired):
            if event.entry_key != member.entry_key:
                return
            if isinstance(event, CouponRedeemed):
                self.move(Pending(state.transition_to, "coupon_redeemed"))
            else:
                self.move(Pending(state.expired_transition_to, "coupon_expired"))
        elif isinstance(state, MessageState) and isinstance(event, MessageAcknowledged):
            self.move(Pending(state.transition_to, "message"))
        elif isinstance(state, AccountState):
            self.check_account(state)

    def move(self, exit_: Pending, *, joining: bool = False) -> None:
        self.membership = replace(self.membership, pending=exit_)
        self.settle(joining=joining)

    def settle(self, *, joining: bool = False) -> None:
        while self.membership.pending is not None:
            exit_ = self.membership.pending
            if exit_.to is not None and exit_.to in self.entered:
                return
            self.enter(exit_, joining)
            joining = False

    def enter(self, exit_: Pending, joining: bool) -> None:
        member = self.membership
        before = None if joining else self.start
        state = self.campaign.state(exit_.to)
        self.transitions.append(
            Transition(None if joining else member.state_id, exit_.to, exit_.reason, self.now)
        )
        entry = member.entries + 1
        effects = () if state is None else self.actions(state, f"{member.key}:{state.id}:{entry}")
        self.effects.extend(effects)
        step = Step(
            state.id if state else None,
            entry,
            self.now,
            effects,
            self.event_key,
            self.order_id,
            before,
        )
        self.membership = replace(
            member,
            state_id=state.id if state else None,
            entered_at=self.now,
            entry=entry,
            entries=entry,
            orders=(),
            pending=None,
            history=(*member.history, step),
        )
        if state is None:
            return
        self.entered.add(state.id)
        if isinstance(state, WalletState):
            self.membership = replace(
                self.membership, pending=Pending(state.transition_to, "wallet")
            )
        elif isinstance(state, AccountState):
            self.check_account(state, settle=False)

    def actions(self, state: StateDefinition, key: str) -> tuple[Effect, ...]:
        if isinstance(state, CouponState):
            return (IssueCoupon(state, key),)
        if isinstance(state, MessageState):
            return (QueueMessage(state, key),)
        if isinstance(state, WalletState):
            return (CreditPoints(state, state.points or 0, key),)
        return ()

    def check_account(self, state: AccountState, *, settle: bool = True) -> None:
        if self.facts is None or not matches(state.constraints, self.facts, self.now):
            return
        self.membership = replace(self.membership, pending=Pending(state.transition_to, "account"))
        if settle:
            self.settle()


def _timed_out(state: StateDefinition, membership: Membership, now: datetime) -> Pending | None:
    if not isinstance(state, AccountState | OrderState) or state.timeout is None:
        return None
    try:
        ends = state.timeout.shift(membership.entered_at)
    except DurationError:  # a timeout beyond the calendar never comes
        return None
    return None if now < ends else Pending(state.timeout_transition_to, "timeout")


def _order_key(order_id: str) -> str:
    return f"order:{order_id}"


def _event_key(event: Event) -> str | None:
    if isinstance(event, OrderPlaced):
        return _order_key(event.order_id)
    if isinstance(event, CouponRedeemed):
        return f"coupon:{event.code}:redeemed"
    if isinstance(event, CouponExpired):
        return f"coupon:{event.code}:expired"
    return None
