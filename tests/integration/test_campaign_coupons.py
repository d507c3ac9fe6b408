"""Coupons at the till and at checkout: verify, lock (one of two wins), unlock, expire."""

from datetime import timedelta

from loyalty.extensions import db
from loyalty.models import Coupon
from loyalty.services.campaigns.coupons import (
    coupon_json,
    lock_coupon,
    unlock_coupon,
    verify_coupon,
)
from loyalty.services.campaigns.jobs import run_campaign_jobs
from loyalty.services.setup.tenants import create_tenant
from tests.support.accounts import customer
from tests.support.app import at_once
from tests.support.campaigns import NOW, coupons_of, running, welcome_series


def issued(tenant, **campaign):
    jane = customer(tenant, external_id="jane-1")
    running(tenant, welcome_series(**campaign))
    [coupon] = coupons_of(jane)
    return jane, coupon


def test_verify_reads_codes_however_typed_and_says_why_not(tenant):
    jane, coupon = issued(tenant)
    stranger = customer(tenant, external_id="stranger")
    typed = " " + coupon.code.lower()[:4] + "-" + coupon.code.lower()[4:]
    verdict = verify_coupon(tenant.id, typed, account_id=jane.id, now=NOW)
    assert (verdict.valid, verdict.reason, verdict.coupon.id) == (True, None, coupon.id)
    assert verify_coupon(tenant.id, "NOPE0", now=NOW).reason == "unknown"
    assert verify_coupon(tenant.id, coupon.code, account_id=stranger.id, now=NOW).reason == (
        "not_yours"
    )
    later = NOW + timedelta(days=30)
    assert verify_coupon(tenant.id, coupon.code, now=later).reason == "expired"
    assert coupon_json(verdict.coupon)["value"] == 500


def test_a_till_lock_blocks_others_until_unlocked_and_unlock_is_idempotent(tenant):
    _jane, coupon = issued(tenant)
    assert lock_coupon(tenant.id, coupon.code, now=NOW).valid
    again = lock_coupon(tenant.id, coupon.code, now=NOW)
    assert (again.valid, again.reason) == (False, "locked")
    assert verify_coupon(tenant.id, coupon.code, now=NOW).reason == "locked"
    assert unlock_coupon(tenant.id, coupon.code, now=NOW).valid
    assert unlock_coupon(tenant.id, coupon.code, now=NOW).valid  # nothing to unlock: fine
    assert db.session.get(Coupon, coupon.id, populate_existing=True).status == "ACTIVE"


def test_a_checkout_lock_lapses_like_a_points_hold(app, tenant):
    _jane, coupon = issued(tenant)
    assert lock_coupon(tenant.id, coupon.code, session_id="basket-1", now=NOW).valid
    # The same session may validate again; another may not, until the lock lapses.
    assert lock_coupon(tenant.id, coupon.code, session_id="basket-1", now=NOW).valid
    assert lock_coupon(tenant.id, coupon.code, session_id="basket-2", now=NOW).reason == "locked"
    lapsed = NOW + timedelta(seconds=app.config["HOLD_TTL_SECONDS"] + 1)
    assert run_campaign_jobs(lapsed).locks_released == 1
    assert db.session.get(Coupon, coupon.id, populate_existing=True).status == "ACTIVE"


def test_the_redemption_cap_makes_coupons_unusable(tenant):
    _jane, coupon = issued(tenant, maxRedemptions=0)
    assert verify_coupon(tenant.id, coupon.code, now=NOW).reason == "expired"


def test_two_tills_locking_one_coupon_at_once_one_wins(pg_app):
    tenant, _credentials = create_tenant("trattoria", "Trattoria Roma")
    _jane, coupon = issued(tenant)
    code = coupon.code
    db.session.commit()
    reasons = at_once(pg_app, lambda _till: lock_coupon(tenant.id, code, now=NOW).reason)
    assert sorted(map(str, reasons)) == ["None", "locked"]
    db.session.expire_all()
    assert db.session.get(Coupon, coupon.id).status == "LOCKED"
