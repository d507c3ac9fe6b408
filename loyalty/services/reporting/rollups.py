"""The stats' daily rollups: built set-based from orders, the ledger and the accounts, refreshed
by `loyalty tick`, rebuilt on demand; the days they cannot answer are read live."""

from __future__ import annotations

from datetime import date, timedelta

from ...extensions import db
from ...models import StatsRollupState


def live_from(tenant_id: int, today: date) -> date:
    """The first local day the rollups cannot answer: days from it on are read live. Yesterday
    is always live (an order placed late yesterday may be reported today), so are days nobody
    has built yet and days a late write touched since the last build."""
    state = db.session.get(StatsRollupState, tenant_id)
    yesterday = today - timedelta(days=1)
    if state is None or state.complete_before is None:
        return date.min
    first = min(state.complete_before, yesterday)
    return min(first, state.stale_from) if state.stale_from is not None else first
