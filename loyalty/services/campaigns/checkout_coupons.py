"""A customer's campaign coupons at a Deliverect checkout: those it may use as programs, and
the release of a checkout session's locks on coupons it no longer asks for.

Deliverect knows a coupon as a program whose programId is the coupon's code (what the order's
discounts name, services.campaigns.coupons.coupons_used_by). Reward program ids and coupon
codes must never be the same string, or one program would both spend points and use a coupon.
Generated reward ids are the reward's row id in decimal, and a code is a prefix plus ten
characters of rules.coupons.COUPON_ALPHABET, so they only meet if a reward was imported with an
id that reads as a code. Such a coupon is left out here (so never listed, and refused as an
unknown program at validation): a reward's id, compared in capitals, always wins.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, exists, func, or_, select, update

from ...extensions import db
from ...models import Campaign, Coupon, Reward


@dataclass(frozen=True)
class CheckoutCoupon:
    """A coupon as the checkout webhooks list and validate it, detached from the session."""

    code: str
    title: str
    description: str
    coupon_type: str  # AMOUNT | PERCENT | PRODUCT
    value: int  # minor units (AMOUNT), hundredths of a percent (PERCENT)
    product: str | None
    valid_to: datetime | None
    image: str | None


def usable_coupons(
    tenant_id: int,
    account_id: int,
    session_id: str,
    now: datetime,
    codes: Collection[str] | None = None,
) -> list[CheckoutCoupon]:
    """The account's coupons this checkout session may use now (only `codes`, when given):
    ACTIVE ones, and LOCKED ones whose lock is this session's or a checkout lock that lapsed;
    not past their date, their campaign's redemption cap not spent, and no reward's program id.
    Soonest to end first. One query."""
    reward_id = exists().where(
        Reward.tenant_id == tenant_id, func.upper(Reward.program_id) == Coupon.code
    )
    query = (
        select(
            Coupon.code,
            Coupon.title,
            Coupon.description,
            Coupon.coupon_type,
            Coupon.value,
            Coupon.product,
            Coupon.valid_to,
            Coupon.image,
        )
        .join(Campaign, Campaign.id == Coupon.campaign_id)
        .where(
            Coupon.tenant_id == tenant_id,
            Coupon.account_id == account_id,
            or_(
                Coupon.status == "ACTIVE",
                and_(
                    Coupon.status == "LOCKED",
                    or_(Coupon.lock_session == session_id, Coupon.lock_expires_at <= now),
                ),
            ),
            or_(Coupon.valid_to.is_(None), Coupon.valid_to > now),
            or_(
                Campaign.max_redemptions.is_(None),
                Campaign.coupons_redeemed < Campaign.max_redemptions,
            ),
            ~reward_id,
        )
        .order_by(Coupon.valid_to.is_(None), Coupon.valid_to, Coupon.id)
    )
    if codes is not None:
        query = query.where(Coupon.code.in_(sorted(set(codes))))
    return [CheckoutCoupon(*row) for row in db.session.execute(query)]


def release_session_locks(
    tenant_id: int, account_id: int, session_id: str, keep: Collection[str], now: datetime
) -> int:
    """The session's locks on the account's coupons other than `keep` (removed from the basket,
    or no longer valid) are released: ACTIVE again, EXPIRED when past their date. In the
    caller's transaction; the number released."""
    past = and_(Coupon.valid_to.is_not(None), Coupon.valid_to <= now)
    query = update(Coupon).where(
        Coupon.tenant_id == tenant_id,
        Coupon.account_id == account_id,
        Coupon.status == "LOCKED",
        Coupon.lock_session == session_id,
    )
    if keep:
        query = query.where(Coupon.code.not_in(sorted(set(keep))))
    return db.session.execute(
        query.values(
            status=case((past, "EXPIRED"), else_="ACTIVE"),
            locked_at=None,
            lock_session=None,
            lock_expires_at=None,
        ).execution_options(synchronize_session=False)
    ).rowcount
