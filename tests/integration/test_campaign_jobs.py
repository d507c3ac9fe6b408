"""`loyalty tick` for campaigns: dynamic joins, birthdays, timeouts, coupon expiry, and two
ticks racing on PostgreSQL issue each coupon and credit each WALLET state once."""

from datetime import date, timedelta

from loyalty.extensions import db
from loyalty.models import AccountTag, Coupon, LedgerEntry, Membership, OutboxMessage
from loyalty.services.campaigns.jobs import birthdate_changed, run_campaign_jobs
from loyalty.services.setup.tenants import create_tenant
from tests.support.accounts import customer
from tests.support.app import at_once
from tests.support.campaigns import NOW, coupons_of, membership, running, welcome_series

LATE = [{"field": "tags.late", "op": "EXISTS", "value": []}]


def tag_behind_the_services(tenant, accounts, tag: str = "late") -> None:
    """Tags written straight to the table, as a bulk import does: only the tick notices."""
    db.session.add_all(AccountTag(account_id=a.id, tag=tag, tenant_id=tenant.id) for a in accounts)
    db.session.commit()


def test_a_dynamic_campaign_lets_in_an_account_when_it_joins(tenant):
    hello = {"type": "DYNAMIC_JOIN", "title": "You're in", "message": "A treat awaits"}
    campaign = running(tenant, welcome_series(dynamic=True, notifications=[hello]))
    newcomer = customer(tenant, external_id="newcomer", marketing_consent=True)
    assert membership(campaign, newcomer).state_id == "coupon"
    assert len(coupons_of(newcomer)) == 1
    assert run_campaign_jobs(NOW + timedelta(hours=1)).joined == 0
    assert len(coupons_of(newcomer)) == 1
    assert [m.kind for m in db.session.query(OutboxMessage)] == ["dynamic_join"]


def test_the_tick_lets_in_accounts_changed_behind_the_services(tenant):
    campaign = running(tenant, welcome_series(dynamic=True, constraints=LATE))
    jane = customer(tenant, external_id="jane")
    assert membership(campaign, jane) is None
    tag_behind_the_services(tenant, [jane])
    assert run_campaign_jobs(NOW + timedelta(hours=1)).joined == 1
    assert membership(campaign, jane).state_id == "coupon"
    assert run_campaign_jobs(NOW + timedelta(hours=2)).joined == 0
    assert len(coupons_of(jane)) == 1


def test_a_campaign_initialised_before_its_window_is_entered_by_the_first_tick_inside(tenant):
    jane = customer(tenant, external_id="jane")
    campaign = running(tenant, welcome_series(activeFrom="2026-06-10T00:00:00Z"))
    assert membership(campaign, jane) is None
    assert run_campaign_jobs(NOW + timedelta(days=2)).snapshots == 0
    assert run_campaign_jobs(NOW + timedelta(days=10)).snapshots == 1
    assert membership(campaign, jane).state_id == "coupon"


def test_an_unused_coupon_expires_and_its_member_moves_on(tenant):
    jane = customer(tenant, external_id="jane")
    series = welcome_series()
    series["states"][0]["expiredTransitionTo"] = "bonus"
    campaign = running(tenant, series)
    counts = run_campaign_jobs(NOW + timedelta(days=31))
    assert (counts.coupons_expired, counts.expiry_moves) == (1, 1)
    assert [c.status for c in coupons_of(jane)] == ["EXPIRED"]
    assert membership(campaign, jane).status == "completed"  # via bonus, a consolation
    assert db.session.query(LedgerEntry).filter_by(kind="campaign_credit").count() == 1


def test_an_order_state_times_out(tenant):
    jane = customer(tenant, external_id="jane")
    series = welcome_series(
        states=[
            {"id": "wait", "type": "ORDER", "timeout": "P7D", "timeoutTransitionTo": "nudge"},
            {"id": "nudge", "type": "MESSAGE", "title": "We miss you", "message": "Come back"},
        ]
    )
    campaign = running(tenant, series)
    assert run_campaign_jobs(NOW + timedelta(days=6)).timed_out == 0
    assert run_campaign_jobs(NOW + timedelta(days=7, minutes=1)).timed_out == 1
    assert membership(campaign, jane).state_id == "nudge"


def test_an_account_state_waits_until_the_account_matches(tenant):
    jane = customer(tenant, external_id="jane")
    series = welcome_series(
        states=[
            {
                "id": "lapsed",
                "type": "ACCOUNT",
                "constraints": [{"field": "tags.lapsed", "op": "EXISTS", "value": []}],
                "transitionTo": "gift",
            },
            {"id": "gift", "type": "WALLET", "points": 25},
        ]
    )
    campaign = running(tenant, series)
    assert run_campaign_jobs(NOW + timedelta(hours=1)).account_moves == 0
    db.session.add(AccountTag(account_id=jane.id, tag="lapsed", tenant_id=tenant.id))
    db.session.commit()
    assert run_campaign_jobs(NOW + timedelta(hours=2)).account_moves == 1
    assert membership(campaign, jane).status == "completed"
    assert db.session.query(LedgerEntry).filter_by(kind="campaign_credit").one().amount == 25


def birthday_treat(**fields) -> dict:
    return welcome_series(
        id="birthday",
        type="BIRTHDAY",
        name="Birthday treat",
        constraints=[{"field": "header.birthdate", "op": "EXISTS", "value": []}],
        states=[
            {
                "id": "treat",
                "type": "COUPON",
                "couponType": "PRODUCT",
                "product": "CAKE",
                "validDays": 14,
                "title": "A cake on us",
            }
        ],
        **fields,
    )


def test_a_birthday_enters_once_a_year_unless_the_birthdate_just_changed(tenant):
    ann = customer(tenant, external_id="ann", birthdate=date(1990, 6, 3))
    bob = customer(tenant, external_id="bob", birthdate=date(1991, 6, 3))
    birthdate_changed(tenant.id, bob.id, NOW - timedelta(days=1))
    db.session.commit()
    campaign = running(tenant, birthday_treat())
    assert run_campaign_jobs(NOW).birthdays == 0  # 1 June: not yet
    on_the_day = NOW + timedelta(days=2)
    assert run_campaign_jobs(on_the_day).birthdays == 1
    assert run_campaign_jobs(on_the_day + timedelta(hours=3)).birthdays == 0
    assert membership(campaign, ann).joined_year == 2026
    assert membership(campaign, bob) is None
    assert [c.product for c in coupons_of(ann)] == ["CAKE"]
    next_year = on_the_day.replace(year=2027)
    assert run_campaign_jobs(next_year).birthdays == 2  # bob's change is old news by then
    assert membership(campaign, ann).joined_year == 2027
    assert len(coupons_of(ann)) == 2


def test_two_ticks_racing_issue_each_coupon_and_credit_each_wallet_once(pg_app):
    tenant, _credentials = create_tenant("trattoria", "Trattoria Roma")
    coupon = {**welcome_series()["states"][0]}
    del coupon["transitionTo"]
    gift = {"id": "gift", "type": "WALLET", "points": 50, "transitionTo": "coupon"}
    running(tenant, welcome_series(dynamic=True, constraints=LATE, states=[gift, coupon]))
    late = [customer(tenant, external_id=f"late-{number}") for number in range(40)]
    tag_behind_the_services(tenant, late)
    joined = at_once(pg_app, lambda _tick: run_campaign_jobs(NOW + timedelta(hours=1)).joined)
    db.session.expire_all()
    assert sum(joined) == 40
    assert db.session.query(Membership).count() == 40
    assert db.session.query(Coupon).count() == 40
    credits = db.session.query(LedgerEntry).filter_by(kind="campaign_credit").all()
    assert len(credits) == 40 and {c.amount for c in credits} == {50}
    assert len({c.account_id for c in credits}) == 40
