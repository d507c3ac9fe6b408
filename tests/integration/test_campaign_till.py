"""The services behind the campaign and coupon pages: redeeming at the till, creating a campaign,
the members of a state, a campaign's figures."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import AccountEvent, Campaign, Coupon, MembershipEvent
from loyalty.services.campaigns.coupons import lock_coupon
from loyalty.services.campaigns.engine import redeem_at_till
from loyalty.services.campaigns.lifecycle import finalise_campaign
from loyalty.services.campaigns.store import (
    campaign_members,
    campaign_summary,
    create_campaign,
    get_campaign,
)
from loyalty.services.setup.tenants import create_tenant
from loyalty.validation import CONFLICT, FieldErrors
from tests.support.accounts import customer
from tests.support.app import at_once
from tests.support.campaigns import NOW, coupons_of, membership, running, welcome_series

STAFF_ID = 7


def with_coupon(tenant, external_id="jane-1", **campaign):
    jane = customer(tenant, external_id=external_id)
    row = running(tenant, welcome_series(**campaign))
    [coupon] = coupons_of(jane)
    return jane, row, coupon


def test_redeeming_at_the_till_uses_the_coupon_and_moves_the_member_on(tenant):
    jane, row, coupon = with_coupon(tenant)
    verdict = redeem_at_till(tenant.id, coupon.code.lower(), NOW, STAFF_ID)
    assert (verdict.valid, verdict.reason) == (True, None)
    [used] = coupons_of(jane)
    assert (used.status, used.used_order_id) == ("USED", None)
    member = membership(row, jane)
    assert member.state_id == "order"
    moves = db.session.scalars(
        select(MembershipEvent.reason).where(MembershipEvent.membership_id == member.id)
    ).all()
    assert moves[-1] == "coupon_redeemed"
    assert get_campaign(tenant.id, "welcome").coupons_redeemed == 1
    [noted] = db.session.scalars(
        select(AccountEvent).where(AccountEvent.type == "COUPON_REDEEMED")
    ).all()
    assert noted.account_id == jane.id
    assert noted.data == {"code": coupon.code, "campaign": "welcome", "byUserId": STAFF_ID}


def test_redeeming_twice_redeems_once(tenant):
    jane, row, coupon = with_coupon(tenant)
    assert redeem_at_till(tenant.id, coupon.code, NOW, STAFF_ID).valid
    seq = membership(row, jane).seq
    again = redeem_at_till(tenant.id, coupon.code, NOW, STAFF_ID)
    assert (again.valid, again.reason) == (False, "used")
    assert membership(row, jane).seq == seq
    assert get_campaign(tenant.id, "welcome").coupons_redeemed == 1
    assert (
        len(
            db.session.scalars(
                select(AccountEvent.id).where(AccountEvent.type == "COUPON_REDEEMED")
            ).all()
        )
        == 1
    )


def test_a_coupon_reserved_at_the_till_is_redeemed_but_a_checkouts_is_not(tenant):
    jane = customer(tenant, external_id="jane-1")
    joe = customer(tenant, external_id="joe-1")
    running(tenant, welcome_series())
    [coupon], [other] = coupons_of(jane), coupons_of(joe)
    assert lock_coupon(tenant.id, coupon.code, now=NOW).valid
    assert redeem_at_till(tenant.id, coupon.code, NOW, STAFF_ID).valid
    assert lock_coupon(tenant.id, other.code, session_id="basket-1", now=NOW).valid
    refused = redeem_at_till(tenant.id, other.code, NOW, STAFF_ID)
    assert (refused.valid, refused.reason) == (False, "locked")
    assert db.session.get(Coupon, other.id, populate_existing=True).status == "LOCKED"


def test_expired_and_unknown_coupons_are_refused(tenant):
    _jane, _row, coupon = with_coupon(tenant)
    assert redeem_at_till(tenant.id, "NOPE-NOPE", NOW, STAFF_ID).reason == "unknown"
    late = redeem_at_till(tenant.id, coupon.code, NOW + timedelta(days=31), STAFF_ID)
    assert (late.valid, late.reason) == (False, "expired")
    assert db.session.get(Coupon, coupon.id, populate_existing=True).status == "ACTIVE"


def test_the_redemption_cap_stops_redeeming_at_the_till(tenant):
    jane = customer(tenant, external_id="jane-1")
    joe = customer(tenant, external_id="joe-1")
    running(tenant, welcome_series(maxRedemptions=1))
    [first], [second] = coupons_of(jane), coupons_of(joe)
    assert redeem_at_till(tenant.id, first.code, NOW, STAFF_ID).valid
    refused = redeem_at_till(tenant.id, second.code, NOW, STAFF_ID)
    assert (refused.valid, refused.reason) == (False, "expired")
    assert coupons_of(joe)[0].status == "ACTIVE"
    assert get_campaign(tenant.id, "welcome").coupons_redeemed == 1


def test_another_restaurants_code_is_unknown_at_the_till(tenant, other_tenant):
    _jane, _row, coupon = with_coupon(tenant)
    assert redeem_at_till(other_tenant.id, coupon.code, NOW, STAFF_ID).reason == "unknown"


@pytest.mark.postgres
def test_two_tills_redeeming_one_coupon_at_once_one_wins(pg_app):
    tenant, _credentials = create_tenant("trattoria", "Trattoria Roma")
    jane, row, coupon = with_coupon(tenant)
    code = coupon.code
    db.session.commit()
    reasons = at_once(pg_app, lambda _till: redeem_at_till(tenant.id, code, NOW, STAFF_ID).reason)
    assert sorted(map(str, reasons)) == ["None", "used"]
    assert get_campaign(tenant.id, "welcome").coupons_redeemed == 1
    assert membership(row, jane).state_id == "order"


def test_create_campaign_refuses_an_id_in_use_and_changes_nothing(tenant):
    create_campaign(tenant.id, welcome_series(name="First"), NOW)
    with pytest.raises(FieldErrors) as refused:
        create_campaign(tenant.id, welcome_series(name="Second"), NOW)
    assert refused.value.code == CONFLICT and "id" in refused.value.errors
    db.session.expire_all()
    assert get_campaign(tenant.id, "welcome").name == "First"


def test_create_campaign_saves_an_incomplete_draft(tenant):
    row = create_campaign(tenant.id, {"id": "later", "type": "STANDARD"}, NOW)
    assert (row.key, row.status) == ("later", "draft")


@pytest.mark.postgres
def test_two_creates_of_one_id_at_once_make_one_campaign(pg_app):
    tenant, _credentials = create_tenant("trattoria", "Trattoria Roma")
    db.session.commit()

    def create(number):
        try:
            create_campaign(tenant.id, welcome_series(name=f"Copy {number}"), NOW)
            return "created"
        except FieldErrors as error:
            return error.code

    outcomes = sorted(at_once(pg_app, create))
    assert outcomes == [CONFLICT, "created"]
    assert len(db.session.scalars(select(Campaign.id)).all()) == 1


def test_members_of_a_state_come_a_page_at_a_time_longest_waiting_first(tenant):
    accounts = [customer(tenant, external_id=f"guest-{n:02}") for n in range(7)]
    running(tenant, welcome_series())
    first = campaign_members(tenant.id, "welcome", "coupon", 1, per_page=5)
    second = campaign_members(tenant.id, "welcome", "coupon", 2, per_page=5)
    assert (first.total, first.pages, len(first.items), len(second.items)) == (7, 2, 5, 2)
    listed = [m.account.external_id for m in first.items + second.items]
    assert listed == [a.external_id for a in accounts]
    assert campaign_members(tenant.id, "welcome", "order", 1).total == 0


def test_the_summary_counts_members_and_coupons_issued_redeemed_and_expired(tenant):
    _jane, _row, coupon = with_coupon(tenant)
    customer(tenant, external_id="joe-1")
    customer(tenant, external_id="ann-1")
    db.session.expire_all()
    # joe and ann were created after the snapshot: a non-dynamic campaign keeps only jane.
    redeem_at_till(tenant.id, coupon.code, NOW, STAFF_ID)
    summary = campaign_summary(tenant.id, "welcome")
    assert summary.members_per_state == {"order": 1}
    assert (summary.coupons_issued, summary.coupons_redeemed, summary.coupons_expired) == (1, 1, 0)


def test_the_summary_counts_coupons_expired_by_finalising(tenant):
    with_coupon(tenant)
    finalise_campaign(tenant.id, "welcome", NOW)
    summary = campaign_summary(tenant.id, "welcome")
    assert (summary.status, summary.coupons_issued, summary.coupons_expired) == ("finalised", 1, 1)
    assert summary.members_per_state == {}
