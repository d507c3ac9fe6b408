"""Real processes for the fault tests: gunicorn serving the app, plain HTTP (no test client),
Deliverect's retry on connection errors, a proxy that loses answers, and the ledger's
invariants checked in SQL."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.engine import Engine

from loyalty.signature import HEADER, sign
from tests.support.postgres import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Deliverect retries only when it could not connect or lost the connection, 3 times at these
# delays in seconds, and never after an HTTP answer, whatever its status (spec §11).
RETRY_DELAYS = (5, 10, 20)


@dataclass
class Answer:
    """What a client got: an HTTP answer, or `status` None when the connection failed."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    problem: str | None = None  # why there is no answer (refused, reset, timed out)

    def json(self):
        return json.loads(self.body)


def send(
    base_url: str,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Answer:
    """One request on its own connection; a timeout is an answer-less result, never a hang."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, payload)
    except TimeoutError:
        return Answer(None, problem="timed out")
    except (ConnectionError, http.client.HTTPException) as error:
        return Answer(None, problem=type(error).__name__)
    finally:
        connection.close()


def signed_post(base_url: str, path: str, payload: dict, secret: str, **options) -> Answer:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", HEADER: sign(secret, body)}
    return send(base_url, "POST", path, body, headers, **options)


def deliver(
    base_url: str,
    path: str,
    payload: dict,
    secret: str,
    pause: Callable[[float], None] = time.sleep,
) -> list[Answer]:
    """A webhook sent as Deliverect sends it: again after each connection error, up to
    RETRY_DELAYS, waiting with `pause`. Every attempt, the answered one last."""
    attempts = [signed_post(base_url, path, payload, secret)]
    for delay in RETRY_DELAYS:
        if attempts[-1].status is not None:
            break
        pause(delay)
        attempts.append(signed_post(base_url, path, payload, secret))
    return attempts


class Gunicorn:
    """`gunicorn app:app` with sync workers on a loopback port, as production runs the app."""

    def __init__(self, database_url: str, log_path: Path, workers: int = 3) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log_path = log_path
        env = {
            **os.environ,
            "LOYALTY_DATABASE_URL": database_url,
            "LOYALTY_SECRET_KEY": "faults-secret-key",
            "LOYALTY_PUBLIC_BASE_URL": self.base_url,
        }
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--workers",
                    str(workers),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--chdir",
                    str(PROJECT_ROOT),
                    "--graceful-timeout",
                    "5",
                    # The master imports the app once and forks: workers start (and a killed
                    # one is replaced) in a moment, not after seconds of imports each.
                    "--preload",
                    "--log-level",
                    "info",
                    "app:app",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for_workers()

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return {int(pid) for pid in children.read_text().split()}
        except FileNotFoundError:
            return set()

    def wait_for_workers(self, timeout: float = 60) -> set[int]:
        """Until the master has all its workers and one of them answers; their pids."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")
            pids = self.worker_pids()
            if len(pids) == self.workers and send(self.base_url, "GET", "/login").status:
                return pids
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start its workers:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGQUIT)  # quick shutdown: the test is over
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class AnswerLosingProxy:
    """A TCP proxy in front of `upstream_port`. The first `lose` connections deliver their
    request and the app answers it, but the answer is thrown away and the client's connection
    reset: the app may have committed while the caller saw only a connection error. Later
    connections are forwarded both ways."""

    def __init__(self, upstream_port: int, lose: int = 1) -> None:
        self.upstream_port = upstream_port
        self.to_lose = lose
        self.connections = 0
        self.lost = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:  # closed
                return
            with self._lock:
                self.connections += 1
                lose = self.to_lose > 0
                self.to_lose -= lose
            threading.Thread(target=self._serve, args=(client, lose), daemon=True).start()

    def _serve(self, client: socket.socket, lose: bool) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
        if lose:
            while upstream.recv(65536):  # the app's whole answer (sync workers then close)
                pass
            with self._lock:
                self.lost += 1
            # An RST, not a FIN: the caller sees "connection reset", as when a link drops.
            client.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            client.close()
            upstream.close()
            return
        _pump(upstream, client)

    def __enter__(self) -> AnswerLosingProxy:
        return self

    def __exit__(self, *_exc) -> None:
        self.listener.close()


def _pump(source: socket.socket, target: socket.socket) -> None:
    """Copy `source` to `target` until either side closes, then close the direction."""
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
        target.shutdown(socket.SHUT_WR)
    except OSError:
        pass


# --- what must hold after any fault ------------------------------------------------------------

_BALANCES = text(
    """
    SELECT a.id, a.points_balance, a.cash_balance,
           COALESCE(SUM(l.amount) FILTER (WHERE l.unit = 'points'), 0) AS points,
           COALESCE(SUM(l.amount) FILTER (WHERE l.unit = 'cash'), 0) AS cash
    FROM accounts a LEFT JOIN ledger_entries l ON l.account_id = a.id
    GROUP BY a.id
    HAVING a.points_balance <> COALESCE(SUM(l.amount) FILTER (WHERE l.unit = 'points'), 0)
        OR a.cash_balance <> COALESCE(SUM(l.amount) FILTER (WHERE l.unit = 'cash'), 0)
    """
)
# Each order against its own entries: a placed order has exactly the earn and redeem entries
# its totals say, and no reversal; a cancelled one nets to nothing (debt counts as taken back);
# a cancel that came first has none.
_ORDERS = text(
    """
    SELECT o.external_id, o.status, o.points_earned, o.points_spent, o.cash_spent,
           COALESCE(SUM(l.amount) FILTER (WHERE l.kind = 'earn'), 0) AS earned,
           COALESCE(SUM(l.amount) FILTER (WHERE l.kind = 'redeem' AND l.unit = 'points'), 0)
               AS redeemed,
           COALESCE(SUM(l.amount) FILTER (WHERE l.kind = 'redeem' AND l.unit = 'cash'), 0)
               AS cash,
           COUNT(l.id) FILTER (WHERE l.kind = 'reversal') AS reversals,
           COALESCE(SUM(l.amount) FILTER (WHERE l.unit = 'points'), 0)
             - COALESCE(SUM(l.amount) FILTER (WHERE l.unit = 'debt'), 0) AS points_net,
           COALESCE(SUM(l.amount) FILTER (WHERE l.unit = 'cash'), 0) AS cash_net,
           COUNT(l.id) AS entries
    FROM orders o LEFT JOIN ledger_entries l ON l.order_id = o.id
    GROUP BY o.id
    """
)
_ORPHANS = text(
    "SELECT id, idempotency_key FROM ledger_entries "
    "WHERE idempotency_key LIKE 'order:%' AND order_id IS NULL"
)


def ledger_problems(engine: Engine) -> list[str]:
    """Everything wrong with the books, in words; [] when they add up."""
    problems = []
    with engine.connect() as connection:
        for row in connection.execute(_BALANCES):
            problems.append(
                f"account {row.id}: balance {row.points_balance} points / {row.cash_balance} "
                f"cash, ledger {row.points} / {row.cash}"
            )
        for row in connection.execute(_ORDERS):
            if row.status == "placed":
                whole = (
                    row.earned == row.points_earned
                    and -row.redeemed == row.points_spent
                    and -row.cash == row.cash_spent
                    and row.reversals == 0
                )
            elif row.status == "cancelled":
                whole = row.points_net == 0 and row.cash_net == 0
            else:
                whole = row.entries == 0
            if not whole:
                problems.append(f"order {row.external_id} ({row.status}) and its entries differ")
        for row in connection.execute(_ORPHANS):
            problems.append(f"entry {row.id} ({row.idempotency_key}) has no order")
    return problems


def books(engine: Engine) -> dict:
    """A snapshot of what money-like state there is, to compare before and after a replay."""
    with engine.connect() as connection:
        return {
            "ledger": sorted(
                connection.execute(
                    text("SELECT idempotency_key, account_id, unit, amount FROM ledger_entries")
                ).all()
            ),
            "balances": sorted(
                connection.execute(
                    text("SELECT id, points_balance, cash_balance FROM accounts")
                ).all()
            ),
            "orders": sorted(
                connection.execute(
                    text(
                        "SELECT external_id, status, points_earned, points_spent, cash_spent "
                        "FROM orders"
                    )
                ).all()
            ),
        }


# --- Deliverect's traffic ----------------------------------------------------------------------

ORDERS = "/webhooks/deliverect/orders"
CANCEL = "/webhooks/deliverect/orders/cancel"
VALIDATE = "/webhooks/deliverect/programs/validate"
ITEMS = [{"plu": "PIZZA", "name": "Margherita", "price": 1200, "quantity": 1, "subItems": []}]


@dataclass(frozen=True)
class Channel:
    """The Deliverect link the load speaks for: its ids, secret and the reward it redeems."""

    base_url: str
    secret: str
    ids: dict[str, str]
    program_id: str
    program_title: str
    program_value: int


@dataclass
class Exchange:
    kind: str  # "validate", "order" or "cancel"
    path: str
    payload: dict
    answer: Answer

    def resend(self, channel: Channel) -> Answer:
        return signed_post(channel.base_url, self.path, self.payload, channel.secret)


def _customer(external_id: str) -> dict:
    return {
        "loyaltyProviderCustomerId": external_id,
        "name": "Guest",
        "email": "",
        "phoneNumber": "",
    }


def _basket(external_id: str, discounts: list[dict]) -> dict:
    taken = sum(line["amount"] for line in discounts)
    return {
        "orderType": 1,
        "customer": _customer(external_id),
        "items": ITEMS,
        "discounts": discounts,
        "subTotal": 1200,
        "discountTotal": -taken,
        "paymentAmount": 1200 - taken,
        "decimalDigits": 2,
        "deliveryCost": 0,
        "serviceCharge": 0,
        "tip": 0,
    }


def validate_payload(channel: Channel, external_id: str, session_id: str) -> dict:
    return {
        **channel.ids,
        "sessionId": session_id,
        "programIds": [channel.program_id],
        "order": _basket(external_id, []),
    }


def order_payload(
    channel: Channel, external_id: str, order_id: str, session_id: str, redeem: bool
) -> dict:
    discounts = (
        [
            {
                "name": channel.program_title,
                "programId": channel.program_id,
                "type": "discount_amount",
                "provider": "loyalty",
                "amount": channel.program_value,
            }
        ]
        if redeem
        else []
    )
    return {
        **channel.ids,
        "orderId": order_id,
        "channelOrderDisplayId": order_id[-8:],
        "sessionId": session_id,
        "created": "2026-12-02T12:00:00.000000Z",
        **_basket(external_id, discounts),
    }


def cancel_payload(channel: Channel, external_id: str, order_id: str) -> dict:
    return {
        **channel.ids,
        "orderId": order_id,
        "channelOrderDisplayId": order_id[-8:],
        "isCancelled": True,
        "cancellationReason": "POS rejected",
        "customer": _customer(external_id),
    }


class Load:
    """Threads playing Deliverect's checkouts until stopped: validate then order redeeming the
    reward (half the time), plain orders, and cancels of orders that were answered 2xx."""

    def __init__(self, channel: Channel, customers: list[str], tag: str, threads: int = 6):
        self.channel = channel
        self.customers = customers
        self.tag = tag
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(number,), daemon=True)
            for number in range(threads)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def sent(self) -> int:
        with self._lock:
            return len(self.exchanges)

    def answered_since(self, start: int) -> int:
        """How many of the exchanges after the first `start` were answered 2xx."""
        with self._lock:
            return sum(1 for e in self.exchanges[start:] if e.answer.status == 200)

    def _send(self, kind: str, path: str, payload: dict) -> Answer:
        answer = signed_post(self.channel.base_url, path, payload, self.channel.secret)
        with self._lock:
            self.exchanges.append(Exchange(kind, path, payload, answer))
        return answer

    def _run(self, number: int) -> None:
        answered: list[tuple[str, str]] = []
        turn = 0
        while not self._stop.is_set():
            turn += 1
            customer = self.customers[(number * 7 + turn) % len(self.customers)]
            order_id = f"{self.tag}-{number}-{turn}"
            redeem = turn % 2 == 0
            if redeem:
                self._send("validate", VALIDATE, validate_payload(self.channel, customer, order_id))
            payload = order_payload(self.channel, customer, order_id, order_id, redeem)
            if 200 <= (self._send("order", ORDERS, payload).status or 0) < 300:
                answered.append((customer, order_id))
            if turn % 4 == 0 and answered:
                customer, order_id = answered.pop(0)
                self._send("cancel", CANCEL, cancel_payload(self.channel, customer, order_id))


def tally(exchanges: list[Exchange]) -> dict[str, int]:
    """Counts by outcome: "2xx", "503", "no answer", other statuses by number."""
    counts: dict[str, int] = {}
    for exchange in exchanges:
        status = exchange.answer.status
        key = "no answer" if status is None else "2xx" if 200 <= status < 300 else str(status)
        counts[key] = counts.get(key, 0) + 1
    return counts


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until true; fail after `timeout` seconds (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)


def replay_answers_match(exchange: Exchange, again: Answer, status_now: str | None) -> bool:
    """A re-sent order or cancel answers what the first answer said, flagged as a duplicate;
    an order cancelled since says so."""
    first, second = exchange.answer.json(), again.json()
    expected = {**first, "duplicate": True}
    if status_now is not None:
        expected["status"] = status_now
    return second == expected
