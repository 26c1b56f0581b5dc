"""Connecting Qonto and importing history, in headless Chromium."""

import datetime

import pytest
from playwright.sync_api import expect

import clock
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, screenshot
from tests.browser.test_connections_browser import consent_and_pick, disconnect_zoho, sign_in
from tests.factories import shown_day

# One worker runs the browser tests in order: they drive one launched app together.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_admin_connects_qonto_imports_history_and_reads_the_sync_history(page):
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    consent_and_pick(page, "connect-button", "Atelier Lumière SAS")
    expect(page.locator("#refresh-job")).to_contain_text("Refresh complete", timeout=30_000)

    form = page.locator("#qonto-connect-form")
    form.get_by_label("Organisation login").fill("atelier-lumiere-4821")
    form.get_by_label("Secret key").fill("sandbox-qonto-secret")
    expect(form).to_contain_text("receipts attached to those transactions")
    form.locator("#qonto-consent").check()
    screenshot(page, "10-qonto-consent")
    form.locator("#qonto-connect").click()  # the key is checked with Qonto first
    expect(page.get_by_text("Qonto is connected to Atelier Lumière SAS")).to_be_visible(
        timeout=30_000)
    expect(page.locator("#bank-job")).to_contain_text("Sync complete", timeout=60_000)

    first_sync = page.locator("#bank-job").get_attribute("data-job")
    start = clock.now().date() - datetime.timedelta(days=90)
    page.locator("#history-start").fill(start.isoformat())
    page.locator("#history-import").click()
    # The first sync's banner also reads "succeeded": wait for the import's own banner.
    banner = page.locator(f"#bank-job:not([data-job='{first_sync}'])")
    expect(banner).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(banner).to_contain_text("pushed to Zoho Books")
    # The finished job reloads the card, which then shows the new history start.
    expect(page.locator("#qonto-accounts")).to_contain_text(shown_day(start),
                                                            timeout=30_000)
    screenshot(page, "11-bank-synced")

    page.get_by_role("link", name="Sync history").first.click()
    expect(page.get_by_role("heading", name="Sync runs")).to_be_visible()
    expect(page.locator("#runs")).to_contain_text("history import")
    expect(page.locator("#runs")).to_contain_text("Compte principal")
    screenshot(page, "12-sync-history")

    page.goto("/connections/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#qonto-disconnect").click()
    expect(page.get_by_text("Qonto is disconnected")).to_be_visible()
    disconnect_zoho(page)
