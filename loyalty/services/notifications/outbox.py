"""The outbox: messages queued in the caller's transaction, delivered later by `loyalty tick`.

Delivery is at least once and safe on several hosts at once. A run claims due messages in one
short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, the database write lock on SQLite):
it holds back the campaign messages that fall in quiet hours or over the daily limit, and leases
the rest (`claimed_at`, and `next_attempt_at` pushed past the lease), so no other run takes them.
The sends happen after that commit, outside any transaction; each outcome is then written by a
conditional UPDATE, so a late or repeated outcome changes nothing. A run that dies mid-way
leaves its leased messages to be tried again when the lease ends.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import Account, NotificationSettings, OutboxMessage, PushDevice, Tenant, User
from ...models.notification import CAMPAIGN_KINDS, MESSAGE_KINDS, PUSH_PLATFORMS
from ...rules.outbox_timing import local_day_start, next_local_day, quiet_until, retry_at
from ...time import zone
from ..scoping import get_for_tenant
from .senders import Delivery, LogSender, Sender, SendFailed, SmtpSender, sender_for
from .settings import notification_settings

log = logging.getLogger(__name__)

BATCH_SIZE = 100
# Longer than a whole batch can take to send (each send times out within seconds), so no other
# run takes a message while this one is still sending it.
CLAIM_LEASE = timedelta(minutes=30)
TITLE_MAX = 256
WAITING = ("queued", "held")
NO_CONSENT = "the customer has not agreed to marketing messages"
RETIRED = "the account was merged or erased"
LATEST_SHOWN = 50

_outbox = OutboxMessage.__table__.c


@dataclass(frozen=True)
class CampaignSource:
    """The campaign (its wire id) and membership a message is sent for."""

    key: str
    membership_id: int | None = None


@dataclass(frozen=True)
class Enqueued:
    """What `enqueue` did: `message` is the queued row (the earlier one when the key was used
    before, then `created` is False), or None with `refused` saying why nothing was queued."""

    message: OutboxMessage | None
    created: bool = False
    refused: str | None = None


@dataclass
class DeliveryCounts:
    sent: int = 0
    held: int = 0  # quiet hours or the daily limit: waiting for later
    retried: int = 0  # failed this time, another attempt is scheduled
    failed: int = 0  # out of attempts, or nobody to send to


@dataclass(frozen=True)
class SenderCheck:
    sender: str  # log | smtp | webhook
    to: str
    error: str | None  # None: sent


@dataclass(frozen=True)
class _Claim:
    message_id: int
    attempts: int
    sender: Sender
    delivery: Delivery


def enqueue(
    tenant_id: int,
    account_id: int,
    kind: str,
    title: str,
    body: str,
    payload: Mapping[str, str] | None,
    idempotency_key: str,
    campaign: CampaignSource | None = None,
    *,
    now: datetime,
    not_before: datetime | None = None,
) -> Enqueued:
    """Queue a message for an account in the caller's transaction (nothing is committed).

    The same key again returns the message queued the first time. Campaign kinds are refused
    for an account without marketing consent; nothing is queued for a merged or erased account.
    `not_before` delays the first attempt (a notification at a set time).
    """
    if kind not in MESSAGE_KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    if len(title) > TITLE_MAX:
        raise ValueError(f"a message title has at most {TITLE_MAX} characters")
    existing = _by_key(tenant_id, idempotency_key)
    if existing is not None:
        return Enqueued(existing)
    account = get_for_tenant(Account, account_id, tenant_id)
    if account.retired:
        return Enqueued(None, refused=RETIRED)
    if kind in CAMPAIGN_KINDS and not account.marketing_consent:
        return Enqueued(None, refused=NO_CONSENT)
    message_id = _insert_new(
        OutboxMessage,
        ("tenant_id", "idempotency_key"),
        tenant_id=tenant_id,
        account_id=account_id,
        campaign_key=campaign.key if campaign else None,
        membership_id=campaign.membership_id if campaign else None,
        kind=kind,
        title=title,
        body=body,
        payload=dict(payload or {}),
        status="queued",
        attempts=0,
        next_attempt_at=max(now, not_before) if not_before else now,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    if message_id is None:  # another transaction queued the same key first
        return Enqueued(_by_key(tenant_id, idempotency_key))
    message = db.session.get(OutboxMessage, message_id)
    return Enqueued(message, created=True)


def deliver_due(
    now: datetime, limit: int = BATCH_SIZE, message_ids: Collection[int] | None = None
) -> DeliveryCounts:
    """Send up to `limit` due messages of every tenant (only those of `message_ids` when given:
    a one-time code sent at once); never raises (a failure is logged and the messages are tried
    again later). Returns what happened to them."""
    counts = DeliveryCounts()
    try:
        claims = _claim_due(now, limit, counts, message_ids)
    except Exception:  # the engine's tick goes on; the messages stay due for the next one
        db.session.rollback()
        log.exception("outbox: could not claim due messages")
        return DeliveryCounts()
    for claim in claims:
        failure = _send(claim.sender, claim.delivery, claim.message_id)
        try:
            _record(claim, failure, now, counts)
        except SQLAlchemyError:
            db.session.rollback()
            log.exception("outbox: could not record the outcome of message %s", claim.message_id)
    return counts


def send_test_message(tenant_id: int, user_id: int, now: datetime) -> SenderCheck:
    """Send a test message to a team member's own address through the configured sender, now,
    whatever the hour; it is listed with the other messages."""
    user = get_for_tenant(User, user_id, tenant_id)
    tenant = db.session.get(Tenant, tenant_id)
    sender = sender_for(notification_settings(tenant_id))
    key = f"test:{user.id}:{secrets.token_hex(8)}"
    title = f"Test message from {tenant.name}"
    body = (
        "This is a test of how your loyalty programme sends messages to customers. "
        "If you can read it, they can too."
    )
    delivery = Delivery(key, tenant.slug, None, user.email, "test", title, body)
    to = user.email
    db.session.commit()  # no transaction stays open while the sender waits on the network
    failure = _send(sender, delivery, None)
    db.session.add(
        OutboxMessage(
            tenant_id=tenant_id,
            kind="test",
            title=title,
            body=body,
            payload={},
            status="failed" if failure else "sent",
            attempts=1,
            next_attempt_at=now,
            sent_at=None if failure else now,
            last_error=failure.reason if failure else None,
            idempotency_key=key,
            created_at=now,
        )
    )
    db.session.commit()
    return SenderCheck(_sender_kind(sender), to, failure.reason if failure else None)


def latest_messages(tenant_id: int, limit: int = LATEST_SHOWN) -> list[OutboxMessage]:
    """The tenant's newest messages first, each with its account loaded."""
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.tenant_id == tenant_id)
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(limit)
            .options(selectinload(OutboxMessage.account))
        )
    )


def register_push_device(
    tenant_id: int, account_id: int, token: str, platform: str, now: datetime
) -> PushDevice:
    """Remember a device's push token for the account (the same token twice is one device)."""
    if platform not in PUSH_PLATFORMS:
        raise ValueError(f"unknown push platform {platform!r}")
    account = get_for_tenant(Account, account_id, tenant_id)
    query = select(PushDevice).where(PushDevice.account_id == account.id, PushDevice.token == token)
    device = db.session.scalar(query)
    if device is not None:
        return device
    device_id = _insert_new(
        PushDevice,
        ("account_id", "token"),
        tenant_id=tenant_id,
        account_id=account.id,
        token=token,
        platform=platform,
        created_at=now,
    )
    return db.session.get(PushDevice, device_id) if device_id else db.session.scalar(query)


def _insert_new(model, unique: tuple[str, ...], **values) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING: the new row's id, or None when the unique key was
    taken (on PostgreSQL, after waiting for a concurrent inserter to commit). No savepoint:
    SQLite's driver would commit the caller's transaction on releasing one."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    insert = postgresql_insert if postgres else sqlite_insert
    table = model.__table__
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(table.c.id)
    )
    return db.session.execute(statement).scalar()


def _by_key(tenant_id: int, key: str) -> OutboxMessage | None:
    return db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.tenant_id == tenant_id, OutboxMessage.idempotency_key == key
        )
    )


def _claim_due(
    now: datetime, limit: int, counts: DeliveryCounts, message_ids: Collection[int] | None
) -> list[_Claim]:
    postgres = db.session.get_bind().dialect.name == "postgresql"
    due = (
        select(OutboxMessage)
        .where(OutboxMessage.status.in_(WAITING), OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if message_ids is not None:
        due = due.where(OutboxMessage.id.in_(list(message_ids)))
    if postgres:
        due = due.with_for_update(skip_locked=True, of=OutboxMessage)
    else:
        # SQLite has no row locks: a write as the first statement takes the database write
        # lock, so every read below is current and no other run claims until we commit.
        db.session.execute(
            update(OutboxMessage.__table__).where(_outbox.id == 0).values(attempts=_outbox.attempts)
        )
    messages = list(db.session.scalars(due))
    if not messages:
        db.session.commit()
        return []
    tenant_ids = {message.tenant_id for message in messages}
    tenants = {
        tenant.id: tenant
        for tenant in db.session.scalars(select(Tenant).where(Tenant.id.in_(tenant_ids)))
    }
    settings = {
        row.tenant_id: row
        for row in db.session.scalars(
            select(NotificationSettings).where(NotificationSettings.tenant_id.in_(tenant_ids))
        )
    }
    account_ids = sorted({m.account_id for m in messages if m.account_id is not None})
    # Locked in id order, so concurrent runs wait for each other's claims for the same account
    # and the daily limit counts them.
    accounts_query = select(Account).where(Account.id.in_(account_ids)).order_by(Account.id)
    if postgres:
        accounts_query = accounts_query.with_for_update(key_share=True, of=Account)
    accounts = {account.id: account for account in db.session.scalars(accounts_query)}
    tokens: dict[int, list[str]] = {}
    for account_id, token in db.session.execute(
        select(PushDevice.account_id, PushDevice.token)
        .where(PushDevice.account_id.in_(account_ids))
        .order_by(PushDevice.id)
    ):
        tokens.setdefault(account_id, []).append(token)

    claims = []
    for message in messages:
        config = settings.get(message.tenant_id) or notification_settings(message.tenant_id)
        tenant = tenants[message.tenant_id]
        account = accounts.get(message.account_id)
        campaign = message.kind in CAMPAIGN_KINDS
        refused = _refusal(account, campaign)
        if refused:
            message.status, message.last_error, message.claimed_at = "failed", refused, None
            counts.failed += 1
            continue
        if campaign:
            release = _release_time(message, config, zone(tenant.time_zone), now)
            if release is not None:
                message.status, message.next_attempt_at = "held", release
                counts.held += 1
                continue
        message.attempts += 1
        message.claimed_at = now
        message.next_attempt_at = now + CLAIM_LEASE
        if campaign:
            db.session.flush()  # the daily limit counts this claim for the account's next ones
        delivery = Delivery(
            message_key=message.idempotency_key,
            tenant_slug=tenant.slug,
            account=account.external_id,
            email=account.email,
            kind=message.kind,
            title=message.title,
            body=message.body,
            payload=dict(message.payload or {}),
            push_tokens=tuple(tokens.get(account.id, ())),
        )
        claims.append(_Claim(message.id, message.attempts, sender_for(config), delivery))
    db.session.commit()
    return claims


def _refusal(account: Account | None, campaign: bool) -> str | None:
    """Why a message can no longer go to its account (consent may have been withdrawn since)."""
    if account is None or account.retired:
        return RETIRED
    if campaign and not account.marketing_consent:
        return NO_CONSENT
    return None


def _release_time(
    message: OutboxMessage,
    config: NotificationSettings,
    tz: ZoneInfo,
    now: datetime,
) -> datetime | None:
    """When a campaign message that may not go now may go: the end of the quiet hours, or
    the next local day once the account had its messages for today; None: it may go now."""
    start, end = config.quiet_hours_start, config.quiet_hours_end
    quiet = quiet_until(now, tz, start, end)
    if quiet is not None:
        return quiet
    limit = config.daily_campaign_limit
    if limit is None:
        return None
    if _campaign_messages_today(message, local_day_start(now, tz)) < limit:
        return None
    tomorrow = next_local_day(now, tz)
    return quiet_until(tomorrow, tz, start, end) or tomorrow


def _campaign_messages_today(message: OutboxMessage, day_start: datetime) -> int:
    """The account's other campaign messages sent since local midnight, or being sent."""
    return db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.account_id == message.account_id,
            OutboxMessage.kind.in_(CAMPAIGN_KINDS),
            OutboxMessage.id != message.id,
            or_(
                and_(OutboxMessage.status == "sent", OutboxMessage.sent_at >= day_start),
                and_(OutboxMessage.status.in_(WAITING), OutboxMessage.claimed_at.is_not(None)),
            ),
        )
    )


def _send(sender: Sender, delivery: Delivery, message_id: int | None) -> SendFailed | None:
    """The sender's failure, or None when it sent; a bug in a sender is a failure too."""
    try:
        sender.send(delivery)
    except SendFailed as failure:
        return failure
    except Exception as error:  # one message must never stop the others
        # Only the type: the text of an unexpected error may quote a setting.
        log.error("outbox: sender failed on message %s with %s", message_id, type(error).__name__)
        return SendFailed(f"unexpected error ({type(error).__name__})")
    return None


def _record(claim: _Claim, failure: SendFailed | None, now: datetime, counts: DeliveryCounts):
    """Write the outcome, unless another run already did (then this one changes nothing)."""
    still_waiting = and_(_outbox.id == claim.message_id, _outbox.status.in_(WAITING))
    if failure is None:
        values = {"status": "sent", "sent_at": now, "claimed_at": None, "last_error": None}
        statement = update(OutboxMessage.__table__).where(still_waiting).values(**values)
    else:
        retry = None if failure.permanent else retry_at(claim.attempts, now)
        values = {"claimed_at": None, "last_error": failure.reason}
        if retry is None:
            values["status"] = "failed"
        else:
            values.update(status="queued", next_attempt_at=retry)
        statement = (
            update(OutboxMessage.__table__)
            .where(still_waiting, _outbox.attempts == claim.attempts)
            .values(**values)
        )
    written = db.session.execute(statement).rowcount
    db.session.commit()
    if not written:
        return
    if failure is None:
        counts.sent += 1
    elif values["status"] == "failed":
        counts.failed += 1
    else:
        counts.retried += 1


def _sender_kind(sender: Sender) -> str:
    if isinstance(sender, SmtpSender):
        return "smtp"
    return "log" if isinstance(sender, LogSender) else "webhook"
