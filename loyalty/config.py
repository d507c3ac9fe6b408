"""Configuration: defaults here, then instance/config.py, then LOYALTY_* environment variables."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Defaults:
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # "Keep me signed in" lasts 30 days from sign-in, enforced on the server (the session row
    # expires); its cookie is replaced each time it restores a session. Without it a sign-in
    # lasts until the browser closes, and at most LOGIN_SESSION_LIFETIME.
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    LOGIN_SESSION_LIFETIME = timedelta(hours=24)
    # Cookies are Secure on every HTTPS request anyway (see loyalty.security); set these to True
    # to keep them Secure even if a misconfigured proxy makes a request look like plain HTTP.
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = (
        None  # a form left open over lunch still submits; the token is per session
    )
    # Absolute base for the webhook URLs handed to Deliverect; None = derived from the request
    # (correct behind a proxy that sets X-Forwarded-Proto/Host, see PROXY_FIX_HOPS).
    PUBLIC_BASE_URL: str | None = None
    PROXY_FIX_HOPS = 0
    # Installation-wide Deliverect HMAC secret; a tenant's own webhook secret is tried first.
    DELIVERECT_WEBHOOK_SECRET: str | None = None
    # "enforce" rejects bad signatures with 401; "log" only records them (for onboarding).
    DELIVERECT_SIGNATURE_MODE = "enforce"
    # Staging: Deliverect signs with the channelLinkId until a real secret exists.
    DELIVERECT_ALLOW_CHANNEL_LINK_SECRET = False
    # Region (ISO 3166, e.g. "BE") for phone numbers typed without a country code; None = such
    # numbers are refused, since guessing a country would find the wrong customer.
    DEFAULT_PHONE_REGION: str | None = None
    # Largest request body on any route, in bytes (Flask refuses more with 413). A Deliverect
    # order is a few KB, and imports run from the CLI, so 1 MiB is generous.
    MAX_CONTENT_LENGTH = 1024 * 1024
    HOLD_TTL_SECONDS = 15 * 60
    WEBHOOK_LOG_RETENTION_DAYS = 14
    LOGIN_THROTTLE_MAX_FAILURES = 5
    LOGIN_THROTTLE_WINDOW_SECONDS = 15 * 60
    # API access tokens (JWTs) live this long; OrderingStack's client refreshes them by `exp`.
    API_ACCESS_TOKEN_SECONDS = 3600
    # A refresh token works once, within this many days; each refresh hands out a new one.
    API_REFRESH_TOKEN_DAYS = 30
    # A customer's one-time sign-in code works once, for this many minutes...
    CUSTOMER_CODE_MINUTES = 10
    # ...and dies after this many wrong codes tried against it.
    CUSTOMER_CODE_ATTEMPTS = 5
    # At most this many codes are sent to one account in an hour; further requests send nothing.
    CUSTOMER_CODES_PER_HOUR = 5
    # ...and this many in a day, so wrong guesses at one account stay under 50 a day.
    CUSTOMER_CODES_PER_DAY = 10
    # Per requester (IP) and restaurant on the guest pages, in LOGIN_THROTTLE_WINDOW_SECONDS:
    # this many code requests (join or sign in), and this many wrong codes typed.
    GUEST_CODE_REQUESTS_PER_WINDOW = 10
    GUEST_WRONG_CODES_PER_WINDOW = 20
    # A guest signed in on the member pages (/m/<tenant>/) stays signed in this many days.
    GUEST_SESSION_DAYS = 30
    # Deleting the account asks for a new code unless the guest signed in this recently.
    GUEST_FRESH_SIGN_IN_MINUTES = 15
    # Deliverect single sign-on: a guest's "Order online" code works once, for this many
    # seconds; the access token Deliverect exchanges it for lives this long, and its refresh
    # token (single use, each refresh hands out a new pair) this many days.
    SSO_CODE_SECONDS = 120
    SSO_ACCESS_TOKEN_SECONDS = 3600
    SSO_REFRESH_TOKEN_DAYS = 30
    # Where guests are sent to sign in to a web shop, by the tenant's SSO environment.
    DELIVERECT_SSO_BASE_URLS = {
        "staging": "https://api.staging.deliverect.com",
        "production": "https://api.deliverect.com",
    }


def load_settings(app, overrides: dict | None) -> None:
    """Apply defaults, instance/config.py, LOYALTY_* env vars, then explicit overrides (tests)."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("LOYALTY")
    if overrides:
        app.config.update(overrides)
    if "DATABASE_URL" in app.config:
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI", f"sqlite:///{Path(app.instance_path) / 'loyalty.db'}"
    )
    _private_instance_folder(Path(app.instance_path))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))


def _private_instance_folder(instance: Path) -> None:
    """instance/ holds the secret key and the SQLite database: only its owner may enter it."""
    try:
        if not instance.exists():
            instance.mkdir(mode=0o700, parents=True)
        elif instance.stat().st_mode & 0o077:
            instance.chmod(0o700)
    except PermissionError:  # a read-only or foreign-owned folder: the operator's choice
        pass


def _instance_secret_key(instance: Path) -> str:
    """Read the generated secret key, creating it (mode 0600) on first run."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
