"""In Chromium: every dashboard page works under the strict Content-Security-Policy (item 9).

One signed-in page visits them all; any `securitypolicyviolation` event or console report
fails the test, and each page must really have been served with the policy.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


def test_every_dashboard_page_runs_without_a_policy_violation(
    owner_page: Page, dashboard_pages: list[str]
):
    page = owner_page
    violations: list[str] = []
    page.expose_function("reportViolation", lambda report: violations.append(report))
    page.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    for path in [*dashboard_pages, "/login"]:
        response = page.goto(path)
        assert response.status in (200, 422), path  # 422: the merge page asking for a match
        assert "default-src 'self'" in response.headers.get("content-security-policy", ""), path
        page.wait_for_load_state("networkidle")
        expect(page.locator(".htmx-request")).to_have_count(0)

    # htmx swaps under the policy: live search, and the reward editor's type fields.
    page.goto("/accounts/")
    page.get_by_placeholder("Name, email, phone, card or account id").press_sequentially(
        "zo", delay=30
    )
    expect(page.locator("#results table.accounts tbody tr")).to_have_count(1)
    page.goto("/rewards/new")
    page.get_by_label("Reward type").select_option("free_item")
    expect(page.locator("#type-fields")).to_have_attribute("data-type", "free_item")

    # What the inline handlers did now comes from static/js/app.js.
    page.goto("/integration/")
    page.locator("#registration-url").focus()
    assert page.locator("#registration-url").evaluate(
        "el => el.selectionEnd - el.selectionStart === el.value.length && el.value.length > 0"
    )
    page.goto("/tiers/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete").first.click()
    expect(page.get_by_role("cell", name="Gold")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.wait_for_load_state("networkidle")
    assert violations == []
