"""`flask loyalty campaigns ...`: campaigns in and out as OrderingStack JSON, preview, run, end."""

from __future__ import annotations

import json
from pathlib import Path

import click
from werkzeug.exceptions import NotFound

from ..services.campaigns.lifecycle import (
    finalise_campaign,
    initialisation_work,
    initialise_campaign,
)
from ..services.campaigns.selection import preview
from ..services.campaigns.store import export_campaigns, get_campaign, import_campaigns
from ..time import to_iso, utcnow
from ..validation import FieldErrors
from . import loyalty_cli
from .accounts import require_tenant

TENANT_HELP = "Tenant slug."


@loyalty_cli.group("campaigns")
def campaigns_cli() -> None:
    """Campaigns (OrderingStack shape): import, export, preview, initialize, finalize."""


@campaigns_cli.command("import")
@click.argument(
    "json_file", metavar="FILE.json", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--tenant", "slug", required=True, help=TENANT_HELP)
def import_command(json_file: Path, slug: str) -> None:
    """Create or update campaigns from FILE.json: one Campaign object or a list.

    Campaigns are matched by `id`. Read-only fields (initialized, cnt, stateStats...) are
    ignored. Every problem is reported with its JSON path (e.g. [1].states[0].transitionTo)
    and nothing is saved if there is any (exit 1).
    """
    tenant = require_tenant(slug)
    document = _read_json(json_file)
    try:
        result = import_campaigns(tenant.id, document, utcnow())
    except FieldErrors as refused:
        _report(refused, str(json_file))
    click.echo(f"{result.created} campaigns created, {result.updated} updated for {tenant.slug}")


@campaigns_cli.command("export")
@click.argument("campaign_id", metavar="[ID]", required=False)
@click.option("--tenant", "slug", required=True, help=TENANT_HELP)
def export_command(campaign_id: str | None, slug: str) -> None:
    """Print the tenant's campaigns (or campaign ID) as a JSON list in the import shape,
    read-only fields included."""
    tenant = require_tenant(slug)
    _require_campaign(tenant.id, campaign_id)
    campaigns = export_campaigns(tenant.id, campaign_id)
    click.echo(json.dumps(campaigns, indent=2, ensure_ascii=False))


@campaigns_cli.command("preview")
@click.argument("campaign_id", metavar="ID")
@click.option("--tenant", "slug", required=True, help=TENANT_HELP)
def preview_command(campaign_id: str, slug: str) -> None:
    """Count the accounts campaign ID selects now and print {"cnt": N, "samples": [...]}
    (the first 20 account ids); recorded as the campaign's previewedAt and samples. How many
    of them ordered in the last 30 days goes to standard error."""
    tenant = require_tenant(slug)
    _require_campaign(tenant.id, campaign_id)
    now = utcnow()
    result = preview(tenant.id, campaign_id, now)
    answer = {"cnt": result.cnt, "samples": [sample.external_id for sample in result.samples]}
    click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    click.echo(f"{result.ordered_recently} of them ordered in the last 30 days", err=True)


@campaigns_cli.command("initialize")
@click.argument("campaign_id", metavar="ID")
@click.option("--tenant", "slug", required=True, help=TENANT_HELP)
def initialize_command(campaign_id: str, slug: str) -> None:
    """Start campaign ID: every matching account enters its first state (coupons issued,
    points credited). Refused, with every reason, while the campaign is incomplete."""
    tenant = require_tenant(slug)
    _require_campaign(tenant.id, campaign_id)
    now = utcnow()
    work = initialisation_work(tenant.id, campaign_id, now)
    try:
        with click.progressbar(length=work, label=f"Initialising {campaign_id}") as bar:
            row = initialise_campaign(tenant.id, campaign_id, now, by="cli", progress=bar.update)
    except FieldErrors as refused:
        _report(refused, campaign_id, "cannot be initialised")
    click.echo(f"{campaign_id} is running with {row.cnt} members")


@campaigns_cli.command("finalize")
@click.argument("campaign_id", metavar="ID")
@click.option("--tenant", "slug", required=True, help=TENANT_HELP)
def finalize_command(campaign_id: str, slug: str) -> None:
    """End campaign ID: no member moves any more and unused coupons expire."""
    tenant = require_tenant(slug)
    _require_campaign(tenant.id, campaign_id)
    try:
        row = finalise_campaign(tenant.id, campaign_id, utcnow())
    except FieldErrors as refused:
        _report(refused, campaign_id, "cannot be finalised")
    click.echo(f"{campaign_id} finalised at {to_iso(row.finalized_at)}")


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise click.ClickException(f"{path} is not valid JSON: {error.msg} at {where}") from None


def _require_campaign(tenant_id: int, campaign_id: str | None) -> None:
    if campaign_id is None:
        return
    try:
        get_campaign(tenant_id, campaign_id)
    except NotFound:
        raise click.ClickException(f"no campaign {campaign_id!r} for this tenant") from None


def _report(refused: FieldErrors, what: str, verdict: str = "has problems") -> None:
    for path, message in refused.errors.items():
        click.echo(f"  {path}: {message}", err=True)
    raise click.ClickException(
        f"{what} {verdict}: {len(refused.errors)} problem(s); nothing was saved"
    )
