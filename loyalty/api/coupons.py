"""The coupon operations: a customer checks their own coupon; a till or back office checks,
reserves (lock) and releases (unlock) the coupon an account presents.

An unknown code, and another restaurant's, answer 200 `{valid: false, reason: "unknown"}` as
the spec's reasons say (§3.6); a coupon that is someone else's answers `not_yours` and shows
nothing of it. An account id naming no account of the restaurant is a 404.
"""

from __future__ import annotations

from ..models import Account
from ..rules.coupons import LOCKED, NOT_YOURS, UNKNOWN, USED
from ..services.accounts.profile import find_account
from ..services.campaigns.coupons import Verdict, coupon_json, unlock_coupon, verify_coupon
from . import api
from .errors import ApiError
from .operations import Access, Reply, operation
from .principal import Principal
from .schemas.coupons import AccountCouponQuery, ApiCoupon, CouponQuery, CouponVerdict, LockQuery

TILL_ROLES = ("ROLE_SU", "ROLE_LOYALTY")
BY_ACCOUNT_ID = frozenset({"id"})

VERDICT = Reply(200, "whether the coupon can be used now, and if not why", CouponVerdict)
NO_ACCOUNT = Reply(404, "no account of this restaurant has this id")


@operation(
    api,
    "verifyCoupon",
    "GET",
    "/coupon/verify",
    summary="Check one of the caller's own coupons",
    tag="coupons",
    access=Access.CUSTOMER,
    query=CouponQuery,
    replies=(VERDICT,),
)
def verify_my_coupon(principal: Principal, query: CouponQuery) -> CouponVerdict:
    """Read-only: a coupon of another customer answers `not_yours`."""
    verdict = verify_coupon(principal.tenant_id, query.coupon, account_id=principal.account_id)
    return _answer(verdict)


@operation(
    api,
    "verifyArbitraryAccountCoupon",
    "POST",
    "/coupon/verify/account",
    summary="Check the coupon an account presents, and with lock=true reserve it",
    tag="coupons",
    roles=TILL_ROLES,
    query=LockQuery,
    replies=(
        VERDICT,
        NO_ACCOUNT,
        Reply(409, "lock=true and the coupon is already locked or used"),
    ),
)
def verify_account_coupon(principal: Principal, query: LockQuery) -> CouponVerdict:
    """For a till or back office. `lock=true` reserves a valid coupon (status LOCKED) until it
    is unlocked or an order uses it; of two tills locking at once, one gets the lock and the
    other a 409."""
    account = _account(principal.tenant_id, query.account)
    verdict = verify_coupon(
        principal.tenant_id, query.coupon, account_id=account.id, lock=query.lock
    )
    if query.lock and verdict.reason in (LOCKED, USED):
        raise ApiError(409, f"the coupon is already {verdict.reason}", "coupon")
    return _answer(verdict)


@operation(
    api,
    "unlockArbitraryAccountCoupon",
    "POST",
    "/coupon/unlock/account",
    summary="Release the lock on an account's coupon (its order was cancelled)",
    tag="coupons",
    roles=TILL_ROLES,
    query=AccountCouponQuery,
    replies=(VERDICT, NO_ACCOUNT),
)
def unlock_account_coupon(principal: Principal, query: AccountCouponQuery) -> CouponVerdict:
    """Idempotent: a coupon that is not locked is left as it is and answered as it stands."""
    account = _account(principal.tenant_id, query.account)
    return _answer(unlock_coupon(principal.tenant_id, query.coupon, account_id=account.id))


def _account(tenant_id: int, account_id: str) -> Account:
    account = find_account(tenant_id, account_id, BY_ACCOUNT_ID)
    if account is None:
        raise ApiError(404, "no account of this restaurant has this id", "account")
    return account


def _answer(verdict: Verdict) -> CouponVerdict:
    hidden = verdict.coupon is None or verdict.reason in (UNKNOWN, NOT_YOURS)
    coupon = None if hidden else ApiCoupon.model_validate(coupon_json(verdict.coupon))
    return CouponVerdict(valid=verdict.valid, coupon=coupon, reason=verdict.reason)
