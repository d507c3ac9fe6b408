"""A retired account (merged into another, or erased) is one rule, in Python and in SQL."""

from __future__ import annotations

from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import Account, utcnow
from loyalty.rules.periods import local_day, preset_period
from loyalty.services.accounts.erasure import erase_account
from loyalty.services.accounts.merge import merge_accounts
from loyalty.services.reporting.overview import overview
from tests.support.accounts import customer


def test_merged_and_erased_accounts_are_retired_and_left_out_of_the_figures(tenant, owner):
    kept = customer(tenant, email="kept@example.com")
    duplicate = customer(tenant, email="dup@example.com")
    forgotten = customer(tenant, email="gone@example.com")
    merge_accounts(tenant.id, kept.id, duplicate.id, owner.id)
    erase_account(tenant.id, forgotten.id, owner.id)
    db.session.expire_all()

    accounts = db.session.scalars(select(Account).where(Account.tenant_id == tenant.id)).all()
    in_python = {account.id for account in accounts if account.retired}
    in_sql = set(
        db.session.scalars(
            select(Account.id).where(Account.tenant_id == tenant.id, Account.retired)
        )
    )
    assert in_python == in_sql == {duplicate.id, forgotten.id}

    now = utcnow()
    period = preset_period("30d", local_day(now, tenant.time_zone), tenant.time_zone)
    figures = overview(tenant.id, period, now).current
    assert (figures.members, figures.new_members) == (1, 3)
