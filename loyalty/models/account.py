"""Loyalty customers (accounts), their tags and the events that happened to them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TenantScoped, Timestamps, UTCDateTime, utcnow

SEXES = ("MALE", "FEMALE", "OTHER")
STATUSES = ("active", "activation_pending", "blocked_by_provider")


def _search_key(length: int) -> String:
    """Byte-ordered on PostgreSQL too (SQLite already is), so prefix range conditions and LIKE
    'abc%' use the plain index and match exactly whatever the server's locale."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Account(TenantScoped, Timestamps, db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        UniqueConstraint("tenant_id", "email"),
        UniqueConstraint("tenant_id", "phone"),
        UniqueConstraint("tenant_id", "card"),
        # Name prefix search uses range conditions (>= 'ros' AND < 'rot') on these plain indexes,
        # which both databases serve whatever the collation; first name breaks sort ties.
        Index("ix_accounts_tenant_last_name", "tenant_id", "last_name_key", "first_name_key", "id"),
        Index(
            "ix_accounts_tenant_first_name", "tenant_id", "first_name_key", "last_name_key", "id"
        ),
        # id completes each sort order (ties), so a page is read straight from the index.
        Index("ix_accounts_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_accounts_tenant_lifetime", "tenant_id", "lifetime_points", "id"),
        Index("ix_accounts_tenant_points", "tenant_id", "points_balance", "id"),
        Index("ix_accounts_tenant_last_order", "tenant_id", "last_order_at"),
        Index("ix_accounts_tenant_first_order", "tenant_id", "first_order_at"),
        # The few accounts that left, by when: the stats' members leaving per day.
        Index(
            "ix_accounts_tenant_merged",
            "tenant_id",
            "merged_at",
            sqlite_where=text("merged_at IS NOT NULL"),
            postgresql_where=text("merged_at IS NOT NULL"),
        ),
        Index(
            "ix_accounts_tenant_erased",
            "tenant_id",
            "erased_at",
            sqlite_where=text("erased_at IS NOT NULL"),
            postgresql_where=text("erased_at IS NOT NULL"),
        ),
        # Only the few retired duplicates are indexed: an index on every NULL would tempt
        # planners into "merged_into_id IS NULL" scans.
        Index(
            "ix_accounts_merged_into",
            "merged_into_id",
            sqlite_where=text("merged_into_id IS NOT NULL"),
            postgresql_where=text("merged_into_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The account id of the OrderingStack API and Deliverect's providerId.
    external_id: Mapped[str] = mapped_column(String(64))
    card: Mapped[str | None] = mapped_column(String(64), nullable=True)
    email: Mapped[str | None] = mapped_column(_search_key(254), nullable=True)  # lower-cased
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)  # E.164
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str] = mapped_column(String(128), default="")
    # Lower-cased, accent-free copies of the names for indexed prefix search on both databases.
    first_name_key: Mapped[str] = mapped_column(_search_key(128), default="")
    last_name_key: Mapped[str] = mapped_column(_search_key(128), default="")
    birthdate: Mapped[date | None] = mapped_column(Date, nullable=True)
    sex: Mapped[str | None] = mapped_column(String(8), nullable=True)
    properties: Mapped[dict] = mapped_column(JSON, default=dict)
    consents: Mapped[dict] = mapped_column(JSON, default=dict)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(24), default="active")
    accepted_tc_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Cached balances: written only by services.wallet.ledger in the same transaction as the entry.
    points_balance: Mapped[int] = mapped_column(Integer, default=0)
    cash_balance: Mapped[int] = mapped_column(Integer, default=0)  # minor units of store credit
    # The tier is derived from lifetime points (rules.tiers), never stored, so it cannot go stale.
    lifetime_points: Mapped[int] = mapped_column(Integer, default=0)
    # Points a cancel could not take back because they were spent (rules.debt): later credits
    # pay it first. Never negative; the ledger's "debt" entries sum to it.
    points_debt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When its first placed order was made (ordered_at): the stats' first-time guests.
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Bumped to take the account's row lock before balances and holds are read.
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    tags: Mapped[list[AccountTag]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="AccountTag.tag"
    )

    @hybrid_property
    def retired(self) -> bool:
        """Merged into another account or erased: kept for the figures, no longer a customer."""
        return self.merged_into_id is not None or self.erased_at is not None

    @retired.inplace.expression
    @classmethod
    def _retired_expression(cls) -> ColumnElement[bool]:
        return or_(cls.merged_into_id.is_not(None), cls.erased_at.is_not(None))
    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or self.phone or self.external_id

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]


class AccountTag(db.Model):
    __tablename__ = "account_tags"
    __table_args__ = (Index("ix_account_tags_tenant_tag", "tenant_id", "tag"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))

    account: Mapped[Account] = relationship(back_populates="tags")


class AccountEvent(TenantScoped, db.Model):
    """Something that happened to an account: referral, order, message, push click..."""

    __tablename__ = "account_events"
    __table_args__ = (Index("ix_account_events_account_ts", "account_id", "ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))  # INVITED_BY, INVITED, FRIEND, ORDER, ...
    # The other side of a relation event, when it is one of ours.
    related_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    related_external_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
