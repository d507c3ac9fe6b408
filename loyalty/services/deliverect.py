"""Deliverect registrations, the tenant behind each later call, and the customer look-ups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, literal, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Account, DeliverectLink, Hold, Tenant, Tier, utcnow
from ..rules.tiers import TierLevel, requirements, tier_for
from .accounts import (
    AccountExists,
    Profile,
    add_account,
    find_account,
    find_conflict,
    identifier_match,
    normalised,
    resolve_merged,
)
from .programs import tier_levels


class LinkTaken(Exception):
    """The Deliverect account/profile is already registered to another tenant."""


def register_link(tenant_id: int, account_id: str, profile_id: str) -> DeliverectLink:
    """Create or refresh the link; registering again updates it and counts the registration."""
    for _attempt in range(2):  # a concurrent first registration may win the unique insert
        link = db.session.scalar(
            select(DeliverectLink).where(
                DeliverectLink.deliverect_account_id == account_id,
                DeliverectLink.loyalty_profile_id == profile_id,
            )
        )
        if link is not None:
            if link.tenant_id != tenant_id:
                # Moving a restaurant's webhooks to another tenant is never done by a webhook.
                db.session.rollback()
                raise LinkTaken(account_id)
            link.registration_count += 1
            link.updated_at = utcnow()
            db.session.commit()
            return link
        link = DeliverectLink(
            tenant_id=tenant_id, deliverect_account_id=account_id, loyalty_profile_id=profile_id
        )
        db.session.add(link)
        try:
            db.session.commit()
            return link
        except IntegrityError:
            db.session.rollback()
    raise LinkTaken(account_id)


@dataclass(frozen=True)
class LinkedTenant:
    """The tenant columns a webhook needs, read together with its link in one query.

    A plain value rather than an ORM row: the locked transactions that follow start with a
    rollback, which would expire a row and make the next attribute access load it again.
    """

    id: int
    webhook_secret: str | None
    points_per_unit: int
    points_validity_days: int | None
    catalog_version: int  # keys the cached catalogue (services.programs.catalogue)
    created_at: datetime


_LINKED_TENANT_COLUMNS = (
    Tenant.id,
    Tenant.webhook_secret,
    Tenant.points_per_unit,
    Tenant.points_validity_days,
    Tenant.catalog_version,
    Tenant.created_at,
)


def tenant_for_link(account_id: str | None, profile_id: str | None) -> LinkedTenant | None:
    """The tenant a webhook is for. Some payloads (seed 001) carry only the account id: it is
    enough when all of that account's profiles belong to one tenant."""
    if not account_id and not profile_id:
        return None
    links = select(DeliverectLink.tenant_id)
    if account_id:
        links = links.where(DeliverectLink.deliverect_account_id == account_id)
    if profile_id:
        links = links.where(DeliverectLink.loyalty_profile_id == profile_id)
    rows = db.session.execute(
        select(*_LINKED_TENANT_COLUMNS).where(Tenant.id.in_(links)).limit(2)
    ).all()
    if len(rows) != 1:  # unknown, or the account's profiles belong to several tenants
        return None
    return LinkedTenant(*rows[0])


def links_for_tenant(tenant_id: int) -> list[DeliverectLink]:
    return list(
        db.session.scalars(
            select(DeliverectLink)
            .where(DeliverectLink.tenant_id == tenant_id)
            .order_by(DeliverectLink.updated_at.desc())
        )
    )


@dataclass(frozen=True)
class CustomerKeys:
    """However Deliverect names the customer: the provider id first, then email, then phone."""

    provider_id: str | None = None
    email: str | None = None
    phone: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.provider_id or self.email or self.phone)


def find_customer(tenant_id: int, keys: CustomerKeys) -> Account | None:
    for identifier in (keys.provider_id, keys.email, keys.phone):
        if identifier:
            account = find_account(tenant_id, identifier)
            if account is not None and account.erased_at is None:
                return account
    return None


@dataclass(frozen=True)
class CheckoutCustomer:
    """A customer as the checkout webhooks see them, read in one query with their holds.

    Balances are as of the look-up: whatever writes (validate, order) reads them again under
    the account lock.
    """

    id: int
    tenant_id: int
    points_balance: int
    cash_balance: int
    lifetime_points: int
    points_held: int  # by live holds of other checkout sessions (all sessions when none given)


def find_checkout_customer(
    tenant_id: int,
    keys: CustomerKeys,
    now: datetime,
    session_id: str | None = None,
    *,
    holds: bool = True,
) -> CheckoutCustomer | None:
    """`find_customer` (same keys, same order, merged accounts resolved, erased ones skipped)
    without loading the whole profile, and with the points other baskets hold (0 when `holds`
    is off: for callers that read the holds again under the account lock)."""
    if holds:
        held = (
            select(func.coalesce(func.sum(Hold.points), 0))
            .where(Hold.account_id == Account.id, Hold.status == "held", Hold.expires_at > now)
            .correlate(Account)
        )
        if session_id is not None:
            held = held.where(Hold.session_id != session_id)
        held_column = held.scalar_subquery()
    else:
        held_column = literal(0)
    columns = (
        Account.id,
        Account.tenant_id,
        Account.points_balance,
        Account.cash_balance,
        Account.lifetime_points,
        held_column,
        Account.merged_into_id,
        Account.erased_at,
    )
    for identifier in (keys.provider_id, keys.email, keys.phone):
        match = identifier_match(identifier)
        if match is None:
            continue
        row = db.session.execute(
            select(*columns).where(Account.tenant_id == tenant_id, match).limit(1)
        ).first()
        if row is not None and row.merged_into_id is not None:
            # Rare: an old id of a merged account. Follow it as find_account does.
            survivor = resolve_merged(db.session.get(Account, row.id))
            row = (
                db.session.execute(select(*columns).where(Account.id == survivor.id)).first()
                if survivor is not None
                else None
            )
        if row is not None and row.erased_at is None:
            return CheckoutCustomer(*row[:6])
    return None


@dataclass(frozen=True)
class NewCustomer:
    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    phone: str | None = None
    birthdate: date | None = None
    accepted_tc_at: datetime | None = None


def create_customer(tenant_id: int, details: NewCustomer) -> Account:
    """Sign a customer up from the ordering channel.

    Raises AccountExists (the caller answers 409 with that profile) or AccountError naming the
    field. Signing up through a channel means accepting its terms, hence the default timestamp.
    """
    try:
        account = add_account(
            tenant_id,
            Profile(
                email=details.email,
                phone=details.phone,
                first_name=details.first_name,
                last_name=details.last_name,
                birthdate=details.birthdate,
                accepted_tc_at=details.accepted_tc_at or utcnow(),
            ),
        )
        db.session.commit()
    except AccountExists:
        db.session.rollback()
        raise
    except IntegrityError:
        # Two sign-ups with the same email raced; the loser sees the winner's account.
        db.session.rollback()
        conflict = find_conflict(
            tenant_id, normalised(Profile(email=details.email, phone=details.phone))
        )
        if conflict is None:
            raise
        raise AccountExists(*conflict) from None
    return account


@dataclass(frozen=True)
class TierInfo:
    """A tier as Deliverect shows it: with the lifetime points that reach and leave it."""

    name: str
    description: str
    media_url: str | None
    min_lifetime_points: int
    max_lifetime_points: int | None


def tiers(tenant_id: int) -> list[TierInfo]:
    """The tenant's tiers, lowest first."""
    levels = tier_levels(tenant_id)
    rows = {
        tier.id: tier
        for tier in db.session.scalars(select(Tier).where(Tier.tenant_id == tenant_id))
    }
    return [_tier_info(rows[level.tier_id], low, high) for level, low, high in requirements(levels)]


def customer_tier(account: Account, levels: list[TierLevel] | None = None) -> TierInfo | None:
    levels = tier_levels(account.tenant_id) if levels is None else levels
    reached = tier_for(account.lifetime_points, levels)
    if reached is None:
        return None
    for level, low, high in requirements(levels):
        if level.tier_id == reached.tier_id:
            return _tier_info(db.session.get(Tier, level.tier_id), low, high)
    return None


def _tier_info(tier: Tier, low: int, high: int | None) -> TierInfo:
    return TierInfo(tier.name, tier.description or "", tier.media_url, low, high)
