"""A receipt meets its bank line (issue 8), in headless Chromium: upload the café receipt,
sync the bank, accept the proposed match, see it settled with Zoho links on both sides."""

import datetime

import pytest
import requests
from playwright.sync_api import expect

import clock
from tests import documents as samples
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, screenshot
from tests.browser.test_connections_browser import consent_and_pick, disconnect_zoho, sign_in
from tests.browser.test_documents_browser import pick
from tests.translation_checks import VISIBLE_OWN_TEXT, english_in

# One worker runs the browser tests in order: they drive one launched app together.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

def shot(page, name: str) -> None:
    screenshot(page, name)


def choose_language(page, language: str) -> None:
    """The menu's language chooser: "fr", "en", or "" for the browser's language."""
    page.locator("#language-choice").select_option(language)
    page.locator(".language-form button[type=submit]").click()


def add_card_payment(sandbox_url: str, amount_cents: int, label: str) -> None:
    """The café's card payment, completed, on the sandbox's main Qonto account."""
    accounts = requests.get(sandbox_url + "/sandbox/qonto", timeout=10).json()["bank_accounts"]
    main = next(account for account in accounts if account["main"])
    response = requests.post(sandbox_url + "/sandbox/qonto/transactions", timeout=10, json={
        "bank_account_id": main["id"], "side": "debit", "amount_cents": amount_cents,
        "label": label, "status": "completed", "operation_type": "card"})
    response.raise_for_status()


def connect_qonto(page) -> None:
    form = page.locator("#qonto-connect-form")
    form.get_by_label("Organisation login").fill("atelier-lumiere-4821")
    form.get_by_label("Secret key").fill("sandbox-qonto-secret")
    form.locator("#qonto-consent").check()
    form.locator("#qonto-connect").click()
    expect(page.locator("#bank-job")).to_contain_text("Sync complete", timeout=60_000)


def forget_supplier_rule(page, name: str) -> None:
    """The documents test leaves a rule publishing this supplier's receipts by itself; here
    the receipt must wait for its bank line, as a new supplier's would."""
    page.goto("/suppliers/")
    delete = page.get_by_role("button", name=f"Delete the rule for {name}")
    if delete.count():
        page.once("dialog", lambda dialog: dialog.accept())
        delete.click()
        expect(page.get_by_role("button", name=f"Delete the rule for {name}")).to_have_count(0)


def test_a_receipt_meets_its_bank_line_and_both_open_in_zoho(page, running_app, tmp_path):
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    forget_supplier_rule(page, "Café Richard")
    page.goto("/connections/")
    consent_and_pick(page, "connect-button", "Atelier Lumière SAS")
    expect(page.locator("#refresh-job")).to_contain_text("Refresh complete", timeout=30_000)
    add_card_payment(running_app["sandbox"], 3648, "CAFE RICHARD PARIS")
    connect_qonto(page)

    # The receipt, dated two days before the payment reached the bank.
    paid_on = clock.now().date() - datetime.timedelta(days=2)
    receipt = tmp_path / "cafe-richard.pdf"
    receipt.write_bytes(samples.cafe_receipt_pdf(date=f"{paid_on:%d/%m/%Y} 12:40",
                                                 number="2026-0815"))
    page.get_by_role("link", name="Documents", exact=True).click()
    page.locator("#upload-files").set_input_files(str(receipt))
    page.locator("#upload-button").click()
    # Other tests left café receipts in the inbox: this one is found by its number.
    row = page.locator("#documents tr", has_text="2026-0815")
    expect(row).to_contain_text("Café Richard", timeout=30_000)
    row.get_by_role("link", name="Café Richard").click()

    # An expense needs its category before it can categorise the bank line.
    form = page.locator("#document-form")
    pick(form, "Category", "fournitures", "606400 Fournitures administratives")
    page.locator("#document-save").click()
    expect(page.get_by_text("Saved. It is ready to publish.")).to_be_visible()

    panel = page.locator("#bank-line")
    proposals = panel.locator("#proposals")
    expect(proposals).to_contain_text("CAFE RICHARD PARIS")
    expect(proposals).to_contain_text("36.48")
    shot(page, "80-document-proposal")
    proposals.get_by_role("button", name="Accept").first.click()
    expect(page.get_by_text("Matched.")).to_be_visible()
    # The state fragment polls itself until Zoho Books has it.
    expect(panel.locator("#settlement-state")).to_have_text("Settled", timeout=60_000)
    expect(panel.locator("#zoho-line-link")).to_be_visible()
    expect(panel.locator("#zoho-record-link")).to_be_visible()
    page.reload()
    expect(page.locator("#published")).to_contain_text("Expense")  # the document's own link
    assert page.locator("#published a").get_attribute("href")
    shot(page, "81-document-settled")

    page.locator("#settled-line").click()
    expect(page.locator("#settlement-state")).to_have_text("Settled")
    expect(page.locator("#settled-documents .document-zoho-link")).to_be_visible()
    expect(page.locator("#zoho-line-link")).to_be_visible()
    shot(page, "82-bank-line-settled")

    # The same page read in French (chosen in the menu): the match's state, its links and
    # the line's amount and date in French; no English left but the data (translate="no").
    choose_language(page, "fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#settlement-state")).to_have_text("Rapproché")
    expect(page.locator("#zoho-line-link")).to_have_text(
        "Ouvrir l’opération bancaire dans Zoho Books")
    expect(page.locator("h1 .pill")).to_contain_text("36,48\u00a0€")
    english = english_in(page.evaluate(VISIBLE_OWN_TEXT))
    assert not english, english
    shot(page, "83-bank-line-settled-in-french")
    choose_language(page, "")  # the browser's language (English) again
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_role("link", name="Bank feed", exact=True).click()
    page.locator("#tab-receipt-missing").click()
    expect(page.locator("#line-list")).not_to_contain_text("CAFE RICHARD PARIS")

    page.goto("/connections/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#qonto-disconnect").click()
    expect(page.get_by_text("Qonto is disconnected")).to_be_visible()
    disconnect_zoho(page)
