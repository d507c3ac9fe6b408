"""In Chromium: the Stats page follows its range form (numbers, charts, address, back button),
draws its charts under the Content-Security-Policy, and fits a phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from loyalty.extensions import db
from loyalty.models import Tenant, utcnow
from loyalty.services.accounts.profile import Profile, create_account
from loyalty.services.checkout.orders import OrderReport, record_order
from tests.support.browser import LiveServer, Restaurant

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
STATS_PAGES = ("/stats/", "/stats/cohorts", "/stats/campaigns", "/stats/segments")
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`);
});
"""
# What the orders chart draws, as an image: it changes when the chart is drawn from new numbers.
ORDERS_PICTURE = "document.getElementById('chart-orders-canvas').toDataURL()"


@pytest.fixture()
def orders(live_server: LiveServer, restaurant: Restaurant) -> None:
    """A member's orders 2 and 45 days ago and a guest's 3 days ago: 2 orders in the last 30
    days, 3 in the last 90."""
    with live_server.app.app_context():
        tenant = db.session.get(Tenant, restaurant.tenant_id)
        ana = create_account(tenant.id, Profile(external_id="ana", first_name="Ana"))
        ana.created_at = utcnow() - timedelta(days=70)
        db.session.commit()
        for number, account_id, days_ago in (
            ("A-1", ana.id, 2),
            ("A-2", ana.id, 45),
            ("G-1", None, 3),
        ):
            moment = utcnow() - timedelta(days=days_ago)
            report = OrderReport(number, account_id, payment_amount=1200, ordered_at=moment)
            record_order(tenant, report, moment)


def test_changing_the_range_changes_numbers_charts_and_address(owner_page: Page, orders):
    page = owner_page
    violations: list[str] = []
    page.expose_function("reportViolation", lambda report: violations.append(report))
    page.add_init_script(REPORT_VIOLATIONS)
    page.goto("/stats/")
    orders_figure = page.locator('[data-figure="orders"]')
    expect(orders_figure).to_have_text("2")
    expect(page.locator("#chart-orders-canvas")).to_be_visible()
    expect(page.locator("figure.chart-drawn")).not_to_have_count(0)
    thirty_days = page.evaluate(ORDERS_PICTURE)

    page.get_by_label("Range", exact=True).select_option("90d")
    expect(page).to_have_url(re.compile(r"/stats/\?range=90d$"))
    expect(orders_figure).to_have_text("3")
    expect(page.get_by_label("Range", exact=True)).to_have_value("90d")
    page.wait_for_function(f"{ORDERS_PICTURE} !== {thirty_days!r}")

    page.go_back()
    expect(page).to_have_url(re.compile(r"/stats/$"))
    expect(orders_figure).to_have_text("2")
    expect(page.get_by_label("Range", exact=True)).to_have_value("30d")
    assert violations == []


def test_custom_days_and_the_tabs_keep_the_range(owner_page: Page, orders):
    page = owner_page
    page.goto("/stats/")
    first = (utcnow() - timedelta(days=50)).date().isoformat()
    last = (utcnow() - timedelta(days=40)).date().isoformat()
    page.get_by_label("From", exact=True).fill(first)
    page.get_by_label("To", exact=True).fill(last)
    expect(page.get_by_label("Range", exact=True)).to_have_value(
        "custom"
    )  # typing days picks Custom
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"range=custom&from={first}&to={last}$"))
    expect(page.locator('[data-figure="orders"]')).to_have_text("1")  # Ana's, 45 days ago
    page.get_by_role("navigation", name="Stats pages").get_by_role("link", name="Segments").click()
    expect(page).to_have_url(re.compile(rf"/stats/segments\?range=custom&from={first}&to={last}$"))


def test_stats_pages_fit_a_phone(owner_page: Page, orders):
    page = owner_page
    page.set_viewport_size(PHONE)
    for path in STATS_PAGES:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path


def test_home_draws_its_small_charts(owner_page: Page, orders):
    page = owner_page
    page.goto("/")
    expect(page.locator(".home-tiles figure.chart-drawn")).to_have_count(5)
    page.get_by_role("link", name="Orders").click()
    expect(page).to_have_url(re.compile(r"/stats/\?range=30d#orders$"))
