"""Deliverect registrations, the tenant behind each later call, and the customer look-ups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from sqlalchemy import Select, and_, bindparam, case, func, literal_column, or_, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    Account,
    DeliverectAccount,
    DeliverectLink,
    Hold,
    RefusedRegistration,
    Tenant,
    Tier,
    utcnow,
)
from ..rules.tiers import TierLevel, requirements, tier_for
from .accounts import (
    ANY_IDENTIFIER,
    EMAIL_ONLY,
    PHONE_ONLY,
    AccountExists,
    Profile,
    add_account,
    find_account,
    find_conflict,
    identifier_keys,
    normalised,
    resolve_merged,
)
from .programs import tier_levels


class LinkTaken(Exception):
    """The Deliverect account is already registered to another tenant."""


def register_link(tenant_id: int, account_id: str, profile_id: str) -> DeliverectLink:
    """Create or refresh the link; registering again updates it and counts the registration.

    A Deliverect account belongs to the first tenant that registers it: another tenant's
    registration raises LinkTaken and is remembered, so both Integration pages can say so.
    """
    for _attempt in range(2):  # a concurrent first registration may win the unique insert
        owner = db.session.scalar(
            select(DeliverectAccount.tenant_id).where(
                DeliverectAccount.deliverect_account_id == account_id
            )
        )
        if owner is not None and owner != tenant_id:
            # Moving a restaurant's webhooks to another tenant is never done by a webhook.
            db.session.rollback()
            _remember_refusal(tenant_id, owner, account_id, profile_id)
            raise LinkTaken(account_id)
        if owner is None:
            db.session.add(DeliverectAccount(tenant_id=tenant_id, deliverect_account_id=account_id))
        link = db.session.scalar(
            select(DeliverectLink).where(
                DeliverectLink.deliverect_account_id == account_id,
                DeliverectLink.loyalty_profile_id == profile_id,
            )
        )
        if link is not None:
            link.registration_count += 1
            link.updated_at = utcnow()
        else:
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


def _remember_refusal(tenant_id: int, owner_id: int, account_id: str, profile_id: str) -> None:
    refusal = db.session.scalar(
        select(RefusedRegistration).where(
            RefusedRegistration.tenant_id == tenant_id,
            RefusedRegistration.deliverect_account_id == account_id,
        )
    )
    if refusal is None:
        db.session.add(
            RefusedRegistration(
                tenant_id=tenant_id,
                owner_tenant_id=owner_id,
                deliverect_account_id=account_id,
                loyalty_profile_id=profile_id,
            )
        )
    else:
        refusal.attempts += 1
        refusal.owner_tenant_id, refusal.loyalty_profile_id = owner_id, profile_id
        refusal.updated_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:  # the same refusal, recorded by a concurrent retry
        db.session.rollback()


def refused_registrations(tenant_id: int) -> list[RefusedRegistration]:
    """This tenant's registrations refused because another tenant owns the Deliverect account."""
    return list(
        db.session.scalars(
            select(RefusedRegistration)
            .where(RefusedRegistration.tenant_id == tenant_id)
            .order_by(RefusedRegistration.updated_at.desc())
        )
    )


def registration_attempts_on(tenant_id: int) -> list[RefusedRegistration]:
    """Other tenants' refused registrations of this tenant's Deliverect accounts."""
    return list(
        db.session.scalars(
            select(RefusedRegistration)
            .where(RefusedRegistration.owner_tenant_id == tenant_id)
            .order_by(RefusedRegistration.updated_at.desc())
        )
    )


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
    # The caps above which an order is held for review (services.orders).
    decimal_digits: int
    max_points_per_order: int
    max_order_amount: int


def tenant_for_link(account_id: str | None, profile_id: str | None) -> LinkedTenant | None:
    """The tenant a webhook is for. Some payloads (seed 001) carry only the account id: it is
    enough when all of that account's profiles belong to one tenant."""
    if not account_id and not profile_id:
        return None
    rows = db.session.execute(
        _tenant_query(bool(account_id), bool(profile_id)),
        {"account_id": account_id, "profile_id": profile_id},
    ).all()
    if len(rows) != 1:  # unknown, or the account's profiles belong to several tenants
        return None
    return LinkedTenant(*rows[0])


@cache
def _tenant_query(by_account: bool, by_profile: bool) -> Select:
    """Built once per shape (Core, bound parameters): the tenant with its link, one statement."""
    link = DeliverectLink.__table__.c
    tenant = Tenant.__table__.c
    links = select(link.tenant_id)
    if by_account:
        links = links.where(link.deliverect_account_id == bindparam("account_id"))
    if by_profile:
        links = links.where(link.loyalty_profile_id == bindparam("profile_id"))
    return (
        select(
            tenant.id,
            tenant.webhook_secret,
            tenant.points_per_unit,
            tenant.points_validity_days,
            tenant.catalog_version,
            tenant.created_at,
            tenant.decimal_digits,
            tenant.max_points_per_order,
            tenant.max_order_amount,
        )
        .where(tenant.id.in_(links))
        .limit(2)
    )


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

    def in_order(self) -> list[tuple[str, frozenset[str]]]:
        """Each given key with the columns it may match: a marketplace's providerId is whatever
        the shopper typed (any identifier); an email or phone is only that field."""
        given = ((self.provider_id, ANY_IDENTIFIER), (self.email, EMAIL_ONLY))
        return [(key, fields) for key, fields in (*given, (self.phone, PHONE_ONLY)) if key]


def find_customer(tenant_id: int, keys: CustomerKeys) -> Account | None:
    for identifier, fields in keys.in_order():
        account = find_account(tenant_id, identifier, fields)
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
    held = "none" if not holds else "all" if session_id is None else "others"
    for identifier, fields in keys.in_order():
        found = identifier_keys(identifier)
        if found is None:
            continue
        any_field = fields == ANY_IDENTIFIER
        with_email = bool(found.email) and "email" in fields
        with_phone = bool(found.phone) and "phone" in fields
        if not (any_field or with_email or with_phone):
            continue
        params = {
            "tenant_id": tenant_id,
            "text": found.text,
            "email": found.email,
            "phone": found.phone,
            "now": now,
            "session_id": session_id,
        }
        row = db.session.execute(
            _checkout_query(with_email, with_phone, held, any_field=any_field), params
        ).first()
        if row is not None and row.merged_into_id is not None:
            # Rare: an old id of a merged account. Follow it as find_account does.
            survivor = resolve_merged(db.session.get(Account, row.id))
            row = (
                db.session.execute(
                    _checkout_query(False, False, held, by_id=True),
                    {**params, "account_id": survivor.id},
                ).first()
                if survivor is not None
                else None
            )
        if row is not None and row.erased_at is None:
            return CheckoutCustomer(*row[:6])
    return None


@cache
def _checkout_query(
    with_email: bool, with_phone: bool, held: str, by_id: bool = False, any_field: bool = True
) -> Select:
    """Built once per shape (Core, bound parameters): the hot path only binds values.

    `held`: "none" (0), "all" live holds, or "others" than :session_id's. `any_field` also
    compares the account id and card (a providerId), ranked as `find_account` ranks them.
    """
    account = Account.__table__.c
    if held == "none":
        points_held = literal_column("0")
    else:
        hold = Hold.__table__.c
        query = select(func.coalesce(func.sum(hold.points), 0)).where(
            hold.account_id == account.id,
            hold.status == "held",
            hold.expires_at > bindparam("now"),
        )
        if held == "others":
            query = query.where(hold.session_id != bindparam("session_id"))
        points_held = query.scalar_subquery()
    if by_id:
        match = and_(
            account.tenant_id == bindparam("tenant_id"), account.id == bindparam("account_id")
        )
    else:
        by_text = account.external_id == bindparam("text")
        candidates, ranks = [], []
        if any_field:
            candidates += [by_text, account.card == bindparam("text")]
            ranks.append((by_text, 0))
        if with_email:
            candidates.append(account.email == bindparam("email"))
            ranks.append((candidates[-1], 1))
        if with_phone:
            candidates.append(account.phone == bindparam("phone"))
            ranks.append((candidates[-1], 2))
        match = and_(account.tenant_id == bindparam("tenant_id"), or_(*candidates))
    query = (
        select(
            account.id,
            account.tenant_id,
            account.points_balance,
            account.cash_balance,
            account.lifetime_points,
            points_held.label("points_held"),
            account.merged_into_id,
            account.erased_at,
        )
        .where(match)
        .limit(1)
    )
    return query if by_id else query.order_by(case(*ranks, else_=3))


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
