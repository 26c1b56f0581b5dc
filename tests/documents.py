"""Sample invoices and receipts made on the fly, as bytes, for tests and benchmarks.

Every function takes keyword overrides of its default values, so a test can make one
document disagree with itself (an XML total that is not the printed one, totals that do not
add up) without writing a new sample.
"""

import datetime
import io
import random
import zlib
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFilter, ImageFont
from pypdf import PdfWriter
from pypdf.generic import NameObject
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

CENT = Decimal("0.01")

# A French supplier selling to us; two VAT rates so the breakdown has two rows.
E_INVOICE = {
    "number": "FA-2026-0042",
    "type_code": "380",
    "issue_date": datetime.date(2026, 3, 12),
    "due_date": datetime.date(2026, 4, 11),
    "supplier_name": "Atelier Lumière SARL",
    "supplier_vat": "FR13812345674",
    "supplier_iban": "FR7630006000011234567890189",
    "buyer_name": "Bookbridge SAS",
    "currency": "EUR",
    "payment_terms": "Paiement à 30 jours",
    # (description, quantity, unit price, VAT rate)
    "lines": [("Conseil en architecture logicielle", Decimal("5"), Decimal("180.00"),
               Decimal("20")),
              ("Frais de repas", Decimal("1"), Decimal("100.00"), Decimal("10"))],
}

TEXT_INVOICE = {
    "supplier_name": "OVHcloud",
    "address": "2 rue Kellermann, 59100 Roubaix",
    "siret": "424 761 419 00045",
    "supplier_vat": "FR22424761419",
    "title": "Facture N° FR-2026-0193",
    "issue_date": "12/03/2026",
    "due_date": "11/04/2026",
    "buyer_name": "Bookbridge SAS",
    "item": ("Hébergement VPS Comfort", "1", "100,00 €", "100,00 €", "20 %"),
    "net": "100,00 €",
    "vat": "TVA 20 %",
    "tax": "20,00 €",
    "total": "120,00 €",
    "iban": "FR76 3000 6000 0112 3456 7890 189",
    "terms": "Conditions de paiement : paiement à 30 jours",
}

RECEIPT = {
    "lines": [
        "BOULANGERIE MARTIN",
        "8 rue de la Paix, 75002 Paris",
        "TVA FR13501234567",
        "Ticket N° 004521",
        "Date : 14/03/2026 08:42",
        "",
        "Croissant 3 x 1,50 4,50",
        "Pain de campagne 1 x 5,50 5,50",
        "",
        "Total HT 10,00",
        "TVA 10 % 1,00",
        "Total TTC 11,00 EUR",
        "",
        "Merci de votre visite",
    ],
    "font_size": 30,
    "angle": 1.5,  # degrees: a receipt never lies quite straight on the scanner
    "noise": 600,  # specks of dust
    "seed": 7,
}

FONT_PATHS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
]


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _french(amount: Decimal) -> str:
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",")


def invoice_values(**overrides) -> dict:
    """The e-invoice sample's values with its amounts worked out from the lines."""
    values = {**E_INVOICE, **overrides}
    by_rate: dict[Decimal, Decimal] = {}
    for _description, quantity, price, rate in values["lines"]:
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + (quantity * price).quantize(CENT)
    breakdown = [{"rate": rate, "base": base, "tax": (base * rate / 100).quantize(CENT)}
                 for rate, base in by_rate.items()]
    values.setdefault("vat_breakdown", breakdown)
    values.setdefault("net", sum(row["base"] for row in breakdown))
    values.setdefault("tax", sum(row["tax"] for row in breakdown))
    values.setdefault("total", values["net"] + values["tax"])
    return values


def cii_xml(**overrides) -> bytes:
    """A UN/CEFACT CII invoice (Factur-X EN 16931 profile), e.g. type_code='381' for a credit."""
    v = invoice_values(**overrides)
    currency = escape(v["currency"])
    lines = "".join(f"""
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument><ram:LineID>{number}</ram:LineID>
      </ram:AssociatedDocumentLineDocument>
      <ram:SpecifiedTradeProduct><ram:Name>{escape(description)}</ram:Name>
      </ram:SpecifiedTradeProduct>
      <ram:SpecifiedLineTradeAgreement>
        <ram:NetPriceProductTradePrice><ram:ChargeAmount>{_money(price)}</ram:ChargeAmount>
        </ram:NetPriceProductTradePrice>
      </ram:SpecifiedLineTradeAgreement>
      <ram:SpecifiedLineTradeDelivery>
        <ram:BilledQuantity unitCode="C62">{quantity}</ram:BilledQuantity>
      </ram:SpecifiedLineTradeDelivery>
      <ram:SpecifiedLineTradeSettlement>
        <ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode>
          <ram:CategoryCode>S</ram:CategoryCode>
          <ram:RateApplicablePercent>{rate}</ram:RateApplicablePercent>
        </ram:ApplicableTradeTax>
        <ram:SpecifiedTradeSettlementLineMonetarySummation>
          <ram:LineTotalAmount>{_money(quantity * price)}</ram:LineTotalAmount>
        </ram:SpecifiedTradeSettlementLineMonetarySummation>
      </ram:SpecifiedLineTradeSettlement>
    </ram:IncludedSupplyChainTradeLineItem>"""
        for number, (description, quantity, price, rate) in enumerate(v["lines"], 1))
    taxes = "".join(f"""
      <ram:ApplicableTradeTax>
        <ram:CalculatedAmount>{_money(row["tax"])}</ram:CalculatedAmount>
        <ram:TypeCode>VAT</ram:TypeCode>
        <ram:BasisAmount>{_money(row["base"])}</ram:BasisAmount>
        <ram:CategoryCode>S</ram:CategoryCode>
        <ram:RateApplicablePercent>{row["rate"]}</ram:RateApplicablePercent>
      </ram:ApplicableTradeTax>""" for row in v["vat_breakdown"])
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice
  xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
  xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocumentContext>
    <ram:GuidelineSpecifiedDocumentContextParameter>
      <ram:ID>urn:cen.eu:en16931:2017</ram:ID>
    </ram:GuidelineSpecifiedDocumentContextParameter>
  </rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument>
    <ram:ID>{escape(v["number"])}</ram:ID>
    <ram:TypeCode>{v["type_code"]}</ram:TypeCode>
    <ram:IssueDateTime>
      <udt:DateTimeString format="102">{v["issue_date"]:%Y%m%d}</udt:DateTimeString>
    </ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>{lines}
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty>
        <ram:Name>{escape(v["supplier_name"])}</ram:Name>
        <ram:SpecifiedLegalOrganization>
          <ram:ID schemeID="0002">{v["supplier_vat"][4:]}</ram:ID>
        </ram:SpecifiedLegalOrganization>
        <ram:PostalTradeAddress><ram:PostcodeCode>69001</ram:PostcodeCode>
          <ram:LineOne>12 rue des Lilas</ram:LineOne><ram:CityName>Lyon</ram:CityName>
          <ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress>
        <ram:SpecifiedTaxRegistration>
          <ram:ID schemeID="VA">{escape(v["supplier_vat"])}</ram:ID>
        </ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty>
        <ram:Name>{escape(v["buyer_name"])}</ram:Name>
        <ram:PostalTradeAddress><ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress>
      </ram:BuyerTradeParty>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeDelivery/>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>{currency}</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementPaymentMeans>
        <ram:TypeCode>58</ram:TypeCode>
        <ram:PayeePartyCreditorFinancialAccount>
          <ram:IBANID>{escape(v["supplier_iban"])}</ram:IBANID>
        </ram:PayeePartyCreditorFinancialAccount>
      </ram:SpecifiedTradeSettlementPaymentMeans>{taxes}
      <ram:SpecifiedTradePaymentTerms>
        <ram:Description>{escape(v["payment_terms"])}</ram:Description>
        <ram:DueDateDateTime>
          <udt:DateTimeString format="102">{v["due_date"]:%Y%m%d}</udt:DateTimeString>
        </ram:DueDateDateTime>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:LineTotalAmount>{_money(v["net"])}</ram:LineTotalAmount>
        <ram:TaxBasisTotalAmount>{_money(v["net"])}</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="{currency}">{_money(v["tax"])}</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>{_money(v["total"])}</ram:GrandTotalAmount>
        <ram:DuePayableAmount>{_money(v["total"])}</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
""".encode()


def ubl_xml(**overrides) -> bytes:
    """A UBL 2.1 invoice, or a UBL CreditNote with credit_note=True."""
    credit = overrides.pop("credit_note", False)
    v = invoice_values(**{"number": "INV-2026-118", "supplier_name": "Scaleway SAS",
                          "supplier_vat": "FR35433115904", **overrides})
    root, line_tag, quantity_tag = (("CreditNote", "CreditNoteLine", "CreditedQuantity")
                                    if credit else ("Invoice", "InvoiceLine",
                                                    "InvoicedQuantity"))
    currency = escape(v["currency"])
    type_code = (f"<cbc:CreditNoteTypeCode>{overrides.get('type_code', '381')}"
                 "</cbc:CreditNoteTypeCode>" if credit else
                 f"<cbc:InvoiceTypeCode>{v['type_code']}</cbc:InvoiceTypeCode>")
    due = "" if credit else f"<cbc:DueDate>{v['due_date']:%Y-%m-%d}</cbc:DueDate>"
    payment_due = (f"<cbc:PaymentDueDate>{v['due_date']:%Y-%m-%d}</cbc:PaymentDueDate>"
                   if credit else "")
    subtotals = "".join(f"""
    <cac:TaxSubtotal>
      <cbc:TaxableAmount currencyID="{currency}">{_money(row["base"])}</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="{currency}">{_money(row["tax"])}</cbc:TaxAmount>
      <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{row["rate"]}</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory>
    </cac:TaxSubtotal>""" for row in v["vat_breakdown"])
    lines = "".join(f"""
  <cac:{line_tag}>
    <cbc:ID>{number}</cbc:ID>
    <cbc:{quantity_tag} unitCode="C62">{quantity}</cbc:{quantity_tag}>
    <cbc:LineExtensionAmount currencyID="{currency}">{_money(quantity * price)}</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>{escape(description)}</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{rate}</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="{currency}">{_money(price)}</cbc:PriceAmount></cac:Price>
  </cac:{line_tag}>""" for number, (description, quantity, price, rate)  # noqa: E501
        in enumerate(v["lines"], 1))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{root} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{root}-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
  <cbc:ID>{escape(v["number"])}</cbc:ID>
  <cbc:IssueDate>{v["issue_date"]:%Y-%m-%d}</cbc:IssueDate>
  {due}
  {type_code}
  <cbc:DocumentCurrencyCode>{currency}</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyName><cbc:Name>{escape(v["supplier_name"])}</cbc:Name></cac:PartyName>
    <cac:PartyTaxScheme><cbc:CompanyID>{escape(v["supplier_vat"])}</cbc:CompanyID>
      <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>{escape(v["supplier_name"])}</cbc:RegistrationName>
    </cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyLegalEntity><cbc:RegistrationName>{escape(v["buyer_name"])}</cbc:RegistrationName>
    </cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans>
    <cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>
    {payment_due}
    <cac:PayeeFinancialAccount><cbc:ID>{escape(v["supplier_iban"])}</cbc:ID>
    </cac:PayeeFinancialAccount>
  </cac:PaymentMeans>
  <cac:PaymentTerms><cbc:Note>{escape(v["payment_terms"])}</cbc:Note></cac:PaymentTerms>
  <cac:TaxTotal>
    <cbc:TaxAmount currencyID="{currency}">{_money(v["tax"])}</cbc:TaxAmount>{subtotals}
  </cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="{currency}">{_money(v["net"])}</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="{currency}">{_money(v["net"])}</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="{currency}">{_money(v["total"])}</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="{currency}">{_money(v["total"])}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>{lines}
</{root}>
""".encode()


def pdf_of_lines(rows: list) -> bytes:
    """A one-page PDF with a text layer: a string per line, or a tuple drawn as table columns.

    A string starting with '# ' is drawn as a bold heading.
    """
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    y = A4[1] - 60
    for row in rows:
        if isinstance(row, tuple):
            page.setFont("Helvetica", 10)
            page.drawString(50, y, row[0])
            for x, cell in zip((330, 420, 500, 550), row[1:], strict=False):
                page.drawRightString(x, y, cell)
        elif row.startswith("# "):
            page.setFont("Helvetica-Bold", 16)
            page.drawString(50, y, row[2:])
        else:
            page.setFont("Helvetica", 10)
            page.drawString(50, y, row)
        y -= 22 if isinstance(row, str) and row.startswith("# ") else 16
    page.showPage()
    page.save()
    return buffer.getvalue()


def factur_x_pdf(**overrides) -> bytes:
    """A Factur-X PDF: the invoice drawn on the page plus its CII XML embedded.

    Overrides go to both unless `visible_total` (a string, e.g. '1 150,00') changes only the
    printed total; `attachment_name` renames the embedded file; `text_layer=False` leaves the
    page blank.
    """
    visible_total = overrides.pop("visible_total", None)
    name = overrides.pop("attachment_name", "factur-x.xml")
    text_layer = overrides.pop("text_layer", True)
    v = invoice_values(**overrides)
    title = "AVOIR" if v["type_code"] == "381" else "FACTURE"
    rows = [f"# {v['supplier_name']}", "12 rue des Lilas, 69001 Lyon",
            f"SIRET {v['supplier_vat'][4:]} 00017 - TVA intracommunautaire {v['supplier_vat']}",
            "", f"# {title} N° {v['number']}",
            f"Date : {v['issue_date']:%d/%m/%Y}    Échéance : {v['due_date']:%d/%m/%Y}",
            f"Client : {v['buyer_name']}", "",
            ("Désignation", "Qté", "PU HT", "Montant HT", "TVA")]
    rows += [(description, str(quantity), f"{_french(price)} €",
              f"{_french(quantity * price)} €", f"{rate} %")
             for description, quantity, price, rate in v["lines"]]
    rows += ["", ("Total HT", "", "", f"{_french(v['net'])} €")]
    rows += [(f"TVA {row['rate']} %", "", "", f"{_french(row['tax'])} €")
             for row in v["vat_breakdown"]]
    rows += [("Total TTC", "", "", f"{visible_total or _french(v['total'])} €"), "",
             f"IBAN : {v['supplier_iban']}", v["payment_terms"]]
    writer = PdfWriter(clone_from=io.BytesIO(pdf_of_lines(rows if text_layer else [])))
    attachment = writer.add_attachment(name, cii_xml(**overrides))
    attachment.subtype = NameObject("/text/xml")
    attachment.associated_file_relationship = NameObject("/Alternative")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def with_attachment(pdf: bytes, name: str, data: bytes, deflate: bool = False) -> bytes:
    """`pdf` with one more embedded file; `deflate` stores it compressed (for zip bombs)."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    attachment = writer.add_attachment(name, b"")
    stream = attachment.pdf_object["/EF"]["/F"].get_object()
    if deflate:
        stream.set_data(zlib.compress(data, 9))
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    else:
        stream.set_data(data)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def text_pdf(**overrides) -> bytes:
    """A French supplier invoice (OVHcloud) with a text layer; `body` replaces every line."""
    v = {**TEXT_INVOICE, **overrides}
    if "body" in v:
        return pdf_of_lines(v["body"])
    rows = [f"# {v['supplier_name']}", v["address"],
            f"SIRET : {v['siret']}   TVA intracommunautaire : {v['supplier_vat']}", "",
            f"# {v['title']}", f"Date de facture : {v['issue_date']}",
            f"Date d'échéance : {v['due_date']}", "", "Client :", v["buyer_name"],
            "10 rue du Port, 44000 Nantes", "",
            ("Désignation", "Qté", "PU HT", "Montant HT", "TVA"), v["item"], "",
            ("Total HT", "", "", v["net"]), (v["vat"], "", "", v["tax"]),
            ("Total TTC", "", "", v["total"]), "", f"IBAN : {v['iban']}   BIC : BNPAFRPPXXX",
            v["terms"]]
    return pdf_of_lines(rows)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def receipt_image(**overrides) -> Image.Image:
    """The receipt as a slightly rotated, specked greyscale image."""
    v = {**RECEIPT, **overrides}
    font = _font(v["font_size"])
    line_height = round(v["font_size"] * 1.5)
    image = Image.new("L", (1000, 120 + line_height * len(v["lines"])), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(v["lines"]):
        draw.text((70, 60 + number * line_height), line, fill=20, font=font)
    noise = random.Random(v["seed"])
    for _ in range(v["noise"]):
        x, y = noise.randrange(image.width), noise.randrange(image.height)
        draw.point((x, y), fill=noise.randrange(0, 160))
    image = image.rotate(v["angle"], resample=Image.Resampling.BICUBIC, expand=True,
                         fillcolor=255)
    return image.filter(ImageFilter.GaussianBlur(0.6))


def scanned_png(**overrides) -> bytes:
    """A bakery receipt as a PNG photo-scan (no text layer: OCR needed)."""
    buffer = io.BytesIO()
    receipt_image(**overrides).save(buffer, format="PNG")
    return buffer.getvalue()


def scanned_jpeg(**overrides) -> bytes:
    """The same receipt as a JPEG."""
    buffer = io.BytesIO()
    receipt_image(**overrides).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def scanned_pdf(**overrides) -> bytes:
    """The receipt wrapped as an image-only PDF, as a scanner would produce."""
    buffer = io.BytesIO()
    receipt_image(**overrides).save(buffer, format="PDF", resolution=150)
    return buffer.getvalue()


# A café's till receipt: the VAT is only "dont TVA" (included) at the reduced rate, the case
# of issue 7 that went to Zoho with the default 20 %.
CAFE_RECEIPT = {
    "supplier_name": "CAFÉ RICHARD",
    "address": "12 boulevard Voltaire, 75011 Paris",
    "number": "2026-0457",
    "date": "21/11/2026 12:40",
    # (description, quantity, unit price, amount), amounts tax included as on a till receipt
    "items": [("Formule déjeuner", "2", "15,20", "30,40"), ("Café", "2", "3,04", "6,08")],
    "total": "36,48",
    # (label, amount): one row per rate, as printed under the total
    "vat_rows": [("dont TVA 10 %", "3,32")],
}


def cafe_receipt_pdf(**overrides) -> bytes:
    """A till receipt with a text layer (as a till's PDF ticket); `vat_rows` gives its rates."""
    v = {**CAFE_RECEIPT, **overrides}
    rows = [v["supplier_name"], v["address"], f"Ticket N° {v['number']}", f"Date : {v['date']}",
            "", *v["items"], "", ("Total TTC", "", "", f"{v['total']} EUR"),
            *((label, "", "", amount) for label, amount in v["vat_rows"])]
    return pdf_of_lines(rows)
