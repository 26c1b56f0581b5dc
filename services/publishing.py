"""Publishing a reviewed document to Zoho Books, exactly once, with the original attached.

Costs become a bill (to pay) or an expense (already paid); sales become an invoice. The
document's `publish_state` is set to "publishing" and committed before Zoho is called; a
document found in that state (a timeout, a crash) is looked up in Zoho before anything is
sent again: by vendor and bill number, or by reference number.
"""

import datetime
import logging
from decimal import Decimal

from integrations.zoho_books import (
    ZohoApiError,
    ZohoNotFound,
    ZohoUnavailable,
    ZohoValidationError,
)
from models import (
    ConnectionSettings,
    Document,
    DocumentStatus,
    ZohoConnection,
    ZohoContact,
    ZohoTax,
    utcnow,
)
from services import audit, document_store, zoho
from services.bank_lines import money

log = logging.getLogger(__name__)

# After an unknown outcome, Zoho may still be working: wait this long before sending again.
UNKNOWN_OUTCOME_GRACE = datetime.timedelta(seconds=60)
LABELS = {"supplier_name": "supplier", "number": "number", "issue_date": "date",
          "total_cents": "total", "account_id": "category",
          "paid_through_account_id": "paid from", "contact_id": "customer"}


CREDIT_NOTE = ("This is a credit note: record it as a vendor credit in Zoho Books. "
               "Bookbridge does not publish credit notes, so it is not sent as a bill.")


class PublishProblem(Exception):
    """Why a document was not published, in plain words, with what to do."""


class NewSupplierNeedsConfirmation(Exception):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"Zoho Books will get a new supplier: {name}")


def missing_fields(document: Document) -> list[str]:
    if document.kind == "sale":
        needed = ["contact_id", "issue_date", "total_cents"]
    elif document.payment == "expense":
        needed = ["issue_date", "total_cents", "account_id", "paid_through_account_id"]
    else:
        needed = ["supplier_name", "number", "issue_date", "total_cents", "account_id"]
    return [LABELS[name] for name in needed if getattr(document, name) in (None, "")]


def reference(document: Document) -> str:
    """The reference Bookbridge writes on what it creates, to find it again."""
    return (document.number or f"Bookbridge {document.id}")[:100]


PUBLISHABLE = (DocumentStatus.TO_REVIEW, DocumentStatus.READY, DocumentStatus.FAILED)


def publish(config, document: Document, user, *, confirm_new_supplier: bool = False) -> None:
    if document.status not in PUBLISHABLE:
        raise PublishProblem(f"This document is {document.status.label.lower()}; only "
                             "documents to review, ready or failed can be published.")
    if document.document_type == "credit_note":
        raise PublishProblem(CREDIT_NOTE)
    missing = missing_fields(document)
    if missing:
        raise PublishProblem("Fill in the " + ", ".join(missing) + " before publishing.")
    if document.duplicate_of_id and document.duplicate_decision != "not_duplicate":
        raise PublishProblem("This looks like a duplicate; decide whether it is one first.")
    client = zoho.books_client(config)
    try:
        _publish_with(client, config, document, user, confirm_new_supplier)
    except ZohoUnavailable:
        raise PublishProblem("Zoho Books is not answering. Nothing is lost: publish again in a "
                             "few minutes; Bookbridge checks first whether the document "
                             "already reached Zoho.") from None
    except ZohoApiError as error:  # token, quota, a refused contact...: say it plainly
        if getattr(error, "code", None) == 3062:
            raise PublishProblem("Zoho Books has an inactive contact with this name: "
                                 "reactivate it in Zoho Books, or choose it in \"Zoho "
                                 "contact\", then publish again.") from None
        raise PublishProblem(error.user_message) from None


def _publish_with(client, config, document: Document, user, confirm_new_supplier) -> None:
    if document.publish_state == "publishing":
        if _settle_unknown(client, document):
            return
        if utcnow() - document.updated_at < UNKNOWN_OUTCOME_GRACE:
            raise PublishProblem("Zoho Books has not confirmed the last attempt yet. Publish "
                                 "again in a minute: Bookbridge looks it up first.")
    if document.kind == "cost" and document.supplier_name.strip():
        _ensure_supplier(client, document, user, confirm_new_supplier)
    document.publish_state, document.publish_error = "publishing", ""
    document.updated_at = utcnow()
    document.save(only=[Document.publish_state, Document.publish_error, Document.updated_at])
    try:
        created = _create(client, document)
    except ZohoUnavailable:
        if _settle_unknown(client, document):
            return
        # Zoho may still be creating it: keep "publishing" so the next try looks first.
        raise PublishProblem("Zoho Books did not confirm the document. Publish again in a "
                             "minute: Bookbridge first checks whether it arrived, so it is "
                             "never created twice.") from None
    except ZohoApiError as error:
        _reset(document, _plain_zoho_error(error))
        raise PublishProblem(document.publish_error) from None
    _attach(config, client, document, created)
    _mark_published(document, created, user)


def _create(client, document: Document) -> dict:
    if document.kind == "sale":
        return client.post("/invoices", json=_invoice_body(document))["invoice"] | {
            "_type": "invoice"}
    if document.payment == "expense":
        return client.post("/expenses", json=_expense_body(document))["expense"] | {
            "_type": "expense"}
    return client.post("/bills", json=_bill_body(document))["bill"] | {"_type": "bill"}


def _amount(cents) -> Decimal:
    return Decimal(money(cents))


def _line_items(document: Document) -> list[dict]:
    """The document's own lines when their nets add up to its net; else one line."""
    lines = [line for line in document.lines or [] if line.get("net")]
    nets = sum((Decimal(line["net"]) for line in lines), Decimal(0))
    if lines and document.net_cents is not None and nets == _amount(document.net_cents):
        return [_item(document, line["description"] or document.supplier_name,
                      Decimal(line["net"]), tax) for line, tax in _line_taxes(document, lines)]
    net = document.net_cents if document.net_cents is not None else document.total_cents
    return [_item(document, document.description or document.supplier_name, _amount(net),
                  document.tax_id)]


def _line_taxes(document: Document, lines: list[dict]):
    """Each line with its tax: the document's tax code when the lines share one rate (it is
    what the reviewer chose), the Zoho tax of each line's rate when they mix rates."""
    rates = {_rate(line.get("vat_rate")) for line in lines}
    if len(rates) <= 1 and document.tax_id:
        return [(line, document.tax_id) for line in lines]
    taxes = _taxes_by_rate()
    return [(line, taxes.get(_rate(line.get("vat_rate")), document.tax_id)) for line in lines]


def _item(document: Document, description: str, amount: Decimal, tax_id) -> dict:
    line = {"account_id": document.account_id, "rate": amount, "quantity": 1,
            "description": description[:100]}
    if tax_id:
        line["tax_id"] = tax_id
    return line


def _taxes_by_rate() -> dict:
    org = ZohoConnection.current().organization_id
    return {_rate(tax.percentage): tax.zoho_id for tax in ZohoTax.usable(org)
            if tax.percentage is not None}


def _rate(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value)).normalize()


def _bill_body(document: Document) -> dict:
    body = {"vendor_id": document.contact_id, "bill_number": document.number[:100],
            "reference_number": reference(document), "date": document.issue_date,
            "line_items": _line_items(document)}
    if document.due_date:
        body["due_date"] = document.due_date
    return body


def _expense_body(document: Document) -> dict:
    body = {"account_id": document.account_id, "date": document.issue_date,
            "amount": _amount(document.total_cents), "is_inclusive_tax": True,
            "paid_through_account_id": document.paid_through_account_id,
            "reference_number": reference(document),
            "description": (document.description or document.supplier_name)[:100]}
    if document.tax_id:
        body["tax_id"] = document.tax_id
    if document.contact_id:
        body["vendor_id"] = document.contact_id
    return body


def _invoice_body(document: Document) -> dict:
    items = _line_items(document)
    for item in items:
        item.pop("account_id")  # invoice lines take their income account from the item
        item["name"] = item["description"]
    return {"customer_id": document.contact_id, "date": document.issue_date,
            "reference_number": reference(document), "line_items": items}


def _find_existing(client, document: Document) -> dict | None:
    """What an earlier attempt may have created: same vendor and number, or reference."""
    if document.kind == "sale":
        path, key, params = "/invoices", "invoices", {"reference_number": reference(document)}
    elif document.payment == "expense":
        path, key, params = "/expenses", "expenses", {"reference_number": reference(document)}
    else:
        path, key, params = "/bills", "bills", {"vendor_id": document.contact_id,
                                                 "bill_number": document.number}
    found = [record for record in client.get(path, params=params).get(key, [])
             if key == "bills" or _same_amount_and_date(record, document)]
    if not found:
        return None
    record = found[0]
    record["_type"] = key[:-1]
    return record


def _same_amount_and_date(record: dict, document: Document) -> bool:
    """A reference number alone is not ours: the date and the total must match too."""
    amount = record.get("total", record.get("amount"))
    return (str(record.get("date")) == str(document.issue_date) and amount is not None
            and Decimal(str(amount)) == _amount(document.total_cents))


def _settle_unknown(client, document: Document) -> bool:
    """After an unknown outcome: if Zoho has the record, the document is published."""
    existing = _find_existing(client, document)
    if existing is None:
        return False
    _mark_published(document, existing, None, found_again=True)
    return True


def _ensure_supplier(client, document: Document, user, confirmed: bool) -> None:
    if document.contact_id:
        return
    org = ZohoConnection.current().organization_id
    name = document.supplier_name.strip()
    cached = (ZohoContact.usable(org).where(ZohoContact.contact_type == "vendor",
                                            ZohoContact.name ** name).first())
    if cached:
        document.contact_id = cached.zoho_id
        document.save(only=[Document.contact_id])
        return
    found = client.get("/contacts", params={"contact_type": "vendor",
                                            "contact_name": name}).get("contacts", [])
    if found:
        document.contact_id = found[0]["contact_id"]
    else:
        if ConnectionSettings.current().warn_new_supplier and not confirmed:
            raise NewSupplierNeedsConfirmation(name)
        created = client.post("/contacts", json={"contact_name": name,
                                                 "contact_type": "vendor"})["contact"]
        document.contact_id = created["contact_id"]
        audit.record("zoho.contact_create", user=user, subject=name,
                     zoho_id=document.contact_id)
    document.save(only=[Document.contact_id])


def _attach(config, client, document: Document, created: dict) -> None:
    kind = created["_type"]
    zoho_id = created[f"{kind}_id"]
    field, path = ("receipt", f"/expenses/{zoho_id}/receipt") if kind == "expense" else (
        "attachment", f"/{kind}s/{zoho_id}/attachment")
    content = document_store.read(config, document.file)
    try:
        client.post_file(path, field, document.filename, content, document.file.media_type)
    except (ZohoValidationError, ZohoNotFound, ZohoUnavailable) as error:
        document.warnings = [*document.warnings,
                             f"Published, but the file could not be attached in Zoho Books "
                             f"({getattr(error, 'user_message', error)}). Attach it there "
                             "by hand."]
        document.save(only=[Document.warnings])


def _mark_published(document: Document, record: dict, user, found_again=False) -> None:
    kind = record["_type"]
    document.zoho_type = kind
    document.zoho_id = record[f"{kind}_id"]
    document.zoho_number = record.get(f"{kind}_number") or record.get("reference_number") or ""
    document.status = DocumentStatus.PUBLISHED
    document.publish_state, document.publish_error = "published", ""
    document.published_at = utcnow()
    document.save()
    audit.record("document.publish", user=user, actor=None if user else "worker",
                 subject=document.filename, after={"type": kind, "number": document.zoho_number,
                                                    "found_again": found_again},
                 zoho_id=document.zoho_id)


def _reset(document: Document, error: str) -> None:
    document.publish_state = "failed" if error else ""
    document.publish_error = error
    if error:
        document.status = DocumentStatus.FAILED
    document.save()


def _plain_zoho_error(error: ZohoApiError) -> str:
    message = getattr(error, "message", "") or str(error)
    lowered = message.lower()
    if "tax" in lowered and ("not exist" in lowered or "invalid" in lowered):
        return (f"Zoho Books refused the tax: {message}. The tax may no longer exist in Zoho "
                "Books: refresh the lists or pick another tax code, then publish again.")
    if "account" in lowered and ("not exist" in lowered or "invalid" in lowered):
        return (f"Zoho Books refused the category: {message}. Refresh the lists or pick "
                "another category, then publish again.")
    return (f"Zoho Books refused the document: {message}. Correct it and publish again; "
            "the file is kept.")
