"""Integration tools: play Deliverect against a server, prune the webhook call log."""

from __future__ import annotations

import json

import click
from flask import current_app

from ..models import utcnow
from ..services.deliverect.call_log import prune
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
def simulate(base_url: str, api_key: str, secret: str, scenario: str, timeout: float) -> None:
    """Play Deliverect against a running server; exits 1 on any contract violation."""
    simulator = Simulator(base_url, api_key, secret, timeout=timeout)
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
