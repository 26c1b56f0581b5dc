"""Extraction of e-invoices, text PDFs and scans, field by field, and of bad uploads."""

import datetime
import io
import os
import shutil
from decimal import Decimal

import pytest
from PIL import Image
from pypdf import PdfWriter

from services import extraction, i18n
from services.extraction import Extraction, check_totals, extract, sniff
from services.extraction import ocr as ocr_module
from services.extraction import text as text_module
from services.extraction.values import parse_amount, parse_date
from tests import documents


def words(warnings: list[str]) -> list[str]:
    """The warnings as an English reader reads them (they are kept as stored messages)."""
    return [i18n.in_words(warning) for warning in warnings]

D = Decimal
TWO_RATES = [{"rate": D("20"), "base": D("900.00"), "tax": D("180.00")},
             {"rate": D("10"), "base": D("100.00"), "tax": D("10.00")}]
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
>&lol3;</rsm:CrossIndustryInvoice>"""


def values(result: Extraction) -> dict:
    """Field name -> value, for comparing a whole extraction at once."""
    return {name: found.value for name, found in result.fields.items()}


def sources(result: Extraction) -> set[str]:
    return {found.source for found in result.fields.values()}


def ocr_or_skip() -> None:
    """Skip OCR tests without tesseract, unless CI demands OCR (BOOKBRIDGE_REQUIRE_OCR=1)."""
    if shutil.which("tesseract"):
        return
    reason = ("the tesseract binary is not installed (apt-get install tesseract-ocr "
              "tesseract-ocr-fra tesseract-ocr-eng)")
    if os.environ.get("BOOKBRIDGE_REQUIRE_OCR") == "1":
        pytest.fail(f"BOOKBRIDGE_REQUIRE_OCR=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def ocr_png() -> Extraction:
    """The receipt PNG read once by OCR (a few seconds), shared by the tests below."""
    ocr_or_skip()
    return extract(documents.scanned_png(), "image/png", "receipt.png")


@pytest.fixture(scope="module")
def ocr_pdf() -> Extraction:
    """The receipt as an image-only PDF, read once by OCR."""
    ocr_or_skip()
    return extract(documents.scanned_pdf(), "application/pdf", "scan.pdf")


# -- e-invoices ----------------------------------------------------------------------------

E_INVOICE_FIELDS = {
    "supplier_name": "Atelier Lumière SARL",
    "supplier_vat": "FR13812345674",
    "supplier_iban": "FR7630006000011234567890189",
    "buyer_name": "Bookbridge SAS",
    "number": "FA-2026-0042",
    "issue_date": datetime.date(2026, 3, 12),
    "due_date": datetime.date(2026, 4, 11),
    "currency": "EUR",
    "net": D("1000.00"),
    "tax": D("190.00"),
    "total": D("1190.00"),
    "vat_breakdown": TWO_RATES,
    "payment_terms": "Paiement à 30 jours",
}
E_INVOICE_LINES = [
    extraction.Line("Conseil en architecture logicielle", D("5"), D("180.00"), D("900.00"),
                    D("20")),
    extraction.Line("Frais de repas", D("1"), D("100.00"), D("100.00"), D("10")),
]


def test_factur_x_pdf_is_read_from_its_embedded_xml():
    result = extract(documents.factur_x_pdf(), "application/pdf", "FA-2026-0042.pdf")

    assert (result.method, result.kind, result.document_type) == ("e-invoice", "cost",
                                                                 "invoice")
    assert values(result) == E_INVOICE_FIELDS
    assert sources(result) == {"e-invoice"}
    assert {found.confidence for found in result.fields.values()} == {1.0}
    assert result.lines == E_INVOICE_LINES
    assert result.warnings == []
    assert "Total TTC" in result.text  # the visible page, for search


@pytest.mark.parametrize("name", ["zugferd-invoice.xml", "ZUGFeRD-invoice.xml",
                                  "xrechnung.xml", "invoice-data.xml"])
def test_other_embedded_names_are_found(name):
    result = extract(documents.factur_x_pdf(attachment_name=name), "application/pdf")

    assert result.method == "e-invoice"
    assert result.value("number") == "FA-2026-0042"


def test_visible_total_that_disagrees_with_the_xml_is_flagged():
    result = extract(documents.factur_x_pdf(visible_total="1 150,00"), "application/pdf")

    assert result.method == "e-invoice"
    assert result.value("total") == D("1190.00")  # the XML is what counts
    assert words(result.warnings) == [
        "The PDF's visible total (1 150,00) differs from its embedded Factur-X XML (1 190,00)"]


def test_factur_x_without_text_layer_needs_no_comparison():
    result = extract(documents.factur_x_pdf(text_layer=False), "application/pdf")

    assert result.method == "e-invoice"
    assert result.warnings == []


def test_factur_x_credit_note():
    result = extract(documents.factur_x_pdf(type_code="381"), "application/pdf")

    assert result.document_type == "credit_note"
    assert result.value("total") == D("1190.00")


def test_unsafe_embedded_xml_falls_back_to_the_page():
    pdf = documents.with_attachment(documents.text_pdf(), "factur-x.xml", BILLION_LAUGHS)

    result = extract(pdf, "application/pdf")

    assert result.method == "text"
    assert result.value("total") == D("120.00")
    assert "DTDs or entities" in words(result.warnings)[0]


def test_zip_bomb_attachment_is_skipped():
    bomb = b" " * (40 * 1024 * 1024)  # 40 MB that deflate to 40 kB
    pdf = documents.with_attachment(documents.text_pdf(), "factur-x.xml", bomb, deflate=True)
    assert len(pdf) < 100_000

    result = extract(pdf, "application/pdf")

    assert result.method == "text"
    assert result.value("total") == D("120.00")
    assert words(result.warnings) == ["The embedded file factur-x.xml is damaged or too large and "
                                      "was not read."]


def test_oversized_embedded_xml_is_skipped():
    pdf = documents.with_attachment(documents.text_pdf(), "factur-x.xml",
                                    b"<a>" + b" " * (6 * 1024 * 1024) + b"</a>", deflate=True)

    result = extract(pdf, "application/pdf")

    assert result.method == "text"
    assert words(result.warnings) == ["The embedded file factur-x.xml is too large to be read."]


def test_cii_xml():
    result = extract(documents.cii_xml(), "application/xml", "invoice.xml")

    assert (result.method, result.document_type) == ("e-invoice", "invoice")
    assert values(result) == E_INVOICE_FIELDS
    assert result.lines == E_INVOICE_LINES
    assert result.warnings == []


def test_cii_credit_note():
    result = extract(documents.cii_xml(type_code="381"), "text/xml")

    assert result.document_type == "credit_note"


def test_ubl_invoice():
    result = extract(documents.ubl_xml(), "application/xml")

    assert (result.method, result.kind, result.document_type) == ("e-invoice", "cost",
                                                                 "invoice")
    assert values(result) == {**E_INVOICE_FIELDS, "supplier_name": "Scaleway SAS",
                              "supplier_vat": "FR35433115904", "number": "INV-2026-118"}
    assert result.lines == E_INVOICE_LINES
    assert result.warnings == []


def test_ubl_credit_note():
    result = extract(documents.ubl_xml(credit_note=True, number="CN-7"), "application/xml")

    assert (result.method, result.document_type) == ("e-invoice", "credit_note")
    assert result.value("number") == "CN-7"
    assert result.value("due_date") == datetime.date(2026, 4, 11)  # from PaymentMeans
    assert [line.quantity for line in result.lines] == [D("5"), D("1")]


def test_e_invoice_totals_that_do_not_add_up_are_flagged():
    result = extract(documents.cii_xml(total=D("1250.00")), "application/xml")

    assert result.value("total") == D("1250.00")
    assert words(result.warnings) == ["The totals do not add up: net 1,000.00 + VAT 190.00 ≠ total "
                                      "1,250.00"]


# -- text PDFs -----------------------------------------------------------------------------


def test_french_text_pdf():
    result = extract(documents.text_pdf(), "application/pdf", "facture.pdf")

    assert (result.method, result.kind, result.document_type) == ("text", "cost", "invoice")
    assert values(result) == {
        "supplier_name": "OVHcloud",
        "supplier_vat": "FR22424761419",
        "supplier_siret": "42476141900045",
        "supplier_iban": "FR7630006000011234567890189",
        "buyer_name": "Bookbridge SAS",
        "number": "FR-2026-0193",
        "issue_date": datetime.date(2026, 3, 12),
        "due_date": datetime.date(2026, 4, 11),
        "currency": "EUR",
        "net": D("100.00"),
        "tax": D("20.00"),
        "total": D("120.00"),
        "vat_breakdown": [{"rate": D("20"), "base": D("100.00"), "tax": D("20.00")}],
        "payment_terms": "paiement à 30 jours",
    }
    assert sources(result) == {"text"}
    assert result.lines == [extraction.Line("Hébergement VPS Comfort", D("1"), D("100.00"),
                                            D("100.00"), D("20"))]
    assert result.warnings == []
    assert "OVHcloud" in result.text


def test_text_confidence_is_below_e_invoice_and_guesses_rank_lowest():
    result = extract(documents.text_pdf(), "application/pdf")

    assert result.fields["number"].confidence == 0.9
    assert result.fields["total"].confidence == 0.97  # net + VAT = total vouches for it
    assert result.fields["supplier_name"].confidence == 0.5  # first-line heuristic


def test_english_text_pdf_with_thousands():
    body = ["# Northwind Traders Ltd", "1 Market Street, London EC1A 1BB",
            "VAT Reg No: GB123456789", "", "# INVOICE", "Invoice number: INV-0042",
            "Invoice date: March 12, 2026", "Due date: 11 April 2026", "Bill to: Bookbridge SAS",
            "", ("Consulting days", "4", "£308.64", "£1,234.56"), "",
            ("Subtotal", "", "", "£1,234.56"), ("VAT 20%", "", "", "£246.91"),
            ("Amount due", "", "", "£1,481.47"), "Payment terms: Net 30",
            "IBAN GB29 NWBK 6016 1331 9268 19"]

    result = extract(documents.text_pdf(body=body), "application/pdf")

    assert values(result) == {
        "supplier_name": "Northwind Traders Ltd",
        "supplier_vat": "GB123456789",
        "supplier_iban": "GB29NWBK60161331926819",
        "buyer_name": "Bookbridge SAS",
        "number": "INV-0042",
        "issue_date": datetime.date(2026, 3, 12),
        "due_date": datetime.date(2026, 4, 11),
        "currency": "GBP",
        "net": D("1234.56"),
        "tax": D("246.91"),
        "total": D("1481.47"),
        "vat_breakdown": [{"rate": D("20"), "base": D("1234.56"), "tax": D("246.91")}],
        "payment_terms": "Net 30",
    }
    assert result.lines == [extraction.Line("Consulting days", D("4"), D("308.64"),
                                            D("1234.56"), None)]


def test_french_thousands_in_a_text_pdf():
    result = extract(documents.text_pdf(
        item=("Serveur dédié", "2", "617,28 €", "1 234,56 €", "20 %"), net="1 234,56 €",
        tax="246,91 €", total="1 481,47 €"), "application/pdf")

    assert (result.value("net"), result.value("tax"), result.value("total")) == (
        D("1234.56"), D("246.91"), D("1481.47"))
    assert result.lines[0].quantity == D("2")
    assert result.warnings == []


def test_text_totals_that_do_not_add_up_are_flagged():
    result = extract(documents.text_pdf(total="125,00 €"), "application/pdf")

    assert result.value("total") == D("125.00")
    assert result.fields["total"].confidence == 0.9  # not vouched for by the other amounts
    assert "The totals do not add up: net 100.00 + VAT 20.00 ≠ total 125.00" in (
        words(result.warnings))


@pytest.mark.parametrize(("written", "amount"), [
    ("1 234,56", "1234.56"), ("1\u202f234,56", "1234.56"), ("1\u00a0234,56", "1234.56"),
    ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("1234.56", "1234.56"),
    ("1234,56", "1234.56"), ("12", "12.00"), ("-12,5", "-12.50"), ("1'234.50", "1234.50"),
    ("1,234", "1234.00"), ("1 234 567,89", "1234567.89"), ("0,99", "0.99"),
])
def test_amount_formats(written, amount):
    assert parse_amount(written) == D(amount)


@pytest.mark.parametrize(("written", "day_first", "date"), [
    ("12/03/2026", True, datetime.date(2026, 3, 12)),
    ("12.03.2026", True, datetime.date(2026, 3, 12)),
    ("2026-03-12", True, datetime.date(2026, 3, 12)),
    ("12 mars 2026", True, datetime.date(2026, 3, 12)),
    ("1er février 2026", True, datetime.date(2026, 2, 1)),
    ("March 12, 2026", False, datetime.date(2026, 3, 12)),
    ("03/12/2026", False, datetime.date(2026, 3, 12)),
    ("13/03/26", False, datetime.date(2026, 3, 13)),  # no 13th month: day first after all
    ("31/02/2026", True, None),
])
def test_date_formats(written, day_first, date):
    assert parse_date(written, day_first) == date


@pytest.mark.parametrize("text", [
    "Reçu\nMontant HT : 8,33 €\nTVA (20%) : 1,67 €\nMontant TTC : 10,00 €",
    "RECEIPT\nSubtotal $8.33\nTax 20% $1.67\nTotal $10.00",
    "Ticket de caisse\nTOTAL HT 8.33\nTVA 20,00% 1.67\nNET A PAYER 10.00 EUR",
])
def test_receipt_text_in_either_language(text):
    result = text_module.parse(text)

    assert result.document_type == "receipt"
    assert (result.value("net"), result.value("tax"), result.value("total")) == (
        D("8.33"), D("1.67"), D("10.00"))
    assert result.value("vat_breakdown")[0]["rate"] == D("20")


def test_credit_note_text():
    result = text_module.parse("ACME SARL\nAvoir N° AV-12\nTotal TTC 60,00 €")

    assert (result.document_type, result.value("number")) == ("credit_note", "AV-12")


# -- OCR -----------------------------------------------------------------------------------

RECEIPT_FIELDS = {
    "supplier_name": "BOULANGERIE MARTIN",
    "supplier_vat": "FR13501234567",
    "number": "004521",
    "issue_date": datetime.date(2026, 3, 14),
    "currency": "EUR",
    "net": D("10.00"),
    "tax": D("1.00"),
    "total": D("11.00"),
    "vat_breakdown": [{"rate": D("10"), "base": D("10.00"), "tax": D("1.00")}],
}


def test_scanned_png_is_read_by_ocr(ocr_png):
    assert (ocr_png.method, ocr_png.document_type) == ("ocr", "receipt")
    assert values(ocr_png) == RECEIPT_FIELDS
    assert sources(ocr_png) == {"ocr"}
    assert [(line.description, line.net) for line in ocr_png.lines] == [
        ("Croissant", D("4.50")), ("Pain de campagne", D("5.50"))]
    assert ocr_png.warnings == []
    assert "Merci" in ocr_png.text


def test_ocr_confidence_is_lower_than_text(ocr_png):
    text_result = extract(documents.text_pdf(), "application/pdf")

    for name in ("number", "total", "supplier_name"):
        assert ocr_png.fields[name].confidence < text_result.fields[name].confidence


def test_scanned_pdf_is_read_by_ocr(ocr_pdf):
    assert ocr_pdf.method == "ocr"
    assert values(ocr_pdf) == RECEIPT_FIELDS


def test_missing_tesseract_is_explained(monkeypatch):
    monkeypatch.setattr(ocr_module, "tesseract", lambda: None)

    result = extract(documents.scanned_png(), "image/png")

    assert result.method == "none"
    assert words(result.warnings) == ["Text recognition (OCR) is not installed on this server, so "
                                      "scans and photos cannot be read yet."]


# -- sniffing ------------------------------------------------------------------------------


def test_sniff_by_content():
    assert sniff(documents.text_pdf()) == "application/pdf"
    assert sniff(documents.scanned_png(noise=0)) == "image/png"
    assert sniff(documents.scanned_jpeg(noise=0)) == "image/jpeg"
    assert sniff(documents.ubl_xml()) == "application/xml"
    assert sniff(documents.ubl_xml(credit_note=True)) == "application/xml"
    assert sniff(b"\xef\xbb\xbf" + documents.cii_xml()) == "application/xml"
    assert sniff(b"<html><body>Invoice</body></html>") is None
    assert sniff(b'<?xml version="1.0"?><Invoice>not UBL</Invoice>') is None
    assert sniff(b"Total TTC 120,00") is None
    assert sniff(b"") is None
    assert sniff(BILLION_LAUGHS) is None


def test_pdf_renamed_png_is_read_as_pdf():
    result = extract(documents.text_pdf(), "image/png", "facture.png")

    assert result.method == "text"
    assert result.value("number") == "FR-2026-0193"
    assert words(result.warnings) == [
        "This file was sent as image/png but is a PDF; it was read as such."]


def test_text_file_named_pdf_is_rejected():
    result = extract(b"Facture N 12\nTotal 120,00", "application/pdf", "facture.pdf")

    assert result.method == "none"
    assert words(result.warnings) == ["This file is named or sent as a PDF but is not one, so it "
                                      "could not be read."]


def test_xml_that_is_not_an_invoice_is_rejected():
    result = extract(b"<?xml version='1.0'?><order><total>12</total></order>",
                     "application/xml", "order.xml")

    assert result.method == "none"
    assert words(result.warnings) == ["This XML file is not a UBL or CII (Factur-X) invoice, so it "
                                      "could not be read."]


# -- bad input -----------------------------------------------------------------------------

DAMAGED_PDF = ("This PDF is damaged and could not be read; upload it again or try a scan.")


@pytest.mark.parametrize("content", [
    b"%PDF-1.7\n\x00\x01garbage without objects",
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>",
])
def test_damaged_pdf(content):
    result = extract(content, "application/pdf", "broken.pdf")

    assert (result.method, words(result.warnings)) == ("none", [DAMAGED_PDF])


def test_truncated_pdf_never_raises():
    result = extract(documents.text_pdf()[:700], "application/pdf")

    assert result.method == "none"
    assert len(result.warnings) == 1


def test_password_protected_pdf():
    writer = PdfWriter(clone_from=io.BytesIO(documents.text_pdf()))
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)

    result = extract(buffer.getvalue(), "application/pdf")

    assert result.method == "none"
    assert "password-protected" in words(result.warnings)[0]


def test_damaged_image():
    result = extract(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")

    assert result.method == "none"
    assert words(result.warnings) == ["This image is damaged or not a JPEG or PNG and could not be "
                                      "read."]


def test_image_with_too_many_pixels_is_refused():
    buffer = io.BytesIO()
    Image.new("1", (8000, 6000), 1).save(buffer, format="PNG")  # 48 MP in a few kilobytes

    result = extract(buffer.getvalue(), "image/png")

    assert result.method == "none"
    assert "too large to read (8000×6000 pixels)" in words(result.warnings)[0]


def test_malformed_invoice_xml():
    result = extract(documents.cii_xml()[:600], "application/xml")

    assert result.method == "none"
    assert words(result.warnings)[0].startswith("The e-invoice XML is malformed")


def test_xml_bomb_is_refused():
    result = extract(BILLION_LAUGHS, "application/xml")

    assert result.method == "none"


def test_empty_file():
    assert words(extract(b"", "application/pdf").warnings) == [
        "This file is empty; upload it again."]


def test_a_reader_bug_never_raises(monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("bug")

    monkeypatch.setattr(text_module, "parse", broken)

    result = extract(documents.text_pdf(), "application/pdf")

    assert result.method == "none"
    assert "enter its details by hand" in words(result.warnings)[0]


# -- check_totals --------------------------------------------------------------------------


def test_check_totals_accepts_bare_values_and_checks_each_rate():
    assert check_totals({"net": D("100"), "tax": D("20"), "total": D("120.00")}) == []
    assert check_totals({"net": D("100"), "total": D("120")}) == []  # nothing to compare
    warnings = check_totals({
        "net": D("1000.00"), "tax": D("200.00"), "total": D("1200.00"),
        "vat_breakdown": [{"rate": D("20"), "base": D("900.00"), "tax": D("190.00")},
                          {"rate": D("10"), "base": D("90.00"), "tax": D("9.00")}],
    })
    assert words(warnings) == [
        "The VAT breakdown does not add up: its VAT amounts sum to 199.00 but the VAT total "
        "is 200.00",
        "The VAT breakdown does not add up: its bases sum to 990.00 but the net total is "
        "1,000.00",
        "At 20 % VAT on 900.00 the VAT should be 180.00, not 190.00",
    ]


def test_totals_are_checked_to_the_cent():
    assert words(check_totals({"net": D("100.00"), "tax": D("20.00"), "total": D("120.01")})) == [
        "The totals do not add up: net 100.00 + VAT 20.00 ≠ total 120.01"]
