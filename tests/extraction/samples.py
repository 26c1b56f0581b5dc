"""More sample documents made on the fly: ZUGFeRD 1.0, invoices in other languages,
till receipts as OCR reads them, and scans laid out like real ones."""

import io
from xml.sax.saxutils import escape

from PIL import Image

from tests import documents


def zugferd1_xml(**overrides) -> bytes:
    """A ZUGFeRD 1.0 invoice (root CrossIndustryDocument, 2014 namespaces and names)."""
    v = documents.invoice_values(**overrides)
    cur = escape(v["currency"])
    taxes = "".join(f"""
      <ram:ApplicableTradeTax>
        <ram:CalculatedAmount currencyID="{cur}">{row['tax']:.2f}</ram:CalculatedAmount>
        <ram:TypeCode>VAT</ram:TypeCode>
        <ram:BasisAmount currencyID="{cur}">{row['base']:.2f}</ram:BasisAmount>
        <ram:ApplicablePercent>{row['rate']}</ram:ApplicablePercent>
      </ram:ApplicableTradeTax>""" for row in v["vat_breakdown"])
    lines = "".join(f"""
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:SpecifiedSupplyChainTradeAgreement><ram:NetPriceProductTradePrice>
        <ram:ChargeAmount currencyID="{cur}">{price:.2f}</ram:ChargeAmount>
      </ram:NetPriceProductTradePrice></ram:SpecifiedSupplyChainTradeAgreement>
      <ram:SpecifiedSupplyChainTradeDelivery>
        <ram:BilledQuantity unitCode="C62">{quantity}</ram:BilledQuantity>
      </ram:SpecifiedSupplyChainTradeDelivery>
      <ram:SpecifiedSupplyChainTradeSettlement>
        <ram:ApplicableTradeTax><ram:ApplicablePercent>{rate}</ram:ApplicablePercent>
        </ram:ApplicableTradeTax>
        <ram:SpecifiedTradeSettlementMonetarySummation>
          <ram:LineTotalAmount currencyID="{cur}">{quantity * price:.2f}</ram:LineTotalAmount>
        </ram:SpecifiedTradeSettlementMonetarySummation>
      </ram:SpecifiedSupplyChainTradeSettlement>
      <ram:SpecifiedTradeProduct><ram:Name>{escape(description)}</ram:Name>
      </ram:SpecifiedTradeProduct>
    </ram:IncludedSupplyChainTradeLineItem>""" for description, quantity, price, rate
                    in v["lines"])
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15">
  <rsm:SpecifiedExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>
    <ram:ID>urn:ferd:CrossIndustryDocument:invoice:1p0:comfort</ram:ID>
  </ram:GuidelineSpecifiedDocumentContextParameter></rsm:SpecifiedExchangedDocumentContext>
  <rsm:HeaderExchangedDocument>
    <ram:ID>{escape(v['number'])}</ram:ID>
    <ram:TypeCode>{v['type_code']}</ram:TypeCode>
    <ram:IssueDateTime>
      <udt:DateTimeString format="102">{v['issue_date']:%Y%m%d}</udt:DateTimeString>
    </ram:IssueDateTime>
  </rsm:HeaderExchangedDocument>
  <rsm:SpecifiedSupplyChainTradeTransaction>
    <ram:ApplicableSupplyChainTradeAgreement>
      <ram:SellerTradeParty><ram:Name>{escape(v['supplier_name'])}</ram:Name>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{v['supplier_vat']}</ram:ID>
        </ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty><ram:Name>{escape(v['buyer_name'])}</ram:Name>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE999999999</ram:ID>
        </ram:SpecifiedTaxRegistration>
      </ram:BuyerTradeParty>
    </ram:ApplicableSupplyChainTradeAgreement>
    <ram:ApplicableSupplyChainTradeSettlement>
      <ram:InvoiceCurrencyCode>{cur}</ram:InvoiceCurrencyCode>{taxes}
      <ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime>
        <udt:DateTimeString format="102">{v['due_date']:%Y%m%d}</udt:DateTimeString>
      </ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementMonetarySummation>
        <ram:LineTotalAmount currencyID="{cur}">{v['net']:.2f}</ram:LineTotalAmount>
        <ram:TaxBasisTotalAmount currencyID="{cur}">{v['net']:.2f}</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="{cur}">{v['tax']:.2f}</ram:TaxTotalAmount>
        <ram:GrandTotalAmount currencyID="{cur}">{v['total']:.2f}</ram:GrandTotalAmount>
      </ram:SpecifiedTradeSettlementMonetarySummation>
    </ram:ApplicableSupplyChainTradeSettlement>{lines}
  </rsm:SpecifiedSupplyChainTradeTransaction>
</rsm:CrossIndustryDocument>
""".encode()


# One invoice in five languages: (labels, how a date and an amount are written there).
LANGUAGE_LABELS = {
    "de": {"title": "# RECHNUNG", "number": "Rechnungsnr.", "date": "Rechnungsdatum",
           "order": "Bestelldatum", "due": "Fällig am", "net": "Nettobetrag", "vat": "MwSt. 19 %",
           "total": "Gesamtbetrag", "issued": "3. August 2026", "ordered": "28. Juli 2026",
           "due_on": "2. September 2026", "vat_id": "USt-IdNr. DE 123 456 789",
           "buyer_vat": "Ihre USt-IdNr. DE 987 654 321", "amounts": ("1.000,00 €", "190,00 €",
                                                                   "1.190,00 €")},
    "nl": {"title": "# FACTUUR", "number": "Factuurnummer:", "date": "Factuurdatum:",
           "order": "Orderdatum:", "due": "Vervaldatum:", "net": "Exclusief BTW",
           "vat": "BTW 21%", "total": "Totaal", "issued": "3 augustus 2026",
           "ordered": "28 juli 2026", "due_on": "2 september 2026",
           "vat_id": "BTW NL123456789B01", "buyer_vat": "Uw BTW nummer: NL987654321B01",
           "amounts": ("€ 1.000,00", "€ 210,00", "€ 1.210,00")},
    "es": {"title": "# FACTURA", "number": "Factura nº", "date": "Fecha de factura:",
           "order": "Fecha de pedido:", "due": "Vencimiento:", "net": "Base imponible",
           "vat": "IVA 21 %", "total": "Importe total", "issued": "3 de agosto de 2026",
           "ordered": "28 de julio de 2026", "due_on": "2 de septiembre de 2026",
           "vat_id": "NIF ESB12345678", "buyer_vat": "NIF cliente ESB87654321",
           "amounts": ("1.000,00 €", "210,00 €", "1.210,00 €")},
    "it": {"title": "# FATTURA", "number": "Fattura n.", "date": "Data fattura:",
           "order": "Data ordine:", "due": "Scadenza:", "net": "Imponibile", "vat": "IVA 22 %",
           "total": "Totale fattura", "issued": "3 agosto 2026", "ordered": "28 luglio 2026",
           "due_on": "2 settembre 2026", "vat_id": "P.IVA IT12345678901",
           "buyer_vat": "P.IVA cliente IT10987654321",
           "amounts": ("1.000,00 €", "220,00 €", "1.220,00 €")},
    "en": {"title": "# INVOICE", "number": "Invoice No:", "date": "Invoice Date:",
           "order": "Order Date:", "due": "Due Date:", "net": "Subtotal", "vat": "VAT 20%",
           "total": "Amount due", "issued": "August 3 , 2026", "ordered": "July 28 , 2026",
           "due_on": "September 2 , 2026", "vat_id": "VAT Reg No: GB123456789",
           "buyer_vat": "Your VAT number: GB987654321",
           "amounts": ("£1,000.00", "£200.00", "£1,200.00")},
}


def invoice_in(language: str, number: str = "2026-0815") -> bytes:
    """A text-layer PDF invoice labelled in `language`, with an order date printed before
    the invoice date and the buyer's VAT number printed before the seller's."""
    v = LANGUAGE_LABELS[language]
    net, tax, total = v["amounts"]
    rows = ["# Nordlicht Technik GmbH", "Hafenstraße 1, 20457 Hamburg", "",
            "Bookbridge SAS", "10 rue du Port, 44000 Nantes", v["buyer_vat"], "",
            v["title"], f"{v['order']} {v['ordered']}", f"{v['number']} {number}",
            f"{v['date']} {v['issued']}", f"{v['due']} {v['due_on']}", "",
            ("Consulting", "", "", net), "",
            (v["net"], "", "", net), (v["vat"], "", "", tax), (v["total"], "", "", total), "",
            v["vat_id"]]
    return documents.pdf_of_lines(rows)


def receipt_on_a_page(page_size=(2480, 3508), **overrides) -> bytes:
    """The sample receipt placed small on a large white page, as a flatbed scan of a till
    receipt comes out (A4 at 300 dpi by default), saved as JPEG."""
    receipt = documents.receipt_image(**overrides)
    page = Image.new("L", page_size, 255)
    page.paste(receipt, (page_size[0] // 5, page_size[1] // 6))
    buffer = io.BytesIO()
    page.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def scanned_pdf_pages(count: int, **overrides) -> bytes:
    """An image-only PDF of `count` pages, each a copy of the sample receipt."""
    pages = [documents.receipt_image(**overrides) for _ in range(count)]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="PDF", resolution=150, save_all=True, append_images=pages[1:])
    return buffer.getvalue()

