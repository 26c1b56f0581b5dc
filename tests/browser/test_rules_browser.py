"""Editing a bank rule in headless Chromium: the preview follows what one types."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, screenshot
from tests.browser.test_connections_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_the_rule_preview_follows_the_conditions_as_they_are_typed(page):
    """Runs after the bank test, whose history import left lines in the database."""
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/bank/rules/")
    preview = page.locator("#rule-preview")
    form = page.locator("#rule-form")

    form.locator("select[name=side]").select_option("debit")
    expect(preview).to_contain_text("Matches", timeout=15_000)
    expect(page.locator("#rule-preview-lines tbody tr").first).to_be_visible()
    screenshot(page, "30-rule-preview")

    form.get_by_label("Value 1").fill("no such label anywhere")
    expect(preview).to_contain_text("matches these conditions yet")

    form.get_by_label("Operator 1").select_option("matches")
    form.get_by_label("Value 1").fill("(unclosed")
    expect(preview).to_contain_text("No preview:")
    assert page.url.endswith("/bank/rules/")  # nothing was submitted
