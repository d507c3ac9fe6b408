"""Points adjustments: reason required, never below zero, once per form, and safe under races."""

from __future__ import annotations

import threading

import pytest

from loyalty.extensions import db
from loyalty.models import Account, LedgerEntry
from loyalty.services.wallet.adjustments import adjust_points, new_adjustment_token
from loyalty.services.wallet.ledger import ledger_sum
from loyalty.validation import FieldErrors
from tests.support.accounts import customer, earn


@pytest.fixture()
def zoe(tenant):
    return customer(tenant, external_id="zoe")


def test_a_credit_counts_towards_lifetime_points_and_a_debit_takes_it_back(tenant, staff, zoe):
    adjust_points(tenant.id, zoe.id, 80, "missed order", staff.id, new_adjustment_token())
    adjust_points(
        tenant.id, zoe.id, -30, "free coffee at the counter", staff.id, new_adjustment_token()
    )
    account = db.session.get(Account, zoe.id)
    assert (account.points_balance, account.lifetime_points) == (50, 50)


@pytest.mark.parametrize(
    ("amount", "reason", "token", "message"),
    [
        (10, "  ", None, "reason"),
        (0, "nothing", None, "other than zero"),
        (10_000_001, "a lot", None, "At most"),
        (10, "fine", "short", "expired"),
        (-1, "too much", None, "cannot go below zero"),
    ],
)
def test_bad_adjustments_are_refused_and_write_nothing(
    tenant, staff, zoe, amount, reason, token, message
):
    with pytest.raises(FieldErrors, match=message):
        adjust_points(tenant.id, zoe.id, amount, reason, staff.id, token or new_adjustment_token())
    assert ledger_sum(zoe.id) == 0 and db.session.query(LedgerEntry).count() == 0


def test_the_same_form_adjusts_once_and_says_so(tenant, staff, zoe):
    token = new_adjustment_token()
    first = adjust_points(tenant.id, zoe.id, 25, "stamps", staff.id, token)
    again = adjust_points(tenant.id, zoe.id, 25, "stamps", staff.id, token)
    assert not first.repeated and again.repeated and first.entry.id == again.entry.id
    assert ledger_sum(zoe.id) == 25


def test_a_form_token_cannot_be_replayed_on_another_account(tenant, staff, zoe):
    other = customer(tenant, external_id="other")
    token = new_adjustment_token()
    adjust_points(tenant.id, zoe.id, 25, "stamps", staff.id, token)
    with pytest.raises(FieldErrors, match="another account"):
        adjust_points(tenant.id, other.id, 25, "stamps", staff.id, token)
    assert ledger_sum(other.id) == 0


def test_a_retired_account_cannot_be_adjusted(tenant, staff, owner, zoe):
    from loyalty.services.accounts.merge import merge_accounts

    survivor = customer(tenant, external_id="survivor")
    merge_accounts(tenant.id, survivor.id, zoe.id, owner.id)
    with pytest.raises(FieldErrors, match="retired"):
        adjust_points(tenant.id, zoe.id, 5, "x", staff.id, new_adjustment_token())


def race(app, jobs) -> list[object]:
    """Run each job in its own thread, app context and database session, all at once."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(index, job):
        with app.app_context():
            barrier.wait()
            try:
                results[index] = job()
            except Exception as error:  # noqa: BLE001 - the test inspects what each racer got
                results[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_debits_racing_on_one_account_cannot_overdraw_it(app, tenant, staff, zoe):
    earn(zoe, 100)
    tenant_id, account_id, user_id = tenant.id, zoe.id, staff.id
    jobs = [
        lambda: adjust_points(tenant_id, account_id, -60, "race", user_id, new_adjustment_token())
        for _ in range(2)
    ]
    results = race(app, jobs)
    failures = [r for r in results if isinstance(r, FieldErrors)]
    assert len(failures) == 1, results
    db.session.expire_all()
    assert db.session.get(Account, account_id).points_balance == 40 == ledger_sum(account_id)


def test_credits_racing_on_one_account_all_count(app, tenant, staff, zoe):
    tenant_id, account_id, user_id = tenant.id, zoe.id, staff.id
    jobs = [
        lambda: adjust_points(tenant_id, account_id, 50, "race", user_id, new_adjustment_token())
        for _ in range(4)
    ]
    assert not [r for r in race(app, jobs) if isinstance(r, Exception)]
    db.session.expire_all()
    account = db.session.get(Account, account_id)
    assert account.points_balance == 200 == ledger_sum(account_id) == account.lifetime_points


def test_one_form_submitted_twice_at_once_adjusts_once(app, tenant, staff, zoe):
    tenant_id, account_id, user_id = tenant.id, zoe.id, staff.id
    token = new_adjustment_token()
    jobs = [lambda: adjust_points(tenant_id, account_id, 30, "double tap", user_id, token)] * 2
    results = race(app, jobs)
    assert not [r for r in results if isinstance(r, Exception)], results
    db.session.expire_all()
    assert db.session.get(Account, account_id).points_balance == 30 == ledger_sum(account_id)
