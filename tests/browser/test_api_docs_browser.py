"""In Chromium: the API reference page renders every operation of the OpenAPI document with
the vendored Swagger UI, under the app's default Content-Security-Policy, and passes axe-core's
WCAG A/AA rules folded and with every operation and schema unfolded."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from loyalty.api.operations import OPERATIONS
from loyalty.security import CONTENT_SECURITY_POLICY
from tests.browser.test_accessibility import axe_violations
from tests.browser.test_content_security_policy import REPORT_VIOLATIONS

pytestmark = pytest.mark.browser

REFERENCE = "/loyalty-api/docs"
UNFOLDED = (
    "putCampaign",
    "getAccounts",
    "export",
    "coupon",
    "verifyArbitraryAccountCoupon",
    "registerPush",
    "setMyProperties",
)


def open_reference(page: Page) -> list[str]:
    """Open the page and wait for Swagger UI to draw the operations; the policy violations."""
    violations: list[str] = []
    page.expose_function("reportViolation", lambda report: violations.append(report))
    page.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    response = page.goto(REFERENCE)
    assert response.status == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    expect(page.locator(".opblock").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    return violations


def test_the_reference_shows_every_operation_under_the_default_policy(page: Page, live_server):
    violations = open_reference(page)
    expect(page.get_by_role("heading", name="Loyalty API reference", level=1)).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(len(OPERATIONS))
    for op in OPERATIONS.values():
        expect(page.locator(f'[id="operations-{op.tag}-{op.operation_id}"]')).to_have_count(1)
    # Unfolding an operation shows its parameters, answers and the shared error shape.
    page.locator('[id="operations-campaigns-putCampaign"] .opblock-summary-control').click()
    put = page.locator('[id="operations-campaigns-putCampaign"]')
    expect(put.locator('tr[data-param-name="campaign"]')).to_be_visible()
    expect(put.locator('tr[data-param-name="x-tenant"]')).to_be_visible()
    refusal = put.locator('.response[data-code="400"]')
    expect(refusal).to_contain_text('"field"')  # the example of the shared error shape
    assert violations == []


def test_the_reference_passes_axe_folded_and_unfolded(page: Page, live_server):
    open_reference(page)
    assert axe_violations(page) == []

    # Unfolding all would take Swagger UI most of a minute; these show every kind of part:
    # path, query (repeated, boolean), header and body parameters, JSON, CSV and JSON-lines
    # answers with headers, a deprecated operation and a customer's.
    for operation_id in UNFOLDED:
        op = OPERATIONS[operation_id]
        page.locator(f'[id="operations-{op.tag}-{operation_id}"] .opblock-summary-control').click()
    expect(page.locator(".opblock-body")).to_have_count(len(UNFOLDED))
    campaign = page.locator("section.models article").filter(has_text="Campaign").first
    campaign.locator(".json-schema-2020-12-expand-deep-button").click()
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == []


def test_without_javascript_the_page_links_the_document(browser: Browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(REFERENCE)
        link = page.get_by_role("link", name="openapi.json")
        expect(link).to_have_attribute("href", "/loyalty-api/api/openapi.json")
    finally:
        context.close()
