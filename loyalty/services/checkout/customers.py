"""The customer of a checkout: found by however the ordering channel names them (providerId,
email or phone), read with their holds in one query for the hot paths, or signed up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from sqlalchemy import Select, and_, bindparam, case, exists, func, literal_column, or_, select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Account, Coupon, Hold, utcnow
from ..accounts.profile import (
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


@dataclass(frozen=True)
class CustomerKeys:
    """However the ordering channel names the customer: provider id first, then email, phone."""

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
    # False only when the look-up saw no ACTIVE or LOCKED coupon: the programs listing then
    # skips the coupon query and validate the release of coupon locks (most customers have
    # none). True when not looked at.
    may_have_coupons: bool = True


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
    is off: for callers that read the holds again under the account lock). The same statement
    also says whether the customer has any coupon a checkout could use or has locked."""
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
            return CheckoutCustomer(*row[:6], may_have_coupons=bool(row.may_have_coupons))
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
    coupon = Coupon.__table__.c
    # Served by ix_coupons_account_status; usable_coupons decides which ones really are.
    may_have_coupons = exists().where(
        coupon.account_id == account.id, coupon.status.in_(("ACTIVE", "LOCKED"))
    )
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
            may_have_coupons.label("may_have_coupons"),
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

    Raises AccountExists (the caller answers 409 with that profile) or FieldErrors naming the
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
