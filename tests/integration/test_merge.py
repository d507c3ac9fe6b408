"""Merging duplicates: everything moves to the survivor in one transaction; old ids resolve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.models import (
    Account,
    AccountEvent,
    AccountTag,
    Hold,
    LedgerEntry,
    Order,
    Reward,
    utcnow,
)
from loyalty.services.accounts.events import record_relation_event
from loyalty.services.accounts.merge import MergeError, merge_accounts
from loyalty.services.accounts.profile import find_account
from loyalty.services.checkout.orders import OrderReport, record_order
from loyalty.services.wallet.ledger import Posting, ledger_sum, lock_account, take_back_points
from tests.support.accounts import customer, earn


@pytest.fixture()
def pair(tenant):
    survivor = customer(
        tenant, external_id="zoe", first_name="Zoë", email="zoe@example.com", tags=["vip"]
    )
    duplicate = customer(
        tenant,
        external_id="zoe-app",
        last_name="Rossi",
        card="CARD-7",
        phone="+32470000001",
        email="zoe.rossi@example.com",
        tags=["vip", "lunch"],
    )
    return survivor, duplicate


def test_ledger_orders_holds_events_and_tags_move_and_balances_come_from_the_ledger(
    tenant, owner, pair
):
    survivor, duplicate = pair
    earn(survivor, 100)
    earn(duplicate, 60)
    earn(duplicate, 300, unit="cash", kind="campaign_credit")
    record_order(tenant, OrderReport("o-1", duplicate.id), utcnow())
    order = db.session.scalar(select(Order).where(Order.external_id == "o-1"))
    reward = Reward(tenant_id=tenant.id, program_id="p1", title="Coffee", type="free_item")
    db.session.add(reward)
    db.session.flush()
    hold = Hold(
        tenant_id=tenant.id,
        account_id=duplicate.id,
        reward_id=reward.id,
        session_id="s",
        points=10,
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )
    db.session.add(hold)
    db.session.commit()
    record_relation_event(tenant.id, duplicate.id, "friend-1", "FRIEND")

    merge_accounts(tenant.id, survivor.id, duplicate.id, owner.id)

    kept = db.session.get(Account, survivor.id)
    retired = db.session.get(Account, duplicate.id)
    assert (kept.points_balance, kept.cash_balance, kept.lifetime_points) == (160, 300, 160)
    assert kept.points_balance == ledger_sum(kept.id) and kept.cash_balance == ledger_sum(
        kept.id, "cash"
    )
    assert (retired.points_balance, retired.cash_balance, retired.merged_into_id) == (0, 0, kept.id)
    assert db.session.scalar(select(func.count()).where(LedgerEntry.account_id == retired.id)) == 0
    assert db.session.get(Order, order.id).account_id == kept.id
    assert db.session.get(Hold, hold.id).account_id == kept.id
    assert kept.tag_names == ["lunch", "vip"]
    assert db.session.scalar(select(func.count()).where(AccountTag.account_id == retired.id)) == 0
    types = set(
        db.session.scalars(select(AccountEvent.type).where(AccountEvent.account_id == kept.id))
    )
    assert {"FRIEND", "MERGED"} <= types
    assert (
        db.session.scalar(select(AccountEvent.type).where(AccountEvent.account_id == retired.id))
        == "MERGED_INTO"
    )


def test_the_retired_account_still_resolves_by_its_id_email_and_card(tenant, owner, pair):
    survivor, duplicate = pair
    merge_accounts(tenant.id, survivor.id, duplicate.id, owner.id)
    for identifier in ("zoe-app", "zoe.rossi@example.com", "CARD-7", "+32 470 00 00 01"):
        assert find_account(tenant.id, identifier).id == survivor.id, identifier


def test_the_survivor_takes_what_it_was_missing_and_keeps_what_it_had(tenant, owner, pair):
    survivor, duplicate = pair
    merge_accounts(tenant.id, survivor.id, duplicate.id, owner.id)
    kept = db.session.get(Account, survivor.id)
    assert (kept.email, kept.card, kept.phone, kept.first_name, kept.last_name) == (
        "zoe@example.com",
        "CARD-7",
        "+32470000001",
        "Zoë",
        "Rossi",
    )
    assert db.session.get(Account, duplicate.id).email == "zoe.rossi@example.com"


@pytest.mark.parametrize("case", ["itself", "already merged", "erased"])
def test_impossible_merges_are_refused_and_change_nothing(tenant, owner, pair, case):
    survivor, duplicate = pair
    earn(duplicate, 10)
    if case == "itself":
        duplicate = survivor
    elif case == "already merged":
        third = customer(tenant, external_id="third")
        merge_accounts(tenant.id, third.id, duplicate.id, owner.id)
    else:
        from loyalty.services.accounts.erasure import erase_account

        erase_account(tenant.id, duplicate.id, owner.id)
    with pytest.raises(MergeError):
        merge_accounts(tenant.id, survivor.id, duplicate.id, owner.id)
    assert db.session.get(Account, survivor.id).points_balance == 0


def test_accounts_merged_earlier_follow_to_the_new_survivor(tenant, owner, pair):
    survivor, duplicate = pair
    oldest = customer(tenant, external_id="zoe-2019", card="PAPER-1")
    merge_accounts(tenant.id, duplicate.id, oldest.id, owner.id)
    merge_accounts(tenant.id, survivor.id, duplicate.id, owner.id)
    assert db.session.get(Account, oldest.id).merged_into_id == survivor.id
    assert find_account(tenant.id, "PAPER-1").id == survivor.id


def test_another_tenants_account_cannot_be_merged(tenant, other_tenant, owner, pair):
    from werkzeug.exceptions import NotFound

    stranger = customer(other_tenant, external_id="stranger")
    with pytest.raises(NotFound):
        merge_accounts(tenant.id, pair[0].id, stranger.id, owner.id)
    assert db.session.get(Account, stranger.id).merged_into_id is None


def owe(account: Account, points: int) -> None:
    """Leave `account` owing `points`, as a cancel of an order whose points were spent does."""
    lock_account(account.id)
    take_back_points(
        account.tenant_id,
        account.id,
        Posting(unit="points", kind="reversal", amount=-points, key=f"test:owe:{account.id}"),
    )
    db.session.commit()


def assert_ledger_matches(account_id: int) -> None:
    row = db.session.get(Account, account_id, populate_existing=True)
    assert row.points_balance == ledger_sum(row.id, "points") >= 0
    assert row.points_debt == ledger_sum(row.id, "debt") >= 0
    assert row.points_debt == 0 or row.points_balance == 0


def merged(tenant, owner, survivor: Account, other: Account) -> Account:
    """Merge `other` into `survivor`: the survivor as stored, its balances checked on its ledger."""
    merge_accounts(tenant.id, survivor.id, other.id, owner.id)
    assert_ledger_matches(survivor.id)
    return db.session.get(Account, survivor.id)


@pytest.mark.parametrize("debtor_survives", [False, True], ids=["debtor retired", "debtor kept"])
def test_a_merge_pays_what_either_account_owed_from_the_merged_balance(
    tenant, owner, pair, debtor_survives
):
    saver, debtor = pair
    earn(saver, 300)
    owe(debtor, 225)
    survivor, retired = (debtor, saver) if debtor_survives else (saver, debtor)

    kept = merged(tenant, owner, survivor, retired)

    assert (kept.points_balance, kept.points_debt) == (75, 0)
    assert_ledger_matches(retired.id)
    repaid = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == "debt_repayment")
    ).all()
    assert sorted((entry.unit, entry.amount, entry.user_id) for entry in repaid) == [
        ("debt", -225, owner.id),
        ("points", -225, owner.id),
    ]
    assert all(entry.account_id == kept.id for entry in repaid)


def test_a_merge_pays_only_what_the_merged_balance_covers(tenant, owner, pair):
    survivor, debtor = pair
    earn(survivor, 100)
    owe(debtor, 225)
    kept = merged(tenant, owner, survivor, debtor)
    assert (kept.points_balance, kept.points_debt) == (0, 125)


def test_merging_two_debtors_adds_up_what_they_owe(tenant, owner, pair):
    survivor, debtor = pair
    owe(survivor, 40)
    owe(debtor, 225)
    kept = merged(tenant, owner, survivor, debtor)
    assert (kept.points_balance, kept.points_debt) == (0, 265)
    assert db.session.scalar(select(func.count()).where(LedgerEntry.kind == "debt_repayment")) == 0
