"""`loyalty tick` writes off expired points exactly once, oldest points first."""

from datetime import UTC, datetime, timedelta

from loyalty.extensions import db
from loyalty.models import Account, LedgerEntry
from loyalty.services.accounts.profile import Profile, create_account
from loyalty.services.wallet.expiry import expire_points
from loyalty.services.wallet.ledger import Posting, ledger_sum, lock_account, post

START = datetime(2026, 1, 1, tzinfo=UTC)


def _credit(tenant, account, points, key, expires_in_days):
    lock_account(account.id)
    post(
        tenant.id,
        account.id,
        Posting(
            unit="points",
            kind="earn",
            amount=points,
            key=key,
            lifetime_delta=points,
            expires_at=START + timedelta(days=expires_in_days),
        ),
    )
    db.session.commit()


def test_tick_writes_off_expired_points_once_and_keeps_the_ledger_true(tenant):
    account = create_account(tenant.id, Profile(email="ann@example.com"))
    _credit(tenant, account, 100, "earn-1", expires_in_days=30)
    _credit(tenant, account, 40, "earn-2", expires_in_days=400)

    assert expire_points(START + timedelta(days=10)) == 0
    assert expire_points(START + timedelta(days=31)) == 100
    assert expire_points(START + timedelta(days=32)) == 0

    account = db.session.get(Account, account.id)
    assert account.points_balance == 40 == ledger_sum(account.id)
    assert account.lifetime_points == 140
    kinds = [e.kind for e in db.session.query(LedgerEntry).order_by(LedgerEntry.id)]
    assert kinds == ["earn", "earn", "expire"]


def test_tick_command_reports_what_it_expired(tenant, runner):
    account = create_account(tenant.id, Profile(email="bob@example.com"))
    _credit(tenant, account, 25, "earn-1", expires_in_days=1)
    result = runner.invoke(args=["loyalty", "tick", "--now", "2026-01-05T00:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "expired 25 points on 1 accounts" in result.output
    assert "deleted 0 webhook calls older than 14 days" in result.output


def test_tick_refuses_a_time_without_offset(runner, app):
    result = runner.invoke(args=["loyalty", "tick", "--now", "2026-01-05T00:00:00"])
    assert result.exit_code == 2
    assert "UTC offset" in result.output
