"""In-process cost of the benchmarked webhooks: SQL statements, CPU and SQL time per call.

    .venv/bin/python bench/profile_webhooks.py [--accounts 2000] [--calls 300] [--profile order]

Seeds a throw-away PostgreSQL exactly as bench/webhooks.py does (same tenant, rewards, bodies),
then replays the signed bodies through Flask's test client in this process: no gunicorn, no wrk,
so the figures are the app's own work. Prints, per endpoint, statements per call (and the
statements of one call), Python CPU ms per call and the wall ms spent waiting on SQL, from the
quietest of --rounds rounds (the machine may be shared).
`--profile ENDPOINT` also prints cProfile's top functions for that endpoint.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402

from bench._support import app_for, cleanup_on_exit, start_postgres  # noqa: E402
from bench.webhooks import (  # noqa: E402
    REGISTRATION_PATH,
    build_pools,
    registration_body,
    seed,
    signed,
)
from loyalty.extensions import db  # noqa: E402


class StatementCounter:
    """Counts statements and the wall time spent in them, on every engine of the app."""

    def __init__(self, engine) -> None:
        self.count, self.seconds, self.statements = 0, 0.0, []
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn, _cursor, statement, *_args) -> None:
        self._started = time.perf_counter()
        self.statements.append(" ".join(statement.split())[:140])

    def _after(self, *_args) -> None:
        self.count += 1
        self.seconds += time.perf_counter() - self._started

    def reset(self) -> None:
        self.count, self.seconds, self.statements = 0, 0.0, []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=300, help="measured calls per endpoint")
    parser.add_argument("--no-ping", action="store_true", help="pool_pre_ping off")
    parser.add_argument("--rounds", type=int, default=5, help="best of this many rounds")
    parser.add_argument("--profile", help="programs, validate or order: print cProfile's top")
    parser.add_argument(
        "--sort", default="cumulative", help="cProfile order: cumulative, tottime, ..."
    )
    parser.add_argument("--show", action="store_true", help="print one call's statements")
    parser.add_argument(
        "--only", help="comma-separated subset of programs,validate,order (e.g. for py-spy)"
    )
    args = parser.parse_args(argv)
    rng = random.Random(1)
    with cleanup_on_exit() as stack:
        url = start_postgres(stack)
        seeded = seed(app_for(url), accounts=args.accounts, rewards=50, rng=rng)
        app = app_for(
            url,
            PUBLIC_BASE_URL="http://bench.local",
            DELIVERECT_SIGNATURE_MODE="enforce",
            SECRET_KEY="profile-" + secrets.token_hex(8),
            **({"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False}} if args.no_ping else {}),
        )
        client = app.test_client()
        reg = signed(REGISTRATION_PATH, registration_body(seeded.api_key), seeded.webhook_secret)
        urls = client.post(reg.path, data=reg.body, headers=reg.headers).get_json()
        paths = {
            "programs": urls["loyaltyProgramsURL"].removeprefix("http://bench.local"),
            "validate": urls["loyaltyValidateProgramsURL"].removeprefix("http://bench.local"),
            "order": urls["orderURL"].removeprefix("http://bench.local"),
        }
        warm = 50
        pools = build_pools(
            seeded,
            programs_size=args.calls + warm,
            checkout_size=args.calls + warm,
            run_tag=f"{datetime.now(UTC):%H%M%S}",
            rng=rng,
        )
        with app.app_context():
            counter = StatementCounter(db.engine)
        print(f"{args.accounts:,} accounts, {args.calls} calls per endpoint (after {warm} warm-up)")
        print(f"{'endpoint':<10} {'stmts/call':>10} {'CPU ms':>8} {'SQL ms':>8} {'wall ms':>8}")
        for name, bodies in (
            ("programs", pools.programs),
            ("validate", pools.validate),
            ("order", pools.order),
        ):
            if args.only and name not in args.only.split(","):
                continue
            requests = [signed(paths[name], body, seeded.webhook_secret) for body in bodies]
            for request in requests[:warm]:
                client.post(request.path, data=request.body, headers=request.headers)
            counter.reset()
            request = requests[warm]
            answer = client.post(request.path, data=request.body, headers=request.headers)
            assert answer.status_code == 200, answer.get_data()
            one_call = list(counter.statements)
            profiler = cProfile.Profile() if args.profile == name else None
            measured = requests[warm + 1 :]
            rounds = [measured[start :: args.rounds] for start in range(args.rounds)]
            best = None  # the machine is shared: the quietest round is the app's own cost
            for batch in rounds:
                counter.reset()
                cpu, wall = time.process_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                for request in batch:
                    answer = client.post(request.path, data=request.body, headers=request.headers)
                    assert answer.status_code == 200, answer.get_data()
                if profiler:
                    profiler.disable()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                figures = (counter.count, cpu, counter.seconds, wall, len(batch))
                if best is None or cpu / len(batch) < best[1] / best[4]:
                    best = figures
            count, cpu, sql, wall, calls = best
            print(
                f"{name:<10} {count / calls:>10.1f} {1000 * cpu / calls:>8.2f} "
                f"{1000 * sql / calls:>8.2f} {1000 * wall / calls:>8.2f}"
            )
            if args.show:
                for statement in one_call:
                    print(f"    {statement}")
            if profiler:
                pstats.Stats(profiler).sort_stats(args.sort).print_stats(45)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
