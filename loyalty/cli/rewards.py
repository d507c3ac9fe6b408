"""`flask loyalty rewards ...`: rewards in and out as a Deliverect program list (JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import select

from ..extensions import db
from ..models import Tenant
from ..services.reporting.imports import ImportRejected, import_rewards, program_list
from . import loyalty_cli
from .accounts import report_problems, require_tenant


@loyalty_cli.group("rewards")
def rewards_cli() -> None:
    """Rewards as a Deliverect program list: export and import (JSON)."""


@rewards_cli.command("export")
@click.option("--tenant", "slug", help="Tenant slug (may be left out when there is only one).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
def export_command(slug: str | None, output: Path | None) -> None:
    """Print the live rewards as a JSON array in Deliverect's program-list shape.

    \b
    Each program: programId, title, description, type, cost (points),
    discount (minor units, or hundredths of a percent), itemPLU, quantity,
    minOrderValue (minor units), expiresAt (ISO 8601 or null), media.
    """
    tenant = require_tenant(slug) if slug else _only_tenant()
    programs = program_list(tenant.id)
    text = json.dumps(programs, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {len(programs)} rewards of {tenant.slug} to {output}", err=True)


@rewards_cli.command("import")
@click.argument(
    "json_file", metavar="FILE.json", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
def import_command(json_file: Path, slug: str) -> None:
    """Create or update rewards from a program list (the shape `rewards export` writes).

    Rewards are matched by programId: a known one is updated, a new or missing
    programId creates a reward. Every entry is checked first; any problem is
    reported with the entry's index and field, and nothing is imported (exit 1).
    """
    tenant = require_tenant(slug)
    try:
        document = json.loads(json_file.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise click.ClickException(f"{json_file} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise click.ClickException(
            f"{json_file} is not valid JSON: {error.msg} at {where}"
        ) from None
    try:
        result = import_rewards(tenant.id, document)
    except ImportRejected as rejected:
        report_problems(rejected, str(json_file))
    click.echo(f"{result.created} rewards created, {result.updated} updated for {tenant.slug}")


def _only_tenant() -> Tenant:
    tenants = db.session.scalars(select(Tenant).order_by(Tenant.slug).limit(2)).all()
    if len(tenants) != 1:
        raise click.ClickException(
            "no tenant yet" if not tenants else "there are several tenants: pass --tenant SLUG"
        )
    return tenants[0]
