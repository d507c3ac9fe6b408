"""`flask loyalty demo-data`: a lively, consistent demo restaurant in one command."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from loyalty.demo.restaurant import load_demo
from loyalty.extensions import db
from loyalty.models import Account, LedgerEntry, Order, Reward, Tier
from loyalty.rules.periods import local_day, preset_period
from loyalty.rules.programs import REWARD_TYPES
from loyalty.services.reporting.overview import overview
from loyalty.services.setup.team import authenticate
from loyalty.services.setup.tenants import tenant_by_slug

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def scalar(query):
    return db.session.scalar(query)


def test_demo_data_makes_a_restaurant_with_a_login_that_works(runner, app):
    result = runner.invoke(args=["loyalty", "demo-data", "--accounts", "60"])

    assert result.exit_code == 0, result.output
    assert "email:    owner@demo.example" in result.output
    assert "password: loyalty-demo" in result.output
    assert "Deliverect API key:" in result.output
    tenant = tenant_by_slug("demo")
    user = authenticate(
        "owner@demo.example", "loyalty-demo", "127.0.0.1", max_failures=5, window_seconds=60
    )
    assert user is not None and user.role == "owner" and user.tenant_id == tenant.id
    tiers = db.session.scalars(
        select(Tier).where(Tier.tenant_id == tenant.id).order_by(Tier.threshold_points)
    ).all()
    assert [(t.name, t.threshold_points, t.multiplier_percent) for t in tiers] == [
        ("Bronze", 0, 100),
        ("Silver", 500, 125),
        ("Gold", 2000, 150),
    ]
    types = set(db.session.scalars(select(Reward.type).where(Reward.tenant_id == tenant.id)))
    assert types == set(REWARD_TYPES)
    assert scalar(select(func.count()).select_from(Account)) == 60


def test_cached_balances_equal_the_ledger_after_demo_data(app):
    load_demo("demo", accounts=300, now=NOW)

    ledger = (
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount).label("total"))
        .where(LedgerEntry.unit == "points")
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Account.points_balance, func.coalesce(ledger.c.total, 0)).outerjoin(
            ledger, ledger.c.account_id == Account.id
        )
    ).all()
    assert len(rows) == 300
    assert all(balance == total for balance, total in rows)
    assert scalar(select(func.min(LedgerEntry.balance_after))) >= 0
    # Every account's running balance_after matches the sum of its entries up to that point.
    last = {}
    for account_id, amount, after in db.session.execute(
        select(LedgerEntry.account_id, LedgerEntry.amount, LedgerEntry.balance_after).order_by(
            LedgerEntry.account_id, LedgerEntry.created_at, LedgerEntry.id
        )
    ):
        last[account_id] = last.get(account_id, 0) + amount
        assert last[account_id] == after
    kinds = set(db.session.scalars(select(LedgerEntry.kind).distinct()))
    assert {"earn", "redeem", "adjust"} <= kinds


def test_demo_history_spreads_over_eighteen_months_and_shows_on_home(app):
    demo = load_demo("demo", accounts=300, now=NOW)

    oldest = scalar(select(func.min(Account.created_at)))
    assert (NOW - oldest).days > 300
    assert scalar(select(func.max(Order.ordered_at))) <= NOW
    zone = demo.tenant.time_zone
    figures = overview(
        demo.tenant.id, preset_period("30d", local_day(NOW, zone), zone), NOW
    ).current
    assert figures.members == 300
    assert figures.new_members > 0
    assert figures.orders > 0
    assert figures.points_earned > 0 and figures.points_redeemed > 0


def test_the_same_seed_makes_the_same_demo(app):
    load_demo("first", accounts=40, now=NOW, seed=7)
    load_demo("second", accounts=40, now=NOW, seed=7)

    def people(slug):
        tenant_id = tenant_by_slug(slug).id
        return db.session.execute(
            select(Account.external_id, Account.email, Account.phone, Account.points_balance)
            .where(Account.tenant_id == tenant_id)
            .order_by(Account.external_id)
        ).all()

    assert people("first") == people("second")


def test_if_empty_does_nothing_once_any_tenant_exists(runner, tenant):
    result = runner.invoke(args=["loyalty", "demo-data", "--if-empty", "--accounts", "5"])

    assert result.exit_code == 0
    assert "no demo data loaded" in result.output
    assert tenant_by_slug("demo") is None


def test_demo_data_never_goes_into_a_restaurant_with_data(runner, tenant):
    runner.invoke(args=["loyalty", "demo-data", "--tenant", "trattoria", "--accounts", "3"])

    again = runner.invoke(args=["loyalty", "demo-data", "--tenant", "trattoria", "--accounts", "3"])

    assert again.exit_code == 1
    assert "already has accounts, rewards or tiers" in again.output
    assert scalar(select(func.count()).select_from(Account)) == 3


def test_demo_data_fills_an_empty_existing_tenant_without_reissuing_its_keys(runner, tenant):
    result = runner.invoke(
        args=["loyalty", "demo-data", "--tenant", "trattoria", "--accounts", "3"]
    )

    assert result.exit_code == 0, result.output
    assert "owner@trattoria.example" in result.output
    assert "API key" not in result.output


def test_demo_data_help_warns_about_the_public_password(runner, app):
    result = runner.invoke(args=["loyalty", "demo-data", "--help"])

    assert result.exit_code == 0
    assert "--if-empty" in result.output and "--accounts" in result.output
    assert "never load it on a server the public can reach" in " ".join(result.output.split())
