"""`flask loyalty accounts ...`: bringing customers over from another provider."""

from __future__ import annotations

from pathlib import Path

import click

from ..models import Tenant
from ..services.reporting.imports import ImportRejected, count_rows, import_accounts
from ..services.setup.tenants import tenant_by_slug
from . import loyalty_cli


def require_tenant(slug: str) -> Tenant:
    """The tenant, or a clear error naming the slug (exit code 1)."""
    tenant = tenant_by_slug(slug)
    if tenant is None:
        raise click.ClickException(
            f"no tenant {slug!r}; create it with `flask loyalty create-tenant`"
        )
    return tenant


def report_problems(rejected: ImportRejected, what: str) -> None:
    for problem in rejected.problems:
        click.echo(f"  {problem}", err=True)
    raise click.ClickException(
        f"{len(rejected.problems)} problem(s) in {what}; nothing was imported"
    )


@loyalty_cli.group("accounts")
def accounts_cli() -> None:
    """Loyalty accounts (customers): import from another provider, export as CSV."""


@accounts_cli.command("import")
@click.argument(
    "csv_file", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option(
    "--phone-region",
    metavar="CC",
    help="Country (ISO code such as BE) for phone numbers written without +country code.",
)
def import_command(csv_file: Path, slug: str, phone_region: str | None) -> None:
    """Import customers from a CSV file, all or nothing.

    \b
    Header row required; columns (any order, `id` required):
      id, card, email, phone, first_name, last_name, birthdate, points
    id is the customer's id in your previous system; birthdate is YYYY-MM-DD;
    points become one opening balance entry per account. Comma- or
    semicolon-separated, UTF-8.

    Every invalid row is reported with its line number and nothing is imported
    (exit code 1). Running the same file again changes nothing: existing ids are
    left as they are and opening balances are never written twice.
    """
    tenant = require_tenant(slug)
    if phone_region is not None:
        phone_region = phone_region.strip().upper()
        if len(phone_region) != 2 or not phone_region.isalpha():
            raise click.BadParameter(
                "use a two-letter country code such as BE", param_hint="--phone-region"
            )
    try:
        with csv_file.open(encoding="utf-8-sig", newline="") as stream:
            rows = count_rows(stream)
            with click.progressbar(length=2 * rows, label=f"Importing {rows} rows") as bar:
                result = import_accounts(
                    tenant.id, stream, phone_region=phone_region, progress=bar.update
                )
    except UnicodeDecodeError:
        raise click.ClickException(f"{csv_file} is not UTF-8 text; save it as CSV UTF-8") from None
    except ImportRejected as rejected:
        report_problems(rejected, str(csv_file))
    click.echo(
        f"{result.created} accounts created, {result.already_present} already present; "
        f"{result.opening_entries} opening balances written ({result.opening_points} points)"
    )
