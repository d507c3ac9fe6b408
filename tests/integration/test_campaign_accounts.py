"""Account changes drive campaigns: profile, tags, properties and referrals let accounts into
dynamic campaigns and through ACCOUNT states; merging moves memberships and coupons; erasing
keeps the campaigns' figures and drops the person."""

from datetime import date, timedelta

from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import AccountEvent, Coupon, Membership, MembershipEvent
from loyalty.services.accounts.erasure import erase_account
from loyalty.services.accounts.events import record_relation_event
from loyalty.services.accounts.merge import merge_accounts
from loyalty.services.accounts.profile import Profile, update_profile
from loyalty.services.accounts.tags import set_tags_and_properties
from loyalty.services.campaigns.engine import redeem_at_till
from loyalty.services.campaigns.jobs import BIRTHDATE_SET, run_campaign_jobs
from loyalty.services.campaigns.store import campaign_summary, get_campaign
from tests.support.accounts import customer
from tests.support.campaigns import NOW, coupons_of, membership, running, welcome_series

USER_ID = 1


def dynamic(key: str, *constraints: dict, **fields) -> dict:
    return welcome_series(id=key, dynamic=True, constraints=list(constraints), **fields)


def exists(field: str) -> dict:
    return {"field": field, "op": "EXISTS", "value": []}


def waiting_for(constraint: dict) -> dict:
    """Everyone enters; an ACCOUNT state lets them on to 40 points once they match."""
    return welcome_series(
        id="waiting",
        states=[
            {"id": "wait", "type": "ACCOUNT", "constraints": [constraint], "transitionTo": "gift"},
            {"id": "gift", "type": "WALLET", "points": 40},
        ],
    )


def history(member: Membership) -> list[tuple]:
    return [
        (event.from_state, event.to_state, event.reason)
        for event in db.session.scalars(
            select(MembershipEvent)
            .where(MembershipEvent.membership_id == member.id)
            .order_by(MembershipEvent.seq)
        )
    ]


# --- account changes


def test_a_tag_set_by_the_team_lets_the_account_into_a_dynamic_campaign_at_once(tenant):
    jane = customer(tenant, external_id="jane")
    campaign = running(tenant, dynamic("vips", exists("tags.vip")))
    assert membership(campaign, jane) is None
    set_tags_and_properties(tenant.id, jane.id, ["vip"], {}, now=NOW)
    assert membership(campaign, jane).state_id == "coupon"
    assert len(coupons_of(jane)) == 1
    assert get_campaign(tenant.id, "vips").cnt == 1


def test_a_property_moves_a_member_through_an_account_state(tenant):
    jane = customer(tenant, external_id="jane")
    campaign = running(
        tenant, waiting_for({"field": "properties.favourite", "op": "EQ", "value": ["pizza"]})
    )
    set_tags_and_properties(tenant.id, jane.id, [], {"favourite": "pasta"}, now=NOW)
    assert membership(campaign, jane).state_id == "wait"
    set_tags_and_properties(tenant.id, jane.id, [], {"favourite": "pizza"}, now=NOW)
    assert membership(campaign, jane).status == "completed"
    assert jane.points_balance == 40


def test_a_profile_edit_lets_the_account_in(tenant):
    jane = customer(tenant, external_id="jane")
    campaign = running(tenant, dynamic("named", exists("header.firstName")))
    update_profile(tenant.id, jane.id, Profile(first_name="Jane"), now=NOW)
    assert membership(campaign, jane).state_id == "coupon"


def test_a_new_account_that_matches_joins_a_dynamic_campaign(tenant):
    campaign = running(tenant, dynamic("vips", exists("tags.vip")))
    vip = customer(tenant, external_id="vip", tags=["vip"])
    other = customer(tenant, external_id="other")
    assert membership(campaign, vip).state_id == "coupon"
    assert membership(campaign, other) is None


def test_an_invitation_counts_as_a_referral_for_the_inviter(tenant):
    ann = customer(tenant, external_id="ann")
    bob = customer(tenant, external_id="bob")
    referrals = {"field": "counters.referrals", "op": "GTE", "value": ["1"]}
    campaign = running(tenant, dynamic("referrers", referrals))
    # Bob says Ann invited him: the mirror INVITED event is Ann's.
    record_relation_event(tenant.id, bob.id, "ann", "INVITED_BY", NOW, now=NOW)
    assert membership(campaign, ann).state_id == "coupon"
    assert membership(campaign, bob) is None
    record_relation_event(tenant.id, bob.id, "carla-not-yet-joined", "INVITED", NOW, now=NOW)
    assert membership(campaign, bob).state_id == "coupon"


def test_a_birthdate_set_or_changed_is_noted_and_an_unchanged_one_is_not(tenant):
    jane = customer(tenant, external_id="jane", first_name="Jane")

    def noted() -> list:
        return db.session.scalars(
            select(AccountEvent.ts).where(
                AccountEvent.account_id == jane.id, AccountEvent.type == BIRTHDATE_SET
            )
        ).all()

    update_profile(tenant.id, jane.id, Profile(first_name="Janet"), now=NOW)
    assert noted() == []
    update_profile(tenant.id, jane.id, Profile(birthdate=date(1990, 6, 20)), now=NOW)
    assert noted() == [NOW]
    later = NOW + timedelta(days=1)
    update_profile(tenant.id, jane.id, Profile(birthdate=date(1990, 6, 20)), now=later)
    assert noted() == [NOW]
    update_profile(tenant.id, jane.id, Profile(birthdate=date(1990, 6, 21)), now=later)
    assert noted() == [NOW, later]


def test_a_birthdate_typed_just_before_the_birthday_does_not_bring_the_treat(tenant):
    jane = customer(tenant, external_id="jane")
    campaign = running(
        tenant,
        welcome_series(
            id="birthday",
            type="BIRTHDAY",
            constraints=[exists("header.birthdate")],
        ),
    )
    update_profile(tenant.id, jane.id, Profile(birthdate=date(1990, 6, 3)), now=NOW)
    assert run_campaign_jobs(NOW + timedelta(days=2)).birthdays == 0
    assert membership(campaign, jane) is None


# --- merging


def test_merging_moves_memberships_and_coupons_to_the_survivor(tenant):
    zoe = customer(tenant, external_id="zoe")
    duplicate = customer(tenant, external_id="zoe-app", tags=["app"])
    campaign = running(tenant, welcome_series(constraints=[exists("tags.app")]))
    [coupon] = coupons_of(duplicate)
    merge_accounts(tenant.id, zoe.id, duplicate.id, USER_ID, now=NOW)
    moved = membership(campaign, zoe)
    assert moved is not None and membership(campaign, duplicate) is None
    assert [c.code for c in coupons_of(zoe)] == [coupon.code]
    # The moved membership still owns its coupon: redeeming it moves Zoë on.
    assert redeem_at_till(tenant.id, coupon.code, NOW, USER_ID).valid
    assert membership(campaign, zoe).state_id == "order"
    assert get_campaign(tenant.id, "welcome").cnt == 1


def test_when_both_were_members_the_survivor_keeps_its_own_and_gets_the_coupons(tenant):
    zoe = customer(tenant, external_id="zoe")
    duplicate = customer(tenant, external_id="zoe-app")
    campaign = running(tenant, welcome_series())
    [kept] = coupons_of(zoe)
    [extra] = coupons_of(duplicate)
    merge_accounts(tenant.id, zoe.id, duplicate.id, USER_ID, now=NOW)
    assert sorted(c.code for c in coupons_of(zoe)) == sorted([kept.code, extra.code])
    assert {c.status for c in coupons_of(zoe)} == {"ACTIVE"}
    ended = membership(campaign, duplicate)
    assert ended.status == "ended" and history(ended) == [(None, "coupon", "join")]
    assert membership(campaign, zoe).status == "active"
    summary = campaign_summary(tenant.id, "welcome")
    assert summary.members_per_state == {"coupon": 1} and summary.campaign.cnt == 1
    assert summary.coupons_issued == 2
    # Either coupon is Zoë's to use; her own moves her on.
    assert redeem_at_till(tenant.id, extra.code, NOW, USER_ID).valid
    assert membership(campaign, zoe).state_id == "coupon"
    assert redeem_at_till(tenant.id, kept.code, NOW, USER_ID).valid
    assert membership(campaign, zoe).state_id == "order"


def test_after_a_merge_the_survivor_joins_what_it_now_matches(tenant):
    zoe = customer(tenant, external_id="zoe")
    duplicate = customer(tenant, external_id="zoe-app")
    campaign = running(tenant, dynamic("vips", exists("tags.vip")))
    db.session.expire_all()
    set_tags_and_properties(tenant.id, duplicate.id, ["vip"], {}, now=NOW)
    merge_accounts(tenant.id, zoe.id, duplicate.id, USER_ID, now=NOW)
    assert membership(campaign, zoe).state_id == "coupon"
    assert membership(campaign, duplicate) is None


# --- erasure


def test_erasing_keeps_the_counts_and_expires_the_coupons(tenant):
    jane = customer(tenant, external_id="jane", first_name="Jane")
    customer(tenant, external_id="joe")
    campaign = running(tenant, welcome_series())
    [_joes] = [c for c in db.session.scalars(select(Coupon)) if c.account_id != jane.id]
    erase_account(tenant.id, jane.id, USER_ID, now=NOW)
    erased = membership(campaign, jane)
    assert erased is not None and erased.status == "ended"
    assert erased.progress == {"entries": 1}
    assert history(erased) == [(None, "coupon", "join")]
    assert [c.status for c in coupons_of(jane)] == ["EXPIRED"]
    summary = campaign_summary(tenant.id, "welcome")
    assert summary.campaign.cnt == 2
    assert (summary.coupons_issued, summary.coupons_expired) == (2, 1)
    assert summary.members_per_state == {"coupon": 1}


def test_an_erased_member_is_moved_by_nothing_any_more(tenant):
    jane = customer(tenant, external_id="jane")
    series = welcome_series(
        states=[
            {"id": "wait", "type": "ORDER", "timeout": "P7D", "timeoutTransitionTo": "gift"},
            {"id": "gift", "type": "WALLET", "points": 10},
        ]
    )
    campaign = running(tenant, series)
    erase_account(tenant.id, jane.id, USER_ID, now=NOW)
    assert run_campaign_jobs(NOW + timedelta(days=8)).timed_out == 0
    assert membership(campaign, jane).state_id == "wait"
