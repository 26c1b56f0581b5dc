"""Credit notes (issue 7, item 6): published as Zoho vendor credits, or customer credit
notes for sales, exactly once, looked up in Zoho after an unknown outcome."""

import time
from decimal import Decimal

from models import Document, DocumentStatus, ZohoAccount, ZohoContact
from tests import documents as samples
from tests.conftest import csrf_token
from tests.test_documents import upload
from tests.zoho_flow import known_vendor, zoho_as_user, zoho_write_times_out


def _categorised(client, connected, **fields):
    document = Document.get()
    account = ZohoAccount.usable(connected.organization_id).where(
        ZohoAccount.account_type == "expense").first()
    client.post(f"/documents/{document.id}", data={
        "account_id": account.zoho_id, **fields,
        "csrf_token": csrf_token(client, "/documents/")})
    return Document.get_by_id(document.id)


def _publish(client, document):
    return client.post(f"/documents/{document.id}/publish",
                       data={"csrf_token": csrf_token(client, "/documents/")},
                       follow_redirects=True).text


def _vendor_credits(sandbox, reference):
    return zoho_as_user(sandbox).get("/vendorcredits", params={
        "reference_number": reference})["vendorcredits"]


def test_an_e_invoice_credit_note_becomes_one_vendor_credit(client, connected, sandbox):
    upload(client, ("avoir.xml", samples.ubl_xml(credit_note=True, number="AV-2026-0007")))
    document = _categorised(client, connected)
    assert document.document_type == "credit_note" and document.status is \
        DocumentStatus.READY
    page = _publish(client, document)
    document = Document.get_by_id(document.id)
    assert document.status is DocumentStatus.PUBLISHED
    assert document.zoho_type == "vendorcredit" and "Published as" in page
    [listed] = _vendor_credits(sandbox, "AV-2026-0007")
    credit = zoho_as_user(sandbox).get(f"/vendorcredits/{listed['vendor_credit_id']}")[
        "vendor_credit"]
    scaleway = ZohoContact.get(ZohoContact.name == "Scaleway")
    assert credit["vendor_id"] == scaleway.zoho_id == document.contact_id
    assert Decimal(str(credit["total"])) == Decimal("1190.00")
    assert sorted((line["quantity"], Decimal(str(line["rate"])))
                  for line in credit["line_items"]) == [(1, 100), (5, 180)]
    # Zoho Books takes no .xml file: the page says to attach the e-invoice by hand.
    assert "could not be attached in Zoho Books" in client.get(
        f"/documents/{document.id}").text


def test_a_pdf_credit_note_carries_its_file(client, connected, sandbox):
    vendor = known_vendor(connected)
    upload(client, ("avoir.pdf", samples.text_pdf(
        supplier_name=vendor.name, title="Avoir N° AV-2026-0031", net="-100,00 €",
        tax="-20,00 €", total="-120,00 €")))
    document = _categorised(client, connected)
    assert document.document_type == "credit_note"
    assert "Published as" in _publish(client, document)
    document = Document.get_by_id(document.id)
    credit = zoho_as_user(sandbox).get(f"/vendorcredits/{document.zoho_id}")["vendor_credit"]
    assert [file["file_name"] for file in credit["documents"]] == ["avoir.pdf"]
    assert Decimal(str(credit["total"])) == Decimal("120.00")


def test_a_timeout_on_a_vendor_credit_is_looked_up_before_sending_again(
        app, client, connected, sandbox):
    upload(client, ("avoir.xml", samples.ubl_xml(credit_note=True, number="AV-2026-0008")))
    document = _categorised(client, connected)
    with zoho_write_times_out(app, sandbox, "POST /vendorcredits"):
        assert "did not confirm" in _publish(client, document)
    assert Document.get_by_id(document.id).publish_state == "publishing"
    time.sleep(1)  # Zoho finishes the slow request
    assert "Published as" in _publish(client, Document.get_by_id(document.id))
    assert len(_vendor_credits(sandbox, "AV-2026-0008")) == 1
    document = Document.get_by_id(document.id)
    assert document.status is DocumentStatus.PUBLISHED and document.zoho_type == "vendorcredit"


def test_a_negative_total_is_a_credit_note_with_positive_amounts(client, connected, sandbox):
    upload(client, ("avoir.pdf", samples.text_pdf(
        title="Avoir N° AV-2026-0031", item=("Remboursement VPS", "1", "-100,00 €",
                                             "-100,00 €", "20 %"),
        net="-100,00 €", tax="-20,00 €", total="-120,00 €")))
    document = _categorised(client, connected)
    assert document.document_type == "credit_note"
    assert (document.net_cents, document.tax_cents, document.total_cents) == \
        (10000, 2000, 12000)
    assert "Published as" in _publish(client, document)
    [credit] = _vendor_credits(sandbox, Document.get().number)
    assert Decimal(str(credit["total"])) == Decimal("120.00")


def test_a_sales_credit_note_becomes_a_customer_credit_note(client, connected, sandbox):
    upload(client, ("avoir-client.xml", samples.ubl_xml(credit_note=True,
                                                        number="AVC-2026-0002")))
    customer = ZohoContact.usable(connected.organization_id).where(
        ZohoContact.contact_type == "customer").first()
    document = _categorised(client, connected, kind="sale", contact_id=customer.zoho_id)
    assert "Published as" in _publish(client, document)
    document = Document.get_by_id(document.id)
    assert document.zoho_type == "creditnote"
    note = zoho_as_user(sandbox).get(f"/creditnotes/{document.zoho_id}")["creditnote"]
    assert note["customer_id"] == customer.zoho_id
    assert note["creditnote_number"] == "AVC-2026-0002"
    assert Decimal(str(note["total"])) == Decimal("1190.00")
