"""Setup commands: database, tenants, team logins."""

from __future__ import annotations

import json

import click
from flask_migrate import upgrade

from ..services.setup.team import create_user
from ..services.setup.tenants import TenantError, create_tenant, tenant_by_slug
from ..validation import FieldErrors
from . import loyalty_cli


@loyalty_cli.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema (applies every migration)."""
    upgrade()
    click.echo("database is up to date")


@loyalty_cli.command("create-tenant")
@click.argument("slug")
@click.option("--name", required=True, help="The restaurant brand's display name.")
@click.option("--decimal-digits", default=2, show_default=True, type=click.IntRange(0, 4))
@click.option("--currency", default="EUR", show_default=True)
def create_tenant_command(slug: str, name: str, decimal_digits: int, currency: str) -> None:
    """Create a tenant; prints its API key and webhook secret (shown only this once) as JSON."""
    try:
        tenant, credentials = create_tenant(
            slug, name, decimal_digits=decimal_digits, currency=currency
        )
    except TenantError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        json.dumps(
            {
                "tenant": tenant.slug,
                "apiKey": credentials.api_key,
                "webhookSecret": credentials.webhook_secret,
            }
        )
    )


@loyalty_cli.command("create-user")
@click.argument("email")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option("--role", type=click.Choice(["owner", "staff"]), default="staff", show_default=True)
@click.option("--password", help="Prompted (hidden, twice) when not given.")
@click.option("--name", default="", help="Display name.")
def create_user_command(email: str, slug: str, role: str, password: str | None, name: str) -> None:
    """Create a dashboard login for a team member."""
    tenant = tenant_by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant {slug!r}; create it with create-tenant")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(tenant.id, email, password, role=role, name=name)
    except FieldErrors as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {user.role} {user.email} for {tenant.slug}")
