"""Reading structured e-invoices exactly: UN/CEFACT CII (Factur-X, ZUGFeRD) and UBL 2.1."""

import datetime
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from services.i18n import stored_message

from .result import Extraction, Field, Line

# An invoice's XML is a few hundred kilobytes at most; anything far bigger is not one of ours.
MAX_XML_BYTES = 5 * 1024 * 1024

CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
ZUGFERD1 = "urn:ferd:CrossIndustryDocument:invoice:1p0"  # ZUGFeRD 1.0 (2014), still in use
UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
ROOTS = {f"{{{CII}}}CrossIndustryInvoice": "cii", f"{{{ZUGFERD1}}}CrossIndustryDocument": "cii1",
         f"{{{UBL_INVOICE}}}Invoice": "ubl", f"{{{UBL_CREDIT_NOTE}}}CreditNote": "ubl"}
NS = {
    "rsm": CII,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
# ZUGFeRD 1.0 has the same model as CII D16B under older namespaces and element names.
NS_ZUGFERD1 = {
    "rsm": ZUGFERD1,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
}
# UNTDID 1001 codes that reverse an invoice (381 credit note, 261/262 self-billed and
# consolidated credit notes, 396 factored credit note, 532 forwarder's credit note).
CREDIT_CODES = {"381", "261", "262", "396", "532"}
SOURCE = "e-invoice"


class EInvoiceError(ValueError):
    """The XML is unsafe, malformed, or not an invoice we can read; the message says which."""


def parse_xml(content: bytes) -> Element:
    """The root element of untrusted XML, refusing DTDs, entities and oversized input."""
    if len(content) > MAX_XML_BYTES:
        raise EInvoiceError(stored_message("The e-invoice XML is too large to be a real invoice."))
    try:
        # Stray blank lines before the XML declaration are common and harmless.
        return SafeET.fromstring(content.lstrip(b" \t\r\n"), forbid_dtd=True)
    except DefusedXmlException as error:
        raise EInvoiceError(stored_message("The e-invoice XML uses DTDs or entities, which are "
                                           "refused for safety.")) from error
    except SafeET.ParseError as error:
        raise EInvoiceError(stored_message("The e-invoice XML is malformed (%(detail)s).",
                                           detail=str(error))) from error


def flavour(root: Element) -> str | None:
    """'cii' or 'ubl' for an invoice root element, else None."""
    return ROOTS.get(root.tag)


def parse(content: bytes) -> Extraction:
    """An exact extraction of a CII or UBL invoice or credit note."""
    root = parse_xml(content)
    kind = flavour(root)
    if kind is None:
        raise EInvoiceError(stored_message("This XML is not a UBL or CII (Factur-X) invoice."))
    if kind == "ubl":
        result = _ubl(root)
    else:
        result = _cii(root if kind == "cii" else _upgrade_zugferd1(root))
    result.text = " ".join(part.strip() for part in root.itertext() if part.strip())
    return result


def _text(node: Element | None, path: str, **attributes: str) -> str | None:
    """The stripped text at `path`, optionally the first match carrying given attributes."""
    if node is None:
        return None
    for found in node.iterfind(path, NS):
        if all(found.get(name) == value for name, value in attributes.items()):
            text = (found.text or "").strip()
            if text:
                return text
    return None


def _decimal(text: str | None) -> Decimal | None:
    try:
        value = Decimal(text) if text else None
    except InvalidOperation as error:
        raise EInvoiceError(stored_message("The e-invoice XML has an invalid amount: %(text)s.",
                                           text=repr(text))) from error
    if value is not None and (not value.is_finite() or abs(value) >= 10**11):
        raise EInvoiceError(stored_message("The e-invoice XML has an invalid amount: %(text)s.",
                                           text=repr(text)))
    return value


def _date(text: str | None) -> datetime.date | None:
    if not text:
        return None
    digits = text.replace("-", "")[:8]  # CII format 102 is YYYYMMDD, UBL is YYYY-MM-DD
    try:
        return datetime.datetime.strptime(digits, "%Y%m%d").date()
    except ValueError as error:
        raise EInvoiceError(stored_message("The e-invoice XML has an invalid date: %(text)s.",
                                           text=repr(text))) from error


def _fields(values: dict) -> dict[str, Field]:
    return {name: Field(value, SOURCE, 1.0) for name, value in values.items()
            if value not in (None, "", [])}


def _document_type(code: str | None) -> str:
    return "credit_note" if code in CREDIT_CODES else "invoice"


# ZUGFeRD 1.0 element -> its CII D16B name; "summation" depends on where it stands.
ZUGFERD1_NAMES = {
    "CrossIndustryDocument": "CrossIndustryInvoice",
    "SpecifiedExchangedDocumentContext": "ExchangedDocumentContext",
    "HeaderExchangedDocument": "ExchangedDocument",
    "SpecifiedSupplyChainTradeTransaction": "SupplyChainTradeTransaction",
    "ApplicableSupplyChainTradeAgreement": "ApplicableHeaderTradeAgreement",
    "ApplicableSupplyChainTradeDelivery": "ApplicableHeaderTradeDelivery",
    "ApplicableSupplyChainTradeSettlement": "ApplicableHeaderTradeSettlement",
    "SpecifiedSupplyChainTradeAgreement": "SpecifiedLineTradeAgreement",
    "SpecifiedSupplyChainTradeDelivery": "SpecifiedLineTradeDelivery",
    "SpecifiedSupplyChainTradeSettlement": "SpecifiedLineTradeSettlement",
    "ApplicablePercent": "RateApplicablePercent",
}
SUMMATION_BY_PARENT = {
    "ApplicableHeaderTradeSettlement": "SpecifiedTradeSettlementHeaderMonetarySummation",
    "SpecifiedLineTradeSettlement": "SpecifiedTradeSettlementLineMonetarySummation",
}


def _upgrade_zugferd1(root: Element) -> Element:
    """A ZUGFeRD 1.0 tree renamed in place to CII D16B, so one reader serves both.

    The two versions carry the same data model; only the namespaces and a dozen element
    names changed (HeaderExchangedDocument -> ExchangedDocument and so on).
    """
    namespaces = {NS_ZUGFERD1[prefix]: NS[prefix] for prefix in ("rsm", "ram", "udt")}

    def rename(element: Element, parent_name: str) -> None:
        namespace, _, name = element.tag[1:].partition("}")
        if namespace in namespaces:
            name = ZUGFERD1_NAMES.get(name, name)
            if name == "SpecifiedTradeSettlementMonetarySummation":
                name = SUMMATION_BY_PARENT.get(parent_name, name)
            element.tag = f"{{{namespaces[namespace]}}}{name}"
        for child in element:
            rename(child, name)

    rename(root, "")
    return root


def _cii(root: Element) -> Extraction:
    document = root.find("rsm:ExchangedDocument", NS)
    trade = root.find("rsm:SupplyChainTradeTransaction", NS)
    agreement = trade.find("ram:ApplicableHeaderTradeAgreement", NS) if trade is not None else None
    settlement = (trade.find("ram:ApplicableHeaderTradeSettlement", NS)
                  if trade is not None else None)
    seller = agreement.find("ram:SellerTradeParty", NS) if agreement is not None else None
    summation = (settlement.find("ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
                 if settlement is not None else None)
    currency = _text(settlement, "ram:InvoiceCurrencyCode")
    # A second TaxTotalAmount may exist in the tax currency; the invoice currency's one counts.
    tax = (_text(summation, "ram:TaxTotalAmount", currencyID=currency)
           or _text(summation, "ram:TaxTotalAmount"))
    values = {
        "supplier_name": _text(seller, "ram:Name"),
        "supplier_vat": _text(seller, "ram:SpecifiedTaxRegistration/ram:ID", schemeID="VA"),
        "supplier_iban": _text(settlement, "ram:SpecifiedTradeSettlementPaymentMeans/"
                                           "ram:PayeePartyCreditorFinancialAccount/ram:IBANID"),
        "buyer_name": _text(agreement, "ram:BuyerTradeParty/ram:Name"),
        "number": _text(document, "ram:ID"),
        "issue_date": _date(_text(document, "ram:IssueDateTime/udt:DateTimeString")),
        "due_date": _date(_text(settlement, "ram:SpecifiedTradePaymentTerms/"
                                            "ram:DueDateDateTime/udt:DateTimeString")),
        "currency": currency,
        "net": _decimal(_text(summation, "ram:TaxBasisTotalAmount")),
        "tax": _decimal(tax),
        "total": _decimal(_text(summation, "ram:GrandTotalAmount")),
        "vat_breakdown": [_cii_vat(node) for node in
                          (settlement.iterfind("ram:ApplicableTradeTax", NS)
                           if settlement is not None else [])],
        "payment_terms": _text(settlement, "ram:SpecifiedTradePaymentTerms/ram:Description"),
    }
    lines = [_cii_line(node) for node in
             (trade.iterfind("ram:IncludedSupplyChainTradeLineItem", NS)
              if trade is not None else [])]
    return Extraction(method=SOURCE, kind="cost",
                      document_type=_document_type(_text(document, "ram:TypeCode")),
                      fields=_fields(values), lines=lines)


def _cii_vat(node: Element) -> dict:
    return {"rate": _decimal(_text(node, "ram:RateApplicablePercent")),
            "base": _decimal(_text(node, "ram:BasisAmount")),
            "tax": _decimal(_text(node, "ram:CalculatedAmount"))}


def _cii_line(node: Element) -> Line:
    price = _decimal(_text(node, "ram:SpecifiedLineTradeAgreement/"
                                 "ram:NetPriceProductTradePrice/ram:ChargeAmount"))
    per = _decimal(_text(node, "ram:SpecifiedLineTradeAgreement/"
                               "ram:NetPriceProductTradePrice/ram:BasisQuantity"))
    if price is not None and per and per != 1:
        price = price / per  # a price "per 100 units" becomes a unit price
    return Line(
        description=_text(node, "ram:SpecifiedTradeProduct/ram:Name") or "",
        quantity=_decimal(_text(node, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity")),
        unit_price=price,
        net=_decimal(_text(node, "ram:SpecifiedLineTradeSettlement/"
                                 "ram:SpecifiedTradeSettlementLineMonetarySummation/"
                                 "ram:LineTotalAmount")),
        vat_rate=_decimal(_text(node, "ram:SpecifiedLineTradeSettlement/"
                                      "ram:ApplicableTradeTax/ram:RateApplicablePercent")),
    )


def _ubl(root: Element) -> Extraction:
    credit = root.tag.endswith("}CreditNote")
    supplier = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    buyer = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    totals = root.find("cac:LegalMonetaryTotal", NS)
    currency = _text(root, "cbc:DocumentCurrencyCode")
    tax_total = next((node for node in root.iterfind("cac:TaxTotal", NS)
                      if node.find("cac:TaxSubtotal", NS) is not None),
                     root.find("cac:TaxTotal", NS))
    values = {
        "supplier_name": (_text(supplier, "cac:PartyName/cbc:Name")
                          or _text(supplier, "cac:PartyLegalEntity/cbc:RegistrationName")),
        "supplier_vat": _ubl_vat(supplier),
        "supplier_iban": _text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID"),
        "buyer_name": (_text(buyer, "cac:PartyName/cbc:Name")
                       or _text(buyer, "cac:PartyLegalEntity/cbc:RegistrationName")),
        "number": _text(root, "cbc:ID"),
        "issue_date": _date(_text(root, "cbc:IssueDate")),
        "due_date": _date(_text(root, "cbc:DueDate")
                          or _text(root, "cac:PaymentMeans/cbc:PaymentDueDate")),
        "currency": currency,
        "net": _decimal(_text(totals, "cbc:TaxExclusiveAmount")),
        "tax": _decimal(_text(tax_total, "cbc:TaxAmount")),
        "total": _decimal(_text(totals, "cbc:TaxInclusiveAmount")),
        "vat_breakdown": [_ubl_vat_row(node) for node in
                          (tax_total.iterfind("cac:TaxSubtotal", NS)
                           if tax_total is not None else [])],
        "payment_terms": _text(root, "cac:PaymentTerms/cbc:Note"),
    }
    code = _text(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode")
    line_tag = "cac:CreditNoteLine" if credit else "cac:InvoiceLine"
    return Extraction(method=SOURCE, kind="cost",
                      document_type="credit_note" if credit else _document_type(code),
                      fields=_fields(values),
                      lines=[_ubl_line(node, credit) for node in root.iterfind(line_tag, NS)])


def _ubl_vat(party: Element | None) -> str | None:
    if party is None:
        return None
    for scheme in party.iterfind("cac:PartyTaxScheme", NS):
        if _text(scheme, "cac:TaxScheme/cbc:ID") in (None, "VAT"):
            return _text(scheme, "cbc:CompanyID")
    return None


def _ubl_vat_row(node: Element) -> dict:
    return {"rate": _decimal(_text(node, "cac:TaxCategory/cbc:Percent")),
            "base": _decimal(_text(node, "cbc:TaxableAmount")),
            "tax": _decimal(_text(node, "cbc:TaxAmount"))}


def _ubl_line(node: Element, credit: bool) -> Line:
    price = _decimal(_text(node, "cac:Price/cbc:PriceAmount"))
    per = _decimal(_text(node, "cac:Price/cbc:BaseQuantity"))
    if price is not None and per and per != 1:
        price = price / per
    return Line(
        description=(_text(node, "cac:Item/cbc:Name")
                     or _text(node, "cac:Item/cbc:Description") or ""),
        quantity=_decimal(_text(node, "cbc:CreditedQuantity" if credit
                                else "cbc:InvoicedQuantity")),
        unit_price=price,
        net=_decimal(_text(node, "cbc:LineExtensionAmount")),
        vat_rate=_decimal(_text(node, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent")),
    )
