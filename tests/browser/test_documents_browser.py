"""Uploading, reviewing and publishing a document, in headless Chromium."""

import pytest
from playwright.sync_api import expect

from tests import documents as samples
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, screenshot
from tests.browser.test_connections_browser import consent_and_pick, disconnect_zoho, sign_in

pytestmark = pytest.mark.browser


def test_upload_review_fix_a_field_and_publish(page, tmp_path):
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    consent_and_pick(page, "connect-button", "Atelier Lumière SAS")
    expect(page.locator("#refresh-job")).to_contain_text("Refresh complete", timeout=30_000)

    invoice = tmp_path / "ovh-facture.pdf"
    invoice.write_bytes(samples.text_pdf(supplier_name="Imprimerie Nouvelle SARL"))
    page.get_by_role("link", name="Documents", exact=True).click()
    page.locator("#upload-files").set_input_files(str(invoice))
    page.locator("#upload-button").click()
    expect(page.get_by_text("1 document added")).to_be_visible()
    expect(page.locator("#documents")).to_contain_text("Imprimerie Nouvelle SARL",
                                                       timeout=30_000)
    screenshot(page, "20-inbox")

    page.get_by_role("link", name="Imprimerie Nouvelle SARL").click()
    form = page.locator("#document-form")
    form.locator("select[name=account_id]").select_option(index=1)
    form.locator("input[name=number]").fill("FAC-2026-0042")
    form.locator("#document-save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    screenshot(page, "21-review")

    page.locator("#publish-button").click()
    expect(page.get_by_role("heading", name="Zoho Books will get a new supplier: "
                                            "Imprimerie Nouvelle SARL")).to_be_visible()
    page.locator("#confirm-supplier").click()
    expect(page.locator("#published")).to_contain_text("Published as Bill")
    screenshot(page, "22-published")

    # The correction becomes a supplier rule.
    page.get_by_role("button", name="Make a supplier rule").click()
    expect(page.get_by_text("Supplier rule 'Imprimerie Nouvelle SARL' created")).to_be_visible()
    page.get_by_role("link", name="Suppliers").click()
    expect(page.get_by_role("heading", name="Supplier rules")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Imprimerie Nouvelle SARL")
    screenshot(page, "24-suppliers")

    # The same invoice again: flagged as a duplicate of the published one.
    page.get_by_role("link", name="Documents", exact=True).click()
    page.locator("#upload-files").set_input_files(str(invoice))
    page.locator("#upload-button").click()
    expect(page.locator("#documents tbody tr").first).to_contain_text("To review",
                                                                      timeout=30_000)
    page.locator("#documents tbody tr").first.get_by_role("link").click()
    expect(page.get_by_text("Possible duplicate")).to_be_visible()
    expect(page.get_by_text("same file")).to_be_visible()
    screenshot(page, "23-duplicate")

    disconnect_zoho(page)
