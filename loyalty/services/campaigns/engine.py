"""Campaign flows driven by what happens: orders placed and cancelled, accounts that change,
messages acknowledged. rules.flow decides; this module loads, locks and writes.

The hooks write in the caller's transaction and never commit: the order service calls
`on_order_placed` / `on_order_cancelled` inside its own order transaction (it already holds
the customer's account lock), so an order and what it did to the campaigns commit together or
not at all. Locks are always taken in one order (account, then memberships, then coupons, then
the campaign's counters), so hooks and the tick cannot deadlock one another.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from ...extensions import db
from ...models import Account, AccountEvent, Campaign, Coupon, Membership, MembershipEvent, Order
from ...rules import campaigns as definitions
from ...rules import coupons as coupon_rules
from ...rules import flow
from ...rules.constraints import AccountFacts, OrderFacts, matches
from ...time import utcnow
from ..wallet.ledger import lock_account
from .coupons import (
    Verdict,
    coupons_used_by,
    find_coupon,
    redeem_coupon,
    redeemable_at_till,
    restore_coupons,
    use_at_till,
    verify_coupon,
)
from .effects import (
    announce_join,
    carry_out,
    insert_ignoring_duplicates,
    move_counter,
    take_cap,
    withdraw_coupon,
    write_off,
)
from .memberships import (
    columns,
    lock_memberships,
    membership_key,
    record,
    to_rules,
)
from .selection import account_facts
from .store import get_campaign, rules_campaign

# The account event of a coupon redeemed at a till (the timeline says who redeemed it).
REDEEMED_AT_TILL = "COUPON_REDEEMED"


def running(campaign: Campaign) -> bool:
    return campaign.initialized_at is not None and campaign.finalized_at is None


def apply_event(
    campaign: Campaign,
    definition: definitions.Campaign,
    membership: Membership,
    event: flow.Event,
    now: datetime,
    order_id: int | None = None,
) -> flow.Advance:
    """Advance one (locked) membership by `event` and write what it decided."""
    current = to_rules(membership, definition)
    result = flow.advance(
        current, definition, event, now, finalised=campaign.finalized_at is not None
    )
    if result.membership is None or result.membership == current:
        return result
    record(membership, result.membership, result.transitions, order_id)
    carry_out(campaign, membership, result.effects, now, order_id)
    return result


def join(
    campaign: Campaign,
    definition: definitions.Campaign,
    account_id: int,
    now: datetime,
    facts: AccountFacts | None = None,
    joined_year: int | None = None,
) -> bool:
    """One account enters the campaign (a dynamic join, a birthday); False when it cannot
    (outside the window) or already is a member (a concurrent join won)."""
    key = membership_key(campaign.id, account_id, joined_year)
    result = flow.advance(
        None, definition, flow.Join(key, facts), now, finalised=campaign.finalized_at is not None
    )
    if result.membership is None:
        return False
    seq = len(result.transitions)
    inserted = db.session.execute(
        insert_ignoring_duplicates(Membership.__table__)
        .values(
            tenant_id=campaign.tenant_id,
            campaign_id=campaign.id,
            account_id=account_id,
            joined_year=joined_year,
            seq=seq,
            created_at=now,
            **columns(result.membership),
        )
        .returning(Membership.__table__.c.id)
    ).scalar()
    if inserted is None:
        return False
    db.session.execute(
        MembershipEvent.__table__.insert(),
        [
            {
                "tenant_id": campaign.tenant_id,
                "membership_id": inserted,
                "seq": number,
                "from_state": transition.from_state,
                "to_state": transition.to_state,
                "reason": transition.reason,
                "order_id": None,
                "at": transition.at,
            }
            for number, transition in enumerate(result.transitions, start=1)
        ],
    )
    move_counter(campaign.id, "members", 1)
    carry_out(campaign, db.session.get(Membership, inserted), result.effects, now)
    if campaign.dynamic and joined_year is None:
        announce_join(campaign, definition, inserted, account_id, key, now)
    return True


def on_order_placed(tenant_id: int, order: Order, now: datetime | None = None) -> None:
    """A recorded order: the coupons it names become USED and their members move on, then
    ORDER states count it (so the order that uses a coupon also counts for the ORDER state the
    coupon leads to: coupon -> order -> wallet completes with one order), then the account's
    changed facts are looked at (dynamic joins, ACCOUNT states). Call inside the order's
    transaction, holding the account lock; no commit."""
    if order.account_id is None or order.status != "placed":
        return
    now = now or utcnow()
    lock_account(order.account_id)
    for coupon in coupons_used_by(tenant_id, order):
        if not redeem_coupon(coupon, order, now):
            continue
        move_counter(coupon.campaign_id, "redemptions", 1)
        if coupon.membership_id is None:
            continue
        for campaign, definition, membership in _memberships(
            tenant_id, order.account_id, Membership.id == coupon.membership_id
        ):
            redeemed = flow.CouponRedeemed(coupon.code, coupon.issue_key, str(order.id))
            apply_event(campaign, definition, membership, redeemed, now, order.id)
    placed = flow.OrderPlaced(str(order.id), order_facts(order))
    for campaign, definition, membership in _memberships(tenant_id, order.account_id):
        apply_event(campaign, definition, membership, placed, now, order.id)
    on_account_changed(tenant_id, order.account_id, now)


def on_order_cancelled(tenant_id: int, order: Order, now: datetime | None = None) -> None:
    """A cancelled order is undone here too: its coupons ACTIVE again (EXPIRED when past their
    date), each member back where it stood before the order counted, and the points a WALLET
    state credited because of it written off (debt if already spent). Call inside the cancel's
    transaction, holding the account lock; no commit."""
    if order.account_id is None:
        return
    now = now or utcnow()
    lock_account(order.account_id)
    restored = restore_coupons(tenant_id, order, now)
    for coupon in restored:
        move_counter(coupon.campaign_id, "redemptions", -1)
    for campaign, definition, membership in _memberships(
        tenant_id, order.account_id, finished_too=True
    ):
        current = to_rules(membership, definition)
        reversal = flow.reverse_order(current, str(order.id))
        if reversal.membership == current:
            continue
        back = flow.Transition(current.state_id, reversal.membership.state_id, "reversed", now)
        finalised = campaign.finalized_at is not None
        record(
            membership,
            reversal.membership,
            [back],
            order.id,
            status="ended" if finalised else None,
        )
        for credit in reversal.write_off:
            write_off(campaign, membership.account_id, credit, order.id)
        for issue in reversal.withdraw:
            withdraw_coupon(membership, issue)
    _expire_restored(tenant_id, order.account_id, restored, now)


def on_account_changed(tenant_id: int, account_id: int, now: datetime | None = None) -> None:
    """The account's profile, tags, properties, counters or orders changed: ACCOUNT states
    that now match move on, and dynamic campaigns it now matches let it in. No commit."""
    now = now or utcnow()
    facts = account_facts(tenant_id, [account_id]).get(account_id)
    retired = db.session.scalar(select(Account.retired).where(Account.id == account_id))
    if facts is None or retired:
        return
    lock_account(account_id)
    changed = flow.AccountChanged(facts)
    for campaign, definition, membership in _memberships(tenant_id, account_id):
        if isinstance(definition.state(membership.state_id), definitions.AccountState):
            apply_event(campaign, definition, membership, changed, now)
    member_of = select(Membership.campaign_id).where(Membership.account_id == account_id)
    dynamic = db.session.scalars(
        select(Campaign)
        .where(
            Campaign.tenant_id == tenant_id,
            Campaign.dynamic.is_(True),
            Campaign.type == "STANDARD",
            Campaign.initialized_at.is_not(None),
            Campaign.started_at.is_not(None),
            Campaign.finalized_at.is_(None),
            Campaign.id.not_in(member_of),
        )
        .order_by(Campaign.id)
    ).all()
    for campaign in dynamic:
        definition = rules_campaign(campaign)
        if matches(definition.constraints, facts, now):
            join(campaign, definition, account_id, now, facts)


def acknowledge_message(
    tenant_id: int, account_id: int, campaign_key: str, now: datetime | None = None
) -> bool:
    """The member read the message of its current MESSAGE state: it moves on (committed).
    False when it is in no MESSAGE state of that campaign; 404 for an unknown campaign."""
    now = now or utcnow()
    campaign = get_campaign(tenant_id, campaign_key)
    lock_account(account_id)
    moved = False
    for campaign_row, definition, membership in _memberships(
        tenant_id, account_id, Membership.campaign_id == campaign.id
    ):
        result = apply_event(campaign_row, definition, membership, flow.MessageAcknowledged(), now)
        moved = moved or bool(result.transitions)
    db.session.commit()
    return moved


def redeem_at_till(tenant_id: int, code: str, now: datetime, by_user_id: int | None) -> Verdict:
    """Staff redeem a coupon at the till, without an order: the coupon becomes USED, its
    member moves on (CouponRedeemed) and the redemption is counted against the campaign's cap
    and noted on the account's timeline (COUPON_REDEEMED, by whom). Committed.

    Redeeming it again redeems nothing and answers `used`; of two tills at once one wins. A
    cap already spent answers `expired` (coupons.py), and so does the one that lost the last
    redemption to another till.
    """
    coupon = find_coupon(tenant_id, code)
    if coupon is None:
        return Verdict(False, None, coupon_rules.UNKNOWN)
    lock_account(coupon.account_id)
    db.session.refresh(coupon)
    if not redeemable_at_till(coupon, now):
        return _refused_at_till(coupon, now)
    members = []
    if coupon.membership_id is not None:
        members = list(
            _memberships(tenant_id, coupon.account_id, Membership.id == coupon.membership_id)
        )
    if not use_at_till(coupon, now):
        return _refused_at_till(coupon, now)
    if not take_cap(coupon.campaign_id, "redemptions", 1):
        db.session.rollback()
        return Verdict(False, coupon, coupon_rules.EXPIRED)
    for campaign, definition, membership in members:
        redeemed = flow.CouponRedeemed(coupon.code, coupon.issue_key)
        apply_event(campaign, definition, membership, redeemed, now)
    db.session.add(
        AccountEvent(
            tenant_id=tenant_id,
            account_id=coupon.account_id,
            type=REDEEMED_AT_TILL,
            data={"code": coupon.code, "campaign": coupon.campaign.key, "byUserId": by_user_id},
            ts=now,
        )
    )
    db.session.commit()
    return Verdict(True, coupon, None)


def _refused_at_till(coupon: Coupon, now: datetime) -> Verdict:
    db.session.rollback()
    db.session.refresh(coupon)
    verdict = verify_coupon(coupon.tenant_id, coupon.code, now=now)
    return Verdict(False, coupon, verdict.reason or coupon_rules.USED)


def order_facts(order: Order) -> OrderFacts:
    """What an ORDER state's constraints see of an order (order.total is what was paid)."""
    payload = order.payload or {}
    products = set()
    for item in payload.get("items") or ():
        if isinstance(item, dict):
            products.add(item.get("plu"))
            products.update(
                sub.get("plu") for sub in item.get("subItems") or () if isinstance(sub, dict)
            )
    channel = payload.get("channel")
    return OrderFacts(
        total=order.payment_amount or 0,
        venue=order.location_id,
        channel=str(channel) if channel is not None else None,
        order_type=str(order.order_type) if order.order_type is not None else None,
        products=frozenset(plu for plu in products if isinstance(plu, str) and plu),
    )


def _memberships(
    tenant_id: int, account_id: int, *conditions, finished_too: bool = False
) -> Iterable[tuple[Campaign, definitions.Campaign, Membership]]:
    """The account's memberships in initialised campaigns, row-locked, with their campaigns."""
    where = [
        Membership.tenant_id == tenant_id,
        Membership.account_id == account_id,
        Membership.campaign_id.in_(
            select(Campaign.id).where(
                Campaign.tenant_id == tenant_id, Campaign.initialized_at.is_not(None)
            )
        ),
        *conditions,
    ]
    if not finished_too:
        where.append(Membership.status == "active")
    rows = lock_memberships(*where)
    definitions_by_id: dict[int, definitions.Campaign] = {}
    for membership in rows:
        campaign = db.session.get(Campaign, membership.campaign_id)
        if not finished_too and not running(campaign):
            continue
        if campaign.id not in definitions_by_id:
            definitions_by_id[campaign.id] = rules_campaign(campaign)
        yield campaign, definitions_by_id[campaign.id], membership


def _expire_restored(tenant_id: int, account_id: int, coupons, now: datetime) -> None:
    """A restored coupon already past its date ends its COUPON state as an expiry would."""
    for coupon in coupons:
        if coupon.status != "EXPIRED" or coupon.membership_id is None:
            continue
        for campaign, definition, membership in _memberships(
            tenant_id, account_id, Membership.id == coupon.membership_id
        ):
            expired = flow.CouponExpired(coupon.code, coupon.issue_key)
            apply_event(campaign, definition, membership, expired, now)
