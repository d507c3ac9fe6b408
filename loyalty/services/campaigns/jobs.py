"""The campaigns' share of `loyalty tick`: snapshots, dynamic joins, birthdays, timeouts,
ACCOUNT states, coupon expiry and lapsed checkout locks.

Safe on several hosts at once: set-based entering skips accounts that are already members
(unique per campaign and account, ON CONFLICT DO NOTHING), every effect is keyed by the entry
that caused it, coupon expiry claims its rows with FOR UPDATE SKIP LOCKED, and each member is
moved under its account lock and then its own row lock taken with SKIP LOCKED (PostgreSQL), so
a member another host is moving is left to it. Work is committed in small batches, in account
order, so an interrupted run loses nothing and the next one carries on.

A birthdate set or changed shortly before the birthday does not trigger it that year
(rules.flow.birthday_due); the moment it changed is the latest account event of type
BIRTHDATE_SET (`birthdate_changed`), which whoever changes a birthdate records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import String, and_, cast, exists, extract, func, literal, or_, select

from ...extensions import db
from ...models import Account, AccountEvent, Campaign, Coupon, Membership, OutboxMessage, Tenant
from ...rules import campaigns as definitions
from ...rules import flow
from ...rules.availability import Availability, availability
from ...rules.outbox_timing import local_day_start
from ...time import zone
from ..wallet.ledger import lock_account
from .coupons import expire_due_coupons, release_expired_locks
from .effects import carry_out, send_to_member
from .engine import apply_event, join
from .lifecycle import enter_snapshot
from .memberships import lock_memberships, membership_key, record
from .selection import account_condition, account_facts, active_accounts, campaign_condition
from .store import rules_campaign

BIRTHDATE_SET = "BIRTHDATE_SET"
BATCH_SIZE = 200
# A birthday missed because no tick ran that day is still honoured this many days later.
BIRTHDAY_CATCH_UP_DAYS = 7
EXPIRY_CATCH_UP_DAYS = 30
BROADCAST_CATCH_UP = timedelta(days=1)
# Local hours of the notifications' day parts (§3.4).
DAY_PART_HOURS = {"MORNING": 9, "AFTERNOON": 14, "EVENING": 18}


@dataclass
class CampaignJobCounts:
    snapshots: int = 0  # campaigns whose initial members entered (window opened)
    joined: int = 0  # accounts that entered dynamic campaigns
    birthdays: int = 0
    timed_out: int = 0
    account_moves: int = 0  # members an ACCOUNT state let through
    coupons_expired: int = 0
    expiry_moves: int = 0  # members moved on by their coupon's expiry
    locks_released: int = 0
    expiry_reminders: int = 0  # COUPON_EXPIRATION messages queued
    broadcasts: int = 0  # SPECIFIC_TIME messages queued

    def summary(self) -> str:
        return ", ".join(
            f"{f.name.replace('_', ' ')} {getattr(self, f.name)}" for f in fields(self)
        )


def run_campaign_jobs(now: datetime) -> CampaignJobCounts:
    """One pass of every campaign job at `now`; each part commits its own batches."""
    counts = CampaignJobCounts()
    for campaign in _running_campaigns():
        definition = rules_campaign(campaign)
        if availability(definition.active_from, definition.active_to, now) is not Availability.LIVE:
            continue
        if campaign.type == "BIRTHDAY":
            counts.birthdays += _birthdays(campaign, definition, now)
        elif campaign.started_at is None or campaign.dynamic:
            first = campaign.started_at is None
            entered = enter_snapshot(campaign, definition, now)
            counts.snapshots += first
            counts.joined += 0 if first else entered
            db.session.commit()
        counts.timed_out += _timeouts(campaign, definition, now)
        counts.account_moves += _account_states(campaign, definition, now)
        counts.expiry_reminders += _expiry_reminders(campaign, definition, now)
        counts.broadcasts += _broadcasts(campaign, definition, now)
    counts.coupons_expired = expire_due_coupons(now)
    counts.expiry_moves = _coupon_expiries(now)
    counts.locks_released = release_expired_locks(now)
    return counts


def birthdate_changed(tenant_id: int, account_id: int, now: datetime) -> None:
    """Note that the account's birthdate was set or changed now (in the caller's transaction)."""
    db.session.add(
        AccountEvent(tenant_id=tenant_id, account_id=account_id, type=BIRTHDATE_SET, ts=now)
    )


def _running_campaigns() -> list[Campaign]:
    campaigns = db.session.scalars(
        select(Campaign)
        .where(Campaign.initialized_at.is_not(None), Campaign.finalized_at.is_(None))
        .order_by(Campaign.id)
    ).all()
    db.session.commit()
    return list(campaigns)


def _advance_each(
    campaign: Campaign,
    definition: definitions.Campaign,
    members: Sequence[tuple[int, int]],
    event: Callable[[Membership, flow.AccountFacts | None], flow.Event],
    now: datetime,
    *,
    with_facts: bool = False,
) -> int:
    """Apply `event(membership, facts)` to each (membership id, account id), under the account
    lock then the membership's own (skipped when another host holds it); returns moves."""
    moved = 0
    ordered = sorted(members, key=lambda member: (member[1], member[0]))
    for start in range(0, len(ordered), BATCH_SIZE):
        batch = ordered[start : start + BATCH_SIZE]
        facts = account_facts(campaign.tenant_id, [a for _m, a in batch]) if with_facts else {}
        for membership_id, account_id in batch:
            lock_account(account_id)
            locked = lock_memberships(
                Membership.id == membership_id, Membership.status == "active", skip_locked=True
            )
            if not locked:
                continue
            result = apply_event(
                campaign, definition, locked[0], event(locked[0], facts.get(account_id)), now
            )
            moved += bool(result.transitions)
        db.session.commit()
    return moved


def _timeouts(campaign: Campaign, definition: definitions.Campaign, now: datetime) -> int:
    moved = 0
    for state in definition.states:
        timeout = getattr(state, "timeout", None)
        if timeout is None:
            continue
        # entered_at + timeout <= now, read from the index on (campaign, status, state, entered).
        latest = replace(timeout, negative=not timeout.negative).shift(now)
        members = db.session.execute(
            select(Membership.id, Membership.account_id).where(
                Membership.campaign_id == campaign.id,
                Membership.status == "active",
                Membership.state_id == state.id,
                Membership.entered_at <= latest,
            )
        ).all()
        moved += _advance_each(
            campaign, definition, members, lambda _m, facts: flow.Tick(facts), now, with_facts=True
        )
    return moved


def _account_states(campaign: Campaign, definition: definitions.Campaign, now: datetime) -> int:
    """Members waiting in an ACCOUNT state whose account matches now (its constraints may read
    the clock, such as `header.lastOrder LT -P30D`)."""
    moved = 0
    for state in definition.states:
        if not isinstance(state, definitions.AccountState):
            continue
        members = db.session.execute(
            select(Membership.id, Membership.account_id)
            .join(Account, Account.id == Membership.account_id)
            .where(
                Membership.campaign_id == campaign.id,
                Membership.status == "active",
                Membership.state_id == state.id,
                active_accounts(campaign.tenant_id),
                account_condition(state.constraints, now),
            )
        ).all()
        moved += _advance_each(
            campaign, definition, members, lambda _m, facts: flow.Tick(facts), now, with_facts=True
        )
    return moved


def _coupon_expiries(now: datetime) -> int:
    """Members whose current coupon expired move on (`expiredTransitionTo`, else the end)."""
    moved = 0
    rows = db.session.execute(
        select(Membership.campaign_id, Membership.id, Membership.account_id)
        .join(
            Coupon,
            and_(
                Coupon.membership_id == Membership.id,
                Coupon.entry_seq == Membership.entry,
                Coupon.state_id == Membership.state_id,
                Coupon.created_at >= Membership.entered_at,
            ),
        )
        .join(Campaign, Campaign.id == Membership.campaign_id)
        .where(
            Membership.status == "active",
            Coupon.status == "EXPIRED",
            # Expired by date lately: read from the (status, valid_to) index, and what an
            # interrupted run left is still caught up for a month.
            Coupon.valid_to > now - timedelta(days=EXPIRY_CATCH_UP_DAYS),
            Coupon.valid_to <= now,
            Campaign.finalized_at.is_(None),
        )
        .order_by(Membership.campaign_id)
    ).all()
    db.session.commit()
    by_campaign: dict[int, list[tuple[int, int]]] = {}
    for campaign_id, membership_id, account_id in rows:
        by_campaign.setdefault(campaign_id, []).append((membership_id, account_id))
    for campaign_id, members in by_campaign.items():
        campaign = db.session.get(Campaign, campaign_id)
        definition = rules_campaign(campaign)

        def expired(membership: Membership, _facts) -> flow.Event:
            code, issue_key = db.session.execute(
                select(Coupon.code, Coupon.issue_key)
                .where(
                    Coupon.membership_id == membership.id,
                    Coupon.entry_seq == membership.entry,
                    Coupon.status == "EXPIRED",
                )
                .order_by(Coupon.id.desc())
                .limit(1)
            ).one()
            return flow.CouponExpired(code, issue_key)

        moved += _advance_each(campaign, definition, members, expired, now)
    return moved


def _expiry_reminders(campaign: Campaign, definition: definitions.Campaign, now: datetime) -> int:
    """COUPON_EXPIRATION: each ACTIVE coupon of the campaign gets one message `daysBefore` days
    before it expires, at the notification's dayPart (local time of the restaurant) on that
    day, or exactly that long before without one. It is queued from the start of that local
    day, so a coupon used by then is not reminded of."""
    reminders = [
        (number, notification)
        for number, notification in enumerate(definition.notifications)
        if notification.type == "COUPON_EXPIRATION"
    ]
    if not reminders:
        return 0
    tz = zone(db.session.scalar(select(Tenant.time_zone).where(Tenant.id == campaign.tenant_id)))
    today = now.astimezone(tz).date()
    queued = 0
    for number, notification in reminders:
        days = notification.days_before or 0
        # Expiring by the end of the local day `days` days from today: its day has come.
        horizon = local_day_start(now, tz) + timedelta(days=days + 1)
        prefix = f"campaign:{campaign.id}:coupon_expiration:{number}:{days}:"
        key = literal(prefix, String) + cast(Coupon.id, String)
        due = db.session.execute(
            select(Coupon.id, Coupon.account_id, Coupon.membership_id, Coupon.valid_to)
            .join(Account, Account.id == Coupon.account_id)
            .where(
                Coupon.campaign_id == campaign.id,
                Coupon.status == "ACTIVE",
                Coupon.valid_to > now,
                Coupon.valid_to < horizon,
                *_reachable_and_not_yet_sent(campaign.tenant_id, key),
            )
            .order_by(Coupon.id)
        ).all()
        recipients = [
            (
                membership_id,
                account_id,
                f"{prefix}{coupon_id}",
                _reminder_time(valid_to, days, notification.day_part, tz, today),
            )
            for coupon_id, account_id, membership_id, valid_to in due
        ]
        queued += _queue_for_each(campaign, notification, "coupon_expiry", recipients, now)
    return queued


def _reminder_time(
    valid_to: datetime, days: int, day_part: str | None, tz, today: date
) -> datetime:
    """When the reminder may go: `days` before `valid_to`, at the day part's local hour."""
    moment = valid_to - timedelta(days=days)
    if day_part is None:
        return moment
    day = max(moment.astimezone(tz).date(), today)
    local = datetime.combine(day, time(DAY_PART_HOURS[day_part]), tzinfo=tz).astimezone(UTC)
    return moment if local >= valid_to else local  # a late reminder goes at once


def _broadcasts(campaign: Campaign, definition: definitions.Campaign, now: datetime) -> int:
    """SPECIFIC_TIME: once `at` has come, one message to every current member (not ended, with
    marketing consent), keyed per member so a rerun queues nobody twice. Looked at for a day
    after `at` (a tick that did not run then still sends it), not after."""
    queued = 0
    for number, notification in enumerate(definition.notifications):
        if notification.type != "SPECIFIC_TIME" or notification.at is None:
            continue
        if not notification.at <= now < notification.at + BROADCAST_CATCH_UP:
            continue
        at = int(notification.at.timestamp())
        prefix = f"campaign:{campaign.id}:specific_time:{number}:{at}:"
        key = literal(prefix, String) + cast(Membership.id, String)
        members = db.session.execute(
            select(Membership.id, Membership.account_id)
            .join(Account, Account.id == Membership.account_id)
            .where(
                Membership.campaign_id == campaign.id,
                Membership.status.in_(("active", "completed")),
                *_reachable_and_not_yet_sent(campaign.tenant_id, key),
            )
            .order_by(Membership.id)
        ).all()
        recipients = [
            (membership_id, account_id, f"{prefix}{membership_id}", None)
            for membership_id, account_id in members
        ]
        queued += _queue_for_each(campaign, notification, "specific_time", recipients, now)
    return queued


def _queue_for_each(
    campaign: Campaign,
    notification: definitions.Notification,
    kind: str,
    recipients: Sequence[tuple[int, int, str, datetime | None]],
    now: datetime,
) -> int:
    """Queue the notification for each (membership id, account id, key, not before), committing
    a batch at a time; how many of them are newly queued."""
    queued = 0
    for start in range(0, len(recipients), BATCH_SIZE):
        for membership_id, account_id, key, not_before in recipients[start : start + BATCH_SIZE]:
            enqueued = send_to_member(
                campaign, membership_id, account_id, kind, notification, key, now, not_before
            )
            queued += enqueued.created
        db.session.commit()
    return queued


def _reachable_and_not_yet_sent(tenant_id: int, key) -> tuple:
    """Conditions on the account (joined as `Account`) a campaign message keyed `key` would go
    to: it may get campaign messages and has not been queued that one yet."""
    return (
        Account.marketing_consent.is_(True),
        ~Account.retired,
        ~exists().where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.idempotency_key == key),
    )


def _birthdays(campaign: Campaign, definition: definitions.Campaign, now: datetime) -> int:
    """Accounts whose birthday is today (or was in the last few days with no tick) enter,
    once per year, unless their birthdate changed just before it."""
    today = now.date()
    days = [today - timedelta(days=back) for back in range(BIRTHDAY_CATCH_UP_DAYS)]
    month_days = {(day.month, day.day) for day in days}
    if any(day.month == 2 and day.day == 28 for day in days):
        month_days.add((2, 29))  # 29 February is kept on the 28th in other years
    birthday = or_(
        *(
            and_(
                extract("month", Account.birthdate) == month,
                extract("day", Account.birthdate) == day,
            )
            for month, day in month_days
        )
    )
    year = today.year
    already = select(Membership.account_id).where(
        Membership.campaign_id == campaign.id,
        Membership.joined_year.is_not(None),
        Membership.joined_year >= year,
    )
    candidates = db.session.execute(
        select(Account.id, Account.birthdate)
        .where(
            campaign_condition(campaign.tenant_id, definition, now),
            birthday,
            Account.id.not_in(already),
        )
        .order_by(Account.id)
    ).all()
    db.session.commit()
    guard = int(current_app.config.get("BIRTHDAY_CHANGE_GUARD_DAYS", 30))
    entered = 0
    for start in range(0, len(candidates), BATCH_SIZE):
        batch = candidates[start : start + BATCH_SIZE]
        changed = _birthdates_changed(campaign.tenant_id, [a for a, _b in batch])
        facts = account_facts(campaign.tenant_id, [a for a, _b in batch])
        for account_id, birthdate in batch:
            if not _birthday_due(
                birthdate, definition, year, today, changed.get(account_id), guard
            ):
                continue
            lock_account(account_id)
            entered += _birthday_entry(campaign, definition, account_id, year, now, facts)
        db.session.commit()
    return entered


def _birthday_due(
    birthdate: date,
    definition: definitions.Campaign,
    year: int,
    today: date,
    changed_at: datetime | None,
    guard: int,
) -> bool:
    if flow.birthday_in(birthdate, year) > today:
        return False
    window = (definition.active_from, definition.active_to)
    return flow.birthday_due(birthdate, window, year, changed_at, guard)


def _birthday_entry(
    campaign: Campaign,
    definition: definitions.Campaign,
    account_id: int,
    year: int,
    now: datetime,
    facts: dict,
) -> int:
    """This year's entry: a first membership, or last year's started afresh."""
    existing = lock_memberships(
        Membership.campaign_id == campaign.id, Membership.account_id == account_id
    )
    if not existing:
        return int(join(campaign, definition, account_id, now, facts.get(account_id), year))
    row = existing[0]
    if row.joined_year is not None and row.joined_year >= year:
        return 0
    key = membership_key(campaign.id, account_id, year)
    result = flow.advance(None, definition, flow.Join(key, facts.get(account_id)), now)
    if result.membership is None:
        return 0
    # The keys carry the year, so this year's coupons and credits are new ones.
    record(row, result.membership, result.transitions, joined_year=year)
    carry_out(campaign, db.session.get(Membership, row.id), result.effects, now)
    return 1


def _birthdates_changed(tenant_id: int, account_ids: list[int]) -> dict[int, datetime]:
    return dict(
        db.session.execute(
            select(AccountEvent.account_id, func.max(AccountEvent.ts))
            .where(
                AccountEvent.tenant_id == tenant_id,
                AccountEvent.account_id.in_(account_ids),
                AccountEvent.type == BIRTHDATE_SET,
            )
            .group_by(AccountEvent.account_id)
        ).all()
    )
