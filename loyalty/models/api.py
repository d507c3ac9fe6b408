"""The OrderingStack-style API's OAuth2 side: the clients a restaurant issued, the tokens they
were given, and the one-time codes customers sign in with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TenantScoped, UTCDateTime, utcnow

# service: a till or back-end, client_credentials with the client's own roles;
# admin-app: a back office signing team members in (password grant, the member's roles);
# customer-app: a guest app signing customers in with one-time codes (password grant).
CLIENT_KINDS = ("service", "admin-app", "customer-app")
ROLES = ("ROLE_SU", "ROLE_LOYALTY", "ROLE_LOYALTY_CAMPAIGN", "ROLE_LOYALTY_STATS")
# Who a token speaks for: the client itself, a team member, a customer, or a guest not signed in.
SUBJECT_KINDS = ("client", "user", "customer", "anonymous")


class ApiClient(TenantScoped, db.Model):
    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48), unique=True)
    # SHA-256 of the secret: it is random and long, so a slow hash would add nothing.
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16), default="service")
    roles: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A revoked client keeps its row (the tokens and the audit name it); nothing it holds works.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiToken(TenantScoped, db.Model):
    """One issued access token (a signed JWT, known here by its `jti`) and its refresh token.

    Every API request reads this row by `jti`, so revoking it, its client or its team member
    stops the token at once, though the JWT itself is still within its `exp`.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_client", "client_row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    client_row_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id", ondelete="CASCADE"))
    subject_kind: Mapped[str] = mapped_column(String(16))
    # The token's `sub` (and the answer's UUID): a refreshed token keeps it, a guest's too.
    subject: Mapped[str] = mapped_column(String(64), default="", server_default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    roles: Mapped[list] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(String(256), default="")
    # SHA-256 of the refresh token; None when the grant gives none.
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    client: Mapped[ApiClient] = relationship()


class CustomerCode(TenantScoped, db.Model):
    """A one-time sign-in code sent to a customer; only its hash is kept."""

    __tablename__ = "customer_codes"
    __table_args__ = (Index("ix_customer_codes_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    # Wrong codes tried against this one; at the limit it stops working.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
