"""What merging and erasing accounts does to their campaigns (in the caller's transaction).

Merging: the retired account's memberships and coupons go to the survivor. Where both were
members of one campaign the survivor's membership stays the one that moves on; the retired
account's is ended where it stood (its history kept) and no longer counted as a member, and
its coupons still go to the survivor, usable as before. A moved membership keeps its key
(memberships.MOVED_KEY), so its coupons and credits still belong to it.

Erasing: memberships and coupons stay, so the campaign's figures stay true; the memberships end,
what they remember beyond their state (orders counted, codes seen, steps) is dropped, and the
coupons expire, since nobody can present them any more.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, update

from ...extensions import db
from ...models import Coupon, Membership
from .coupons import expire_coupons
from .effects import move_counter
from .memberships import MOVED_KEY, key_of, lock_memberships


def merge_memberships(tenant_id: int, survivor_id: int, retired_id: int) -> None:
    """Move the retired account's memberships and coupons to the survivor; both accounts are
    locked by the caller."""
    rows = lock_memberships(
        Membership.tenant_id == tenant_id,
        Membership.account_id.in_((survivor_id, retired_id)),
    )
    survivors = {row.campaign_id for row in rows if row.account_id == survivor_id}
    for row in rows:
        if row.account_id != retired_id:
            continue
        if row.campaign_id in survivors:
            if row.status == "active":
                row.status = "ended"
            move_counter(row.campaign_id, "members", -1)
        else:
            row.progress = {**(row.progress or {}), MOVED_KEY: key_of(row)}
            row.account_id = survivor_id
    db.session.flush()
    db.session.execute(
        update(Coupon)
        .where(Coupon.tenant_id == tenant_id, Coupon.account_id == retired_id)
        .values(account_id=survivor_id)
        .execution_options(synchronize_session=False)
    )


def erase_memberships(tenant_id: int, account_ids: Sequence[int]) -> None:
    """End the erased accounts' memberships, forget their details, expire their coupons."""
    for row in lock_memberships(
        Membership.tenant_id == tenant_id, Membership.account_id.in_(account_ids)
    ):
        progress = row.progress or {}
        if row.status == "active":
            row.status = "ended"
        row.progress = {"entries": progress.get("entries", row.entry)}
    db.session.flush()
    expire_coupons(and_(Coupon.tenant_id == tenant_id, Coupon.account_id.in_(account_ids)))
