"""Uploading, reviewing and publishing a document, in headless Chromium."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests import documents as samples
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, screenshot
from tests.browser.test_connections_browser import consent_and_pick, disconnect_zoho, sign_in
from tests.contract.conftest import BooksClient
from tests.sandbox_server import SandboxServer
from tests.translation_checks import VISIBLE_OWN_TEXT, english_in

# One worker runs the browser tests in order: they drive one launched app together.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def pick(form, label: str, typed: str, expected: str, shot: str | None = None) -> None:
    """Choose in a searchable picker as a person does, with the keyboard only: type a few
    letters, arrow down to the first match, Enter."""
    box = form.get_by_role("combobox", name=label)
    box.focus()
    box.press("Control+a")  # typing replaces what is shown
    box.press_sequentially(typed)
    listbox = form.get_by_role("listbox")
    # The matches of what was typed (not the first page of the list shown on focus).
    expect(listbox.get_by_role("option").first).to_have_attribute("data-label", expected)
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("ArrowDown")
    first = listbox.get_by_role("option").first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", first.get_attribute("id"))
    if shot:
        screenshot(form.page, shot)
    box.press("Enter")
    expect(box).to_have_value(expected)
    expect(box).to_have_attribute("aria-expanded", "false")


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
    pick(form, "Category", "fournitures", "606400 Fournitures administratives",
         shot="27-picker")
    category = form.get_by_role("combobox", name="Category")
    category.press("Control+a")
    category.press_sequentially("locations")
    expect(form.get_by_role("option", name=re.compile("Locations")).first).to_be_visible()
    category.press("Escape")  # changed one's mind: the chosen category comes back
    expect(category).to_have_value("606400 Fournitures administratives")
    expect(form.get_by_role("listbox")).to_have_count(0)  # none left open
    form.locator("input[name=number]").fill("FAC-2026-0042")
    form.locator("#document-save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(form.get_by_role("combobox", name="Category")).to_have_value(
        "606400 Fournitures administratives")  # saved, and shown by name
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


def _zoho_expense(running_app, expense_id: str) -> dict:
    """The expense as Zoho Books holds it, read by someone working in Zoho itself."""
    sandbox = SandboxServer(url=running_app["sandbox"], data_dir=running_app["data_dir"])
    token = sandbox.self_client_tokens()["access_token"]
    books = BooksClient(sandbox.url, token, "")
    orgs = books.call("GET", "/organizations", org_id="").json()["organizations"]
    org_id = next(org["organization_id"] for org in orgs if org["name"] == "Atelier Lumière SAS")
    return books.call("GET", f"/expenses/{expense_id}", org_id=org_id).json()["expense"]


def test_the_cafe_receipt_warns_about_its_tax_and_publishes_the_vat_it_shows(
        page, tmp_path, running_app):
    """Issue 7: "dont TVA 10 % 3,32" must never reach Zoho as the rule's TVA 20 % (6.08)."""
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    consent_and_pick(page, "connect-button", "Atelier Lumière SAS")
    expect(page.locator("#refresh-job")).to_contain_text("Refresh complete", timeout=30_000)

    # The café's rule was made from an earlier receipt at 20 %, paid from the bank.
    page.get_by_role("link", name="Suppliers").click()
    form = page.locator("#supplier-form")
    form.locator("input[name=name]").fill("Café Richard")
    auto_publish = form.locator("input[name=auto_publish]")
    expect(auto_publish).to_be_disabled()  # needs a category
    pick(form, "Category", "consommables", "602200 Fournitures consommables")
    expect(auto_publish).to_be_enabled()  # the picked category reached the server
    form.locator("select[name=tax_id]").select_option(label="TVA 20 %")
    form.locator("select[name=payment]").select_option("expense")
    form.locator("select[name=paid_through_account_id]").select_option(index=1)
    form.locator("#supplier-save").click()
    expect(page.get_by_text("Supplier rule 'Café Richard' saved")).to_be_visible()

    receipt = tmp_path / "cafe-richard.pdf"
    receipt.write_bytes(samples.cafe_receipt_pdf())
    page.get_by_role("link", name="Documents", exact=True).click()
    page.locator("#upload-files").set_input_files(str(receipt))
    page.locator("#upload-button").click()
    expect(page.locator("#documents")).to_contain_text("Café Richard", timeout=30_000)
    page.locator("#documents").get_by_role("link", name="Café Richard").first.click()

    warning = page.locator("#tax-check")
    expect(warning).to_contain_text("The receipt shows 10 % (3.32), the tax code is 20 % (6.08).")
    screenshot(page, "25-tax-warning")
    page.locator("#publish-button").click()  # refused: nothing wrong reaches Zoho silently
    expect(page.get_by_role("alert")).to_contain_text("The receipt shows 10 % (3.32)")

    page.locator("#use-document-tax").click()
    expect(page.get_by_text("Tax code set to TVA 10 %, as on the document.")).to_be_visible()
    expect(page.locator("#tax-check")).to_have_count(0)
    page.locator("#publish-button").click()
    published = page.locator("#published")
    expect(published).to_contain_text("Published as Expense")
    screenshot(page, "26-tax-published")

    expense_id = re.search(r"ID (\d+)", published.inner_text()).group(1)
    expense = _zoho_expense(running_app, expense_id)
    assert expense["tax_name"] == "TVA 10 %"
    assert Decimal(str(expense["tax_amount"])) == Decimal("3.32")
    assert Decimal(str(expense["total"])) == Decimal("36.48")

    disconnect_zoho(page)


def test_the_documents_read_in_french_for_a_french_browser(browser, running_app):
    """After the two tests above: the inbox and a published document, in a French browser."""
    context = browser.new_context(base_url=running_app["url"], locale="fr-FR",
                                  viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto("/login")
        page.locator("input[name=email]").fill(ADMIN_EMAIL)
        page.locator("input[name=password]").fill(ADMIN_PASSWORD)
        page.locator("form.stack button[type=submit]").click()
        # The café's receipt, among the bank tests' documents too (those run first).
        page.goto("/documents/?status=published&q=Richard")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.get_by_role("heading", level=1)).to_have_text("Documents")
        inbox = page.locator("#documents")
        expect(inbox).to_contain_text("Publié")
        expect(inbox).to_contain_text("36,48\u00a0€")  # the café's receipt, as French writes it
        expect(page.locator("#bulk-publish")).to_have_text("Publier la sélection")
        assert not english_in(page.evaluate(VISIBLE_OWN_TEXT))
        screenshot(page, "28-inbox-fr")

        inbox.get_by_role("link", name="Café Richard").first.click()
        expect(page.locator("#published")).to_contain_text("Publié comme Dépense")
        assert not english_in(page.evaluate(VISIBLE_OWN_TEXT))
    finally:
        context.close()
