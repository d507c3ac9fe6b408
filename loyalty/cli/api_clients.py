"""`flask loyalty api-clients ...`: the OAuth2 clients of a restaurant's apps and tills."""

from __future__ import annotations

import json

import click

from ..models.api import CLIENT_KINDS
from ..services.setup.api_clients import (
    create_client,
    describe,
    find_client,
    list_clients,
    revoke_client,
)
from ..validation import FieldErrors
from . import loyalty_cli
from .accounts import require_tenant

TENANT_HELP = "Tenant slug."


@loyalty_cli.group("api-clients")
def api_clients_cli() -> None:
    """API clients (OAuth2): create one, list them, revoke one."""


@api_clients_cli.command("create")
@click.option("--tenant", "slug", required=True, help=TENANT_HELP)
@click.option("--name", required=True, help="Who uses it, e.g. 'Till at the bar'.")
@click.option(
    "--roles",
    default="",
    metavar="ROLE,...",
    help="Comma-separated, e.g. ROLE_LOYALTY,ROLE_LOYALTY_STATS; needed by service clients only.",
)
@click.option(
    "--kind",
    type=click.Choice(CLIENT_KINDS),
    default="service",
    show_default=True,
    help="service: client_credentials with the roles; admin-app: team members sign in; "
    "customer-app: customers sign in with one-time codes.",
)
def create_command(slug: str, name: str, roles: str, kind: str) -> None:
    """Create a client; prints {"clientId", "clientSecret"} as JSON. The secret is shown only
    this once: only its hash is kept."""
    tenant = require_tenant(slug)
    try:
        issued = create_client(tenant.id, name, roles.split(","), kind)
    except FieldErrors as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(issued.as_json()))


@api_clients_cli.command("list")
@click.option("--tenant", "slug", required=True, help=TENANT_HELP)
def list_command(slug: str) -> None:
    """Print the tenant's clients, one JSON object a line (live first): clientId, name, kind,
    roles, status, createdAt, lastUsedAt. Never a secret."""
    tenant = require_tenant(slug)
    for client in list_clients(tenant.id):
        click.echo(json.dumps(describe(client)))


@api_clients_cli.command("revoke")
@click.argument("client_id", metavar="CLIENT_ID")
@click.option("--tenant", "slug", required=True, help=TENANT_HELP)
def revoke_command(client_id: str, slug: str) -> None:
    """Revoke the client CLIENT_ID (lc_...): it and every token it was given stop working."""
    tenant = require_tenant(slug)
    client = find_client(client_id)
    if client is None or client.tenant_id != tenant.id:
        raise click.ClickException(f"no client {client_id!r} at {tenant.slug}")
    revoke_client(tenant.id, client.id)
    click.echo(f"revoked {client.client_id} ({client.name}) at {tenant.slug}")
