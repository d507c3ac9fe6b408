"""The ways a message leaves: the log, e-mail over SMTP, or a signed HTTP POST to the restaurant's
own push service.

A sender gets a `Delivery` (everything it needs, read before the database transaction ended) and
either returns or raises SendFailed with a short reason that names no address and no secret: the
reason is stored on the message and shown to the team. Passwords, secrets and webhook URLs are
never logged.
"""

from __future__ import annotations

import http.client
import json
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol
from urllib.parse import urlsplit

from ...models import NotificationSettings
from ...signature import HEADER as SIGNATURE_HEADER
from ...signature import sign

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 10
WEBHOOK_TIMEOUT_SECONDS = 5
DEFAULT_SMTP_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
MESSAGE_ID_HEADER = "X-Loyalty-Message-Id"
REASON_MAX = 200


class SendFailed(Exception):
    """The message did not go. `permanent`: trying again cannot help (no address to send to)."""

    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason[:REASON_MAX])
        self.reason = reason[:REASON_MAX]
        self.permanent = permanent


@dataclass(frozen=True)
class Delivery:
    """One message as a sender needs it."""

    message_key: str  # the outbox idempotency key: lets a receiver drop a repeated delivery
    tenant_slug: str
    account: str | None  # the account's external id; None for a test message
    email: str | None
    kind: str
    title: str
    body: str
    payload: dict = field(default_factory=dict)
    push_tokens: tuple[str, ...] = ()


class Sender(Protocol):
    def send(self, delivery: Delivery) -> None: ...


class LogSender:
    """The default: writes one line per message to the application log, nothing else."""

    def send(self, delivery: Delivery) -> None:
        log.info(
            "notification %s for account %s: %s",
            delivery.kind,
            delivery.account or "(test)",
            delivery.title,
        )


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    security: str  # none | starttls | ssl
    username: str | None
    password: str | None
    from_address: str

    def send(self, delivery: Delivery) -> None:
        if not delivery.email:
            raise SendFailed("the customer has no e-mail address", permanent=True)
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = delivery.email
        message["Subject"] = delivery.title
        message["Message-ID"] = make_msgid(domain=self.from_address.rpartition("@")[2] or None)
        message[MESSAGE_ID_HEADER] = delivery.message_key
        message.set_content(delivery.body or delivery.title)
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as error:
            raise SendFailed(f"SMTP login refused ({error.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused:
            raise SendFailed("the mail server refused the recipient", permanent=True) from None
        except smtplib.SMTPResponseException as error:
            raise SendFailed(f"the mail server answered {error.smtp_code}") from None
        except smtplib.SMTPNotSupportedError:
            raise SendFailed("the mail server does not offer STARTTLS or login") from None
        except ssl.SSLError as error:
            raise SendFailed(f"TLS failed: {error.reason or 'handshake error'}") from None
        except TimeoutError:
            raise SendFailed("the mail server did not answer in time") from None
        except (OSError, smtplib.SMTPException) as error:
            raise SendFailed(f"could not reach the mail server: {_os_reason(error)}") from None

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=SMTP_TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
        return smtp


@dataclass(frozen=True)
class WebhookSender:
    url: str
    secret: str

    def send(self, delivery: Delivery) -> None:
        if not is_web_url(self.url):
            raise SendFailed("the webhook address is not an http or https URL", permanent=True)
        body = json.dumps(
            {
                "tenant": delivery.tenant_slug,
                "account": delivery.account,
                "kind": delivery.kind,
                "title": delivery.title,
                "body": delivery.body,
                "payload": delivery.payload,
                "pushTokens": list(delivery.push_tokens),
            },
            separators=(",", ":"),
        ).encode()
        parts = urlsplit(self.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname,
                parts.port,
                timeout=WEBHOOK_TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname, parts.port, timeout=WEBHOOK_TIMEOUT_SECONDS
            )
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "loyalty-notifications",
            SIGNATURE_HEADER: sign(self.secret, body),
            MESSAGE_ID_HEADER: delivery.message_key,
        }
        # http.client follows no redirect: a 3xx is a failure like any answer other than 2xx,
        # so a signed message never goes to a host the restaurant did not name.
        try:
            connection.request("POST", target, body=body, headers=headers)
            status = connection.getresponse().status
        except TimeoutError:
            raise SendFailed("the webhook did not answer in time") from None
        except ssl.SSLError as error:
            raise SendFailed(f"TLS failed: {error.reason or 'handshake error'}") from None
        except (OSError, http.client.HTTPException) as error:
            raise SendFailed(f"could not reach the webhook: {_os_reason(error)}") from None
        finally:
            connection.close()
        if not 200 <= status < 300:
            raise SendFailed(f"the webhook answered {status}")


def is_web_url(url: str) -> bool:
    """An absolute http or https URL with a host: the only kind a webhook may use."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def sender_for(settings: NotificationSettings | None) -> Sender:
    """The sender the restaurant chose; the log when nothing (or nothing complete) is set."""
    if settings is None:
        return LogSender()
    if settings.sender == "smtp" and settings.smtp_host and settings.smtp_from:
        return SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port or DEFAULT_SMTP_PORTS[settings.smtp_security],
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            from_address=settings.smtp_from,
        )
    if settings.sender == "webhook" and settings.webhook_url and settings.webhook_secret:
        return WebhookSender(settings.webhook_url, settings.webhook_secret)
    return LogSender()


def _os_reason(error: object) -> str:
    """A socket error in a few words (its strerror), without the address it was about."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    if isinstance(error, str):
        return error[:80]
    return type(error).__name__
