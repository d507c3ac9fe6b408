"""`flask loyalty demo-data`: a realistic demo restaurant to try the dashboard with."""

from __future__ import annotations

import click

from ..demo.restaurant import (
    DEFAULT_ACCOUNTS,
    DEFAULT_PASSWORD,
    DEFAULT_SEED,
    DEFAULT_SLUG,
    DemoError,
    any_tenant_exists,
    load_demo,
)
from ..services.setup.tenants import TenantError
from ..validation import FieldErrors
from . import loyalty_cli


@loyalty_cli.command("demo-data")
@click.option(
    "--tenant",
    "slug",
    default=DEFAULT_SLUG,
    show_default=True,
    help="Tenant slug (created when missing).",
)
@click.option(
    "--accounts",
    "count",
    type=click.IntRange(0, 1_000_000),
    default=DEFAULT_ACCOUNTS,
    show_default=True,
    help="How many customers to make up.",
)
@click.option(
    "--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Same seed, same demo."
)
@click.option(
    "--password",
    default=DEFAULT_PASSWORD,
    show_default=True,
    help="Password of the demo owner login.",
)
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing when the database already has any tenant (for start-up scripts).",
)
def demo_data(slug: str, count: int, seed: int, password: str, if_empty: bool) -> None:
    """Load a demo restaurant: tiers, a reward of every type, customers with 18 months of orders.

    Demo data only goes into a new or empty tenant. The owner login it creates has a
    well-known password: never load it on a server the public can reach.
    """
    if if_empty and any_tenant_exists():
        click.echo("the database already has a tenant: no demo data loaded")
        return
    try:
        with click.progressbar(length=count, label=f"Making up {count} customers") as bar:
            result = load_demo(
                slug, accounts=count, seed=seed, password=password, progress=bar.update
            )
    except (DemoError, TenantError, FieldErrors) as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Demo restaurant {result.tenant.name!r} (tenant {result.tenant.slug}): {result.accounts} "
        f"accounts, {result.orders} orders, {result.ledger_entries} ledger entries, "
        f"{result.tiers} tiers, {result.rewards} rewards, {result.stats_days} days of stats."
    )
    if result.credentials is not None:
        click.echo(f"Deliverect API key:        {result.credentials.api_key}")
        click.echo(f"Deliverect webhook secret: {result.credentials.webhook_secret}")
        click.echo("(shown only now; rotate them in Settings)")
    click.echo("")
    click.echo("Dashboard login")
    click.echo(f"  email:    {result.owner_email}")
    click.echo(f"  password: {result.password}")
