"""`loyalty tick`: the periodic work, safe to run from cron on several hosts at once."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app

from ..models import utcnow
from ..services.campaigns.jobs import run_campaign_jobs
from ..services.deliverect.call_log import prune
from ..services.deliverect.sso import prune_sso
from ..services.members.sessions import prune_expired
from ..services.notifications.outbox import deliver_due
from ..services.reporting import rollups
from ..services.setup.team import prune_logins
from ..services.wallet.expiry import due_accounts, expire_points
from ..time import MissingOffset, parse_iso
from . import loyalty_cli


@loyalty_cli.command("tick")
@click.option(
    "--now",
    "now_text",
    help="Pretend it is this ISO 8601 UTC time (to catch up or rehearse); default: now.",
)
def tick(now_text: str | None) -> None:
    """Run the periodic jobs once: write off expired points, prune the webhook call log and
    ended sign-in sessions, run the campaigns (snapshots, dynamic joins, birthdays, timeouts,
    coupon expiry, lapsed checkout locks), deliver due notifications, bring the stats' rollups
    up to ten minutes ago (run it every few minutes: the stats pages read only the rest live)."""
    now = _parse_now(now_text)
    account_ids = due_accounts(now)
    with click.progressbar(length=len(account_ids), label="Expiring points") as bar:
        expired = expire_points(now, account_ids, bar.update)
    click.echo(f"expired {expired} points on {len(account_ids)} accounts")
    days = int(current_app.config["WEBHOOK_LOG_RETENTION_DAYS"])
    click.echo(f"deleted {prune(now, days)} webhook calls older than {days} days")
    window = int(current_app.config["LOGIN_THROTTLE_WINDOW_SECONDS"])
    click.echo(f"deleted {prune_logins(now, window)} ended sign-in sessions and throttle counts")
    guests = prune_expired(now)
    click.echo(
        f"deleted {guests.guest_sessions} guest sessions, {guests.customer_codes} guest sign-in "
        f"codes and {prune_sso(now)} SSO codes and tokens ended over a day ago"
    )
    click.echo(f"campaigns: {run_campaign_jobs(now).summary()}")
    sent = deliver_due(now)
    click.echo(
        f"notifications: {sent.sent} sent, {sent.held} held for later, "
        f"{sent.retried} to retry, {sent.failed} failed"
    )
    click.echo(f"stats: rebuilt {rollups.refresh_all(now)} days")


def _parse_now(text: str | None) -> datetime:
    if not text:
        return utcnow()
    try:
        return parse_iso(text)
    except MissingOffset:
        raise click.BadParameter("include a UTC offset, e.g. Z", param_hint="--now") from None
    except ValueError:
        raise click.BadParameter(
            "use ISO 8601, e.g. 2026-12-31T23:00:00Z", param_hint="--now"
        ) from None
