"""The senders against real servers the tests start on 127.0.0.1: an SMTP server (aiosmtpd, plain,
with login, STARTTLS and SSL) and an HTTP push service (http.server) that checks the signature."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import ssl
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from loyalty.extensions import db
from loyalty.models import OutboxMessage
from loyalty.services.notifications import senders
from loyalty.services.notifications.outbox import deliver_due, enqueue, register_push_device
from loyalty.services.notifications.senders import (
    Delivery,
    LogSender,
    SendFailed,
    SmtpSender,
    WebhookSender,
)
from loyalty.services.notifications.settings import SenderChoice, update_notification_settings
from loyalty.signature import HEADER, sign
from tests.support.accounts import customer
from tests.support.postgres import free_port

NOW = dt.datetime(2026, 12, 2, 13, 0, tzinfo=dt.UTC)
SECRET = "push-service-signing-secret-0123"
PASSWORD = "s3cret-mail-password"
DELIVERY = Delivery(
    message_key="campaign:summer:42",
    tenant_slug="trattoria",
    account="acc_1234",
    email="ann@example.com",
    kind="campaign_message",
    title="Your treat is waiting",
    body="Come by this week for a free espresso.",
    payload={"coupon": "SUM-8KQ2"},
    push_tokens=("fcm-token-1",),
)


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given, and the logins it saw."""

    def __init__(self):
        self.messages = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"

    def authenticate(self, _server, _session, _envelope, _mechanism, auth_data):
        login = tuple(
            part.decode() if isinstance(part, bytes) else part
            for part in (auth_data.login, auth_data.password)
        )
        self.logins.append(login)
        # handled=False: aiosmtpd answers 535 itself when the login is refused.
        return AuthResult(success=login == ("trattoria", PASSWORD), handled=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, and its file to trust it with."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture()
def smtp_server(request):
    """Start an SMTP server: smtp_server(**aiosmtpd options) -> (mailbox, port)."""
    started = []

    def start(**options):
        mailbox = Mailbox()
        if options.pop("login", False):
            options.update(authenticator=mailbox.authenticate, auth_require_tls=False)
        port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return mailbox, port

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture()
def trust(monkeypatch, certificate):
    """Make the certificate trusted, as a real server's would be by the system's CAs."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))


def smtp(port: int, security: str = "none", **login) -> SmtpSender:
    return SmtpSender(
        host="127.0.0.1",
        port=port,
        security=security,
        username=login.get("username"),
        password=login.get("password"),
        from_address="hello@trattoria.example",
    )


def received(mailbox: Mailbox):
    (mail_from, recipients, content) = mailbox.messages[0]
    return mail_from, recipients, message_from_bytes(content)


def test_smtp_delivers_the_message_to_the_account_email(smtp_server):
    mailbox, port = smtp_server()
    smtp(port).send(DELIVERY)
    mail_from, recipients, message = received(mailbox)
    assert (mail_from, recipients) == ("hello@trattoria.example", ["ann@example.com"])
    assert message["Subject"] == "Your treat is waiting"
    assert message["To"] == "ann@example.com"
    assert message["X-Loyalty-Message-Id"] == "campaign:summer:42"
    assert message.get_payload(decode=True).decode().strip() == DELIVERY.body


def test_smtp_logs_in_when_a_user_name_is_set(smtp_server):
    mailbox, port = smtp_server(login=True)
    smtp(port, username="trattoria", password=PASSWORD).send(DELIVERY)
    assert mailbox.logins == [("trattoria", PASSWORD)]
    assert len(mailbox.messages) == 1


def test_a_refused_smtp_login_is_a_failure_that_does_not_quote_the_password(smtp_server):
    mailbox, port = smtp_server(login=True)
    with pytest.raises(SendFailed) as failure:
        smtp(port, username="trattoria", password="wrong-password").send(DELIVERY)
    assert failure.value.reason == "SMTP login refused (535)"
    assert not failure.value.permanent
    assert mailbox.messages == []


@pytest.mark.usefixtures("trust")
def test_smtp_over_starttls(smtp_server, certificate):
    mailbox, port = smtp_server(tls_context=server_context(certificate), require_starttls=True)
    smtp(port, "starttls").send(DELIVERY)
    assert len(mailbox.messages) == 1


def test_starttls_refuses_a_certificate_it_cannot_trust(smtp_server, certificate):
    mailbox, port = smtp_server(tls_context=server_context(certificate), require_starttls=True)
    with pytest.raises(SendFailed) as failure:
        smtp(port, "starttls").send(DELIVERY)
    assert failure.value.reason.startswith("TLS failed")
    assert mailbox.messages == []


@pytest.mark.usefixtures("trust")
def test_smtp_over_ssl(smtp_server, certificate):
    mailbox, port = smtp_server(
        ssl_context=server_context(certificate), server_hostname="127.0.0.1"
    )
    smtp(port, "ssl").send(DELIVERY)
    assert len(mailbox.messages) == 1


def test_an_account_without_email_fails_for_good():
    with pytest.raises(SendFailed) as failure:
        smtp(1).send(Delivery("k", "trattoria", "acc_1", None, "campaign_message", "Hi", ""))
    assert failure.value.permanent


def test_an_unreachable_mail_server_is_a_failure_to_retry():
    with pytest.raises(SendFailed) as failure:
        smtp(free_port()).send(DELIVERY)
    assert failure.value.reason == "could not reach the mail server: connection refused"
    assert not failure.value.permanent


def test_the_outbox_delivers_by_smtp_with_the_restaurants_settings(tenant, smtp_server, caplog):
    mailbox, port = smtp_server(login=True)
    update_notification_settings(
        tenant.id,
        SenderChoice(
            "smtp",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            smtp_username="trattoria",
            smtp_password=PASSWORD,
            smtp_from="hello@trattoria.example",
        ),
    )
    ann = customer(tenant, email="ann@example.com", marketing_consent=True)
    enqueue(tenant.id, ann.id, "campaign_message", "Hello Ann", "Hi!", None, "m1", now=NOW)
    db.session.commit()
    with caplog.at_level(logging.DEBUG):
        assert deliver_due(NOW).sent == 1
    _from, recipients, message = received(mailbox)
    assert (recipients, message["Subject"]) == (["ann@example.com"], "Hello Ann")
    assert PASSWORD not in caplog.text


class PushService(BaseHTTPRequestHandler):
    """The restaurant's push service: records each call, answers `status`, or is slow."""

    calls: list
    status = 200
    delay = 0.0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.calls.append((self.headers, body))  # names read case-insensitively
        time.sleep(self.delay)
        self.send_response(self.status)
        if self.status in (301, 302):
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def push_service():
    """Start a push service: push_service(status=200, delay=0) -> (calls, url)."""
    servers = []

    def start(status: int = 200, delay: float = 0.0):
        calls = []
        answers = {"calls": calls, "status": status, "delay": delay}
        handler = type("Handler", (PushService,), answers)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return calls, f"http://127.0.0.1:{server.server_port}/push"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_webhook_posts_the_message_signed_with_the_secret(push_service):
    calls, url = push_service()
    WebhookSender(url, SECRET).send(DELIVERY)
    ((headers, body),) = calls
    assert headers[HEADER] == sign(SECRET, body)
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Loyalty-Message-Id"] == "campaign:summer:42"
    assert json.loads(body) == {
        "tenant": "trattoria",
        "account": "acc_1234",
        "kind": "campaign_message",
        "title": "Your treat is waiting",
        "body": "Come by this week for a free espresso.",
        "payload": {"coupon": "SUM-8KQ2"},
        "pushTokens": ["fcm-token-1"],
    }


@pytest.mark.parametrize("status", [500, 404, 302])
def test_an_answer_other_than_2xx_is_a_failure(push_service, status):
    calls, url = push_service(status=status)
    with pytest.raises(SendFailed) as failure:
        WebhookSender(url, SECRET).send(DELIVERY)
    assert failure.value.reason == f"the webhook answered {status}"
    assert len(calls) == 1  # a redirect is not followed


def test_a_slow_webhook_times_out(push_service, monkeypatch):
    monkeypatch.setattr(senders, "WEBHOOK_TIMEOUT_SECONDS", 0.2)
    _calls, url = push_service(delay=1.0)
    with pytest.raises(SendFailed) as failure:
        WebhookSender(url, SECRET).send(DELIVERY)
    assert failure.value.reason == "the webhook did not answer in time"


def test_only_http_and_https_urls_are_posted_to():
    with pytest.raises(SendFailed) as failure:
        WebhookSender("file:///etc/passwd", SECRET).send(DELIVERY)
    assert failure.value.permanent


def test_the_outbox_posts_to_the_webhook_with_the_accounts_push_tokens(tenant, push_service):
    calls, url = push_service()
    update_notification_settings(
        tenant.id, SenderChoice("webhook", webhook_url=url, webhook_secret=SECRET)
    )
    ann = customer(tenant, email="ann@example.com", marketing_consent=True)
    register_push_device(tenant.id, ann.id, "apns-token-1", "ios", NOW)
    register_push_device(tenant.id, ann.id, "apns-token-1", "ios", NOW)  # the same device
    register_push_device(tenant.id, ann.id, "fcm-token-2", "android", NOW)
    enqueue(tenant.id, ann.id, "dynamic_join", "Welcome", "", {"campaign": "w"}, "j1", now=NOW)
    db.session.commit()
    assert deliver_due(NOW).sent == 1
    ((headers, body),) = calls
    assert headers[HEADER] == sign(SECRET, body)
    sent = json.loads(body)
    assert (sent["account"], sent["kind"]) == (ann.external_id, "dynamic_join")
    assert sent["pushTokens"] == ["apns-token-1", "fcm-token-2"]


def test_a_failing_webhook_is_retried_and_the_error_shown(tenant, push_service):
    _calls, url = push_service(status=503)
    update_notification_settings(
        tenant.id, SenderChoice("webhook", webhook_url=url, webhook_secret=SECRET)
    )
    ann = customer(tenant, email="ann@example.com", marketing_consent=True)
    queued = enqueue(tenant.id, ann.id, "one_time_code", "Code 1234", "", None, "c1", now=NOW)
    db.session.commit()
    assert deliver_due(NOW).retried == 1
    message = db.session.get(OutboxMessage, queued.message.id)
    db.session.refresh(message)
    assert (message.status, message.attempts, message.last_error) == (
        "queued",
        1,
        "the webhook answered 503",
    )


def test_the_log_sender_logs_the_kind_account_and_title_only(caplog):
    with caplog.at_level(logging.INFO, logger="loyalty.services.notifications.senders"):
        LogSender().send(DELIVERY)
    assert caplog.messages == [
        "notification campaign_message for account acc_1234: Your treat is waiting"
    ]
    assert "ann@example.com" not in caplog.text
