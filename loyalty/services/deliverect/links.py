"""Deliverect registrations: which tenant each Deliverect account and profile belongs to, the
refused attempts, and the tenant behind each later call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import ColumnElement, Select, bindparam, exists, select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import (
    Campaign,
    DeliverectAccount,
    DeliverectLink,
    RefusedRegistration,
    Tenant,
    utcnow,
)


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
    return _refusals_newest_first(RefusedRegistration.tenant_id == tenant_id)


def registration_attempts_on(tenant_id: int) -> list[RefusedRegistration]:
    """Other tenants' refused registrations of this tenant's Deliverect accounts."""
    return _refusals_newest_first(RefusedRegistration.owner_tenant_id == tenant_id)


def _refusals_newest_first(condition: ColumnElement[bool]) -> list[RefusedRegistration]:
    return list(
        db.session.scalars(
            select(RefusedRegistration)
            .where(condition)
            .order_by(RefusedRegistration.updated_at.desc())
        )
    )


@dataclass(frozen=True)
class LinkedTenant:
    """The tenant columns a webhook needs, read together with its link in one query.

    A plain value rather than an ORM row: the locked transactions that follow start with a
    rollback, which would expire a row and make the next attribute access load it again. It
    carries what the checkout services ask of a tenant (services.checkout.orders.OrderTenant),
    so the webhooks hand it to them as it is.
    """

    id: int
    webhook_secret: str | None
    time_zone: str  # IANA name: the earning rules' days and hours are the restaurant's
    points_validity_days: int | None
    catalog_version: int  # keys the cached catalogue (services.checkout.catalogue.catalogue)
    created_at: datetime
    # The caps above which an order is held for review (rules.order_review).
    decimal_digits: int
    max_points_per_order: int
    max_order_amount: int
    # Whether the tenant has any campaign at all: without one, an order moves no campaign
    # (no coupons, no memberships, no dynamic joins), so recording it skips the engine.
    has_campaigns: bool


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
    *columns, has_campaigns = rows[0]
    return LinkedTenant(*columns, has_campaigns=bool(has_campaigns))


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
            tenant.time_zone,
            tenant.points_validity_days,
            tenant.catalog_version,
            tenant.created_at,
            tenant.decimal_digits,
            tenant.max_points_per_order,
            tenant.max_order_amount,
            exists().where(Campaign.__table__.c.tenant_id == tenant.id).label("has_campaigns"),
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
