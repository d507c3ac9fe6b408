"""`flask loyalty accounts export`: the dashboard's CSV exports, to a file or stdout."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..services.accounts.search import SearchCriteria
from ..services.accounts.segments import criteria_of, segment_by_name
from ..services.reporting.exports import ExportSpec, export_count, export_csv, sole_tenant
from .accounts import accounts_cli, require_tenant


@accounts_cli.command("export")
@click.option("--tenant", "slug", help="Tenant slug (may be left out when there is only one).")
@click.option("--segment", "segment_name", help="Only the accounts of this saved segment.")
@click.option(
    "--contacts",
    is_flag=True,
    help="Contact list: id, name, email, phone of accounts with marketing consent only.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="CSV file to write (default: standard output).",
)
def export_command(
    slug: str | None, segment_name: str | None, contacts: bool, output: Path | None
) -> None:
    """Export accounts as CSV, streamed with constant memory.

    Without --segment every account that is not merged or erased is exported.
    Cells that a spreadsheet would run as a formula are prefixed with a quote.
    """
    tenant = require_tenant(slug) if slug else sole_tenant()
    if tenant is None:
        raise click.UsageError("this installation has several tenants: name one with --tenant")
    criteria = SearchCriteria()
    if segment_name is not None:
        segment = segment_by_name(tenant.id, segment_name)
        if segment is None:
            raise click.ClickException(f"no segment {segment_name!r} in {tenant.slug}")
        criteria = criteria_of(segment)
    spec = ExportSpec(tenant, criteria, contacts=contacts)
    total = export_count(spec)
    csv = export_csv(spec, bom=output is not None)
    stream = output.open("wb") if output else click.get_binary_stream("stdout")
    try:
        with click.progressbar(
            length=total, label=f"Exporting {total:,} accounts", file=sys.stderr
        ) as bar:
            for chunk in csv:
                stream.write(chunk)
                bar.update(csv.written - bar.pos)
    finally:
        if output:
            stream.close()
        else:
            stream.flush()
    where = str(output) if output else "standard output"
    click.echo(f"{csv.written:,} accounts exported to {where}", err=True)
