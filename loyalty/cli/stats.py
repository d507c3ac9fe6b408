"""`flask loyalty stats rebuild`: rebuild the stats' daily rollups now (tick keeps them fresh)."""

from __future__ import annotations

from datetime import date

import click

from ..extensions import db
from ..models import Tenant
from ..services.reporting import rollups
from ..time import utcnow
from . import loyalty_cli
from .accounts import require_tenant


@loyalty_cli.group("stats")
def stats_cli() -> None:
    """The stats' daily rollups."""


@stats_cli.command("rebuild")
@click.option("--tenant", "slug", help="Tenant slug; default: every tenant.")
@click.option(
    "--from",
    "first_day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First local day to rebuild (YYYY-MM-DD); default: the tenant's first day of activity.",
)
def rebuild_command(slug: str | None, first_day) -> None:
    """Recompute the daily rollups up to ten minutes ago, a month at a time (the pages read
    the days not rebuilt yet live meanwhile)."""
    now = utcnow()
    first: date | None = first_day.date() if first_day else None
    if slug:
        tenants = [require_tenant(slug)]
    else:
        tenants = list(db.session.scalars(db.select(Tenant).order_by(Tenant.id)))
    for tenant in tenants:
        tenant_id, name = tenant.id, tenant.slug
        length = rollups.days_to_rebuild(tenant_id, now, first)
        with click.progressbar(length=length, label=f"Rebuilding {name}") as bar:
            days = rollups.rebuild(tenant_id, now, first, bar.update)
        click.echo(f"{name}: rebuilt {days} days")
