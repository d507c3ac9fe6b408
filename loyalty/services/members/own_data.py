"""What a signed-in guest does with their own data: change their profile and marketing
consent, take a copy of everything kept about them, and erase their account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from ...extensions import db
from ...models import Account, AccountEvent, LedgerEntry, Order
from ...time import to_iso, to_iso_or_none
from ...validation import FieldErrors
from ..accounts.erasure import erase_account
from ..accounts.profile import Profile, update_profile
from ..campaigns.account_campaigns import account_coupons, account_memberships
from ..scoping import get_for_tenant
from ..wallet.balances import wallet_for
from .join import details_problems


@dataclass(frozen=True)
class OwnDetails:
    first_name: str
    last_name: str
    birthdate: date | None
    marketing_consent: bool


def update_own_details(
    tenant_id: int, account_id: int, details: OwnDetails, *, now: datetime
) -> Account:
    """The guest's names, birthday and marketing consent, in one transaction through
    profile.update_profile (identifiers, sex and tags stay; campaigns see the change)."""
    account = get_for_tenant(Account, account_id, tenant_id)
    first_name, last_name = details.first_name.strip(), details.last_name.strip()
    errors = details_problems(first_name, last_name, details.birthdate, now.date())
    if errors:
        raise FieldErrors(errors)
    profile = Profile(
        card=account.card,
        email=account.email,
        phone=account.phone,
        first_name=first_name,
        last_name=last_name,
        birthdate=details.birthdate,
        sex=account.sex,
        marketing_consent=details.marketing_consent,
    )
    return update_profile(tenant_id, account.id, profile, now=now)


def erase_own_account(tenant_id: int, account_id: int, *, now: datetime) -> None:
    """The team's erasure, asked for by the guest (no team member: user None). Their sign-in
    sessions end with it."""
    erase_account(tenant_id, account_id, None, now=now)


def own_data(tenant_id: int, account_id: int, now: datetime) -> dict[str, Any]:
    """Everything kept about the guest, as JSON-ready values (amounts in minor units or points,
    moments ISO 8601), named as the API names them."""
    account = get_for_tenant(Account, account_id, tenant_id)
    wallet = wallet_for(account, now)
    ledger = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.account_id == account.id)
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    )
    orders = db.session.scalars(
        select(Order)
        .where(Order.tenant_id == tenant_id, Order.account_id == account.id)
        .order_by(Order.ordered_at, Order.id)
    )
    events = db.session.scalars(
        select(AccountEvent)
        .where(AccountEvent.tenant_id == tenant_id, AccountEvent.account_id == account.id)
        .order_by(AccountEvent.ts, AccountEvent.id)
    )
    return {
        "exportedAt": to_iso(now),
        "account": {
            "id": account.external_id,
            "card": account.card,
            "email": account.email,
            "phone": account.phone,
            "firstName": account.first_name,
            "lastName": account.last_name,
            "birthdate": account.birthdate.isoformat() if account.birthdate else None,
            "sex": account.sex,
            "created": to_iso_or_none(account.created_at),
            "acceptedTermsAt": to_iso_or_none(account.accepted_tc_at),
            "marketingConsent": account.marketing_consent,
            "consents": account.consents or {},
            "tags": account.tag_names,
            "properties": account.properties or {},
        },
        "wallet": {
            "points": wallet.points_balance,
            "lifetimePoints": account.lifetime_points,
            "pointsOwed": account.points_debt,
            "credit": wallet.cash_balance,
            "pointsExpiring": [
                {"on": day.isoformat(), "points": points}
                for day, points in wallet.points_expirations
            ],
        },
        "ledger": [
            {
                "at": to_iso(entry.created_at),
                "kind": entry.kind,
                "unit": entry.unit,
                "amount": entry.amount,
                "balanceAfter": entry.balance_after,
                "reason": entry.reason,
                "expires": to_iso_or_none(entry.expires_at),
            }
            for entry in ledger
        ],
        "orders": [
            {
                "id": order.external_id,
                "displayId": order.channel_order_display_id,
                "orderedAt": to_iso(order.ordered_at),
                "status": order.status,
                "paid": order.payment_amount,
                "pointsEarned": order.points_earned,
                "pointsSpent": order.points_spent,
            }
            for order in orders
        ],
        "coupons": [
            {
                "code": coupon.code,
                "type": coupon.coupon_type,
                "value": coupon.value,
                "product": coupon.product,
                "title": coupon.title,
                "status": coupon.status,
                "validTo": to_iso_or_none(coupon.valid_to),
                "campaign": coupon.campaign_name,
            }
            for coupon in account_coupons(tenant_id, account.id)
        ],
        "campaigns": [
            {
                "campaign": membership.campaign_name,
                "state": membership.state_id,
                "status": membership.status,
                "entered": to_iso(membership.entered_at),
            }
            for membership in account_memberships(tenant_id, account.id)
        ],
        "events": [{"type": event.type, "at": to_iso(event.ts)} for event in events],
    }
