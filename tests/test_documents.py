"""Documents: intake checked by content, extraction, review edits, publishing to Zoho."""

import io
import re
import time
from decimal import Decimal

from models import (
    AuditEvent,
    ConnectionSettings,
    Document,
    DocumentStatus,
    StoredFile,
    SupplierRule,
    ZohoAccount,
    ZohoTax,
)
from services import i18n
from tests import documents as samples
from tests.conftest import csrf_token
from tests.translation_checks import english_in, own_text
from tests.zoho_flow import known_vendor, zoho_as_user, zoho_write_times_out


def upload(client, *files):
    data = {"csrf_token": csrf_token(client, "/documents/"),
            "files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/documents/upload", data=data, content_type="multipart/form-data",
                       follow_redirects=True)


def test_files_are_checked_by_content_not_name(client, auth, admin):
    auth.login()
    page = upload(client, ("invoice.pdf", b"just some text, not a PDF")).text
    assert "not a PDF, JPEG, PNG or e-invoice XML" in page
    assert Document.select().count() == 0 and StoredFile.select().count() == 0


def test_uploads_are_read_and_stored_once(client, auth, admin):
    auth.login()
    pdf = samples.text_pdf()
    page = upload(client, ("ovh.pdf", pdf), ("ovh-again.pdf", pdf),
                  ("order.xml", samples.ubl_xml())).text
    assert "3 documents added" in page
    assert StoredFile.select().count() == 2
    text_doc = Document.get(Document.filename == "ovh.pdf")
    assert text_doc.status is DocumentStatus.TO_REVIEW
    assert text_doc.method == "text"
    assert text_doc.supplier_name.startswith("OVH")
    assert text_doc.total_cents == 12000 and text_doc.sources["total_cents"] == "text"
    ubl = Document.get(Document.filename == "order.xml")
    assert ubl.method == "e-invoice" and ubl.sources["number"] == "e-invoice"
    assert "upload" in client.get("/documents/").text


def test_person_edits_win_over_rules_and_defaults(client, connected):
    tax = ZohoTax.usable(connected.organization_id).first()
    ConnectionSettings.update(default_cost_tax_id=tax.zoho_id).execute()
    # An invoice printing no VAT rate: the default tax applies (a rate would choose).
    upload(client, ("ovh.pdf", samples.text_pdf(vat="TVA")))
    document = Document.get()
    assert document.tax_id == tax.zoho_id and document.sources["tax_id"] == "default"

    response = client.post(f"/documents/{document.id}", data={
        "number": "FR-CHANGED", "total_cents": "121,50",
        "csrf_token": csrf_token(client, f"/documents/{document.id}")}, follow_redirects=True)
    assert "Saved." in response.text
    document = Document.get_by_id(document.id)
    assert document.number == "FR-CHANGED" and document.total_cents == 12150
    assert set(document.edited) == {"number", "total_cents"}
    assert document.sources["number"] == "person"
    assert AuditEvent.get(AuditEvent.action == "document.edit").before["number"] != \
        "FR-CHANGED"


def test_bad_date_is_explained_and_nothing_saved(client, auth, admin):
    auth.login()
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    page = client.post(f"/documents/{document.id}", data={
        "issue_date": "31/31/2026", "csrf_token": csrf_token(client, "/documents/")},
        follow_redirects=True).text
    assert "nothing was saved" in page


def _ready_bill(client, connection, supplier=None):
    upload(client, ("ovh.pdf", samples.text_pdf(**({"supplier_name": supplier} if supplier
                                                     else {}))))
    document = Document.get()
    account = ZohoAccount.usable(connection.organization_id).where(
        ZohoAccount.account_type == "expense").first()
    client.post(f"/documents/{document.id}", data={
        "account_id": account.zoho_id, "csrf_token": csrf_token(client, "/documents/")})
    return Document.get_by_id(document.id)


def _publish(client, document, **extra):
    return client.post(f"/documents/{document.id}/publish",
                       data={"csrf_token": csrf_token(client, "/documents/"), **extra},
                       follow_redirects=True)


def test_new_supplier_is_asked_first_then_created_and_the_bill_carries_the_file(
        client, connected, sandbox):
    document = _ready_bill(client, connected, supplier="ACME SARL")
    asked = _publish(client, document)
    assert ('Zoho Books will get a new supplier: <span translate="no">ACME SARL</span>'
            in asked.text)
    assert Document.get_by_id(document.id).status is not DocumentStatus.PUBLISHED

    done = _publish(client, document, confirm_new_supplier="yes")
    assert "Published as Bill" in done.text
    document = Document.get_by_id(document.id)
    assert document.status is DocumentStatus.PUBLISHED and document.zoho_id
    bill = zoho_as_user(sandbox).get(f"/bills/{document.zoho_id}")["bill"]
    assert bill["vendor_name"] == "ACME SARL"
    assert bill.get("has_attachment") or bill.get("documents")


def test_known_supplier_costs_two_zoho_calls(client, connected, sandbox):
    vendor = known_vendor(connected)
    document = _ready_bill(client, connected, supplier=vendor.name)
    sandbox.admin("POST", "/sandbox/stats/reset")
    assert "Published as Bill" in _publish(client, document).text
    calls = sandbox.admin("GET", f"/sandbox/stats?organization_id="
                                 f"{connected.organization_id}")["calls"]
    assert calls == {"POST /bills": 1, "POST /bills/{bill_id}/attachment": 1}


def test_timeout_after_zoho_accepted_the_bill_makes_no_second_bill(app, client, connected,
                                                                  sandbox):
    vendor = known_vendor(connected)
    document = _ready_bill(client, connected, supplier=vendor.name)
    with zoho_write_times_out(app, sandbox, "POST /bills"):
        assert "did not confirm" in _publish(client, document).text
    # The late write has landed (zoho_write_times_out waits for it): the next try finds the
    # bill in Zoho instead of sending it again.
    assert "Published as Bill" in _publish(client, document).text
    bills = zoho_as_user(sandbox).get("/bills", params={"vendor_id": vendor.zoho_id,
                                                        "bill_number": document.number})
    assert len(bills["bills"]) == 1
    assert Document.get_by_id(document.id).status is DocumentStatus.PUBLISHED


def test_refused_publish_keeps_the_document_with_zohos_reason(client, connected, sandbox):
    vendor = known_vendor(connected)
    document = _ready_bill(client, connected, supplier=vendor.name)
    account_id = document.account_id
    # A category deleted in Zoho Books since the lists were refreshed.
    Document.update(account_id="460000000099999999").where(
        Document.id == document.id).execute()
    page = _publish(client, document).text
    document = Document.get_by_id(document.id)
    assert document.status is DocumentStatus.FAILED
    assert "Refresh the lists or pick another category" in i18n.in_words(document.publish_error)
    assert i18n.in_words(document.publish_error) in page
    assert client.get(f"/documents/{document.id}/file").status_code == 200

    Document.update(account_id=account_id).where(Document.id == document.id).execute()
    assert "Published as Bill" in _publish(client, document).text


def test_missing_fields_are_named(client, connected):
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    page = _publish(client, document).text
    assert "Fill in the category before publishing." in page


def test_supplier_rule_fills_what_a_person_left(client, connected):
    account = ZohoAccount.usable(connected.organization_id).where(
        ZohoAccount.account_type == "expense").first()
    SupplierRule.create(name="OVHcloud", aliases=["OVH SAS"], account_id=account.zoho_id)
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    assert document.account_id == account.zoho_id and document.sources["account_id"] == "rule"


def test_original_is_served_without_sniffing(client, auth, admin):
    auth.login()
    upload(client, ("order.xml", samples.ubl_xml()))
    document = Document.get()
    response = client.get(f"/documents/{document.id}/file")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "text/plain"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_archive_in_bulk(client, auth, admin):
    auth.login()
    upload(client, ("ovh.pdf", samples.text_pdf()), ("o.xml", samples.ubl_xml()))
    ids = [str(d.id) for d in Document.select()]
    client.post("/documents/bulk", data={"document_ids": ids, "action": "archive",
                                         "csrf_token": csrf_token(client, "/documents/")})
    assert Document.select().where(Document.status == DocumentStatus.ARCHIVED).count() == 2
    assert "No documents yet" not in client.get("/documents/?status=archived").text


def test_the_whole_review_form_saves(client, connected):
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    form = {"kind": "cost", "supplier_name": "OVHcloud", "contact_id": "", "number": "N-1",
            "issue_date": "2026-11-02", "due_date": "", "currency": "EUR", "net_cents": "100",
            "tax_cents": "20", "total_cents": "120", "tax_id": "", "account_id": "",
            "payment": "bill", "paid_through_account_id": "", "description": "",
            "csrf_token": csrf_token(client, "/documents/")}
    page = client.post(f"/documents/{document.id}", data=form, follow_redirects=True).text
    assert "Saved." in page
    document = Document.get_by_id(document.id)
    assert document.description == "" and document.due_date is None
    assert document.contact_id is None and document.number == "N-1"


def auto_publishing_supplier(connection):
    """A supplier Zoho Books knows, whose rule auto-publishes into an expense account (the
    installation's switch is left to the test)."""
    vendor = known_vendor(connection)
    account = ZohoAccount.usable(connection.organization_id).where(
        ZohoAccount.account_type == "expense").first()
    SupplierRule.create(name=vendor.name, contact_id=vendor.zoho_id, account_id=account.zoho_id,
                        auto_publish=True)
    return vendor


def test_auto_publish_for_a_supplier_that_has_it(client, connected, sandbox):
    vendor = auto_publishing_supplier(connected)
    upload(client, ("a.pdf", samples.text_pdf(supplier_name=vendor.name)))
    assert Document.get().status is DocumentStatus.READY  # the installation switch is off

    ConnectionSettings.update(auto_publish=True).execute()
    upload(client, ("b.pdf", samples.text_pdf(supplier_name=vendor.name,
                                               title="Facture N° FR-2026-0194",
                                               issue_date="20/03/2026")))
    document = Document.get(Document.filename == "b.pdf")
    assert document.status is DocumentStatus.PUBLISHED and document.zoho_type == "bill"
    assert AuditEvent.get(AuditEvent.action == "document.publish").actor == "worker"


def test_a_suspected_duplicate_is_not_auto_published(client, connected, sandbox):
    vendor = auto_publishing_supplier(connected)
    ConnectionSettings.update(auto_publish=True).execute()
    pdf = samples.text_pdf(supplier_name=vendor.name)
    upload(client, ("first.pdf", pdf))
    upload(client, ("again.pdf", pdf))
    again = Document.get(Document.filename == "again.pdf")
    assert i18n.in_words(again.duplicate_reason) == "same file"
    assert again.status is DocumentStatus.TO_REVIEW


def test_e_invoice_lines_become_bill_lines_with_their_taxes(client, connected, sandbox):
    upload(client, ("fx.pdf", samples.factur_x_pdf()))
    document = Document.get()
    assert document.method == "e-invoice" and len(document.lines) == 2
    account = ZohoAccount.usable(connected.organization_id).where(
        ZohoAccount.account_type == "expense").first()
    client.post(f"/documents/{document.id}", data={
        "account_id": account.zoho_id, "csrf_token": csrf_token(client, "/documents/")})
    assert "Published as Bill" in _publish(client, document, confirm_new_supplier="yes").text
    bill = zoho_as_user(sandbox).get(f"/bills/{Document.get().zoho_id}")["bill"]
    taxes = {t.zoho_id: t.percentage for t in ZohoTax.usable(connected.organization_id)}
    # Each line keeps its quantity and unit price, with the tax of its own rate.
    assert sorted((line["quantity"], Decimal(str(line["rate"])), taxes[line["tax_id"]])
                  for line in bill["line_items"]) == [(1, 100, 10), (5, 180, 20)]


def test_lines_are_edited_on_the_page(client, connected):
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    form = {"line_description_0": "Hébergement", "line_quantity_0": "1",
            "line_unit_price_0": "60", "line_net_0": "60,00", "line_vat_rate_0": "20",
            "line_description_1": "Support", "line_net_1": "40", "line_quantity_1": "",
            "line_unit_price_1": "", "line_vat_rate_1": "20",
            "csrf_token": csrf_token(client, "/documents/")}
    client.post(f"/documents/{document.id}", data=form)
    document = Document.get_by_id(document.id)
    assert [line["net"] for line in document.lines] == ["60.00", "40"]
    assert "lines" in document.edited
    bad = client.post(f"/documents/{document.id}", data={**form, "line_net_1": "lots"},
                      follow_redirects=True).text
    assert "is not a number" in bad


def test_the_reading_banner_says_what_was_read(client, auth, admin):
    auth.login()
    upload(client, ("ovh.pdf", samples.text_pdf()))
    page = client.get("/documents/").text
    assert "Documents read." in page and "Read 1 document." in page
    assert "fetched" not in page


def test_an_unconfirmed_publish_blocks_edits_to_what_zoho_is_searched_by(app, client,
                                                                        connected, sandbox):
    vendor = known_vendor(connected)
    document = _ready_bill(client, connected, supplier=vendor.name)
    with zoho_write_times_out(app, sandbox, "POST /bills"):
        _publish(client, document)
    page = client.post(f"/documents/{document.id}", data={
        "number": "FR-2026-0193-A", "csrf_token": csrf_token(client, "/documents/")},
        follow_redirects=True).text
    assert "has not confirmed the last publish" in page
    assert Document.get_by_id(document.id).number == document.number
    time.sleep(1)


def test_credit_notes_are_never_published_as_bills(client, connected):
    upload(client, ("avoir.xml", samples.ubl_xml(credit_note=True)))
    document = Document.get()
    assert document.document_type == "credit_note"
    assert "published as a vendor credit in Zoho Books, never as a bill" in client.get(
        f"/documents/{document.id}").text
    assert "category" in _publish(client, document).text  # a vendor credit needs one too
    assert Document.get_by_id(document.id).status is not DocumentStatus.PUBLISHED


def test_a_broken_e_invoice_does_not_stop_the_others(client, auth, admin):
    auth.login()
    broken = samples.ubl_xml().replace(b'currencyID="EUR">1190.00<', b'currencyID="EUR">NaN<')
    assert b">NaN<" in broken
    upload(client, ("broken.xml", broken), ("ovh.pdf", samples.text_pdf()))
    assert Document.get(Document.filename == "ovh.pdf").status is not DocumentStatus.PROCESSING
    assert Document.get(Document.filename == "broken.xml").status is not \
        DocumentStatus.PROCESSING


def test_archived_documents_are_not_published_in_bulk(client, connected, sandbox):
    vendor = known_vendor(connected)
    document = _ready_bill(client, connected, supplier=vendor.name)
    Document.update(status=DocumentStatus.ARCHIVED).where(Document.id == document.id).execute()
    page = client.post("/documents/bulk", data={
        "document_ids": [str(document.id)], "action": "publish",
        "csrf_token": csrf_token(client, "/documents/")}, follow_redirects=True).text
    assert "None of the selected documents can be published" in page
    assert Document.get_by_id(document.id).status is DocumentStatus.ARCHIVED


def test_out_of_range_values_are_refused_plainly(client, auth, admin):
    auth.login()
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    for field, value in (("issue_date", "9999-12-31"), ("total_cents", "9" * 20)):
        page = client.post(f"/documents/{document.id}", data={
            field: value, "csrf_token": csrf_token(client, "/documents/")},
            follow_redirects=True).text
        assert "nothing was saved" in page, field


# -- read in French (issue 11 item 2) -----------------------------------------------------------

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


def test_the_review_page_reads_in_french(client, connected):
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    html = client.get(f"/documents/{document.id}", headers=FRENCH).text
    assert '<html lang="fr">' in html and i18n.STORED_PREFIX not in html
    assert "Publier dans Zoho Books" in html and "À vérifier" in html
    assert "Comment il part dans Zoho Books" in html and "Date d’échéance" in html
    assert "Provenance\u00a0: dépôt" in html  # where it came from, in words
    assert not english_in(own_text(html))
    # The form still posts amounts back as a machine reads them, in any language.
    assert 'name="total_cents" value="120.00"' in html


def test_the_inbox_writes_amounts_dates_and_statuses_as_each_language_does(client, connected):
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    french = client.get("/documents/", headers=FRENCH).text
    english = client.get("/documents/").text
    assert "120,00\u00a0€" in french and "€120.00" in english
    assert i18n.STORED_PREFIX not in french
    assert document.issue_date is not None
    with client.application.test_request_context(headers=FRENCH):
        assert i18n.day(document.issue_date) in french  # "17 juin 2026"
    assert not re.search(r"\d{4}-\d{2}-\d{2}</td>", french)  # never the ISO form
    assert "À vérifier" in french and "To review" in english
    assert "Déposez ici des fichiers PDF" in french and "Drop PDF, JPEG" in english
    assert not english_in(own_text(french)) and english_in(own_text(english))


def test_a_refused_publish_is_read_in_each_readers_language(client, connected, sandbox):
    vendor = known_vendor(connected)
    document = _ready_bill(client, connected, supplier=vendor.name)
    Document.update(account_id="460000000099999999").where(
        Document.id == document.id).execute()
    flashed = client.post(f"/documents/{document.id}/publish", headers=FRENCH, data={
        "csrf_token": csrf_token(client, "/documents/")}, follow_redirects=True).text
    assert "Zoho Books a refusé la catégorie\u00a0:" in flashed
    # Kept on the document as it was said, and shown to each reader in their language.
    assert i18n.is_stored(Document.get_by_id(document.id).publish_error)
    french = client.get(f"/documents/{document.id}", headers=FRENCH).text
    english = client.get(f"/documents/{document.id}").text
    assert "Actualisez les listes ou choisissez une autre catégorie" in french
    assert "Refresh the lists or pick another category" in english
    assert "En échec" in french and i18n.STORED_PREFIX not in french + english


def test_an_upload_refusal_and_a_missing_field_are_said_in_french(client, connected):
    page = client.post("/documents/upload", headers=FRENCH, data={
        "csrf_token": csrf_token(client, "/documents/"),
        "files": [(io.BytesIO(b"just some text, not a PDF"), "facture.pdf")]},
        content_type="multipart/form-data", follow_redirects=True).text
    assert "facture.pdf n’est pas un PDF, un JPEG, un PNG" in page
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    page = client.post(f"/documents/{document.id}/publish", headers=FRENCH, data={
        "csrf_token": csrf_token(client, "/documents/")}, follow_redirects=True).text
    assert "Renseignez la catégorie avant de publier." in page
