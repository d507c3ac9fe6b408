"""Coupons at the till and at checkout: find, verify, lock, unlock, redeem, restore, expire.

Every change of status is one conditional UPDATE (`... WHERE status = 'ACTIVE'`) whose row
count says who won, so two tills locking the same coupon at once get one lock and one
`locked`, on either database. A lock taken for a checkout session expires after the points-hold
time (HOLD_TTL_SECONDS) like a points hold; a lock taken at a till lasts until unlocked or used.
Once a campaign's redemption cap is spent its coupons verify as `expired` [I]: the spec's
reasons have no other word for "no longer redeemable".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, or_, select, update

from ...extensions import db
from ...models import Campaign, Coupon, Order
from ...rules import campaigns as definitions
from ...rules import coupons as rules
from ...time import to_iso_or_none, utcnow

EXPIRY_BATCH = 500


@dataclass(frozen=True)
class Verdict:
    """verifyCoupon's answer: `reason` is None when valid, else a rules.coupons reason."""

    valid: bool
    coupon: Coupon | None
    reason: str | None = None


def find_coupon(tenant_id: int, code: str) -> Coupon | None:
    """The tenant's coupon with this code, however it was typed (case, spaces, dashes)."""
    normalised = rules.normalise_code(code)
    if normalised is None:
        return None
    return db.session.scalar(
        select(Coupon).where(Coupon.tenant_id == tenant_id, Coupon.code == normalised)
    )


def coupons_of(tenant_id: int, account_id: int) -> list[Coupon]:
    """An account's coupons, newest first (the account page, ApiAccount.coupons)."""
    return list(
        db.session.scalars(
            select(Coupon)
            .where(Coupon.tenant_id == tenant_id, Coupon.account_id == account_id)
            .order_by(Coupon.created_at.desc(), Coupon.id.desc())
        )
    )


def verify_coupon(
    tenant_id: int,
    code: str,
    account_id: int | None = None,
    lock: bool = False,
    session_id: str | None = None,
    now: datetime | None = None,
) -> Verdict:
    """verifyCoupon / verifyArbitraryAccountCoupon: is the coupon usable by `account_id` (any
    account when None, at a till), and with `lock` reserve it. A lock is committed."""
    now = now or utcnow()
    coupon = find_coupon(tenant_id, code)
    reason = _refusal(coupon, account_id, session_id, now)
    if reason is not None or not lock:
        return Verdict(reason is None, coupon, reason)
    assert coupon is not None
    return _lock(coupon, session_id, now)


def lock_coupon(
    tenant_id: int,
    code: str,
    account_id: int | None = None,
    session_id: str | None = None,
    now: datetime | None = None,
) -> Verdict:
    """Reserve the coupon (till, or a checkout `session_id`); of two at once, one wins."""
    return verify_coupon(tenant_id, code, account_id, lock=True, session_id=session_id, now=now)


def unlock_coupon(
    tenant_id: int, code: str, account_id: int | None = None, now: datetime | None = None
) -> Verdict:
    """unlockArbitraryAccountCoupon: release a lock; an unlocked coupon is left as it is."""
    now = now or utcnow()
    coupon = find_coupon(tenant_id, code)
    if coupon is None:
        return Verdict(False, None, rules.UNKNOWN)
    if account_id is not None and coupon.account_id != account_id:
        return Verdict(False, None, rules.NOT_YOURS)
    db.session.execute(
        update(Coupon)
        .where(Coupon.id == coupon.id, Coupon.status == "LOCKED")
        .values(**_unlocked(now))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(coupon)
    reason = _refusal(coupon, coupon.account_id, None, now)
    return Verdict(reason is None, coupon, reason)


def redeem_coupon(coupon: Coupon, order: Order, now: datetime) -> bool:
    """The order used the coupon (locked first or not): USED, once; False if it cannot be
    (already used by another order, expired). In the caller's transaction."""
    if coupon.status == "USED":
        return False
    return _mark_used(coupon, order.id, _usable(now))


def redeemable_at_till(coupon: Coupon, now: datetime) -> bool:
    """Whether staff may redeem the coupon at a till now: valid, or reserved at a till (a lock
    a checkout session holds belongs to that order)."""
    return _refusal(coupon, None, None, now, at_till=True) is None


def use_at_till(coupon: Coupon, now: datetime) -> bool:
    """The coupon handed in at a till: USED, once; False when it cannot be (used, expired,
    reserved by a checkout). In the caller's transaction; the redemption cap is the caller's."""
    not_held_by_a_checkout = or_(
        Coupon.status == "ACTIVE",
        Coupon.lock_session.is_(None),
        Coupon.lock_expires_at <= now,
    )
    return _mark_used(coupon, None, _usable(now), not_held_by_a_checkout)


def coupons_used_by(tenant_id: int, order: Order) -> list[Coupon]:
    """The order's coupons: those its discounts name by code (Deliverect lists a coupon as a
    program whose id is its code) and those its checkout session locked."""
    payload = order.payload or {}
    codes = {
        rules.normalise_code(discount.get("programId"))
        for discount in payload.get("discounts") or ()
        if isinstance(discount, dict)
    } - {None}
    session_id = payload.get("sessionId")
    named = [Coupon.code.in_(codes)] if codes else []
    if isinstance(session_id, str) and session_id:
        named.append(and_(Coupon.status == "LOCKED", Coupon.lock_session == session_id))
    if not named or order.account_id is None:
        return []
    return list(
        db.session.scalars(
            select(Coupon)
            .where(
                Coupon.tenant_id == tenant_id,
                Coupon.account_id == order.account_id,
                or_(*named),
            )
            .order_by(Coupon.id)
            .with_for_update()
        )
    )


def restore_coupons(tenant_id: int, order: Order, now: datetime) -> list[Coupon]:
    """The cancelled order's coupons: ACTIVE again, or EXPIRED when past their date (or their
    campaign was finalised meanwhile)."""
    coupons = list(
        db.session.scalars(
            select(Coupon)
            .where(Coupon.tenant_id == tenant_id, Coupon.used_order_id == order.id)
            .order_by(Coupon.id)
            .with_for_update()
        )
    )
    for coupon in coupons:
        past = coupon.valid_to is not None and coupon.valid_to <= now
        ended = coupon.campaign.finalized_at is not None
        coupon.status = "EXPIRED" if past or ended else "ACTIVE"
        coupon.used_order_id = None
    db.session.flush()
    return coupons


def expire_coupons(condition) -> list[int]:
    """ACTIVE or LOCKED coupons matching `condition` become EXPIRED; their ids."""
    ids = list(
        db.session.scalars(
            update(Coupon)
            .where(condition, Coupon.status.in_(("ACTIVE", "LOCKED")))
            .values(status="EXPIRED", locked_at=None, lock_session=None, lock_expires_at=None)
            .returning(Coupon.id)
            .execution_options(synchronize_session=False)
        )
    )
    return ids


def expire_due_coupons(now: datetime) -> int:
    """Coupons past their date become EXPIRED, in batches; rows another worker holds are
    skipped (SKIP LOCKED) and taken by the next run. Each batch is committed."""
    total = 0
    while True:
        due = (
            select(Coupon.id)
            .where(
                Coupon.status.in_(("ACTIVE", "LOCKED")),
                Coupon.valid_to.is_not(None),
                Coupon.valid_to <= now,
            )
            .order_by(Coupon.id)
            .limit(EXPIRY_BATCH)
            .with_for_update(skip_locked=True)
        )
        ids = expire_coupons(Coupon.id.in_(due.scalar_subquery()))
        db.session.commit()
        total += len(ids)
        if len(ids) < EXPIRY_BATCH:
            return total


def release_expired_locks(now: datetime) -> int:
    """Checkout locks past their time go back to ACTIVE (or EXPIRED when past date)."""
    released = db.session.execute(
        update(Coupon)
        .where(
            Coupon.status == "LOCKED",
            Coupon.lock_expires_at.is_not(None),
            Coupon.lock_expires_at <= now,
        )
        .values(**_unlocked(now))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return released


def coupon_json(coupon: Coupon) -> dict:
    """The coupon object of the coupon endpoints (§3.5)."""
    value: int | float = coupon.value
    if coupon.coupon_type == "PERCENT":
        value = definitions.percent_to_json(coupon.value)
    return {
        "code": coupon.code,
        "campaign": coupon.campaign.key,
        "state": coupon.state_id,
        "couponType": coupon.coupon_type,
        "value": value,
        "product": coupon.product,
        "validTo": to_iso_or_none(coupon.valid_to),
        "status": coupon.status,
        "lockedAt": to_iso_or_none(coupon.locked_at),
    }


def _refusal(
    coupon: Coupon | None,
    account_id: int | None,
    session_id: str | None,
    now: datetime,
    *,
    at_till: bool = False,
) -> str | None:
    if coupon is None:
        return rules.UNKNOWN
    status = rules.CouponStatus(coupon.status)
    if status is rules.CouponStatus.LOCKED and (
        (session_id is not None and coupon.lock_session == session_id)
        or (coupon.lock_expires_at is not None and coupon.lock_expires_at <= now)
        or (at_till and coupon.lock_session is None)
    ):
        # Its own session's lock, a lapsed one, or (at a till) the till's own reservation.
        status = rules.CouponStatus.ACTIVE
    view = rules.Coupon(coupon.code, str(coupon.account_id), status, coupon.valid_to)
    owner = str(coupon.account_id if account_id is None else account_id)
    reason = rules.refusal(view, owner, now)
    if reason is None and _redemptions_spent(coupon.campaign_id):
        return rules.EXPIRED
    return reason


def _lock(coupon: Coupon, session_id: str | None, now: datetime) -> Verdict:
    expires_at = None
    if session_id is not None:
        expires_at = now + timedelta(seconds=int(current_app.config["HOLD_TTL_SECONDS"]))
    won = db.session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon.id,
            or_(
                Coupon.status == "ACTIVE",
                and_(
                    Coupon.status == "LOCKED",
                    or_(
                        Coupon.lock_expires_at <= now,
                        and_(Coupon.lock_session.is_not(None), Coupon.lock_session == session_id),
                    ),
                ),
            ),
            or_(Coupon.valid_to.is_(None), Coupon.valid_to > now),
        )
        .values(status="LOCKED", locked_at=now, lock_session=session_id, lock_expires_at=expires_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    db.session.refresh(coupon)
    if won != 1:
        return Verdict(False, coupon, _refusal(coupon, coupon.account_id, session_id, now))
    return Verdict(True, coupon, None)


def _mark_used(coupon: Coupon, order_id: int | None, *conditions) -> bool:
    """USED by `order_id` (None: at a till), lock released, if the row still meets
    `conditions`; whether it did."""
    used = db.session.execute(
        update(Coupon)
        .where(Coupon.id == coupon.id, *conditions)
        .values(
            status="USED",
            used_order_id=order_id,
            locked_at=None,
            lock_session=None,
            lock_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire(coupon)
    return used == 1


def _usable(now: datetime):
    return and_(
        Coupon.status.in_(("ACTIVE", "LOCKED")),
        or_(Coupon.valid_to.is_(None), Coupon.valid_to > now),
    )


def _unlocked(now: datetime) -> dict:
    past = and_(Coupon.valid_to.is_not(None), Coupon.valid_to <= now)
    return {
        "status": case((past, "EXPIRED"), else_="ACTIVE"),
        "locked_at": None,
        "lock_session": None,
        "lock_expires_at": None,
    }


def _redemptions_spent(campaign_id: int) -> bool:
    cap, spent = db.session.execute(
        select(Campaign.max_redemptions, Campaign.coupons_redeemed).where(
            Campaign.id == campaign_id
        )
    ).one()
    return cap is not None and spent >= cap
