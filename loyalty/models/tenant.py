"""A tenant is one restaurant brand: its currency, caps and integration secrets."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Integer, String, exists, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import Timestamps
from .campaign import Campaign

SLUG_PATTERN = r"^[a-zA-Z0-9_-]{3,64}$"


class Tenant(Timestamps, db.Model):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    decimal_digits: Mapped[int] = mapped_column(Integer, default=2)
    # The earning rules are rows of their own (models.earning.EarningRule).
    # Earned points expire this many days after the order; None = never.
    points_validity_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Only a SHA-256 of the API key is kept: it is shown once, when issued.
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    api_key_hint: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The HMAC key must be usable to verify signatures, so it is stored as issued; never rendered
    # after issue except as a hint.
    webhook_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Bumped in the same transaction as any change to the tenant's rewards or tiers (see
    # services.checkout.catalogue): webhook workers cache the catalogue per version and read
    # this number with every call, so a change on one worker is seen by all on their next call.
    catalog_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Orders over either cap are recorded but held for review instead of earning (see
    # rules.order_review); the amount is in the tenant's minor units.
    max_points_per_order: Mapped[int] = mapped_column(
        Integer, default=10_000, server_default="10000"
    )
    max_order_amount: Mapped[int] = mapped_column(
        Integer, default=1_000_000, server_default="1000000"
    )
    # Staff may adjust up to this many points at once; larger adjustments need an owner.
    adjustment_owner_limit: Mapped[int] = mapped_column(
        Integer, default=1_000, server_default="1000"
    )
    # IANA name (zoneinfo): quiet hours and "per day" limits are read in the restaurant's time.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # Web origins (scheme://host[:port]) of admin or guest apps allowed to call the API from a
    # browser (CORS); empty = none.
    api_allowed_origins: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    # The guest pages wear the restaurant's look: a logo (an https address), a colour (#rrggbb)
    # and the terms a guest accepts on joining (an https address).
    logo_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    brand_colour: Mapped[str | None] = mapped_column(String(7), nullable=True)
    terms_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Deliverect single sign-on: with it on, registration hands Deliverect our token endpoint
    # and this client. The secret must be sent back in registration answers, so it is stored as
    # issued, like the webhook secret, and rendered only when issued.
    sso_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    sso_environment: Mapped[str] = mapped_column(
        String(16), default="production", server_default="production"
    )  # "staging" | "production": which Deliverect SSO address the guests are sent to
    sso_client_id: Mapped[str | None] = mapped_column(
        String(48), unique=True, index=True, nullable=True
    )
    sso_client_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"

    @property
    def has_campaigns(self) -> bool:
        """Whether any campaign exists (the webhooks read this with their tenant instead): an
        order of a tenant without one moves no campaign, so recording it skips the engine."""
        return bool(db.session.scalar(select(exists().where(Campaign.tenant_id == self.id))))
