"""A checkout's money decisions: what an order paid, the store credit it used, what it redeems,
earns and leaves behind, and what its cancel reverses. Shared by every door that reports orders.

Decisions, in one place:
- Held programs go first: their points were reserved for exactly this order. A program without
  a hold takes only points no other live basket holds, never below zero; what it could not take
  is the order's shortfall, for the team to see.
- An order ends its checkout: its own session when it names one, else every session whose hold
  it commits (Deliverect's order webhook documents no sessionId). An ended session's other holds
  are released. Without a session, the basket whose holds back most of the named programs is
  taken as the order's own (ties: the oldest hold).
- Store credit is capped by the cash balance; points are earned by the restaurant's earning rules
  (rules.earning: spend without tips and fees, visits, stamps, bonuses) at the tier the customer
  was in when ordering; an order over the restaurant's caps earns nothing and is held for review.
  The earning says which rule gave what, and a cancel takes back exactly that.
- A cancel writes one compensating entry per entry of the order, refunds first, so they pay any
  debt and leave points for taking back the earn; points already spent become debt (rules.debt).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .basket import Basket
from .earning import Breakdown, EarningRule, Purchase, earn
from .order_review import MAX_POINTS_PER_ORDER, review_reason, scaled_amount
from .tiers import TierLevel, tier_for

# The externalId of the store-credit discount we hand out (see the wallet validation).
WALLET_EXTERNAL_ID = "wallet_cash"
CUSTOMER_NOT_FOUND = "Loyalty customer not found"
NOT_ENOUGH_CREDIT = "Not enough wallet balance"
OVER_ORDER_TOTAL = "Amount exceeds the order total"


# --- what an order paid --------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscountLine:
    """One discount an order (or a basket being validated) carries, as the channel sent it."""

    program_id: str | None = None
    provider: str | None = None
    type: str | None = None
    external_id: str | None = None
    reference_id: str | None = None
    amount: int | None = None
    value: int | None = None


@dataclass(frozen=True)
class Payment:
    """The amounts an order states; any of them may be missing."""

    payment_amount: int | None = None  # paymentAmount
    payment: int | None = None  # payment.amount
    sub_total: int | None = None
    discount_total: int | None = None  # negative: what the discounts took off


def is_store_credit(line: DiscountLine) -> bool:
    """Store credit: a loyalty discount that is not a program (our wallet discount)."""
    if line.program_id:
        return False
    marks = {line.type, line.external_id, line.reference_id}
    return line.provider == "loyalty" or bool(marks & {"cash", "wallet", WALLET_EXTERNAL_ID})


def store_credit_used(lines: Iterable[DiscountLine]) -> int:
    """The store credit an order's discounts spend (amount, else value; the sign ignored)."""
    return sum(
        abs(line.amount if line.amount is not None else line.value or 0)
        for line in lines
        if is_store_credit(line)
    )


def _stated(payment: Payment) -> int | None:
    if payment.payment_amount is not None:
        return max(0, payment.payment_amount)
    if payment.payment is not None:
        return max(0, payment.payment)
    return None


def order_total(payment: Payment, basket: Basket) -> int:
    """What a basket being validated costs: the payment it states, else items plus fees."""
    stated = _stated(payment)
    if stated is not None:
        return stated
    return basket.items_total + basket.delivery_cost + basket.service_charge


def amount_paid(payment: Payment, basket: Basket) -> int:
    """What the customer paid: paymentAmount, else payment.amount, else the subtotal less
    discounts (discountTotal is negative), else the basket's items."""
    stated = _stated(payment)
    if stated is not None:
        return stated
    if payment.sub_total is not None:
        return max(0, payment.sub_total + min(0, payment.discount_total or 0))
    return basket.items_total


@dataclass(frozen=True)
class CashCheck:
    """The answer to a store-credit validation: errors for the customer, or what may be used."""

    errors: tuple[str, ...]
    amount: int  # to discount now; 0 on failure or revalidation
    max_redeemable: int


def check_store_credit(
    cash_balance: int | None,
    requested: int,
    payment: Payment,
    basket: Basket,
    discounts: Sequence[DiscountLine],
) -> CashCheck:
    """May `requested` store credit pay for this basket? `cash_balance` None: no such customer.

    The basket's own store-credit discounts are added back to its total (they are this credit
    being validated again), and a revalidation confirms without discounting twice. Cash is spent
    when the order arrives.
    """
    if cash_balance is None:
        return CashCheck((CUSTOMER_NOT_FOUND,), 0, 0)
    applied = store_credit_used(discounts)
    total = order_total(payment, basket) + applied
    max_redeemable = max(0, min(cash_balance, total))
    if requested > cash_balance:
        return CashCheck((NOT_ENOUGH_CREDIT,), 0, max_redeemable)
    if requested > total:
        return CashCheck((OVER_ORDER_TOTAL,), 0, max_redeemable)
    return CashCheck((), 0 if applied else requested, max_redeemable)


# --- the order plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveHold:
    """A hold still reserving points (not expired, not closed)."""

    id: int
    reward_id: int
    session_id: str
    points: int


@dataclass(frozen=True)
class NamedReward:
    """A program the order names that is one of ours."""

    id: int
    cost: int


@dataclass(frozen=True)
class Wallet:
    """The account's balances as read under its lock."""

    points: int
    cash: int
    lifetime_points: int


@dataclass(frozen=True)
class EarningTerms:
    """The restaurant's earning rules and review caps."""

    rules: tuple[EarningRule, ...]
    points_validity_days: int | None
    decimal_digits: int
    max_points_per_order: int
    max_order_amount: int
    levels: tuple[TierLevel, ...] = ()


@dataclass(frozen=True)
class OrderClaim:
    """What an order asks of the customer's account."""

    session_id: str | None
    rewards: tuple[NamedReward, ...]  # in the order named, each once
    store_credit: int = 0
    purchase: Purchase = Purchase(0)  # what it bought and paid, for the earning rules


@dataclass(frozen=True)
class Redemption:
    reward_id: int
    taken: int  # points it spends
    hold_id: int | None  # the hold it commits, if one backed it
    short: int  # points named but not taken


@dataclass(frozen=True)
class Earning:
    points: int  # credited now
    expires_at: datetime | None
    withheld: int = 0  # what it would have earned, held for review instead
    review_reason: str | None = None
    breakdown: Breakdown = Breakdown(())  # which rule gave what (credited or withheld)


@dataclass(frozen=True)
class OrderPlan:
    redemptions: tuple[Redemption, ...]
    sessions_ended: frozenset[str]  # their holds not committed here are released
    cash: int
    earning: Earning

    @property
    def points_spent(self) -> int:
        return sum(redemption.taken for redemption in self.redemptions)

    @property
    def shortfall(self) -> int:
        return sum(redemption.short for redemption in self.redemptions)

    @property
    def committed_holds(self) -> tuple[int, ...]:
        return tuple(r.hold_id for r in self.redemptions if r.hold_id is not None)


def plan_order(
    claim: OrderClaim,
    holds: Sequence[LiveHold],
    wallet: Wallet,
    terms: EarningTerms,
    now: datetime,
) -> OrderPlan:
    """What the order redeems, spends and earns, and which checkouts it ends.

    `holds` are the account's live holds, oldest first.
    """
    backing = _backing_holds(claim, holds)
    ended = _sessions_ended(claim.session_id, backing.values())
    points = wallet.points
    redemptions: list[Redemption] = []
    for reward in claim.rewards:
        hold = backing.get(reward.id)
        if hold is not None:
            taken = max(0, min(hold.points, points))
            points -= taken
            redemptions.append(Redemption(reward.id, taken, hold.id, hold.points - taken))
    # Live holds neither committed here nor released with their checkout: other baskets'.
    committed = {hold.id for hold in backing.values()}
    reserved = sum(
        hold.points for hold in holds if hold.session_id not in ended and hold.id not in committed
    )
    for reward in claim.rewards:
        if reward.id not in backing:
            taken = max(0, min(reward.cost, points - reserved))  # reserved is never negative
            points -= taken
            redemptions.append(Redemption(reward.id, taken, None, reward.cost - taken))
    earning = earning_for(claim.purchase, wallet.lifetime_points, terms, now)
    return OrderPlan(
        tuple(redemptions), ended, max(0, min(claim.store_credit, wallet.cash)), earning
    )


def sessions_ended(
    session_id: str | None, rewards: Sequence[NamedReward], holds: Sequence[LiveHold]
) -> frozenset[str]:
    """The checkouts an order ends when it commits nothing (its cancel came first): the same
    ones it would have ended had it been recorded."""
    claim = OrderClaim(session_id, tuple(rewards))
    return _sessions_ended(session_id, _backing_holds(claim, holds).values())


def _sessions_ended(session_id: str | None, committed: Iterable[LiveHold]) -> frozenset[str]:
    if session_id:
        return frozenset((session_id,))
    return frozenset(hold.session_id for hold in committed)


def _backing_holds(claim: OrderClaim, holds: Sequence[LiveHold]) -> dict[int, LiveHold]:
    """The hold each named reward commits: its session's, else the oldest for that reward."""
    session = claim.session_id or _likely_session(claim.rewards, holds)
    backing: dict[int, LiveHold] = {}
    for reward in claim.rewards:
        same_reward = [hold for hold in holds if hold.reward_id == reward.id]
        own = [hold for hold in same_reward if hold.session_id == session]
        if own or same_reward:
            backing[reward.id] = (own or same_reward)[0]
    return backing


def _likely_session(rewards: Sequence[NamedReward], holds: Sequence[LiveHold]) -> str | None:
    """The session whose holds back the most named rewards; ties go to the oldest hold."""
    named = {reward.id for reward in rewards}
    backed: dict[str, set[int]] = {}
    for hold in holds:  # oldest first, and dicts keep that order
        if hold.reward_id in named:
            backed.setdefault(hold.session_id, set()).add(hold.reward_id)
    best = max(backed.items(), key=lambda item: len(item[1]), default=None)
    return best[0] if best else None


def earning_for(
    purchase: Purchase,
    lifetime_points: int,
    terms: EarningTerms,
    now: datetime,
) -> Earning:
    """Points by the earning rules at the tier reached before this order; or nothing and the
    reason, when the order is over the restaurant's caps (its breakdown kept for the review)."""
    tier = tier_for(lifetime_points, terms.levels)
    breakdown = earn(terms.rules, purchase, terms.decimal_digits, tier)
    points = min(breakdown.total, MAX_POINTS_PER_ORDER)
    reason = review_reason(
        breakdown.total,
        scaled_amount(purchase.paid, purchase.decimal_digits, terms.decimal_digits),
        terms.max_points_per_order,
        terms.max_order_amount,
    )
    if reason:
        return Earning(0, None, points, reason, breakdown)
    return Earning(
        points, earned_points_expire_at(terms.points_validity_days, now), 0, None, breakdown
    )


def earned_points_expire_at(validity_days: int | None, now: datetime) -> datetime | None:
    """When points earned `now` expire; None when the restaurant's points never do."""
    return now + timedelta(days=validity_days) if validity_days else None


# --- what a cancel reverses ----------------------------------------------------------------------


@dataclass(frozen=True)
class OrderEntry:
    """A ledger entry an order wrote (earn or redeem)."""

    id: int
    unit: str  # "points" | "cash"
    kind: str  # "earn" | "redeem"
    amount: int  # signed
    key: str
    reward_id: int | None = None
    breakdown: tuple[dict, ...] = ()  # an earn's parts, as stored (rules.earning.Breakdown)


@dataclass(frozen=True)
class Reversal:
    """The compensating entry for one of the order's entries."""

    entry_id: int
    unit: str
    amount: int
    key: str
    reward_id: int | None
    lifetime_delta: int  # lifetime points lose the whole earn, whatever the balance
    takes_back: bool  # points taken back: what the balance cannot cover becomes debt
    breakdown: tuple[dict, ...] = ()  # an earn's parts, each taken back


def reversals(entries: Iterable[OrderEntry]) -> list[Reversal]:
    """One compensating entry per earn or redeem entry, refunds first (then by entry id)."""
    ordered = sorted(
        (entry for entry in entries if entry.kind in ("earn", "redeem")),
        key=lambda entry: (entry.amount, entry.id),
    )
    return [
        Reversal(
            entry.id,
            entry.unit,
            -entry.amount,
            f"{entry.key}:reversal",
            entry.reward_id,
            -entry.amount if entry.kind == "earn" else 0,
            entry.unit == "points" and entry.amount > 0,
            tuple({**part, "points": -part["points"]} for part in entry.breakdown),
        )
        for entry in ordered
    ]
