"""Integration tools: play Deliverect against a server, prune the webhook call log."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import click
from flask import current_app

from ..models import utcnow
from ..services.checkout.customers import CustomerKeys, find_customer
from ..services.deliverect import sso
from ..services.deliverect.call_log import prune
from ..services.setup.tenants import tenant_by_api_key
from ..webhooks.simulator import SCENARIOS, Exchange, Simulator
from . import loyalty_cli


@loyalty_cli.command("simulate")
@click.option(
    "--url", "base_url", required=True, help="The loyalty server, e.g. https://loyalty.example.com"
)
@click.option(
    "--api-key", required=True, help="The tenant's API key (Settings shows how to issue one)."
)
@click.option(
    "--secret", required=True, help="The webhook secret the server verifies signatures with."
)
@click.option("--scenario", type=click.Choice(SCENARIOS), default="full", show_default=True)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for each answer.")
@click.option(
    "--customer",
    help="sso: the guest (e-mail, phone or id) to sign in. A code is created for them, for the "
    "restaurant's first web shop, in this installation's database, as their Order online would.",
)
@click.option(
    "--code",
    help="sso: a code a guest's Order online created (the code= of the Deliverect address), "
    "for a server whose database this command cannot reach.",
)
def simulate(
    base_url: str,
    api_key: str,
    secret: str,
    scenario: str,
    timeout: float,
    customer: str | None,
    code: str | None,
) -> None:
    """Play Deliverect against a running server; exits 1 on any contract violation.

    The sso scenario (single sign-on) needs --customer or --code."""
    if scenario == "sso" and not code:
        if not customer:
            raise click.UsageError("the sso scenario needs --customer EMAIL or --code CODE")
        code = _sso_code(api_key, customer)
    simulator = Simulator(
        base_url, api_key, secret, timeout=timeout, sso_code=code, sso_customer=customer
    )
    for exchange in simulator.run(scenario):
        _print(exchange)
    failed = [exchange for exchange in simulator.exchanges if not exchange.ok]
    click.echo()
    if failed or not simulator.exchanges:
        click.secho(
            f"{len(failed)} of {len(simulator.exchanges)} exchanges broke the contract", fg="red"
        )
        raise SystemExit(1)
    click.secho(f"all {len(simulator.exchanges)} exchanges follow the contract", fg="green")


@loyalty_cli.command("prune-webhook-log")
def prune_webhook_log() -> None:
    """Delete webhook calls older than WEBHOOK_LOG_RETENTION_DAYS."""
    days = int(current_app.config["WEBHOOK_LOG_RETENTION_DAYS"])
    click.echo(f"deleted {prune(utcnow(), days)} webhook calls older than {days} days")


def _sso_code(api_key: str, customer: str) -> str:
    """A fresh code for the guest, as their "Order online" on the member pages creates one."""
    tenant = tenant_by_api_key(api_key)
    if tenant is None:
        raise click.ClickException("no restaurant in this database has this API key")
    account = find_customer(tenant.id, CustomerKeys(provider_id=customer))
    if account is None:
        raise click.ClickException(f"{tenant.name} has no customer {customer}")
    shops = sso.list_shops(tenant.id)
    if not shops:
        raise click.ClickException("add a web shop in Settings → Single sign-on first")
    try:
        address = sso.start_sso(tenant.id, account.id, shops[0].id, now=utcnow())
    except sso.SsoUnavailable as error:
        raise click.ClickException(
            f"single sign-on is not ready ({error}): turn it on and issue the client in Settings"
        ) from None
    return parse_qs(urlsplit(address).query)["code"][0]


def _print(exchange: Exchange) -> None:
    verdict = click.style("ok", fg="green") if exchange.ok else click.style("FAIL", fg="red")
    click.echo(
        f"[{verdict}] {exchange.step}: {exchange.method} {exchange.url} -> {exchange.status}"
    )
    if exchange.request_body not in (None, ""):
        click.echo("  request:  " + _compact(exchange.request_body))
    if exchange.response_body is not None:
        click.echo("  response: " + _compact(exchange.response_body))
    for problem in exchange.problems:
        click.secho(f"  problem:  {problem}", fg="red")


def _compact(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 600 else text[:599] + "…"
