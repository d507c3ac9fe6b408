"""Plays Deliverect against a running loyalty server: signed calls, each answer checked.

The checks are the contract (docs/spec "deliverect-loyalty"): the CLI (`flask loyalty simulate`),
the dashboard's "Send test calls" button and an end-to-end test all run this same scenario.
Only the standard library is used for HTTP, so it runs anywhere the app runs.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..services.deliverect.call_log import redact
from ..signature import HEADER, sign
from ..time import parse_iso

REGISTRATION_PATH = "/webhooks/deliverect/registration"
REQUIRED_URLS = ("customerURL", "customerWalletURL", "loyaltyProgramsURL", "orderURL")
OPTIONAL_URLS = ("validateWalletURL", "loyaltyValidateProgramsURL", "tiersURL", "cancelOrderURL")
PROFILE_KEYS = {
    "providerId",
    "firstName",
    "lastName",
    "email",
    "phoneNumber",
    "dateOfBirth",
    "status",
    "acceptedTCAt",
    "lifetimePointsBalance",
    "tier",
}
STATUSES = {"unknown", "activation_pending", "active", "blocked_by_provider"}
OFFER_TYPES = {"flat_off", "percent_off", "fixed_amount", "free"}
SCOPE_TYPES = {"order", "item", "product"}
SCENARIOS = ("full", "smoke", "sso")
SSO_KEYS = ("oauthUrl", "oauthClientId", "oauthClientSecret")
TOKEN_KEYS = {"token_type", "scope", "created_at", "access_token"}
# Shown as HIDDEN wherever exchanges are printed or rendered: the API key and the SSO client
# secret must not appear anywhere after Settings issued them, nor codes and tokens that work.
SSO_SECRETS = (
    "apiKey",
    "oauthClientSecret",
    "client_secret",
    "code",
    "access_token",
    "refresh_token",
)
HIDDEN = "[hidden]"

# (method, url, body bytes, headers) -> (status, body bytes); raises OSError when unreachable.
Transport = Callable[[str, str, bytes | None, dict[str, str]], tuple[int, bytes]]


def urllib_transport(timeout: float = 10.0) -> Transport:
    def send(method: str, url: str, body: bytes | None, headers: dict[str, str]):
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    return send


def app_transport(app) -> Transport:
    """Sends each call through `app` itself, in this process: nothing leaves the server, so no
    Host header decides where the API key goes."""
    client = app.test_client()

    def send(method: str, url: str, body: bytes | None, headers: dict[str, str]):
        parts = urlsplit(url)
        response = client.open(
            parts.path,
            base_url=f"{parts.scheme}://{parts.netloc}",
            query_string=parts.query,
            method=method,
            data=body,
            headers=headers,
        )
        return response.status_code, response.get_data()

    return send


@dataclass
class Exchange:
    """One request and its answer, with what was wrong with the answer (if anything)."""

    step: str
    method: str
    url: str
    request_body: Any
    status: int | None = None
    response_body: Any = None  # as shown: single sign-on secrets hidden (SSO_SECRETS)
    problems: list[str] = field(default_factory=list)
    answer: Any = field(default=None, repr=False)  # the answer as received, for the checks

    @property
    def ok(self) -> bool:
        return not self.problems


class Abort(Exception):
    """A step whose failure makes the rest of the scenario meaningless."""


class Simulator:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        secret: str,
        transport: Transport | None = None,
        timeout: float = 10.0,
        sso_code: str | None = None,
        sso_customer: str | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        # The sso scenario: a code a guest's "Order online" created, and (optionally) the
        # guest's e-mail or phone, which Get Customer with the token must answer.
        self.sso_code = sso_code
        self.sso_customer = sso_customer
        self.api_key = api_key
        self.secret = secret
        self.send = transport or urllib_transport(timeout)
        # Stable per API key, so running the simulator again refreshes one link, not many.
        digest = hashlib.sha256(api_key.encode()).hexdigest()[:20]
        self.ids = {"accountId": f"sim-{digest}", "loyaltyProfileId": "sim-profile"}
        self.session = "sim-session-" + secrets.token_hex(6)
        self.exchanges: list[Exchange] = []
        self.urls: dict[str, str] = {}

    @property
    def ok(self) -> bool:
        return bool(self.exchanges) and all(exchange.ok for exchange in self.exchanges)

    # --- HTTP ---

    def call(
        self,
        step: str,
        method: str,
        url: str,
        body: Any = None,
        query: dict | None = None,
        signed: bool = True,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Exchange:
        if query:
            url = f"{url}?{urlencode(query)}"
        body_bytes = (
            raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        )
        headers = {
            "Accept": "application/json",
            "User-Agent": "Deliverect/loyalty-simulator",
            **(headers or {}),
        }
        if method != "GET":
            headers["Content-Type"] = "application/json"
        if signed:
            headers[HEADER] = sign(self.secret, body_bytes)
        shown = _hide_secrets(body) if raw is None else raw.decode(errors="replace")
        exchange = Exchange(step, method, url, shown)
        self.exchanges.append(exchange)
        try:
            status, payload = self.send(
                method, url, body_bytes if method != "GET" else None, headers
            )
        except OSError as error:
            exchange.problems.append(f"could not reach the server: {error}")
            raise Abort() from None
        exchange.status = status
        try:
            exchange.answer = json.loads(payload) if payload else None
        except ValueError:
            exchange.answer = payload.decode(errors="replace")[:500]
            exchange.problems.append("the answer is not JSON")
        exchange.response_body = _hide_secrets(exchange.answer)
        return exchange

    def expect(self, exchange: Exchange, *statuses: int) -> Any:
        if exchange.status not in statuses:
            wanted = " or ".join(str(s) for s in statuses)
            exchange.problems.append(f"expected HTTP {wanted}, got {exchange.status}")
        return exchange.answer

    # --- the scenario ---

    def run(self, scenario: str = "full") -> list[Exchange]:
        if scenario == "sso":
            return self._run_sso()
        try:
            self._register()
            self._refusals()
            customer = self._customer()
            balance = self._wallet("wallet", customer)
            self._tiers()
            programs = self._programs(customer)
            if scenario == "full":
                self._validate(customer, programs)
                self._validate_wallet(customer)
                self._order_lifecycle(customer, balance)
        except Abort:
            pass
        return self.exchanges

    def _register(self) -> None:
        body = {**self.ids, "apiKey": self.api_key}
        exchange = self.call("register", "POST", self.base_url + REGISTRATION_PATH, body)
        answer = self.expect(exchange, 200)
        if not isinstance(answer, dict):
            exchange.problems.append("registration must answer an object of URLs")
            raise Abort()
        for name in REQUIRED_URLS + OPTIONAL_URLS:
            url = answer.get(name)
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                exchange.problems.append(f"{name} must be an absolute URL")
        if not exchange.ok:
            raise Abort()
        self.urls = answer
        again = self.call(
            "register again (same URLs)", "POST", self.base_url + REGISTRATION_PATH, body
        )
        if self.expect(again, 200) != answer:
            again.problems.append("re-registration must answer the same URLs")

    def _run_sso(self) -> list[Exchange]:
        """Deliverect's side of single sign-on: registration hands over the client, the guest's
        code is exchanged once for a token, Get Customer with the token answers the guest."""
        try:
            self._register()
            token = self._sso_exchange()
            self._sso_customer(token)
            self._sso_refusals(token)
        except Abort:
            pass
        return self.exchanges

    def _sso_exchange(self) -> dict:
        registered = self.exchanges[0]
        missing = [name for name in SSO_KEYS if not isinstance(self.urls.get(name), str)]
        if missing:
            registered.problems.append(
                "with single sign-on on, registration must answer " + ", ".join(missing)
            )
            raise Abort()
        if not self.urls["oauthUrl"].startswith(("http://", "https://")):
            registered.problems.append("oauthUrl must be an absolute URL")
            raise Abort()
        if not self.sso_code:
            registered.problems.append("the sso scenario needs a code a guest's sign-in created")
            raise Abort()
        exchange = self._token_request("exchange the guest's code", self.urls["oauthClientSecret"])
        token = self.expect(exchange, 200)
        if not isinstance(token, dict) or not set(token) >= TOKEN_KEYS:
            exchange.problems.append("the token answer needs " + ", ".join(sorted(TOKEN_KEYS)))
            raise Abort()
        if token["token_type"] != "Bearer" or not isinstance(token["scope"], str):
            exchange.problems.append('token_type must be "Bearer" and scope a string')
        if not isinstance(token["created_at"], str) or not token["created_at"].isdigit():
            exchange.problems.append("created_at must be Unix seconds as a string")
        if not isinstance(token["access_token"], str) or not token["access_token"]:
            exchange.problems.append("access_token must be a non-empty string")
            raise Abort()
        return token

    def _token_request(self, step: str, secret: str) -> Exchange:
        body = {
            "grant_type": "authorization_code",
            "client_id": self.urls["oauthClientId"],
            "client_secret": secret,
            "code": self.sso_code,
            **self.ids,
        }
        return self.call(step, "POST", self.urls["oauthUrl"] + "/token", body, signed=False)

    def _sso_customer(self, token: dict) -> None:
        found = self.call(
            "get customer with the access token",
            "GET",
            self.urls["customerURL"],
            query=self.ids,
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        profile = self.expect(found, 200)
        found.response_body = redact(profile)  # a real guest's profile: shown as the log shows it
        self._profile_shape(found, profile)
        expected = (self.sso_customer or "").strip().lower()
        if expected and isinstance(profile, dict):
            known = {str(profile.get(name) or "").lower() for name in ("email", "phoneNumber")}
            if expected not in known:
                found.problems.append(f"the token must name the guest {self.sso_customer}")

    def _sso_refusals(self, token: dict) -> None:
        again = self._token_request("the same code again", self.urls["oauthClientSecret"])
        self._error_shape(again, self.expect(again, 400))
        answer = again.answer if isinstance(again.answer, dict) else {}
        if answer.get("error") != "invalid_grant":
            again.problems.append("a used code must answer invalid_grant")
        wrong_secret = "not-the-secret-" + secrets.token_hex(4)
        wrong = self._token_request("a wrong client secret", wrong_secret)
        self._error_shape(wrong, self.expect(wrong, 401))
        bad = self.call(
            "get customer with a wrong access token",
            "GET",
            self.urls["customerURL"],
            query=self.ids,
            headers={"Authorization": "Bearer not-a-token-" + secrets.token_hex(4)},
        )
        self._error_shape(bad, self.expect(bad, 401))

    def _refusals(self) -> None:
        unsigned = self.call(
            "unsigned call is refused", "GET", self.urls["tiersURL"], query=self.ids, signed=False
        )
        self._error_shape(unsigned, self.expect(unsigned, 401))
        wrong_key = {**self.ids, "apiKey": "not-a-key-" + secrets.token_hex(4)}
        refused = self.call("unknown API key", "POST", self.base_url + REGISTRATION_PATH, wrong_key)
        if self.expect(refused, 400) != {"value": ""}:
            refused.problems.append('an unknown apiKey must answer {"value": ""}')
        broken = self.call("malformed JSON", "POST", self.urls["orderURL"], raw=b'{"orderId": ')
        self._error_shape(broken, self.expect(broken, 400, 401))

    def _customer(self) -> dict:
        email = f"simulator-{secrets.token_hex(5)}@example.invalid"
        body = {
            **self.ids,
            "firstName": "Simulator",
            "lastName": "Test",
            "email": email,
            "dateOfBirth": "1990-05-17T00:00:00Z",
        }
        created = self.call("create customer", "POST", self.urls["customerURL"], body)
        profile = self.expect(created, 200)
        self._profile_shape(created, profile, with_balance=True)
        if not created.ok:
            raise Abort()
        duplicate = self.call(
            "create the same customer again", "POST", self.urls["customerURL"], body
        )
        existing = self.expect(duplicate, 409)
        if not isinstance(existing, dict) or existing.get("providerId") != profile["providerId"]:
            duplicate.problems.append("409 must carry the existing profile")
        for step, query in (
            ("get customer by providerId", {"providerId": profile["providerId"]}),
            ("get customer by email", {"email": email.upper()}),
        ):
            found = self.call(step, "GET", self.urls["customerURL"], query={**self.ids, **query})
            answer = self.expect(found, 200)
            self._profile_shape(found, answer)
            if isinstance(answer, dict) and answer.get("providerId") != profile["providerId"]:
                found.problems.append("a different customer was found")
        missing = self.call(
            "unknown customer",
            "GET",
            self.urls["customerURL"],
            query={**self.ids, "providerId": "nobody-" + secrets.token_hex(4)},
        )
        if self.expect(missing, 404) != {"value": ""}:
            missing.problems.append('an unknown customer must answer 404 {"value": ""}')
        return profile

    def _wallet(self, step: str, customer: dict) -> int:
        exchange = self.call(
            step,
            "GET",
            self.urls["customerWalletURL"],
            query={**self.ids, "providerId": customer["providerId"]},
        )
        wallet = self.expect(exchange, 200)
        points = wallet.get("points") if isinstance(wallet, dict) else None
        if not isinstance(points, dict) or not isinstance(points.get("balance"), int | float):
            exchange.problems.append("points.balance must be a number")
            return 0
        if not isinstance(points.get("expirations", []), list):
            exchange.problems.append("points.expirations must be a list")
        cash = wallet.get("cash")
        if cash is not None and not isinstance(cash.get("balanceAmount"), int):
            exchange.problems.append("cash.balanceAmount must be an integer")
        return int(points["balance"])

    def _tiers(self) -> None:
        if "tiersURL" not in self.urls:
            return
        exchange = self.call("tiers", "GET", self.urls["tiersURL"], query=self.ids)
        tiers = self.expect(exchange, 200)
        if not isinstance(tiers, list):
            exchange.problems.append("tiers must be a list")
            return
        minimums = []
        for tier in tiers:
            if not isinstance(tier, dict) or not isinstance(tier.get("name"), str):
                exchange.problems.append("each tier needs a name")
                continue
            requirements = (tier.get("media") or {}).get("requirements") or {}
            minimums.append(requirements.get("minLifetimePoints", 0))
        if minimums != sorted(minimums):
            exchange.problems.append("tiers must be listed lowest first")

    def _order(self, customer: dict, items: list[dict]) -> dict:
        return {
            "customer": {"loyaltyProviderCustomerId": customer["providerId"]},
            "orderType": 1,
            "items": items,
            "discounts": [],
            "decimalDigits": 2,
        }

    def _programs(self, customer: dict) -> list[dict]:
        listings = []
        for step, items in (
            ("programs (customer only)", []),
            ("programs (with a basket)", [_basket_item()]),
        ):
            body = {**self.ids, "sessionId": self.session, "order": self._order(customer, items)}
            exchange = self.call(step, "POST", self.urls["loyaltyProgramsURL"], body)
            programs = self.expect(exchange, 200)
            if not isinstance(programs, list):
                exchange.problems.append("programs must be a list")
                continue
            for program in programs:
                if not isinstance(program, dict) or not isinstance(program.get("programId"), str):
                    exchange.problems.append("each program needs a string programId")
                    continue
                if not isinstance(program.get("title"), str):
                    exchange.problems.append(f"program {program['programId']}: title missing")
                if not isinstance(program.get("applicable", True), bool):
                    exchange.problems.append(f"program {program['programId']}: applicable")
                if "reason" in program:
                    exchange.problems.append("the team-only reason must not be sent")
            listings.append(programs)
        return listings[0] if listings else []

    def _validate(self, customer: dict, programs: list[dict]) -> None:
        if "loyaltyValidateProgramsURL" not in self.urls:
            return
        requested = [p["programId"] for p in programs[:1]] + ["sim-unknown-program"]
        body = {
            **self.ids,
            "sessionId": self.session,
            "programIds": requested,
            "order": self._order(customer, [_basket_item()]),
        }
        exchange = self.call(
            "validate programs", "POST", self.urls["loyaltyValidateProgramsURL"], body
        )
        answer = self.expect(exchange, 200)
        if not isinstance(answer, list) or [a.get("programId") for a in answer] != requested:
            exchange.problems.append("one object per requested programId, in order")
            return
        for entry in answer:
            errors = entry.get("validationErrors")
            if not isinstance(errors, list) or not isinstance(entry.get("discounts"), list):
                exchange.problems.append("validationErrors and discounts must be lists")
                continue
            legacy = entry.get("validationError", "missing")
            if legacy != (errors[0] if errors else None):
                exchange.problems.append("validationError must be the first error or null")
            if errors and entry["discounts"]:
                exchange.problems.append("a failed program must not give discounts")
            for discount in entry["discounts"]:
                self._discount_shape(exchange, discount)
        if not answer[-1]["validationErrors"]:
            exchange.problems.append("an unknown program must fail validation")
        self._release_session(customer)

    def _release_session(self, customer: dict) -> None:
        """Validate nothing for the session, so the simulator leaves no points held."""
        body = {
            **self.ids,
            "sessionId": self.session,
            "programIds": [],
            "order": self._order(customer, [_basket_item()]),
        }
        exchange = self.call(
            "release the session's holds", "POST", self.urls["loyaltyValidateProgramsURL"], body
        )
        if self.expect(exchange, 200) != []:
            exchange.problems.append("validating no programs must answer []")

    def _validate_wallet(self, customer: dict) -> None:
        if "validateWalletURL" not in self.urls:
            return
        body = {
            **self.ids,
            "sessionId": self.session,
            "order": {**self._order(customer, [_basket_item()]), "paymentAmount": 1250},
            "wallet": {"type": "cash", "amount": 100},
        }
        exchange = self.call("validate wallet (cash)", "POST", self.urls["validateWalletURL"], body)
        answer = self.expect(exchange, 200)
        if not isinstance(answer, dict) or not isinstance(answer.get("validationErrors"), list):
            exchange.problems.append("validationErrors must be a list")
            return
        if not isinstance(answer.get("discounts"), list):
            exchange.problems.append("discounts must be a list")
            return
        for discount in answer["discounts"]:
            self._discount_shape(exchange, discount)

    def _order_lifecycle(self, customer: dict, before: int) -> None:
        order_id = "sim-" + secrets.token_hex(6)
        order = {
            **self.ids,
            **self._order(customer, [_basket_item(quantity=2)]),
            "orderId": order_id,
            "channelOrderDisplayId": "SIM",
            "subTotal": 2500,
            "discountTotal": 0,
            "paymentAmount": 2500,
            "tip": 0,
        }
        placed = self.call("order", "POST", self.urls["orderURL"], order)
        answer = self.expect(placed, 200, 201, 202, 204)
        after = self._wallet("wallet after the order", customer)
        if after < before:
            self.exchanges[-1].problems.append("an order without redemptions must not lower points")
        earned = answer.get("pointsEarned") if isinstance(answer, dict) else None
        if isinstance(earned, int) and after - before != earned:
            # Whatever the restaurant's earning rules, the wallet moves by what the answer says.
            self.exchanges[-1].problems.append(
                f"the order said it earned {earned} points, the wallet moved {after - before}"
            )
        replay = self.call("the same order again", "POST", self.urls["orderURL"], order)
        self.expect(replay, 200, 201, 202, 204)
        if self._wallet("wallet after the replay", customer) != after:
            self.exchanges[-1].problems.append("a replayed order must change nothing")
        cancel_url = self.urls.get("cancelOrderURL") or self.urls["orderURL"] + "/cancel"
        cancel = {
            **self.ids,
            "orderId": order_id,
            "channelOrderDisplayId": "SIM",
            "isCancelled": True,
            "cancellationReason": "simulator",
            "customer": {"loyaltyProviderCustomerId": customer["providerId"]},
        }
        self.expect(self.call("cancel the order", "POST", cancel_url, cancel), 200, 201, 202, 204)
        if self._wallet("wallet after the cancel", customer) != before:
            self.exchanges[-1].problems.append("a cancel must restore the points from before")
        again = self.call("the cancelled order again", "POST", self.urls["orderURL"], order)
        self.expect(again, 200, 201, 202, 204)
        if self._wallet("wallet after replaying the cancelled order", customer) != before:
            self.exchanges[-1].problems.append("replaying a cancelled order must change nothing")

    # --- shapes ---

    def _error_shape(self, exchange: Exchange, body: Any) -> None:
        if not (
            isinstance(body, dict)
            and set(body) == {"error", "http_code", "description"}
            and body["http_code"] == exchange.status
        ):
            exchange.problems.append('errors must be {"error", "http_code", "description"}')

    def _profile_shape(self, exchange: Exchange, body: Any, with_balance: bool = False) -> None:
        if not isinstance(body, dict):
            exchange.problems.append("the customer must be an object")
            return
        missing = PROFILE_KEYS - set(body)
        if missing:
            exchange.problems.append(f"customer fields missing: {', '.join(sorted(missing))}")
        if not isinstance(body.get("providerId"), str) or not body.get("providerId"):
            exchange.problems.append("providerId must be a non-empty string")
        if body.get("status") not in STATUSES:
            exchange.problems.append("status must be one of " + ", ".join(sorted(STATUSES)))
        if not isinstance(body.get("lifetimePointsBalance"), int | float):
            exchange.problems.append("lifetimePointsBalance must be a number")
        for name in ("dateOfBirth", "acceptedTCAt"):
            if body.get(name) is not None and not _is_utc_moment(body[name]):
                exchange.problems.append(f"{name} must be an ISO 8601 UTC time ending in Z")
        if with_balance and not isinstance(body.get("balance"), int | float):
            exchange.problems.append("a created customer carries its points balance")

    def _discount_shape(self, exchange: Exchange, discount: Any) -> None:
        if not isinstance(discount, dict) or discount.get("provider") != "loyalty":
            exchange.problems.append('each discount has provider "loyalty"')
            return
        offer, scope = discount.get("offer") or {}, discount.get("scope") or {}
        if offer.get("type") not in OFFER_TYPES:
            exchange.problems.append(f"unknown offer type {offer.get('type')!r}")
        if scope.get("type") not in SCOPE_TYPES:
            exchange.problems.append(f"unknown scope type {scope.get('type')!r}")
        if scope.get("type") == "product" and "quantity" not in scope:
            exchange.problems.append("a product scope must carry quantity (null = all)")


def _hide_secrets(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    return {key: HIDDEN if key in SSO_SECRETS and value else value for key, value in body.items()}


def _is_utc_moment(value: Any) -> bool:
    if not isinstance(value, str) or not value.endswith("Z"):
        return False
    try:
        parse_iso(value)
    except ValueError:
        return False
    return True


def _basket_item(quantity: int = 1) -> dict:
    """A line with a free modifier, so per-item earning rules see sub-items too."""
    return {
        "plu": "SIM-1",
        "name": "Simulator item",
        "price": 1250,
        "quantity": quantity,
        "subItems": [{"plu": "SIM-1-NOTE", "name": "No onions", "price": 0, "quantity": 1}],
    }
