"""A guest on a phone (Chromium, 390×844): joins, receives the sign-in code by e-mail from a real
SMTP server the test starts, signs in, sees their points and a coupon, presses "Order online" and
lands on Deliverect's sign-on address, whose code the live server's token endpoint then
exchanges exactly once."""

from __future__ import annotations

import email
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Page, Route, expect

from loyalty.extensions import db
from loyalty.models import Account, utcnow
from loyalty.services.campaigns.lifecycle import initialise_campaign
from loyalty.services.campaigns.store import save_campaign
from loyalty.services.deliverect.sso import ShopDetails, add_shop, issue_client, update_sso
from loyalty.services.notifications.settings import SenderChoice, update_notification_settings
from loyalty.services.setup.tenants import create_tenant
from loyalty.services.wallet.adjustments import adjust_points, new_adjustment_token
from tests.support.browser import LiveServer
from tests.support.deliverect import ACCOUNT_ID, PROFILE_ID, Deliverect
from tests.support.postgres import free_port

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SIGN_ON = "https://api.staging.deliverect.com/"
# Everyone who joins gets it: a welcome coupon.
WELCOME = {
    "id": "welcome",
    "type": "STANDARD",
    "name": "Welcome",
    "dynamic": True,
    "constraints": [{"field": "counters.orders", "op": "LT", "value": ["1"]}],
    "states": [
        {
            "id": "coupon",
            "type": "COUPON",
            "couponType": "AMOUNT",
            "value": 300,
            "validDays": 30,
            "codePrefix": "WE",
            "title": "3.00 off your first order",
        }
    ],
}


class Mailbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, _server, _session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for_one(self, seconds: float = 10) -> email.message.Message:
        deadline = time.monotonic() + seconds
        while not self.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.messages, "no e-mail arrived"
        return self.messages[-1]


@pytest.fixture()
def mailbox():
    inbox = Mailbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture()
def roma(live_server: LiveServer, mailbox: Mailbox):
    """A restaurant registered with Deliverect, sending e-mail through the test's SMTP server,
    with single sign-on on, one web shop, and a welcome coupon for everyone who joins."""
    with live_server.app.app_context():
        tenant, credentials = create_tenant(f"roma-{free_port()}", "Trattoria Roma")
        tenant.issued = credentials
        Deliverect(live_server.app.test_client(), tenant).register()
        update_notification_settings(
            tenant.id,
            SenderChoice(
                "smtp",
                smtp_host="127.0.0.1",
                smtp_port=mailbox.port,
                smtp_security="none",
                smtp_from="hello@roma.example",
            ),
        )
        update_sso(tenant.id, enabled=True, environment="staging")
        client = issue_client(tenant.id)
        add_shop(tenant.id, ShopDetails("Delivery", "chl-roma", "https://order.roma.example/"))
        save_campaign(tenant.id, WELCOME, utcnow())
        initialise_campaign(tenant.id, "welcome", utcnow())
        return tenant.id, tenant.slug, client


def test_a_guest_joins_signs_in_by_email_and_orders_online_signed_in(
    page: Page, live_server: LiveServer, mailbox: Mailbox, roma
):
    tenant_id, slug, sso_client = roma
    page.set_default_timeout(10_000)
    page.set_viewport_size(PHONE)

    page.goto(f"/m/{slug}/join")
    page.get_by_label("First name").fill("Zoë")
    page.get_by_label("Last name").fill("Rossi")
    page.get_by_label("E-mail or phone number").fill("zoe@example.com")
    page.get_by_label("I accept").check()
    page.get_by_role("button", name="Join and get my code").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()

    message = mailbox.wait_for_one()
    assert message["To"] == "zoe@example.com"
    code = re.search(r"\b(\d{6})\b", message["Subject"])[1]
    page.get_by_label("Sign-in code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Zoë")).to_be_visible()

    with live_server.app.app_context():
        account = db.session.query(Account).filter_by(tenant_id=tenant_id).one()
        adjust_points(tenant_id, account.id, 120, "Welcome gift", None, new_adjustment_token())
    page.reload()
    expect(page.locator(".balance-figure")).to_have_text("120")
    coupon = page.locator(".coupon-card")
    expect(coupon.get_by_role("heading", name="3.00 off your first order")).to_be_visible()
    expect(coupon.locator(".coupon-code")).to_have_text(re.compile(r"^WE[A-Z0-9]+$"))
    expect(coupon.get_by_role("img", name=re.compile("QR code of coupon WE"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The browser has no internet: Deliverect's sign-on page is answered here.
    arrived: list[str] = []

    def deliverect(route: Route) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Deliverect</title>")

    page.route(f"{SIGN_ON}**", deliverect)
    page.get_by_role("button", name="Order online: Delivery").click()
    expect(page).to_have_title("Deliverect")
    (address,) = arrived
    parts = urlsplit(address)
    assert parts.path == "/loyalty/chl-roma/sso"
    query = parse_qs(parts.query)
    assert query["returnUrl"] == ["https://order.roma.example/"]

    exchange = {
        "grant_type": "authorization_code",
        "client_id": sso_client.client_id,
        "client_secret": sso_client.client_secret,
        "code": query["code"][0],
        "accountId": ACCOUNT_ID,
        "loyaltyProfileId": PROFILE_ID,
    }
    token_url = f"{live_server.url}/webhooks/deliverect/oauth/token"
    first = page.request.post(token_url, data=exchange)
    assert first.status == 200, first.text()
    assert first.json()["token_type"] == "Bearer" and first.json()["access_token"]
    again = page.request.post(token_url, data=exchange)
    assert again.status == 400
    assert again.json()["error"] == "invalid_grant"
