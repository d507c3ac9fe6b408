"""Shared benchmark machinery: throw-away PostgreSQL, bulk accounts, gunicorn servers, wrk runs."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = PROJECT_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
WRK_SCRIPT = BENCH_DIR / "pool.lua"

if str(PROJECT_ROOT) not in sys.path:  # `python bench/x.py` puts only bench/ on the path
    sys.path.insert(0, str(PROJECT_ROOT))

from loyalty import create_app  # noqa: E402
from loyalty.extensions import db  # noqa: E402
from loyalty.rules.identity import name_key  # noqa: E402
from tests.support.postgres import TemporaryPostgres  # noqa: E402

# --- process hygiene -----------------------------------------------------------------------


class Stopped(Exception):
    """The benchmark was asked to stop (SIGTERM); raised so every cleanup below still runs."""


@contextmanager
def cleanup_on_exit() -> Iterator[ExitStack]:
    """An ExitStack whose callbacks run on success, errors, Ctrl-C and SIGTERM alike."""

    def on_term(signum, _frame):
        raise Stopped(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        with ExitStack() as stack:
            yield stack
    finally:
        signal.signal(signal.SIGTERM, previous)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres(stack: ExitStack) -> str:
    """A fresh PostgreSQL server in a temporary folder, stopped (and deleted) by `stack`."""
    server = TemporaryPostgres()
    stack.callback(server.stop)
    return server.start()


def app_for(database_url: str, **overrides):
    """The loyalty app on `database_url`, for seeding (never serves requests in the benchmark)."""
    config = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench-seeding"}
    config.update(overrides)
    return create_app(config)


# --- progress --------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self._last_line = -1

    def advance(self, count: int) -> None:
        self.done += count
        if self.tty:
            filled = int(30 * self.done / self.total)
            sys.stderr.write(
                f"\r{self.label:<24} [{'#' * filled}{'.' * (30 - filled)}] "
                f"{self.done:>9,}/{self.total:,}"
            )
            sys.stderr.flush()
        else:
            # One line per 10 % keeps CI logs readable.
            decile = 10 * self.done // self.total
            if decile != self._last_line:
                self._last_line = decile
                sys.stderr.write(f"{self.label}: {self.done:,}/{self.total:,}\n")

    def finish(self) -> None:
        took = time.monotonic() - self.started
        if self.tty:
            sys.stderr.write("\n")
        sys.stderr.write(f"{self.label}: {self.done:,} in {took:.1f} s\n")
        sys.stderr.flush()


def note(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


# --- bulk accounts -----------------------------------------------------------------------------

FIRST_NAMES = (
    "Ana",
    "Bram",
    "Chloé",
    "Dario",
    "Elif",
    "Femke",
    "Giulia",
    "Hugo",
    "Inès",
    "Jan",
    "Kenji",
    "Lotte",
    "Marco",
    "Noor",
    "Oscar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Zoë",
)
LAST_NAMES = (
    "Janssens",
    "Peeters",
    "Maes",
    "Rossi",
    "Yilmaz",
    "De Vries",
    "Dubois",
    "Novak",
    "García",
    "Müller",
    "Okafor",
    "Silva",
    "Tanaka",
    "Van Dijk",
    "Łukasz",
)


@dataclass(frozen=True)
class SeededAccount:
    """What a load generator needs to name a customer the way an integrator would."""

    external_id: str
    email: str
    phone: str
    card: str
    points: int
    cash: int


ACCOUNT_COLUMNS = (
    "tenant_id",
    "external_id",
    "card",
    "email",
    "phone",
    "first_name",
    "last_name",
    "first_name_key",
    "last_name_key",
    "properties",
    "consents",
    "marketing_consent",
    "status",
    "points_balance",
    "cash_balance",
    "lifetime_points",
    "lock_version",
    "created_at",
    "updated_at",
)


def seed_accounts(
    app, tenant_id: int, count: int, rng: random.Random, prefix: str = "bench"
) -> list[SeededAccount]:
    """Insert `count` active accounts with COPY, each balance backed by one opening ledger entry.

    Balances go straight in as cached balances; the opening entries are then written set-based
    from those rows, so `ledger_sum == points_balance` (and cash likewise) holds for every account,
    as if each had been imported through services.wallet.ledger. Lifetime points equal the opening
    points, which spreads the accounts over the tiers. PostgreSQL only.
    """
    accounts: list[SeededAccount] = []
    now = datetime.now(UTC)
    progress = Progress("accounts", count)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            raise RuntimeError("bulk seeding needs PostgreSQL (COPY)")
        raw = db.engine.raw_connection()
        try:
            connection = raw.driver_connection
            with connection.cursor() as cursor:
                copy_sql = f"COPY accounts ({', '.join(ACCOUNT_COLUMNS)}) FROM STDIN"
                with cursor.copy(copy_sql) as copy:
                    for number in range(1, count + 1):
                        first = rng.choice(FIRST_NAMES)
                        last = rng.choice(LAST_NAMES)
                        # Skewed like a real programme: most hold a little, a few hold a lot.
                        points = min(int(rng.expovariate(1 / 900)), 20_000)
                        cash = rng.randrange(500, 5_000, 50) if rng.random() < 0.1 else 0
                        account = SeededAccount(
                            external_id=f"{prefix}-{number:07d}",
                            email=f"guest{number}@{prefix}.example",
                            phone=f"+3247{number:07d}",
                            card=f"{prefix.upper()}{number:09d}",
                            points=points,
                            cash=cash,
                        )
                        accounts.append(account)
                        copy.write_row(
                            (
                                tenant_id,
                                account.external_id,
                                account.card,
                                account.email,
                                account.phone,
                                first,
                                last,
                                name_key(first),
                                name_key(last),
                                "{}",
                                "{}",
                                number % 3 == 0,
                                "active",
                                points,
                                cash,
                                points,
                                0,
                                now,
                                now,
                            )
                        )
                        if number % 5_000 == 0:
                            progress.advance(5_000)
            progress.advance(count % 5_000)
            with connection.cursor() as cursor:
                for unit, column in (("points", "points_balance"), ("cash", "cash_balance")):
                    cursor.execute(
                        "INSERT INTO ledger_entries (tenant_id, account_id, unit, kind, amount, "
                        "balance_after, idempotency_key, reason, created_at) "
                        f"SELECT tenant_id, id, %s, 'opening', {column}, {column}, "
                        "'opening:' || %s || ':' || external_id, 'opening balance (benchmark)', "
                        f"created_at FROM accounts WHERE tenant_id = %s AND {column} > 0",
                        (unit, unit, tenant_id),
                    )
                cursor.execute("ANALYZE accounts")
                cursor.execute("ANALYZE ledger_entries")
            connection.commit()
        finally:
            raw.close()
    progress.finish()
    return accounts


# --- gunicorn --------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    base_url: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def default_workers() -> int:
    return 2 * (os.cpu_count() or 1)


def serve(
    stack: ExitStack,
    name: str,
    app_spec: str,
    *,
    workers: int,
    env: dict[str, str] | None = None,
    chdir: Path = PROJECT_ROOT,
    log_dir: Path,
    port: int | None = None,
) -> Server:
    """Run `gunicorn app_spec` on a free loopback port until `stack` closes; wait until it answers.

    Sync workers, no access log (gunicorn's default), output to a log file shown on failure.
    """
    port = port or free_port()
    log_path = log_dir / f"{name}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(chdir),
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
        app_spec,
    ]
    with open(log_path, "wb") as log:
        # Own session: Ctrl-C reaches only us, and we stop the servers in order below.
        process = subprocess.Popen(
            command,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path)
    stack.callback(_stop_process_group, process)
    _wait_until_answering(server)
    return server


def _stop_process_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)  # gunicorn's master stops its workers
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def _wait_until_answering(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited at start:\n{server.log_tail()}")
        try:
            urllib.request.urlopen(server.base_url + "/", timeout=5).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means a worker is serving
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer within {timeout:.0f} s:\n{server.log_tail()}")


def post_json(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST raw bytes; the status and body whatever the status (no exception on 4xx/5xx)."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- wrk -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PooledRequest:
    """One pre-built request; headers are sent exactly as given (signatures stay valid)."""

    method: str
    path: str  # path and query
    headers: dict[str, str]
    body: bytes = b""


def write_pool(path: Path, requests: Iterable[PooledRequest]) -> int:
    """The pool file pool.lua replays: one request a line, fields separated by tabs."""
    count = 0
    with open(path, "wb") as handle:
        for item in requests:
            if b"\t" in item.body or b"\n" in item.body:
                raise ValueError("pooled bodies must be compact JSON (no raw tabs or newlines)")
            fields = [item.method, item.path, *(f"{k}: {v}" for k, v in item.headers.items())]
            handle.write("\t".join(fields).encode() + b"\t" + item.body + b"\n")
            count += 1
    return count


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    non2xx: int
    socket_errors: dict[str, int]
    repeats: int  # requests that reused a pooled body because the pool ran out
    samples: list[str] = field(default_factory=list)  # first non-2xx answers, per thread

    def as_dict(self) -> dict:
        return asdict(self)


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk (see bench/README.md)")
    return found


def run_wrk(
    base_url: str,
    pool_path: Path,
    *,
    duration: float,
    connections: int,
    threads: int,
    timeout: float = 10,
) -> WrkResult:
    """Replay the pool against `base_url` (loopback only) for `duration` seconds."""
    if not base_url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise ValueError(f"refusing to load anything but this machine: {base_url}")
    threads = max(1, min(threads, connections))
    command = [
        wrk_binary(),
        "--latency",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration))}s",
        "--timeout",
        f"{max(1, round(timeout))}s",
        "-s",
        str(WRK_SCRIPT),
        base_url,
        "--",
        str(pool_path),
        str(threads),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=duration + 120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{err}\n{out}")
    return parse_wrk_output(out)


def parse_wrk_output(text: str) -> WrkResult:
    """Read the BENCH_RESULT / BENCH_SAMPLE lines pool.lua's `done` prints."""
    result_line = next(
        (line for line in text.splitlines() if line.startswith("BENCH_RESULT ")), None
    )
    if result_line is None:
        raise RuntimeError(f"wrk printed no BENCH_RESULT line:\n{text}")
    result = json.loads(result_line.removeprefix("BENCH_RESULT "))
    samples = [
        line.removeprefix("BENCH_SAMPLE ")
        for line in text.splitlines()
        if line.startswith("BENCH_SAMPLE ")
    ]
    seconds = result["duration_us"] / 1e6
    latency = result["latency_us"]
    return WrkResult(
        requests=result["requests"],
        duration_s=round(seconds, 3),
        requests_per_s=round(result["requests"] / seconds, 1) if seconds else 0.0,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        mean_ms=round(latency["mean"] / 1000, 3),
        non2xx=result["non2xx"],
        socket_errors=result["errors"],
        repeats=result["repeats"],
        samples=samples,
    )


# --- results ---------------------------------------------------------------------------------


def scratch_dir(stack: ExitStack, prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    stack.callback(shutil.rmtree, path, ignore_errors=True)
    return path


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def write_results(name: str, payload: dict, results_dir: Path = RESULTS_DIR) -> Path:
    """bench/results/<name>-<UTC timestamp>.json (the folder is git-ignored)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results_dir / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def marker(passed: bool) -> str:
    return "PASS" if passed else "MISS"
