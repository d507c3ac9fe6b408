"""Deliverect retries a webhook only after a connection error (3 times, at 5, 10 and 20 s).
When the connection drops after the app answered, the order or cancel was already recorded:
the retry must record nothing more and answer as the first attempt would have."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.support.faults import (
    CANCEL,
    ORDERS,
    RETRY_DELAYS,
    AnswerLosingProxy,
    cancel_payload,
    deliver,
    ledger_problems,
    order_payload,
)

pytestmark = pytest.mark.postgres


def test_an_order_and_its_cancel_whose_answers_were_lost_are_each_recorded_once(site):
    customer = site.customers[-1]
    before = _balance(site, customer)
    waits: list[float] = []
    with AnswerLosingProxy(site.server.port, lose=1) as proxy:
        order = deliver(
            proxy.base_url,
            ORDERS,
            order_payload(site.channel, customer, "retry-1", "retry-1", redeem=False),
            site.channel.secret,
            pause=waits.append,
        )
    assert (proxy.connections, proxy.lost) == (2, 1)
    after_order = _balance(site, customer)
    with AnswerLosingProxy(site.server.port, lose=1) as proxy:
        cancel = deliver(
            proxy.base_url,
            CANCEL,
            cancel_payload(site.channel, customer, "retry-1"),
            site.channel.secret,
            pause=waits.append,
        )
    assert (proxy.connections, proxy.lost) == (2, 1)

    # Each was retried once, after Deliverect's first delay (not waited for here).
    assert waits == [RETRY_DELAYS[0], RETRY_DELAYS[0]]
    assert [attempt.status for attempt in order] == [None, 200]
    assert order[1].json() == {
        "orderId": "retry-1",
        "status": "placed",
        "pointsEarned": after_order - before,
        "pointsSpent": 0,
        "cashSpent": 0,
        "duplicate": True,  # the lost attempt had recorded it
    }
    assert after_order > before
    assert [attempt.status for attempt in cancel] == [None, 200]
    assert cancel[1].json() == {**order[1].json(), "status": "cancelled"}
    assert _balance(site, customer) == before
    assert _entries(site, "retry-1") == {"earn": 1, "reversal": 1}
    assert ledger_problems(site.engine) == []


def _balance(site, customer: str) -> int:
    with site.engine.connect() as connection:
        return connection.scalar(
            text("SELECT points_balance FROM accounts WHERE external_id = :id"), {"id": customer}
        )


def _entries(site, order_id: str) -> dict[str, int]:
    with site.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT l.kind, COUNT(*) FROM ledger_entries l JOIN orders o ON o.id = l.order_id "
                "WHERE o.external_id = :id GROUP BY l.kind"
            ),
            {"id": order_id},
        ).all()
    return dict(rows)
