"""A gunicorn worker killed (SIGKILL) in the middle of Deliverect's checkouts: its transaction
dies with it, gunicorn replaces it, and nothing is half-written, lost or doubled."""

from __future__ import annotations

import os
import signal

import pytest
from sqlalchemy import text

from tests.support.faults import (
    Load,
    books,
    ledger_problems,
    replay_answers_match,
    tally,
    wait_until,
)

pytestmark = pytest.mark.postgres


def test_a_killed_worker_leaves_whole_orders_and_a_replay_changes_nothing(site):
    killed = []
    with Load(site.channel, site.customers, "kill") as load:
        for _kill in range(2):
            wait_until(lambda: load.sent() >= 25 * (len(killed) + 1), 90, "load under way")
            victim = min(site.server.worker_pids())
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
        wait_until(lambda: load.sent() >= 25 * (len(killed) + 1), 90, "load goes on")
    workers = site.server.wait_for_workers()
    exchanges = load.exchanges
    counts = tally(exchanges)
    print(f"worker kills: {len(killed)}; requests: {len(exchanges)} {counts}")

    assert not workers & set(killed), "gunicorn replaced the killed workers"
    # A request on a killed worker loses its connection; every other one is answered 2xx.
    assert set(counts) <= {"2xx", "no answer"}, counts
    assert all(e.answer.problem != "timed out" for e in exchanges)
    assert ledger_problems(site.engine) == []
    answered = [e for e in exchanges if e.kind == "order" and e.answer.status == 200]
    assert _recorded(site, [e.payload["orderId"] for e in answered]) == len(answered)

    # What lost its answer is sent again, as Deliverect would; then everything once more.
    for exchange in exchanges:
        if exchange.answer.status is None:
            assert exchange.resend(site.channel).status == 200
    settled = books(site.engine)
    cancelled = {e.payload["orderId"] for e in exchanges if e.kind == "cancel"}
    for exchange in exchanges:
        again = exchange.resend(site.channel)
        assert again.status == 200, again.body
        if exchange.kind != "validate" and exchange.answer.status == 200:
            order_id = exchange.payload["orderId"]
            now = "cancelled" if order_id in cancelled else None
            assert replay_answers_match(exchange, again, now), (exchange.answer.body, again.body)
    assert books(site.engine) == settled
    assert ledger_problems(site.engine) == []


def _recorded(site, order_ids: list[str]) -> int:
    """How many of these orders the database holds (each external id at most once by its
    unique key), each with at most one earn entry."""
    with site.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT o.external_id, COUNT(l.id) FILTER (WHERE l.kind = 'earn') AS earns "
                "FROM orders o LEFT JOIN ledger_entries l ON l.order_id = o.id "
                "WHERE o.external_id = ANY(:ids) GROUP BY o.id"
            ),
            {"ids": order_ids},
        ).all()
    assert all(row.earns <= 1 for row in rows)
    return len(rows)
