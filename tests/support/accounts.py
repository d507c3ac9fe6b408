"""Building accounts for tests through the services, as the product does."""

from __future__ import annotations

import secrets

from loyalty.extensions import db
from loyalty.models import Account
from loyalty.services.accounts.profile import Profile, create_account
from loyalty.services.wallet.ledger import Posting, lock_account, post


def customer(tenant, **fields) -> Account:
    """A customer of `tenant`; keyword arguments are Profile fields."""
    return create_account(tenant.id, Profile(**fields))


def earn(account: Account, points: int, kind: str = "earn", **posting) -> None:
    """Credit points as an order would (lifetime points move too)."""
    lock_account(account.id)
    post(
        account.tenant_id,
        account.id,
        Posting(
            unit=posting.pop("unit", "points"),
            kind=kind,
            amount=points,
            key=f"test:{secrets.token_hex(8)}",
            lifetime_delta=points if kind == "earn" else 0,
            **posting,
        ),
    )
    db.session.commit()
