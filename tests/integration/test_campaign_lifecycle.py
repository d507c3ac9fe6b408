"""Initialising a campaign enters every matching account set-based; caps; finalising; storing."""

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from werkzeug.exceptions import NotFound

from loyalty.extensions import db
from loyalty.models import Account, Campaign, Coupon, LedgerEntry, Membership, MembershipEvent
from loyalty.services.campaigns.lifecycle import finalise_campaign, initialise_campaign
from loyalty.services.campaigns.store import (
    campaign_json,
    delete_campaign,
    get_campaign,
    list_campaigns,
    save_campaign,
)
from loyalty.validation import FieldErrors
from tests.support.accounts import customer
from tests.support.campaigns import NOW, running, welcome_series

VIP_ONLY = [{"field": "tags.vip", "op": "EXISTS", "value": []}]


@contextmanager
def statements():
    """The INSERTs run inside the block, as (table, parameter sets); PostgreSQL's may sit in a
    WITH that counts the rows."""
    seen = []

    def note(_conn, _cursor, statement, parameters, _context, executemany):
        for table in re.findall(r"INSERT INTO (\w+)", statement):
            seen.append((table, len(parameters) if executemany else 1))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def bonus_first(**fields) -> dict:
    return welcome_series(
        id="bonus",
        states=[
            {"id": "gift", "type": "WALLET", "points": 100, "transitionTo": "thanks"},
            {"id": "thanks", "type": "MESSAGE", "title": "Thanks", "message": "Enjoy"},
        ],
        **fields,
    )


def test_initialise_enters_every_match_with_one_insert_per_table(tenant):
    vips = [customer(tenant, external_id=f"vip-{n}", tags=["vip"]) for n in range(30)]
    customer(tenant, external_id="regular")
    save_campaign(tenant.id, welcome_series(constraints=VIP_ONLY), NOW)
    with statements() as seen:
        initialise_campaign(tenant.id, "welcome", NOW, by="olivia")
    assert seen == [
        ("campaign_memberships", 1),
        ("campaign_membership_events", 1),
        ("coupons", 30),  # one executemany with the codes drawn in Python
    ]
    db.session.expire_all()
    members = db.session.query(Membership).all()
    assert sorted(m.account_id for m in members) == sorted(a.id for a in vips)
    assert {(m.state_id, m.status, m.entry) for m in members} == {("coupon", "active", 1)}
    assert db.session.query(MembershipEvent).count() == 30
    codes = {c.code for c in db.session.query(Coupon)}
    assert len(codes) == 30 and all(code.startswith("NEW") for code in codes)
    exported = campaign_json(get_campaign(tenant.id, "welcome"))
    assert (exported["initialized"], exported["initializedBy"], exported["cnt"]) == (
        True,
        "olivia",
        30,
    )
    assert exported["states"][0]["stats"] == 30


def test_initialise_refuses_an_incomplete_campaign_and_lists_why(tenant):
    draft = {"id": "later", "type": "STANDARD", "states": [{"id": "s1", "type": "COUPON"}]}
    save_campaign(tenant.id, draft, NOW)  # a draft saves incomplete
    with pytest.raises(FieldErrors) as refused:
        initialise_campaign(tenant.id, "later", NOW)
    assert {"name", "constraints", "states[0].couponType"} <= set(refused.value.errors)
    assert get_campaign(tenant.id, "later").status == "draft"


def test_a_wallet_first_state_credits_each_member_once_within_the_points_cap(tenant):
    accounts = [customer(tenant, external_id=f"guest-{n}", tags=["vip"]) for n in range(4)]
    running(tenant, bonus_first(constraints=VIP_ONLY, maxPoints=250))
    db.session.expire_all()
    credited = db.session.query(LedgerEntry).filter_by(kind="campaign_credit").all()
    assert sorted(entry.account_id for entry in credited) == [accounts[0].id, accounts[1].id]
    assert [db.session.get(Account, a.id).points_balance for a in accounts] == [100, 100, 0, 0]
    members = db.session.query(Membership).all()
    assert {m.state_id for m in members} == {"thanks"}  # the cap stops credits, not the flow
    [summary] = list_campaigns(tenant.id)
    assert db.session.get(Campaign, summary.campaign.id).points_credited == 200
    assert summary.caps_reached == ()  # 50 points are left: a smaller credit would still fit


def test_the_coupon_cap_stops_issuing_and_the_campaign_says_so(tenant):
    for n in range(5):
        customer(tenant, external_id=f"guest-{n}")
    running(tenant, welcome_series(maxCoupons=3))
    db.session.expire_all()
    assert db.session.query(Coupon).count() == 3
    [summary] = list_campaigns(tenant.id)
    assert (summary.status, summary.coupons_issued, summary.caps_reached) == (
        "running",
        3,
        ("maxCoupons",),
    )
    assert summary.members_per_state == {"coupon": 5}


def test_finalising_expires_unused_coupons_and_ends_the_members(tenant):
    customer(tenant, external_id="guest")
    running(tenant, welcome_series())
    finalise_campaign(tenant.id, "welcome", NOW)
    db.session.expire_all()
    assert [c.status for c in db.session.query(Coupon)] == ["EXPIRED"]
    assert list_campaigns(tenant.id)[0].coupons_expired == 1
    assert [m.status for m in db.session.query(Membership)] == ["ended"]
    assert campaign_json(get_campaign(tenant.id, "welcome"))["finalizedAt"] is not None
    finalise_campaign(tenant.id, "welcome", NOW)  # again: nothing changes


def test_a_running_campaign_keeps_its_state_ids_and_only_drafts_are_deleted(tenant):
    running(tenant, welcome_series())
    renamed = welcome_series()
    renamed["states"][2]["id"] = "points"
    renamed["states"][1]["transitionTo"] = "points"
    with pytest.raises(FieldErrors) as refused:
        save_campaign(tenant.id, renamed, NOW)
    assert "states" in refused.value.errors
    with pytest.raises(FieldErrors):
        delete_campaign(tenant.id, "welcome")
    save_campaign(tenant.id, welcome_series(id="draft"), NOW)
    delete_campaign(tenant.id, "draft")
    assert [s.campaign.key for s in list_campaigns(tenant.id)] == ["welcome"]


def test_another_tenants_campaign_is_not_found(tenant, other_tenant):
    save_campaign(other_tenant.id, welcome_series(), NOW)
    with pytest.raises(NotFound):
        get_campaign(tenant.id, "welcome")
