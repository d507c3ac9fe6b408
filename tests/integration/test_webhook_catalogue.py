"""The webhooks' fast paths stay exact: cached catalogue, one-query customers, batched ledger."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from loyalty.extensions import db
from loyalty.models import Account, Hold, LedgerEntry, Tenant, utcnow
from loyalty.services.checkout import catalogue as catalogue_service
from loyalty.services.checkout.customers import (
    CustomerKeys,
    NewCustomer,
    create_customer,
    find_checkout_customer,
)
from loyalty.services.setup.rewards import (
    RewardDetails,
    archive_reward,
    create_reward,
    details_of,
    restore_reward,
    update_reward,
)
from loyalty.services.setup.tiers import TierDetails, create_tier, delete_tier, update_tier
from loyalty.services.wallet.ledger import (
    Balances,
    InsufficientBalance,
    LedgerConflict,
    Posting,
    ledger_sum,
    lock_account,
    post_new,
)
from tests.support.deliverect import basket_order, checkout_customer, item


@pytest.fixture()
def customer(tenant):
    return checkout_customer(tenant, 300, first_name="Ann", email="ann@x.com")


def version(tenant) -> int:
    return db.session.scalar(select(Tenant.catalog_version).where(Tenant.id == tenant.id))


def listed(deliverect, account) -> dict[str, dict]:
    body = {
        "sessionId": "s1",
        "order": basket_order(account.external_id, [item("PIZ-01", 1500)]),
    }
    response = deliverect.post("/programs", body, with_ids=True)
    assert response.status_code == 200, response.get_json()
    return {program["programId"]: program for program in response.get_json()}


def test_every_reward_and_tier_change_moves_the_catalogue_version(tenant):
    seen = [version(tenant)]

    def moved() -> bool:
        seen.append(version(tenant))
        return seen[-1] > seen[-2]

    reward = create_reward(tenant.id, RewardDetails("Coffee", "free_item", 100, item_plu="COF"))
    assert moved()
    update_reward(tenant.id, reward.id, replace(details_of(reward), cost=150))
    assert moved()
    archive_reward(tenant.id, reward.id)
    assert moved()
    restore_reward(tenant.id, reward.id)
    assert moved()
    gold = create_tier(tenant.id, TierDetails("Gold", 1000, 150))
    assert moved()
    update_tier(tenant.id, gold.id, TierDetails("Gold", 2000, 150))
    assert moved()
    delete_tier(tenant.id, gold.id)
    assert moved()
    create_customer(tenant.id, NewCustomer(email="bob@x.com"))
    assert not moved()  # other writes leave the cached catalogue alone


def test_programs_answer_follows_reward_changes_at_once(deliverect, tenant, customer):
    reward = create_reward(tenant.id, RewardDetails("Five off", "discount_amount", 100, value=500))
    first = listed(deliverect, customer)[reward.program_id]
    assert (first["title"], first["cost"], first["applicable"]) == ("Five off", 100, True)

    changed = replace(details_of(reward), title="Six off", value=600, cost=400)
    update_reward(tenant.id, reward.id, changed)
    changed = listed(deliverect, customer)[reward.program_id]
    assert (changed["title"], changed["discount"], changed["cost"]) == ("Six off", 600, 400)
    assert changed["applicable"] is False  # 300 points

    archive_reward(tenant.id, reward.id)
    assert reward.program_id not in listed(deliverect, customer)


def test_a_new_tier_requirement_is_applied_on_the_next_call(deliverect, tenant, customer):
    reward = create_reward(tenant.id, RewardDetails("Five off", "discount_amount", 100, value=500))
    assert listed(deliverect, customer)[reward.program_id]["applicable"] is True
    gold = create_tier(tenant.id, TierDetails("Gold", 5000, 150))
    update_reward(tenant.id, reward.id, replace(details_of(reward), min_tier_id=gold.id))
    assert listed(deliverect, customer)[reward.program_id]["applicable"] is False


def test_cached_catalogue_still_judges_the_active_window_per_call(
    deliverect, tenant, customer, monkeypatch
):
    ends = utcnow() + timedelta(hours=1)
    reward = create_reward(
        tenant.id, RewardDetails("Happy hour", "discount_amount", 100, value=500, active_to=ends)
    )
    assert listed(deliverect, customer)[reward.program_id]["applicable"] is True
    later = ends + timedelta(minutes=1)
    monkeypatch.setattr("loyalty.webhooks.views.utcnow", lambda: later)
    assert listed(deliverect, customer)[reward.program_id]["applicable"] is False


def test_another_worker_sees_a_change_through_the_version(deliverect, tenant, customer):
    """Workers share nothing but the database: a stale cache entry under an old version must
    never be served once the version moved on."""
    reward = create_reward(tenant.id, RewardDetails("Five off", "discount_amount", 100, value=500))
    listed(deliverect, customer)
    key, cached = catalogue_service._catalogues[tenant.id]
    stale = replace(cached, rewards=())  # what a worker that missed the change would hold
    catalogue_service._catalogues[tenant.id] = (key, stale)
    assert listed(deliverect, customer) == {}  # same version: the cache is trusted
    update_reward(tenant.id, reward.id, replace(details_of(reward), title="Renamed"))
    assert listed(deliverect, customer)[reward.program_id]["title"] == "Renamed"


def test_checkout_customer_comes_with_the_points_other_baskets_hold(tenant, customer):
    reward = create_reward(tenant.id, RewardDetails("Five off", "discount_amount", 100, value=500))
    now = utcnow()
    for session, points, expires in (("mine", 50, 60), ("other", 70, 60), ("old", 90, -60)):
        db.session.add(
            Hold(
                tenant_id=tenant.id,
                account_id=customer.id,
                reward_id=reward.id,
                session_id=session,
                points=points,
                expires_at=now + timedelta(seconds=expires),
            )
        )
    db.session.commit()
    keys = CustomerKeys(email="ANN@x.com")
    found = find_checkout_customer(tenant.id, keys, now, "mine")
    assert (found.id, found.points_balance, found.points_held) == (customer.id, 300, 70)
    assert find_checkout_customer(tenant.id, keys, now).points_held == 120
    assert find_checkout_customer(tenant.id, keys, now, "mine", holds=False).points_held == 0


def test_checkout_customer_follows_merges_and_skips_erased_accounts(tenant, customer):
    old = create_customer(tenant.id, NewCustomer(email="old@x.com"))
    old.merged_into_id = customer.id
    db.session.commit()
    now = utcnow()
    assert find_checkout_customer(tenant.id, CustomerKeys(email="old@x.com"), now).id == (
        customer.id
    )
    customer.erased_at = now
    db.session.commit()
    assert find_checkout_customer(tenant.id, CustomerKeys(email="old@x.com"), now) is None
    assert find_checkout_customer(tenant.id, CustomerKeys(provider_id="nobody"), now) is None


def entries(account: Account) -> int:
    return len(
        db.session.scalars(select(LedgerEntry).where(LedgerEntry.account_id == account.id)).all()
    )


def test_post_new_writes_every_entry_and_the_balances_in_one_go(tenant, customer):
    balances = lock_account(customer.id)
    assert balances == Balances(300, 0, 0)  # an adjustment, not earned: lifetime 0
    after = post_new(
        tenant.id,
        customer.id,
        balances,
        [
            Posting("points", "redeem", -100, "t:redeem", reason="Coffee"),
            Posting("points", "earn", 40, "t:earn", lifetime_delta=40),
        ],
        also={"last_order_at": utcnow()},
    )
    db.session.commit()
    assert after == Balances(240, 0, 40)
    db.session.refresh(customer)
    assert (customer.points_balance, customer.lifetime_points) == (240, 40)
    assert customer.last_order_at is not None
    assert ledger_sum(customer.id) == 240
    balance_after = db.session.scalars(
        select(LedgerEntry.balance_after)
        .where(LedgerEntry.account_id == customer.id)
        .order_by(LedgerEntry.id)
    ).all()
    assert balance_after == [300, 200, 240]


def test_post_new_never_goes_below_zero_and_writes_nothing_then(tenant, customer):
    balances = lock_account(customer.id)
    with pytest.raises(InsufficientBalance):
        post_new(
            tenant.id,
            customer.id,
            balances,
            [
                Posting("points", "earn", 10, "t:earn", lifetime_delta=10),
                Posting("points", "redeem", -311, "t:redeem"),
            ],
        )
    db.session.rollback()
    assert entries(customer) == 1 and ledger_sum(customer.id) == 300


def test_post_new_refuses_balances_that_were_not_read_under_the_lock(tenant, customer):
    lock_account(customer.id)
    with pytest.raises(LedgerConflict):
        post_new(tenant.id, customer.id, Balances(999, 0, 999), [Posting("points", "x", 1, "k")])
    db.session.rollback()
    assert entries(customer) == 1


def test_post_new_key_that_exists_fails_the_whole_transaction(tenant, customer):
    balances = lock_account(customer.id)
    with pytest.raises(IntegrityError):
        post_new(tenant.id, customer.id, balances, [Posting("points", "x", 5, "opening")])
    db.session.rollback()
    db.session.refresh(customer)
    assert customer.points_balance == 300 and entries(customer) == 1


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_and_answer_400(deliverect, constant):
    """Found by the fuzz test: Python reads them, PostgreSQL's JSON column refuses them."""
    raw = (
        f'{{"accountId": "{deliverect.ids["accountId"]}", "orderId": "o-1", "tip": {constant}}}'
    ).encode()
    response = deliverect.post("/orders/cancel", None, raw=raw)
    assert response.status_code == 400
    assert response.get_json()["description"] == f"{constant} is not a JSON number"
