"""Taxes that match the document (issue 7, item 5): each rate mapped to a Zoho tax, one line
per rate, and no tax reaches Zoho that differs from the document's without a person's yes."""

from decimal import Decimal

import pytest

from models import (
    ConnectionSettings,
    Document,
    DocumentStatus,
    SupplierRule,
    ZohoAccount,
    ZohoBankAccount,
    ZohoTax,
)
from services import i18n
from services.document_status import refresh_status
from tests import documents as samples
from tests.conftest import csrf_token
from tests.test_documents import upload
from tests.zoho_flow import zoho_as_user

MISMATCH = "The receipt shows 10 % (3.32), the tax code is 20 % (6.08)."


@pytest.fixture
def zoho(connected):
    """The French demo organisation's taxes by rate, a category and the bank account."""
    org = connected.organization_id
    taxes = {Decimal(tax.percentage).normalize(): tax for tax in ZohoTax.usable(org)}
    account = ZohoAccount.usable(org).where(ZohoAccount.account_type == "expense").first()
    return {"taxes": taxes, "account": account, "bank": ZohoBankAccount.usable(org).first()}


def _cafe_rule(zoho, rate=20):
    """Café Richard's rule, made from an earlier receipt at another rate."""
    return SupplierRule.create(name="Café Richard", account_id=zoho["account"].zoho_id,
                               tax_id=zoho["taxes"][Decimal(rate)].zoho_id, payment="expense",
                               paid_through_account_id=zoho["bank"].zoho_id)


def _publish(client, document):
    return client.post(f"/documents/{document.id}/publish",
                       data={"csrf_token": csrf_token(client, "/documents/")},
                       follow_redirects=True).text


def _decide(client, document, **data):
    return client.post(f"/documents/{document.id}/tax",
                       data={"csrf_token": csrf_token(client, "/documents/"), **data},
                       follow_redirects=True).text


def test_the_rate_read_on_the_receipt_chooses_the_tax_not_the_default(client, zoho):
    ConnectionSettings.update(default_cost_tax_id=zoho["taxes"][20].zoho_id).execute()
    upload(client, ("cafe.pdf", samples.cafe_receipt_pdf()))
    document = Document.get()
    assert document.tax_id == zoho["taxes"][10].zoho_id
    assert document.sources["tax_id"] == "text"
    assert "tax-check" not in client.get(f"/documents/{document.id}").text


def test_a_rule_tax_that_disagrees_holds_the_receipt_until_the_offered_tax_is_chosen(
        client, zoho, sandbox):
    _cafe_rule(zoho, rate=20)
    upload(client, ("cafe.pdf", samples.cafe_receipt_pdf()))
    document = Document.get()
    assert document.tax_id == zoho["taxes"][20].zoho_id  # the rule's
    assert document.status is DocumentStatus.TO_REVIEW
    page = client.get(f"/documents/{document.id}").text
    assert MISMATCH in page and 'Use <span translate="no">TVA 10 %</span>' in page

    refused = _publish(client, document)
    assert MISMATCH in refused and Document.get_by_id(document.id).zoho_id is None

    assert "as on the document" in _decide(client, document, decision="use",
                                           tax_id=zoho["taxes"][10].zoho_id)
    document = Document.get_by_id(document.id)
    assert document.status is DocumentStatus.READY and "tax_id" in document.edited
    assert "Published as Expense" in _publish(client, document)
    expense = zoho_as_user(sandbox).get(f"/expenses/{Document.get().zoho_id}")["expense"]
    assert expense["tax_percentage"] == 10 and Decimal(str(expense["tax_amount"])) == \
        Decimal("3.32")
    assert Decimal(str(expense["total"])) == Decimal("36.48")


def test_a_person_may_keep_a_disagreeing_tax_code_on_purpose(client, zoho, sandbox):
    _cafe_rule(zoho, rate=20)
    upload(client, ("cafe.pdf", samples.cafe_receipt_pdf()))
    document = Document.get()
    assert "Noted" in _decide(client, document, decision="confirm")
    document = Document.get_by_id(document.id)
    assert i18n.in_words(document.tax_confirmed) == MISMATCH
    assert document.status is DocumentStatus.READY
    assert "Published as Expense" in _publish(client, document)
    expense = zoho_as_user(sandbox).get(f"/expenses/{Document.get().zoho_id}")["expense"]
    assert Decimal(str(expense["tax_amount"])) == Decimal("6.08")


def test_a_receipt_with_two_rates_becomes_one_line_per_rate(client, zoho, sandbox):
    ConnectionSettings.update(default_cost_tax_id=zoho["taxes"][20].zoho_id).execute()
    _cafe_rule(zoho, rate=20).delete_instance()  # no rule: the rates decide
    receipt = samples.cafe_receipt_pdf(
        items=[("Menu enfant", "1", "8,44", "8,44"), ("Vin", "1", "24,00", "24,00")],
        total="32,44", vat_rows=[("TVA 5,5 %  8,00", "0,44"), ("TVA 20 %  20,00", "4,00")])
    upload(client, ("two-rates.pdf", receipt))
    document = Document.get()
    client.post(f"/documents/{document.id}", data={
        "account_id": zoho["account"].zoho_id, "payment": "expense",
        "paid_through_account_id": zoho["bank"].zoho_id,
        "csrf_token": csrf_token(client, "/documents/")})
    document = Document.get_by_id(document.id)
    assert document.status is DocumentStatus.READY
    assert "Published as Expense" in _publish(client, document)
    expense = zoho_as_user(sandbox).get(f"/expenses/{Document.get().zoho_id}")["expense"]
    lines = sorted((line["tax_percentage"], Decimal(str(line["amount"])),
                    Decimal(str(line["tax_amount"]))) for line in expense["line_items"])
    assert lines == [(5.5, Decimal("8.44"), Decimal("0.44")),
                     (20, Decimal("24.00"), Decimal("4.00"))]
    assert Decimal(str(expense["tax_amount"])) == Decimal("4.44")


def test_a_rate_zoho_does_not_have_is_named(client, zoho):
    receipt = samples.cafe_receipt_pdf(
        items=[("Journal", "1", "1,02", "1,02"), ("Vin", "1", "24,00", "24,00")],
        total="25,02", vat_rows=[("TVA 7 %  0,95", "0,07"), ("TVA 20 %  20,00", "4,00")])
    upload(client, ("seven.pdf", receipt))
    document = Document.get()
    assert document.status is DocumentStatus.TO_REVIEW
    assert "shows 7 % (0.07), and Zoho Books has no tax of that rate" in client.get(
        f"/documents/{document.id}").text


def test_bill_lines_keep_their_quantity_and_unit_price(client, zoho, sandbox):
    invoice = samples.text_pdf(item=("Licence annuelle", "4", "25,00 €", "100,00 €", "20 %"))
    upload(client, ("ovh.pdf", invoice))
    document = Document.get()
    client.post(f"/documents/{document.id}", data={
        "account_id": zoho["account"].zoho_id, "csrf_token": csrf_token(client, "/documents/")})
    assert "Published as Bill" in _publish(client, Document.get_by_id(document.id))
    bill = zoho_as_user(sandbox).get(f"/bills/{Document.get().zoho_id}")["bill"]
    [line] = bill["line_items"]
    assert (line["quantity"], Decimal(str(line["rate"])), line["tax_percentage"]) == \
        (4, Decimal("25.00"), 20)
    assert Decimal(str(bill["tax_total"])) == Decimal("20.00")


FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


def test_the_tax_difference_is_read_in_french_with_french_amounts(client, zoho):
    _cafe_rule(zoho, rate=20)
    upload(client, ("cafe.pdf", samples.cafe_receipt_pdf()))
    document = Document.get()
    page = client.get(f"/documents/{document.id}", headers=FRENCH).text
    assert ("Le justificatif indique 10\u00a0% (3,32), le code de TVA est 20\u00a0% (6,08)."
            in page)
    assert "Bookbridge ne le publiera pas tant que vous n’aurez pas choisi." in page
    assert 'Utiliser <span translate="no">TVA 10 %</span>' in page
    assert "Conserver quand même le code de TVA" in page
    assert "C’est noté" in client.post(f"/documents/{document.id}/tax", headers=FRENCH, data={
        "decision": "confirm", "csrf_token": csrf_token(client, "/documents/")},
        follow_redirects=True).text


def test_a_tax_difference_confirmed_before_translation_stays_confirmed(client, zoho):
    """Confirmations made when the sentence was kept in English still count."""
    _cafe_rule(zoho, rate=20)
    upload(client, ("cafe.pdf", samples.cafe_receipt_pdf()))
    document = Document.get()
    assert document.status is DocumentStatus.TO_REVIEW
    Document.update(tax_confirmed=MISMATCH).where(Document.id == document.id).execute()
    document = Document.get_by_id(document.id)
    refresh_status(document)
    assert Document.get_by_id(document.id).status is DocumentStatus.READY
    Document.update(tax_confirmed="The receipt shows 5.5 %, the tax code is 20 %.").where(
        Document.id == document.id).execute()  # another difference: not this one
    refresh_status(Document.get_by_id(document.id))
    assert Document.get_by_id(document.id).status is DocumentStatus.TO_REVIEW
