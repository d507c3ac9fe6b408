"""Campaigns (OrderingStack model), each account's membership and its history, and coupons.

A campaign keeps its constraints, states and notifications in `definition`, exactly in the wire
shape (rules.campaigns parses them); the columns hold what the database selects or counts on.

Account facts the constraints read (§3.2) are not copied into a counters table: they are read
where they already live, as correlated subqueries over the existing indexes
(services.campaigns.selection): orders, spent, visits and venues from `orders` (status placed,
`ix_orders_account_ordered`), points and lifetimePoints from `accounts`, referrals from
`account_events` of type INVITED (`ix_account_events_account_ts`), tags from `account_tags`,
properties from `accounts.properties`. A copy would have to be kept right by every writer of
those tables; a subquery cannot go stale.

A membership keeps rules.flow's view of the member (services.campaigns.memberships): the
current state, entry and entry time in columns, the rest (orders counted, events seen, the steps
that make a cancelled order reversible) in `progress`. Events already seen move nobody twice, and
what an entry does is keyed by it (a coupon's `issue_key`, a credit's ledger key), so it is done
once. `seq` numbers the membership's changes: each write is a conditional UPDATE on it, and each
transition is appended to `campaign_membership_events` with its number (the history and stats).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TenantScoped, Timestamps, UTCDateTime, utcnow


class Campaign(TenantScoped, Timestamps, db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))  # the wire `id`
    type: Mapped[str] = mapped_column(String(16), default="STANDARD")  # STANDARD | BIRTHDAY
    name: Mapped[str] = mapped_column(String(128), default="")
    active_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    active_to: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dynamic: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"constraints": [...], "states": [...], "notifications": [...]} in the wire shape.
    definition: Mapped[dict] = mapped_column(JSON, default=dict)
    initialized_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    initialized_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # When the initial snapshot entered states[0]; None while a campaign initialised before
    # its window opens waits for the tick to enter it.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    previewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    samples: Mapped[list] = mapped_column(JSON, default=list)  # account external ids
    # Predicted by the last preview before initialisation; the live member count after it.
    cnt: Mapped[int] = mapped_column(Integer, default=0)
    # Caps (None = no cap) and what has been spent against them, moved by conditional UPDATEs
    # so concurrent workers can never pass a cap.
    max_coupons: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_redemptions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_points: Mapped[int | None] = mapped_column(Integer, nullable=True)
    coupons_issued: Mapped[int] = mapped_column(Integer, default=0)
    coupons_redeemed: Mapped[int] = mapped_column(Integer, default=0)
    points_credited: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def status(self) -> str:
        """draft, running or finalised (§4.2)."""
        if self.finalized_at is not None:
            return "finalised"
        return "running" if self.initialized_at is not None else "draft"


class Membership(TenantScoped, db.Model):
    """One account's place in one campaign."""

    __tablename__ = "campaign_memberships"
    __table_args__ = (
        UniqueConstraint("campaign_id", "account_id"),
        # The tick walks the members waiting in one state; order hooks look up by account.
        Index(
            "ix_campaign_memberships_campaign_state",
            "campaign_id",
            "status",
            "state_id",
            "entered_at",
        ),
        Index("ix_campaign_memberships_account_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    state_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # active: waiting in `state_id`; completed: the flow ended; ended: the campaign was
    # finalised before the flow did.
    status: Mapped[str] = mapped_column(String(12), default="active")
    # The current entry's number (rules.flow): its coupon is the one with this entry_seq.
    entry: Mapped[int] = mapped_column(Integer, default=0)
    # The rest of rules.flow.Membership: orders counted, pending exit, events seen and the
    # steps that make a cancelled order reversible (services.campaigns.memberships).
    progress: Mapped[dict] = mapped_column(JSON, default=dict)
    # BIRTHDAY campaigns: the year of the birthday this membership is for.
    joined_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Number of the last transition (MembershipEvent.seq); bumped by every change of state.
    seq: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    account = relationship("Account")


class MembershipEvent(TenantScoped, db.Model):
    """Append-only history of a membership: one row per transition, numbered by `seq`."""

    __tablename__ = "campaign_membership_events"
    __table_args__ = (
        UniqueConstraint("membership_id", "seq"),
        Index("ix_campaign_membership_events_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_memberships.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    from_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # joined, order, coupon_used, coupon_expired, message, account, wallet, timeout,
    # birthday, reversed, finalised ...
    reason: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), nullable=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Coupon(TenantScoped, db.Model):
    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        # One coupon per state entry (its rules.flow key): two workers entering the same state
        # issue one coupon.
        UniqueConstraint("tenant_id", "issue_key"),
        Index("ix_coupons_account_status", "account_id", "status"),
        # The tick expires coupons and checkout locks across tenants.
        Index("ix_coupons_status_valid_to", "status", "valid_to"),
        Index("ix_coupons_status_lock_expires", "status", "lock_expires_at"),
        Index("ix_coupons_tenant_lock_session", "tenant_id", "lock_session"),
        Index("ix_coupons_campaign_status", "campaign_id", "status"),
        Index("ix_coupons_tenant_created", "tenant_id", "created_at"),
        # The coupons an order used: found on every cancel and by the stats.
        Index(
            "ix_coupons_used_order",
            "used_order_id",
            sqlite_where=text("used_order_id IS NOT NULL"),
            postgresql_where=text("used_order_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))  # normalised (rules.coupons.normalise_code)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    membership_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_memberships.id", ondelete="SET NULL"), nullable=True
    )
    # The entry into the COUPON state that issued it: its number, and its rules.flow key
    # (`campaign:<campaign>:<account>[:<year>]:<state>:<entry>`) that its events name.
    entry_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    issue_key: Mapped[str] = mapped_column(String(160))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    state_id: Mapped[str] = mapped_column(String(32))
    coupon_type: Mapped[str] = mapped_column(String(8))  # AMOUNT | PERCENT | PRODUCT
    # AMOUNT: minor units; PERCENT: hundredths of a percent (12.5 % = 1250); PRODUCT: 0.
    value: Mapped[int] = mapped_column(Integer, default=0)
    product: Mapped[str | None] = mapped_column(String(64), nullable=True)
    title: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str | None] = mapped_column(String(256), nullable=True)
    status: Mapped[str] = mapped_column(String(8), default="ACTIVE")  # rules.coupons.CouponStatus
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lock_session: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    used_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    account = relationship("Account")


class CampaignPush(TenantScoped, db.Model):
    """A push message sent for a campaign (registerPush), known by its pushId in the campaign."""

    __tablename__ = "campaign_pushes"
    __table_args__ = (UniqueConstraint("campaign_id", "push_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    push_key: Mapped[str] = mapped_column(String(32))  # the wire pushId
    title: Mapped[str | None] = mapped_column(String(256), nullable=True)  # registerPushV2
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignPushClick(TenantScoped, db.Model):
    """A customer opened a campaign's push (pushClick): at most one row per push and account."""

    __tablename__ = "campaign_push_clicks"
    __table_args__ = (
        UniqueConstraint("push_id", "account_id"),
        Index("ix_campaign_push_clicks_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    push_id: Mapped[int] = mapped_column(ForeignKey("campaign_pushes.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
