"""The floor: the programs, validate and order webhooks doing only their essential work.

Served by gunicorn beside the app under test (bench/webhooks.py), on the same paths, with the
same signed bodies, answering the same wire shapes. Each call does, in plain SQL over one psycopg
connection per sync worker (no ORM, no pool, no Flask extensions):

- programs: the HMAC check (constant time, before any work), one indexed read of the customer
  with the points their other sessions' live holds reserve, the verdict on each reward of a
  per-process catalogue (the same pure rules the app uses), one call-log insert committed
  asynchronously;
- validate: the same, with the customer row locked (FOR UPDATE) and the holds of the programs
  that pass inserted and committed; then the call log;
- order: under the customer lock, the order insert (idempotent on its id), its ledger entries,
  the balance update and the holds it commits, one commit; then the call log.

Simplifications that cost less than the app, never more: the customer is found by
loyaltyProviderCustomerId only, one point per major unit paid (no earning rules), no coupons,
no campaigns, no review caps, no redaction of the logged summary (the log keeps the ids only).

Environment: FLOOR_DATABASE_URL (a libpq URL), FLOOR_TENANT_ID, FLOOR_WEBHOOK_SECRET.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from flask import Flask, Response, g, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the pure rules

from loyalty.rules.basket import Basket, BasketError, basket_from_order  # noqa: E402
from loyalty.rules.programs import (  # noqa: E402
    Customer,
    Program,
    check_program,
    validate_programs,
)

app = Flask(__name__)

PREFIX = "/webhooks/deliverect"
SIGNATURE_HEADER = "X-Server-Authorization-HMAC-SHA256"
HOLD_SECONDS = 15 * 60

_state: dict = {}  # per process (after gunicorn's fork): the connection and the catalogue


def _setup() -> dict:
    if not _state:
        _state["tenant_id"] = int(os.environ["FLOOR_TENANT_ID"])
        _state["secret"] = os.environ["FLOOR_WEBHOOK_SECRET"].encode()
        url = os.environ["FLOOR_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        _state["conn"] = psycopg.connect(url, prepare_threshold=0)
        _state["catalogue"] = _load_catalogue(_state["conn"], _state["tenant_id"])
    return _state


def _load_catalogue(conn, tenant_id: int) -> dict:
    """The live rewards (rules Program, listing) and the tier thresholds, once per process."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, threshold_points FROM tiers WHERE tenant_id = %s "
            "ORDER BY threshold_points, id",
            (tenant_id,),
        )
        tiers = cur.fetchall()
        ranks = {tier_id: rank for rank, (tier_id, _) in enumerate(tiers)}
        cur.execute(
            "SELECT id, program_id, title, description, type, cost, value, item_plu, quantity, "
            "min_order_value, active_from, active_to, media_url, media_type, min_tier_id "
            "FROM rewards WHERE tenant_id = %s AND archived_at IS NULL ORDER BY id",
            (tenant_id,),
        )
        rows = cur.fetchall()
    conn.rollback()
    rewards = []
    for (rid, pid, title, description, kind, cost, value, plu, quantity, min_order,
         active_from, active_to, media_url, media_type, min_tier_id) in rows:  # fmt: skip
        program = Program(
            pid, title, kind, cost, value, plu, quantity, min_order, active_from, active_to,
            ranks.get(min_tier_id) if min_tier_id else None,
        )  # fmt: skip
        listing = {
            "programId": pid,
            "title": title,
            "description": description or "",
            "type": kind,
            "applicable": True,
            "cost": cost,
            "discount": value,
            "itemPLU": plu,
            "quantity": quantity,
            "minOrderValue": min_order,
            "expiresAt": active_to.isoformat() if active_to else None,
            "media": {"url": media_url, "mediaType": media_type or "image"} if media_url else None,
        }
        rewards.append((rid, program, listing))
    return {
        "rewards": rewards,
        "by_program_id": {program.program_id: (rid, program) for rid, program, _ in rewards},
        "thresholds": [threshold for _, threshold in tiers],
    }


def _tier_rank(lifetime_points: int, thresholds: list[int]) -> int | None:
    rank = None
    for position, threshold in enumerate(thresholds):
        if lifetime_points >= threshold:
            rank = position
    return rank


@app.before_request
def _verified() -> Response | None:
    """The signature, checked before any other work; then the body, parsed once, in `g`."""
    g.state = state = _setup()
    g.raw = raw = request.get_data()
    given = (request.headers.get(SIGNATURE_HEADER) or "").strip().lower().encode()
    expected = hmac.new(state["secret"], raw, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, given):
        return _json({"error": "bad_signature"}, 401)
    g.body = json.loads(raw)
    return None


def _json(value, status: int = 200) -> Response:
    return Response(json.dumps(value), status, mimetype="application/json")


def _log(conn, state: dict, endpoint: str, status: int, body: dict) -> None:
    """The call-log row, committed without waiting for the WAL flush (losing it loses nothing)."""
    with conn.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute(
            "INSERT INTO webhook_calls (tenant_id, endpoint, method, status, latency_ms, "
            "request_summary, created_at) VALUES (%s, %s, 'POST', %s, 0, %s, now())",
            (state["tenant_id"], endpoint, status, json.dumps({"orderId": body.get("orderId")})),
        )
    conn.commit()


def _provider_id(order: dict) -> str | None:
    return (order.get("customer") or {}).get("loyaltyProviderCustomerId")


_CUSTOMER = (
    "SELECT a.id, a.points_balance, a.lifetime_points, (SELECT coalesce(sum(h.points), 0) "
    "FROM holds h WHERE h.account_id = a.id AND h.status = 'held' AND h.expires_at > now() "
    "AND h.session_id <> %s) FROM accounts a WHERE a.tenant_id = %s AND a.external_id = %s "
    "AND a.erased_at IS NULL"
)


@app.post(f"{PREFIX}/programs")
def programs() -> Response:
    state, body = g.state, g.body
    conn, catalogue = state["conn"], state["catalogue"]
    basket = _basket(body["order"])
    with conn.cursor() as cur:
        cur.execute(_CUSTOMER, (body.get("sessionId") or "", state["tenant_id"],
                                _provider_id(body["order"])))  # fmt: skip
        row = cur.fetchone()
    now = datetime.now(UTC)
    answer = []
    if row is None:
        answer = [{**listing, "applicable": False} for _, _, listing in catalogue["rewards"]]
    else:
        customer = Customer(max(0, row[1] - row[3]), _tier_rank(row[2], catalogue["thresholds"]))
        for _, program, listing in catalogue["rewards"]:
            verdict = check_program(program, customer, basket, now)
            answer.append({**listing, "applicable": verdict.applicable})
    _log(conn, state, "programs", 200, body)
    return _json(answer)


@app.post(f"{PREFIX}/programs/validate")
def validate() -> Response:
    state, body = g.state, g.body
    conn, catalogue = state["conn"], state["catalogue"]
    session_id = body.get("sessionId") or ""
    basket = _basket(body["order"])
    program_ids = body.get("programIds") or []
    if basket is None:
        basket = basket_from_order(body["order"])
    known = catalogue["by_program_id"]
    now = datetime.now(UTC)
    with conn.cursor() as cur:
        cur.execute(_CUSTOMER + " FOR UPDATE OF a",
                    (session_id, state["tenant_id"], _provider_id(body["order"])))  # fmt: skip
        row = cur.fetchone()
        if row is None:
            conn.rollback()
            results = {}
        else:
            requested = [known[pid][1] for pid in program_ids if pid in known]
            customer = Customer(row[1] - row[3], _tier_rank(row[2], catalogue["thresholds"]))
            checked = validate_programs(
                requested, customer, basket, now, frozenset(basket.applied_program_ids)
            )
            results = {result.program_id: result for result in checked}
            passed = [known[r.program_id] for r in checked if r.ok]
            if passed:
                expires = now + timedelta(seconds=HOLD_SECONDS)
                cur.executemany(
                    "INSERT INTO holds (tenant_id, account_id, reward_id, session_id, points, "
                    "status, expires_at, created_at) VALUES (%s, %s, %s, %s, %s, 'held', %s, %s)",
                    [(state["tenant_id"], row[0], rid, session_id, program.cost, expires, now)
                     for rid, program in passed],  # fmt: skip
                )
            conn.commit()
    answer = []
    for pid in program_ids:
        result = results.get(pid)
        errors = (
            [{"message": message} for message in result.errors]
            if result is not None
            else [{"message": "Program not found"}]
        )
        answer.append(
            {
                "programId": pid,
                "validationErrors": errors,
                "discounts": [d.to_wire() for d in result.discounts] if result else [],
                "validationError": errors[0] if errors else None,
            }
        )
    _log(conn, state, "programs.validate", 200, body)
    return _json(answer)


@app.post(f"{PREFIX}/orders")
def order() -> Response:
    state, raw, body = g.state, g.raw, g.body
    conn, catalogue, tenant_id = state["conn"], state["catalogue"], state["tenant_id"]
    order_id = body["orderId"]
    known = catalogue["by_program_id"]
    reward_ids = sorted({known[d["programId"]][0] for d in body.get("discounts") or ()
                         if d.get("programId") in known})  # fmt: skip
    paid = max(0, body.get("paymentAmount") or 0)
    earned = paid // 100
    now = datetime.now(UTC)
    with conn.cursor() as cur:
        # The customer lock, with the oldest live hold of each redeemed reward.
        cur.execute(
            "SELECT a.id, a.points_balance, ARRAY(SELECT DISTINCT ON (h.reward_id) h.id "
            "FROM holds h WHERE h.account_id = a.id AND h.status = 'held' AND h.expires_at > "
            "now() AND h.reward_id = ANY(%s) ORDER BY h.reward_id, h.created_at, h.id), "
            "ARRAY(SELECT DISTINCT ON (h.reward_id) h.points FROM holds h WHERE h.account_id "
            "= a.id AND h.status = 'held' AND h.expires_at > now() AND h.reward_id = ANY(%s) "
            "ORDER BY h.reward_id, h.created_at, h.id) FROM accounts a "
            "WHERE a.tenant_id = %s AND a.external_id = %s FOR UPDATE OF a",
            (reward_ids, reward_ids, tenant_id, _provider_id(body)),
        )
        account = cur.fetchone()
        account_id = account[0] if account else None
        hold_ids, held = (account[2], account[3]) if account else ([], [])
        spent = sum(held)
        cur.execute(
            "INSERT INTO orders (tenant_id, external_id, account_id, status, "
            "channel_order_display_id, location_id, channel_link_id, order_type, decimal_digits, "
            "sub_total, discount_total, payment_amount, tip, points_earned, points_spent, "
            "cash_spent, shortfall_points, ordered_at, created_at, payload) VALUES (%s, %s, %s, "
            "'placed', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, 0, %s, %s, %s) "
            "ON CONFLICT (tenant_id, external_id) DO NOTHING RETURNING id",
            (tenant_id, order_id, account_id, body.get("channelOrderDisplayId"),
             body.get("locationId"), body.get("channelLinkId"), body.get("orderType"),
             body.get("decimalDigits", 2), body.get("subTotal") or 0,
             body.get("discountTotal") or 0, paid, body.get("tip") or 0,
             earned if account else 0, spent, now, now, raw.decode()),
        )  # fmt: skip
        inserted = cur.fetchone()
        if inserted is None:  # a replay: answer what was recorded
            conn.rollback()
            cur.execute(
                "SELECT status, points_earned, points_spent, cash_spent FROM orders "
                "WHERE tenant_id = %s AND external_id = %s",
                (tenant_id, order_id),
            )
            status, earned, spent, cash = cur.fetchone()
            conn.rollback()
            answer = _order_answer(order_id, status, earned, spent, cash, True)
            _log(conn, state, "orders", 200, body)
            return _json(answer)
        if account is not None:
            balance = account[1]
            entries = []
            if earned:
                balance += earned
                entries.append(("earn", earned, balance, f"order:{order_id}:earn"))
            if spent:
                balance -= spent
                entries.append(("redeem", -spent, balance, f"order:{order_id}:redeem"))
            if entries:
                cur.executemany(
                    "INSERT INTO ledger_entries (tenant_id, account_id, unit, kind, amount, "
                    "balance_after, idempotency_key, reason, order_id, created_at) "
                    "VALUES (%s, %s, 'points', %s, %s, %s, %s, '', %s, %s)",
                    [(tenant_id, account_id, kind, amount, after, key, inserted[0], now)
                     for kind, amount, after, key in entries],  # fmt: skip
                )
                cur.execute(
                    "UPDATE accounts SET points_balance = %s, lifetime_points = lifetime_points "
                    "+ %s, last_order_at = %s WHERE id = %s",
                    (balance, earned, now, account_id),
                )
            if hold_ids:
                cur.execute(
                    "UPDATE holds SET status = 'committed', order_id = %s, closed_at = %s "
                    "WHERE id = ANY(%s)",
                    (inserted[0], now, hold_ids),
                )
        conn.commit()
    answer = _order_answer(order_id, "placed", earned if account else 0, spent, 0, False)
    _log(conn, state, "orders", 200, body)
    return _json(answer)


def _order_answer(order_id, status, earned, spent, cash, replay) -> dict:
    return {
        "orderId": order_id,
        "status": status,
        "pointsEarned": earned,
        "pointsSpent": spent,
        "cashSpent": cash,
        "duplicate": replay,
    }


def _basket(order: dict) -> Basket | None:
    try:
        basket = basket_from_order(order)
    except BasketError:
        return None
    return None if basket.is_empty else basket
