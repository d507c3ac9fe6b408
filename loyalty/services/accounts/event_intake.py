"""Events an integrator posts (postEvent): relations between accounts and orders.

The whole batch is checked first (every account known, every order readable) and refused as a
whole, with nothing written, when any event is wrong. Then each event is recorded in its own
transaction by the service that owns it: relations by events.record_relation_event, orders by
checkout.orders.record_order, the very path a Deliverect order takes (earning rules, campaign
hooks, idempotent by order id). Both are idempotent, so a batch that stopped part-way (a
concurrent writer kept winning) can simply be sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ...extensions import db
from ...models import Account, AccountEvent, Tenant
from ...rules.basket import MAX_AMOUNT, Basket, BasketError, basket_from_order
from ...validation import FieldErrors
from ..checkout.orders import OrderFacts, OrderNotRecorded, OrderReport, record_order
from .events import MIRROR, record_relation_event
from .profile import resolve_merged

# Years an event time may name (as the Deliverect webhooks): anything else is garbage.
YEARS = range(1900, 2200)


@dataclass(frozen=True)
class RelationEvent:
    account: str | None  # the account's id, or
    card: str | None  # its card number
    other: str  # the other account's id (it may not have joined yet)
    type: str  # INVITED_BY | INVITED | FRIEND | UNKNOWN
    ts: datetime | None  # None: now (a retry then records again: send ts to be idempotent)
    do_not_process_symmetry: bool = False


@dataclass(frozen=True)
class OrderEvent:
    account: str | None
    card: str | None
    ts: datetime | None  # when it was ordered (None: now)
    order_id: str
    total: int  # minor units paid
    venue: str | None = None
    channel: str | None = None
    products: tuple[dict, ...] = ()  # Deliverect order lines: plu, name, price, quantity


Event = RelationEvent | OrderEvent


@dataclass(frozen=True)
class EventOutcome:
    index: int
    type: str
    account: str  # the id of the account it was recorded on (a merged one's survivor)
    duplicate: bool  # already recorded: nothing changed
    mirrored: bool = False  # a relation also written on the other account
    order: OrderFacts | None = None


class UnknownAccount(LookupError):
    """An event names no account of the tenant; `field` says which."""

    def __init__(self, field: str):
        super().__init__(f"{field}: no such account")
        self.field = field


class EventsNotRecorded(Exception):
    """Event `index` could not be recorded now (concurrent writers); `recorded` were."""

    def __init__(self, index: int, recorded: list[EventOutcome]):
        super().__init__(f"event {index} could not be recorded")
        self.index, self.recorded = index, recorded


@dataclass(frozen=True)
class _Checked:
    index: int
    event: Event
    account_id: int
    external_id: str
    basket: Basket | None = None


def record_events(tenant: Tenant, events: Sequence[Event], now: datetime) -> list[EventOutcome]:
    """Check every event, then record them in order; raises FieldErrors or UnknownAccount
    before anything is written, EventsNotRecorded when one could not be written."""
    checked = [_check(tenant, index, event) for index, event in enumerate(events)]
    outcomes: list[EventOutcome] = []
    for item in checked:
        try:
            outcomes.append(_record(tenant, item, now))
        except OrderNotRecorded:
            raise EventsNotRecorded(item.index, outcomes) from None
    return outcomes


def _check(tenant: Tenant, index: int, event: Event) -> _Checked:
    where = f"[{index}]"
    account = _account(tenant.id, event.account, event.card, where)
    if event.ts is not None and event.ts.year not in YEARS:
        raise FieldErrors({f"{where}.ts": f"must be from {YEARS.start} to {YEARS.stop - 1}"})
    if isinstance(event, RelationEvent):
        other = _by_id(tenant.id, event.other)
        if other is not None and other.id == account.id:
            raise FieldErrors({f"{where}.id": "an account cannot be related to itself"})
        return _Checked(index, event, account.id, account.external_id)
    if event.total > MAX_AMOUNT:
        raise FieldErrors({f"{where}.order.total": f"must be at most {MAX_AMOUNT} minor units"})
    try:
        basket = basket_from_order(
            {"items": list(event.products), "decimalDigits": tenant.decimal_digits}
        )
    except BasketError as error:
        raise FieldErrors(
            {
                f"{where}." + path.replace("order.items", "order.products", 1): message
                for path, message in error.errors.items()
            }
        ) from None
    return _Checked(index, event, account.id, account.external_id, basket)


def _account(tenant_id: int, external_id: str | None, card: str | None, where: str) -> Account:
    if external_id:
        account = _by_id(tenant_id, external_id)
        field = f"{where}.account"
    elif card:
        account = resolve_merged(
            db.session.scalar(
                select(Account).where(Account.tenant_id == tenant_id, Account.card == card)
            )
        )
        field = f"{where}.card"
    else:
        raise FieldErrors({f"{where}.account": "give the account's id or its card"})
    if account is None or account.erased_at is not None:
        raise UnknownAccount(field)
    return account


def _by_id(tenant_id: int, external_id: str) -> Account | None:
    return resolve_merged(
        db.session.scalar(
            select(Account).where(
                Account.tenant_id == tenant_id, Account.external_id == external_id
            )
        )
    )


def _record(tenant: Tenant, item: _Checked, now: datetime) -> EventOutcome:
    event = item.event
    if isinstance(event, RelationEvent):
        ts = event.ts or now
        duplicate = _relation_known(item.account_id, event.type, event.other, ts)
        recorded = record_relation_event(
            tenant.id,
            item.account_id,
            event.other,
            event.type,
            ts,
            event.do_not_process_symmetry,
            now=now,
        )
        mirrored = (
            not event.do_not_process_symmetry
            and event.type in MIRROR
            and recorded.related_account_id is not None
        )
        return EventOutcome(item.index, event.type, item.external_id, duplicate, mirrored)
    assert item.basket is not None
    report = OrderReport(
        external_id=event.order_id,
        account_id=item.account_id,
        payment_amount=event.total,
        decimal_digits=tenant.decimal_digits,
        basket=item.basket,
        sub_total=item.basket.items_total or event.total,
        location_id=event.venue,
        ordered_at=event.ts,
        payload={
            "source": "api",
            "orderId": event.order_id,
            "paymentAmount": event.total,
            "locationId": event.venue,
            # What ORDER states read of an order (campaigns.engine.order_facts).
            "channel": event.channel,
            "items": list(event.products),
        },
    )
    outcome = record_order(tenant, report, now)
    return EventOutcome(item.index, "ORDER", item.external_id, outcome.replay, order=outcome.order)


def _relation_known(account_id: int, type: str, other: str, ts: datetime) -> bool:
    return (
        db.session.scalar(
            select(AccountEvent.id)
            .where(
                AccountEvent.account_id == account_id,
                AccountEvent.type == type,
                AccountEvent.related_external_id == other.strip(),
                AccountEvent.ts == ts,
            )
            .limit(1)
        )
        is not None
    )
