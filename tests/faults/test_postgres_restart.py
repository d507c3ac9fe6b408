"""PostgreSQL restarted under load: while it is down every door answers a clear 503 in its own
shape with Retry-After, never a 500 nor a hang; once it is back the app recovers by itself, and
nothing is lost or doubled."""

from __future__ import annotations

import threading

import pytest

from tests.faults.conftest import SLUG
from tests.support.faults import (
    Load,
    books,
    ledger_problems,
    order_payload,
    send,
    signed_post,
    tally,
    wait_until,
)

pytestmark = pytest.mark.postgres


def test_while_postgres_restarts_every_door_answers_503_and_nothing_is_lost(site):
    with Load(site.channel, site.customers, "restart", threads=4) as load:
        wait_until(lambda: load.sent() >= 20, 90, "load under way")
        site.postgres.halt()
        try:
            doors = _each_door(site)
            down = load.sent()
            wait_until(lambda: load.sent() >= down + 20, 60, "load meets the outage")
        finally:
            site.postgres.resume()
        back = load.sent()
        wait_until(lambda: load.answered_since(back) >= 10, 60, "the app recovers by itself")
    exchanges = load.exchanges
    counts = tally(exchanges)
    print(f"requests: {len(exchanges)} {counts}")

    for door, answer in doors.items():
        assert answer.status == 503, (door, answer.status, answer.body[:300])
        assert answer.headers["retry-after"] == "5", door
    assert doors["webhooks"].json() == {
        "error": "service_unavailable",
        "http_code": 503,
        "description": doors["webhooks"].json()["description"],
    }
    assert doors["api"].json()["error"] == "unavailable"
    assert set(doors["api"].json()) == {"error", "message", "field"}
    for page in ("dashboard", "guest page"):
        assert doors[page].headers["content-type"].startswith("text/html")
        assert "try again" in doors[page].body.decode().lower()

    # Never a 500, never a lost connection or a hang: a 2xx, or a 503 that says try again.
    assert set(counts) <= {"2xx", "503"}, counts
    assert counts["503"] >= 20
    for exchange in exchanges:
        if exchange.answer.status == 503:
            assert exchange.answer.headers["retry-after"] == "5"
            assert exchange.answer.json()["error"] == "service_unavailable"

    # Deliverect does not retry a 503: the restaurant's side sends those again (here, now).
    for exchange in exchanges:
        if exchange.answer.status == 503:
            assert exchange.resend(site.channel).status == 200
    assert ledger_problems(site.engine) == []
    settled = books(site.engine)
    for exchange in exchanges:
        assert exchange.resend(site.channel).status == 200
    assert books(site.engine) == settled
    assert ledger_problems(site.engine) == []
    answered = {e.payload["orderId"] for e in exchanges if e.kind == "order"}
    assert {row[0] for row in settled["orders"]} >= answered


def test_connections_that_died_idle_in_the_pool_are_replaced_without_an_error(site):
    """Every worker holds a pooled connection; PostgreSQL restarts while nobody is asking;
    pool_pre_ping finds each dead connection on its next checkout and opens a new one."""
    _together(site, 8, "warm")
    site.postgres.halt()
    site.postgres.resume()
    answers = _together(site, 12, "after")
    assert [a.status for a in answers] == [200] * 12, [a.body[:200] for a in answers]


def _together(site, count: int, tag: str) -> list:
    """`count` orders at once, so that every worker takes some."""
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def one(number: int) -> None:
        payload = order_payload(
            site.channel,
            site.customers[number % len(site.customers)],
            f"idle-{tag}-{number}",
            f"idle-{tag}-{number}",
            False,
        )
        barrier.wait()
        results[number] = signed_post(
            site.channel.base_url, "/webhooks/deliverect/orders", payload, site.channel.secret
        )

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _each_door(site) -> dict:
    """One request to each door while the database is down."""
    base = site.server.base_url
    customer = site.customers[0]
    return {
        "webhooks": signed_post(
            base,
            "/webhooks/deliverect/orders",
            order_payload(site.channel, customer, "down-1", "down-1", False),
            site.channel.secret,
        ),
        "api": send(
            base,
            "GET",
            "/loyalty-api/api/accounts/count",
            headers={"Authorization": f"Bearer {site.api_token}", "X-Tenant": SLUG},
        ),
        "dashboard": send(base, "GET", "/", headers={"Cookie": site.dashboard_cookie}),
        "guest page": send(base, "GET", f"/m/{SLUG}/sign-in"),
    }
