"""A restaurant's notification settings: which sender, its server or URL and secrets, quiet hours
and the daily limit of campaign messages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...extensions import db
from ...models import NotificationSettings
from ...models.notification import SENDER_KINDS, SMTP_SECURITY
from ...rules.identity import IdentityError, normalise_email
from ...validation import FieldErrors
from .senders import is_web_url

# A DNS name or an IP address: no spaces, slashes or @, which smtplib would only trip over
# at send time.
_HOST = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,253}$")
URL_MAX = 2048
SECRET_MIN = 16
SECRET_MAX = 128
PASSWORD_MAX = 256
DAILY_LIMIT_MAX = 50
# Defaults of a restaurant that saved nothing yet (the model's column defaults).
DEFAULT_QUIET_START = 21
DEFAULT_QUIET_END = 9
DEFAULT_DAILY_LIMIT = 1


@dataclass(frozen=True)
class SenderChoice:
    """What the owner submitted. A secret left empty keeps the one already saved."""

    sender: str
    smtp_host: str = ""
    smtp_port: int | None = None
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    quiet_hours_start: int | None = DEFAULT_QUIET_START
    quiet_hours_end: int | None = DEFAULT_QUIET_END
    daily_campaign_limit: int | None = DEFAULT_DAILY_LIMIT  # None: no limit


def notification_settings(tenant_id: int) -> NotificationSettings:
    """The saved settings, or the defaults (not added to the session) when none were saved."""
    saved = db.session.get(NotificationSettings, tenant_id)
    if saved is not None:
        return saved
    return NotificationSettings(
        tenant_id=tenant_id,
        sender="log",
        smtp_security="starttls",
        quiet_hours_start=DEFAULT_QUIET_START,
        quiet_hours_end=DEFAULT_QUIET_END,
        daily_campaign_limit=DEFAULT_DAILY_LIMIT,
    )


def secret_hint(secret: str | None) -> str | None:
    """Enough of a webhook secret to tell which one is saved, like an API key's hint."""
    return secret[:4] + "…" if secret else None


def update_notification_settings(tenant_id: int, choice: SenderChoice) -> NotificationSettings:
    """Save the choice as a whole, or raise FieldErrors and change nothing."""
    current = db.session.get(NotificationSettings, tenant_id)
    errors: dict[str, str] = {}
    if choice.sender not in SENDER_KINDS:
        errors["sender"] = "choose the log, e-mail or a webhook"

    host = choice.smtp_host.strip()
    username = choice.smtp_username.strip()
    from_address = None
    if host and not _HOST.match(host):
        errors["smtp_host"] = "enter a host name such as smtp.example.com"
    elif choice.sender == "smtp" and not host:
        errors["smtp_host"] = "enter your mail server's host name"
    if choice.smtp_port is not None and not 1 <= choice.smtp_port <= 65535:
        errors["smtp_port"] = "must be from 1 to 65535, or empty for the usual port"
    if choice.smtp_security not in SMTP_SECURITY:
        errors["smtp_security"] = "choose none, STARTTLS or SSL"
    if len(username) > 254:
        errors["smtp_username"] = "use at most 254 characters"
    if len(choice.smtp_password) > PASSWORD_MAX:
        errors["smtp_password"] = f"use at most {PASSWORD_MAX} characters"
    elif (
        choice.sender == "smtp"
        and username
        and not choice.smtp_password
        and not (current and current.smtp_password)
    ):
        errors["smtp_password"] = "enter the password for this user name"
    try:
        from_address = normalise_email(choice.smtp_from)
    except IdentityError:
        errors["smtp_from"] = "enter a valid e-mail address"
    else:
        if choice.sender == "smtp" and not from_address:
            errors["smtp_from"] = "enter the address messages come from"

    url = choice.webhook_url.strip()
    if url and (len(url) > URL_MAX or not is_web_url(url)):
        errors["webhook_url"] = "enter an http:// or https:// address"
    elif choice.sender == "webhook" and not url:
        errors["webhook_url"] = "enter your push service's address"
    secret = choice.webhook_secret.strip()
    if secret and not SECRET_MIN <= len(secret) <= SECRET_MAX:
        errors["webhook_secret"] = f"use {SECRET_MIN} to {SECRET_MAX} characters"
    elif choice.sender == "webhook" and not secret and not (current and current.webhook_secret):
        errors["webhook_secret"] = "enter the secret your push service checks signatures with"

    for name in ("quiet_hours_start", "quiet_hours_end"):
        hour = getattr(choice, name)
        if hour is None or not 0 <= hour <= 23:
            errors[name] = "choose an hour from 0 to 23"
    limit = choice.daily_campaign_limit
    if limit is not None and not 1 <= limit <= DAILY_LIMIT_MAX:
        errors["daily_campaign_limit"] = (
            f"must be from 1 to {DAILY_LIMIT_MAX}, or empty for no limit"
        )

    if errors:
        raise FieldErrors(errors)
    if current is None:
        current = NotificationSettings(tenant_id=tenant_id)
        db.session.add(current)
    current.sender = choice.sender
    current.smtp_host = host or None
    current.smtp_port = choice.smtp_port
    current.smtp_security = choice.smtp_security
    current.smtp_username = username or None
    if not username:
        current.smtp_password = None  # no login, so nothing to keep a password for
    elif choice.smtp_password:
        current.smtp_password = choice.smtp_password
    current.smtp_from = from_address
    current.webhook_url = url or None
    if secret:
        current.webhook_secret = secret
    current.quiet_hours_start = choice.quiet_hours_start
    current.quiet_hours_end = choice.quiet_hours_end
    current.daily_campaign_limit = limit
    db.session.commit()
    return current
