"""Load benchmark of the Deliverect webhooks (programs, validate, order) beside their floor.

    .venv/bin/python bench/webhooks.py [--accounts 100000] [--duration 10] [--workers N] ...

Seeds PostgreSQL (a throw-away server unless --database-url) with one tenant, its accounts and
rewards; serves the app, bench/floor_app.py (each call's essential work in plain SQL) and
bench/bare_app.py with gunicorn; registers as Deliverect would and drives the URLs the
registration returned with wrk, replaying pools of pre-signed bodies (the floor gets the same
bodies with their own order ids and sessions); prints requests/s, p50, p99 and non-2xx per
endpoint with the app's ratio to its floor and to the bare endpoint, and writes the same as JSON
to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make `bench` and `loyalty` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import (  # noqa: E402
    BENCH_DIR,
    PooledRequest,
    SeededAccount,
    Server,
    WrkResult,
    app_for,
    cleanup_on_exit,
    default_workers,
    free_port,
    git_commit,
    marker,
    note,
    post_json,
    run_wrk,
    scratch_dir,
    seed_accounts,
    serve,
    start_postgres,
    write_pool,
    write_results,
    wrk_binary,
)
from loyalty.extensions import db  # noqa: E402
from loyalty.models import Reward, Tier  # noqa: E402
from loyalty.rules.programs import REWARD_TYPES  # noqa: E402
from loyalty.services.setup.tenants import create_tenant  # noqa: E402

SIGNATURE_HEADER = "X-Server-Authorization-HMAC-SHA256"
REGISTRATION_PATH = "/webhooks/deliverect/registration"
BARE_PATH = "/bare"
# The Deliverect-side ids every call carries; registration links them to the tenant.
CONTEXT = {
    "accountId": "bench-deliverect-account",
    "loyaltyProfileId": "bench-loyalty-profile",
    "locationId": "bench-location",
    "channelLinkId": "bench-channel-link",
}
ENDPOINTS = ("programs", "validate", "order")
TARGET_RATIO_TO_FLOOR = 0.6
TARGET_PROGRAMS_P99_MS = 10.0


# --- the restaurant ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuItem:
    plu: str
    name: str
    price: int  # minor units


@dataclass(frozen=True)
class ProgramRef:
    """A reward as the load generator needs it to build baskets that use it."""

    program_id: str
    title: str
    type: str
    value: int
    item_plu: str | None
    usable: bool  # live and open to every tier: worth asking to validate


MENU = tuple(
    MenuItem(f"PLU-{number:03d}", name, price)
    for number, (name, price) in enumerate(
        [
            ("Margherita", 1150),
            ("Diavola", 1350),
            ("Quattro formaggi", 1400),
            ("Capricciosa", 1450),
            ("Tiramisu", 650),
            ("Panna cotta", 600),
            ("Coke", 300),
            ("Sparkling water", 250),
            ("Espresso", 220),
            ("Lasagne", 1550),
            ("Carbonara", 1300),
            ("Insalata mista", 850),
            ("Bruschetta", 700),
            ("Arancini", 750),
            ("Calzone", 1400),
            ("Focaccia", 550),
            ("Limoncello", 500),
            ("House red (glass)", 600),
            ("House white (glass)", 600),
            ("Affogato", 550),
            ("Gelato (2 scoops)", 450),
            ("Minestrone", 800),
            ("Risotto ai funghi", 1600),
            ("Polpette", 950),
        ],
        start=1,
    )
)
# A few dishes sell far more than the rest, and the item rewards are on them.
POPULAR = MENU[:8]
TIERS = (("Bronze", 0, 100), ("Silver", 1_000, 125), ("Gold", 3_000, 150))


@dataclass
class Seeded:
    tenant_id: int
    api_key: str
    webhook_secret: str
    accounts: list[SeededAccount]
    programs: list[ProgramRef]


def seed(app, *, accounts: int, rewards: int, rng: random.Random) -> Seeded:
    """Schema, one tenant with tiers, `rewards` rewards of every type and `accounts` accounts."""
    with app.app_context():
        db.create_all()
        slug = f"bench-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(2)}"
        tenant, issued = create_tenant(slug, "Benchmark Trattoria")
        tiers = _seed_tiers(tenant)
        programs = _seed_rewards(tenant, rewards, tiers, rng)
        tenant_id = tenant.id
    seeded_accounts = seed_accounts(app, tenant_id, accounts, rng)
    return Seeded(tenant_id, issued.api_key, issued.webhook_secret, seeded_accounts, programs)


def _seed_tiers(tenant) -> list[Tier]:
    try:
        from loyalty.services.setup.tiers import TierDetails, create_tier
    except ImportError:  # the tiers service is optional to this benchmark
        create_tier = None
    tiers = []
    for name, threshold, multiplier in TIERS:
        if create_tier is not None:
            tiers.append(create_tier(tenant.id, TierDetails(name, threshold, multiplier)))
        else:
            tier = Tier(
                tenant_id=tenant.id,
                name=name,
                threshold_points=threshold,
                multiplier_percent=multiplier,
            )
            db.session.add(tier)
            db.session.commit()
            tiers.append(tier)
    return tiers


def _reward_plan(index: int, tiers: list[Tier], rng: random.Random, now: datetime) -> dict:
    """The details of reward number `index`: types in turn, some limited, two already ended."""
    reward_type = REWARD_TYPES[index % len(REWARD_TYPES)]
    item = POPULAR[index % len(POPULAR)]
    value = {
        "discount_amount": rng.randrange(200, 1_001, 50),
        "discount_percentage": rng.randrange(500, 3_001, 500),
        "item_discount_amount": rng.randrange(100, 301, 50),
        "item_discount_percentage": rng.randrange(2_000, 5_001, 1_000),
        "item_fixed_price": rng.randrange(100, 201, 50),
    }.get(reward_type, 0)
    ended = index >= 48
    return {
        "title": f"{reward_type.replace('_', ' ').capitalize()} #{index + 1}",
        "type": reward_type,
        "cost": rng.randrange(50, 1_501, 25),
        "value": value,
        "description": "Benchmark reward",
        "item_plu": item.plu
        if reward_type not in ("discount_amount", "discount_percentage")
        else None,
        "quantity": None,
        "min_order_value": 2_000 if index % 5 == 4 else None,
        "active_from": None,
        "active_to": (now - timedelta(days=1))
        if ended
        else (now + timedelta(days=30))
        if index % 6 == 0
        else None,
        "media_url": f"https://media.example/rewards/{index + 1}.png" if index % 2 else None,
        "media_type": "image" if index % 2 else None,
        "min_tier_id": tiers[1 + index % 2].id if index % 9 == 8 else None,
    }


def _seed_rewards(tenant, count: int, tiers: list[Tier], rng: random.Random) -> list[ProgramRef]:
    try:
        from loyalty.services.setup.rewards import RewardDetails, create_reward
    except ImportError:  # before the rewards service existed: rows as models/reward.py has them
        create_reward = None
    now = datetime.now(UTC)
    programs = []
    for index in range(count):
        plan = _reward_plan(index, tiers, rng, now)
        if create_reward is not None:
            reward = create_reward(tenant.id, RewardDetails(**plan))
        else:
            reward = Reward(tenant_id=tenant.id, program_id=str(index + 1), **plan)
            db.session.add(reward)
            db.session.commit()
        usable = plan["min_tier_id"] is None and not (plan["active_to"] and plan["active_to"] < now)
        programs.append(
            ProgramRef(
                reward.program_id, reward.title, reward.type, reward.value, reward.item_plu, usable
            )
        )
    return programs


# --- what Deliverect sends ---------------------------------------------------------------------


def encode(payload: dict | list) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed(path: str, body: bytes, secret: str) -> PooledRequest:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return PooledRequest(
        "POST", path, {"Content-Type": "application/json", SIGNATURE_HEADER: signature}, body
    )


def registration_body(api_key: str) -> bytes:
    return encode({"apiKey": api_key, **{k: CONTEXT[k] for k in ("accountId", "loyaltyProfileId")}})


def basket(rng: random.Random) -> list[dict]:
    """One to four lines, mostly popular dishes, the odd one with modifiers."""
    items = []
    for _ in range(rng.choice((1, 2, 2, 3, 3, 4))):
        dish = rng.choice(POPULAR) if rng.random() < 0.7 else rng.choice(MENU)
        line = {
            "plu": dish.plu,
            "name": dish.name,
            "price": dish.price,
            "quantity": rng.choice((1, 1, 1, 2, 2, 3)),
            "subItems": [],
        }
        if rng.random() < 0.2:
            line["subItems"] = [
                {
                    "plu": "MOD-EXTRA",
                    "name": "Extra cheese",
                    "price": 150,
                    "quantity": 1,
                    "subItems": [],
                }
            ]
        items.append(line)
    return items


def items_total(items: list[dict]) -> int:
    def unit(line: dict) -> int:
        return line["price"] + sum(unit(sub) * sub["quantity"] for sub in line["subItems"])

    return sum(unit(line) * line["quantity"] for line in items)


def customer(account: SeededAccount) -> dict:
    return {
        "email": account.email,
        "phoneNumber": account.phone,
        "name": "Bench Guest",
        "loyaltyProviderCustomerId": account.external_id,
    }


def _order(account: SeededAccount, items: list[dict], discounts: list[dict]) -> dict:
    subtotal = items_total(items)
    taken = sum(d["amount"] for d in discounts)
    return {
        "orderType": 1,
        "customer": customer(account),
        "items": items,
        "discounts": discounts,
        "subTotal": subtotal,
        "discountTotal": -taken,
        "paymentAmount": subtotal - taken,
        "decimalDigits": 2,
        "deliveryCost": 0,
        "serviceCharge": 0,
        "tip": 0,
    }


def programs_body(account: SeededAccount, items: list[dict], session_id: str) -> bytes:
    """Loyalty programs, basket case: what applies to this basket."""
    return encode({**CONTEXT, "sessionId": session_id, "order": _order(account, items, [])})


def validate_body(
    account: SeededAccount, items: list[dict], session_id: str, programs: list[ProgramRef]
) -> bytes:
    return encode(
        {
            **CONTEXT,
            "sessionId": session_id,
            "programIds": [p.program_id for p in programs],
            "order": _order(account, items, []),
        }
    )


def order_body(
    account: SeededAccount, items: list[dict], order_id: str, redeemed: list[ProgramRef]
) -> bytes:
    """An order accepted by the POS, naming the programs the channel applied (if any)."""
    discounts = []
    left = items_total(items)
    for program in redeemed:
        amount = min(_channel_amount(program, items), left)
        left -= amount
        discounts.append(
            {
                "name": program.title,
                "programId": program.program_id,
                "type": program.type,
                "provider": "loyalty",
                "amount": amount,
            }
        )
    body = {
        **CONTEXT,
        "orderId": order_id,
        "channelOrderDisplayId": order_id[-8:],
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "bagFee": 0,
        "driverTip": 0,
        "smallOrderFee": 0,
        "taxTotal": 0,
        **_order(account, items, discounts),
    }
    return encode(body)


def _channel_amount(program: ProgramRef, items: list[dict]) -> int:
    """Roughly what the channel took off for a program (the order only reports it)."""
    line = next((i for i in items if i["plu"] == program.item_plu), None)
    price = line["price"] if line else 0
    return {
        "discount_amount": program.value,
        "discount_percentage": items_total(items) * program.value // 10_000,
        "item_discount_amount": min(program.value, price),
        "item_discount_percentage": price * program.value // 10_000,
        "item_fixed_price": max(price - program.value, 0),
        "buy_one_get_one_free": price,
        "free_item": price,
    }.get(program.type, 0)


def _programs_to_try(
    items: list[dict], programs: list[ProgramRef], rng: random.Random
) -> list[ProgramRef]:
    """One program (sometimes two) a customer might pick for this basket."""
    in_basket = {line["plu"] for line in items}
    fitting = [
        p
        for p in programs
        if p.usable and (p.item_plu is None or p.item_plu in in_basket or p.type == "free_item")
    ]
    return rng.sample(fitting, k=min(len(fitting), 2 if rng.random() < 0.2 else 1))


@dataclass
class Pools:
    """Signed bodies per endpoint, in pool order (validate i and order i are one checkout)."""

    programs: list[bytes]
    validate: list[bytes]
    order: list[bytes]


def build_pools(
    seeded: Seeded, *, programs_size: int, checkout_size: int, run_tag: str, rng: random.Random
) -> Pools:
    """Bodies for the three endpoints; every validate has its own session, every order its id.

    Checkout i validates programs in session i; order i (for even i) then redeems them, so the
    order run commits the holds the validate run placed, as a completed checkout would.
    """
    accounts = seeded.accounts
    programs_pool = []
    for number in range(programs_size):
        programs_pool.append(
            programs_body(rng.choice(accounts), basket(rng), f"{run_tag}-browse-{number}")
        )
    validate_pool, order_pool = [], []
    for number in range(checkout_size):
        account, items = rng.choice(accounts), basket(rng)
        chosen = _programs_to_try(items, seeded.programs, rng)
        validate_pool.append(validate_body(account, items, f"{run_tag}-checkout-{number}", chosen))
        redeemed = chosen if number % 2 == 0 else []
        order_pool.append(order_body(account, items, f"{run_tag}-{number:07d}", redeemed))
    return Pools(programs_pool, validate_pool, order_pool)


# --- the run -----------------------------------------------------------------------------------


def register(base_url: str, seeded: Seeded) -> dict[str, str]:
    """Register as Deliverect does; the URLs to drive, checked to point at this server."""
    request = signed(REGISTRATION_PATH, registration_body(seeded.api_key), seeded.webhook_secret)
    status, answer = post_json(base_url + REGISTRATION_PATH, request.body, request.headers)
    if status == 404:
        raise RuntimeError(
            f"{REGISTRATION_PATH} is not served by this build (404): the Deliverect webhooks are "
            "missing; --bare-only measures the yardstick alone"
        )
    if status != 200:
        raise RuntimeError(f"registration answered {status}: {answer[:500]!r}")
    return endpoint_paths(json.loads(answer), urlsplit(base_url).netloc)


def endpoint_paths(urls: dict, netloc: str) -> dict[str, str]:
    """The path (and query) of each benchmarked URL in a registration answer, which must all be
    on `netloc`: load is only ever sent to the server this run started."""
    wanted = {
        "programs": "loyaltyProgramsURL",
        "validate": "loyaltyValidateProgramsURL",
        "order": "orderURL",
    }
    missing = [key for key in wanted.values() if not urls.get(key)]
    if missing:
        raise RuntimeError(f"registration answer lacks {', '.join(missing)}: {urls}")
    paths = {}
    for endpoint, key in wanted.items():
        parts = urlsplit(urls[key])
        if parts.netloc != netloc:
            raise RuntimeError(f"{key} points at {parts.netloc}, not at this server ({netloc})")
        paths[endpoint] = parts.path + (f"?{parts.query}" if parts.query else "")
    return paths


def check_each_endpoint(
    base_url: str,
    bare_url: str,
    paths: dict[str, str],
    seeded: Seeded,
    run_tag: str,
    rng: random.Random,
) -> None:
    """One request per endpoint before any load: a non-2xx here would make the figures void."""
    account = seeded.accounts[0]
    items = basket(rng)
    chosen = _programs_to_try(items, seeded.programs, rng)
    bodies = {
        "programs": programs_body(account, items, f"{run_tag}-smoke"),
        "validate": validate_body(account, items, f"{run_tag}-smoke", chosen),
        "order": order_body(account, items, f"{run_tag}-smoke", []),
    }
    for endpoint, body in bodies.items():
        request = signed(paths[endpoint], body, seeded.webhook_secret)
        status, answer = post_json(base_url + request.path, request.body, request.headers)
        if not 200 <= status < 300:
            raise RuntimeError(f"{endpoint} answered {status} to a valid call: {answer[:500]!r}")
    status, answer = post_json(bare_url + BARE_PATH, bodies["programs"], {})
    if status != 200:
        raise RuntimeError(f"bare endpoint answered {status}: {answer[:200]!r}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rewards", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10, help="seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=2, help="seconds, not measured")
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="gunicorn sync workers per server (default: 2 x cores)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=None,
        help="concurrent wrk connections (default: one per worker)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--pool",
        type=int,
        default=30_000,
        help="distinct validate sessions and order ids (more than a run sends)",
    )
    parser.add_argument(
        "--database-url",
        help="an existing PostgreSQL (SQLAlchemy URL); default: a throw-away server",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed for the data")
    parser.add_argument("--no-results", action="store_true", help="do not write the JSON file")
    parser.add_argument(
        "--endpoints",
        default=",".join(ENDPOINTS),
        help="comma-separated subset of programs,validate,order (e.g. to profile one)",
    )
    parser.add_argument(
        "--bare-only",
        action="store_true",
        help="measure only the bare endpoint (no database, no app)",
    )
    args = parser.parse_args(argv)
    args.connections = args.connections or args.workers
    args.endpoints = [name.strip() for name in args.endpoints.split(",") if name.strip()]
    unknown = sorted(set(args.endpoints) - set(ENDPOINTS))
    if unknown:
        parser.error(f"unknown endpoints {', '.join(unknown)}; choose from {', '.join(ENDPOINTS)}")
    # Orders follow the validations they complete, whatever order they were named in.
    args.endpoints = [name for name in ENDPOINTS if name in args.endpoints]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk_binary()  # fail before minutes of seeding, not after
    rng = random.Random(args.seed)
    run_tag = f"{datetime.now(UTC):%Y%m%d%H%M%S}{secrets.token_hex(2)}"
    load = {"connections": args.connections, "threads": args.threads}
    results: dict[str, WrkResult] = {}
    load_before = os.getloadavg()
    with cleanup_on_exit() as stack:
        work = scratch_dir(stack, "loyalty-bench-")
        note(f"serving the bare endpoint with {args.workers} gunicorn workers")
        bare_server = serve(
            stack, "bare", "bare_app:app", workers=args.workers, chdir=BENCH_DIR, log_dir=work
        )
        if args.bare_only:
            app_server, floor_server = None, None
            pool_files = {"bare": work / "bare.pool"}
            walk_in = SeededAccount("walk-in", "guest@bench.example", "+32470000000", "W1", 0, 0)
            write_pool(
                pool_files["bare"],
                (
                    PooledRequest(
                        "POST",
                        BARE_PATH,
                        {"Content-Type": "application/json"},
                        programs_body(walk_in, basket(rng), f"{run_tag}-{number}"),
                    )
                    for number in range(5_000)
                ),
            )
        else:
            app_server, floor_server, pool_files = _prepare_app(
                args, stack, work, bare_server, run_tag, rng
            )
            note(f"warming up ({args.warmup:g} s each on programs, its floor and bare) ...")
            run_wrk(app_server.base_url, pool_files["programs"], duration=args.warmup, **load)
            run_wrk(
                floor_server.base_url, pool_files["floor programs"], duration=args.warmup, **load
            )
        run_wrk(bare_server.base_url, pool_files["bare"], duration=args.warmup, **load)

        # Bare before and after: the machine is shared, so the yardstick is their mean.
        plan = [("bare (before)", bare_server, "bare")]
        if app_server is not None:
            # Validate before order: the orders then commit the holds the validations placed.
            # Each endpoint's floor just before it, so both see the same machine and data.
            for endpoint in args.endpoints:
                plan.append((f"floor {endpoint}", floor_server, f"floor {endpoint}"))
                plan.append((endpoint, app_server, endpoint))
        plan.append(("bare (after)", bare_server, "bare"))
        for label, server, pool in plan:
            note(f"{label}: {args.duration:g} s ...")
            results[label] = _measure(server, pool_files[pool], args.duration, load)

    report = summarise(args, results, load_before)
    print(format_report(report))
    if not args.no_results:
        path = write_results("webhooks", report)
        print(f"\nresults: {path}")
    return 0 if report["valid"] else 1


def _prepare_app(
    args: argparse.Namespace,
    stack,
    work: Path,
    bare_server: Server,
    run_tag: str,
    rng: random.Random,
) -> tuple[Server, Server, dict[str, Path]]:
    """Seed the database, serve the app and the floor, register, check each endpoint once on
    both, write the pools."""
    if args.database_url:
        database_url = args.database_url
    else:
        note("starting a throw-away PostgreSQL server ...")
        database_url = start_postgres(stack)
    seeded = seed(app_for(database_url), accounts=args.accounts, rewards=args.rewards, rng=rng)

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app_env = {
        "LOYALTY_DATABASE_URL": database_url,
        "LOYALTY_SECRET_KEY": "bench-" + secrets.token_urlsafe(24),
        "LOYALTY_PUBLIC_BASE_URL": base_url,
        "LOYALTY_DELIVERECT_SIGNATURE_MODE": "enforce",
    }
    note(f"serving the app with {args.workers} gunicorn workers")
    app_server = serve(
        stack, "app", "app:app", workers=args.workers, env=app_env, log_dir=work, port=port
    )
    floor_env = {
        "FLOOR_DATABASE_URL": database_url,
        "FLOOR_TENANT_ID": str(seeded.tenant_id),
        "FLOOR_WEBHOOK_SECRET": seeded.webhook_secret,
    }
    note(f"serving the floor with {args.workers} gunicorn workers")
    floor_server = serve(
        stack,
        "floor",
        "floor_app:app",
        workers=args.workers,
        env=floor_env,
        chdir=BENCH_DIR,
        log_dir=work,
    )
    try:
        paths = register(base_url, seeded)
        check_each_endpoint(base_url, bare_server.base_url, paths, seeded, run_tag, rng)
    except RuntimeError:
        note(f"app log (last lines):\n{app_server.log_tail()}")
        raise
    try:
        check_each_endpoint(
            floor_server.base_url, bare_server.base_url, paths, seeded, f"{run_tag}f", rng
        )
    except RuntimeError:
        note(f"floor log (last lines):\n{floor_server.log_tail()}")
        raise

    note(f"signing {2 * (5_000 + 2 * args.pool):,} bodies ...")
    pools = build_pools(
        seeded, programs_size=5_000, checkout_size=args.pool, run_tag=run_tag, rng=rng
    )
    # The floor's own sessions and order ids (an app order id would be a cheap replay there).
    floor = build_pools(
        seeded, programs_size=5_000, checkout_size=args.pool, run_tag=f"{run_tag}f", rng=rng
    )
    pool_files = {}
    for name, path, bodies in (
        ("bare", BARE_PATH, pools.programs),
        ("programs", paths["programs"], pools.programs),
        ("validate", paths["validate"], pools.validate),
        ("order", paths["order"], pools.order),
        ("floor programs", paths["programs"], floor.programs),
        ("floor validate", paths["validate"], floor.validate),
        ("floor order", paths["order"], floor.order),
    ):
        pool_files[name] = work / f"{name.replace(' ', '-')}.pool"
        # The bare endpoint gets the very same bytes and headers as programs.
        write_pool(pool_files[name], (signed(path, body, seeded.webhook_secret) for body in bodies))
    return app_server, floor_server, pool_files


def _measure(server: Server, pool: Path, duration: float, load: dict) -> WrkResult:
    result = run_wrk(server.base_url, pool, duration=duration, **load)
    if server.process.poll() is not None:
        raise RuntimeError(f"{server.name} died under load:\n{server.log_tail()}")
    return result


def summarise(
    args: argparse.Namespace, results: dict[str, WrkResult], load_before: tuple[float, ...]
) -> dict:
    before, after = results["bare (before)"], results["bare (after)"]
    bare_rps = (before.requests_per_s + after.requests_per_s) / 2
    rows = {}
    for label, result in results.items():
        row = result.as_dict()
        if not label.startswith("bare"):
            row["ratio_to_bare"] = round(result.requests_per_s / bare_rps, 3) if bare_rps else 0.0
        if label in ENDPOINTS:
            floor = results.get(f"floor {label}")
            if floor is not None:
                row["ratio_to_floor"] = (
                    round(result.requests_per_s / floor.requests_per_s, 3)
                    if floor.requests_per_s
                    else 0.0
                )
                met = row["ratio_to_floor"] >= TARGET_RATIO_TO_FLOOR
                row["targets"] = {"floor_ratio>=0.6": met}
            if label == "programs":
                row.setdefault("targets", {})["p99<10ms"] = result.p99_ms < TARGET_PROGRAMS_P99_MS
        rows[label] = row
    invalid = [
        label
        for label, r in results.items()
        if r.non2xx or any(r.socket_errors[k] for k in ("connect", "read", "write", "timeout"))
    ]
    return {
        "benchmark": "webhooks",
        "started_for_commit": git_commit(),
        "finished_at": datetime.now(UTC).isoformat(),
        # Other work on the machine skews every figure: the load averages say how much there was.
        "machine": {
            "cores": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "config": {
            "accounts": args.accounts,
            "rewards": args.rewards,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "workers": args.workers,
            "connections": args.connections,
            "threads": args.threads,
            "pool": args.pool,
            "endpoints": args.endpoints,
            "seed": args.seed,
            "database": "given" if args.database_url else "throw-away",
            "bare_only": args.bare_only,
        },
        "bare_requests_per_s": round(bare_rps, 1),
        "endpoints": rows,
        "valid": not invalid,
        "invalid_because": invalid,
    }


def format_report(report: dict) -> str:
    config = report["config"]
    what = (
        "bare endpoint only"
        if config["bare_only"]
        else f"Deliverect webhooks: {config['accounts']:,} accounts, {config['rewards']} rewards"
    )
    lines = [
        f"{what}, {config['workers']} gunicorn workers, {config['connections']} connections, "
        f"{config['duration_s']:g} s per endpoint",
        "",
        f"{'endpoint':<16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
        f"{'vs bare':>8} {'vs floor':>9}  targets",
    ]
    for label, row in report["endpoints"].items():
        ratio = f"{row['ratio_to_bare']:.2f}" if "ratio_to_bare" in row else ""
        to_floor = f"{row['ratio_to_floor']:.2f}" if "ratio_to_floor" in row else ""
        targets = []
        if "floor_ratio>=0.6" in row.get("targets", {}):
            passed = marker(row["targets"]["floor_ratio>=0.6"])
            targets.append(f"vs floor >= {TARGET_RATIO_TO_FLOOR} {passed}")
        if "p99<10ms" in row.get("targets", {}):
            passed = marker(row["targets"]["p99<10ms"])
            targets.append(f"p99 < {TARGET_PROGRAMS_P99_MS:g} ms {passed}")
        lines.append(
            f"{label:<16} {row['requests_per_s']:>9.1f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['non2xx']:>8} {ratio:>8} {to_floor:>9}  "
            f"{'; '.join(targets)}"
        )
    yardstick = report["bare_requests_per_s"]
    lines.append(f"\nbare yardstick (mean of before and after): {yardstick} req/s")
    machine = report["machine"]
    lines.append(
        f"machine: {machine['cores']} cores, 1-min load average "
        f"{machine['load_average_before'][0]:.2f} before, {machine['load_average_after'][0]:.2f} "
        "after (above the core count, other work was competing: compare ratios, not req/s)"
    )
    for label, row in report["endpoints"].items():
        errors = {k: v for k, v in row["socket_errors"].items() if v and k != "status"}
        if errors:
            lines.append(f"{label}: socket errors {errors}")
        if row["repeats"] and label.removeprefix("floor ") in ("validate", "order"):
            lines.append(f"{label}: {row['repeats']:,} requests reused a body (raise --pool)")
        for sample in row["samples"]:
            lines.append(f"{label}: first non-2xx answer: {sample[:300]}")
    if not report["valid"]:
        lines.append(
            "INVALID RUN: non-2xx answers or socket errors in "
            + ", ".join(report["invalid_because"])
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
