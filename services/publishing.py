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
    ZohoDailyLimitReached,
    ZohoUnavailable,
)
from models import (
    ConnectionSettings,
    Document,
    DocumentStatus,
    ZohoConnection,
    ZohoContact,
    utcnow,
)
from services import (
    audit,
    document_store,
    document_taxes,
    lists,
    supplier_recognition,
    zoho,
)
from services.bank_lines import money
from services.i18n import stored_message

log = logging.getLogger(__name__)

# After an unknown outcome, Zoho may still be working: wait this long before sending again.
UNKNOWN_OUTCOME_GRACE = datetime.timedelta(seconds=60)
# Each field a publish needs, as "Fill in …" names it (a stored message: read in the reader's
# language).
LABELS = {"supplier_name": stored_message("the supplier"), "number": stored_message("the number"),
          "issue_date": stored_message("the date"), "total_cents": stored_message("the total"),
          "account_id": stored_message("the category"),
          "paid_through_account_id": stored_message("the account it was paid from"),
          "contact_id": stored_message("the customer")}


# What Bookbridge creates in Zoho Books, by zoho_type: (path, list key, object key, id field,
# number field). Credit notes become vendor credits (costs) or customer credit notes (sales).
RECORDS = {
    "bill": ("/bills", "bills", "bill", "bill_id", "bill_number"),
    "expense": ("/expenses", "expenses", "expense", "expense_id", ""),
    "invoice": ("/invoices", "invoices", "invoice", "invoice_id", "invoice_number"),
    "vendorcredit": ("/vendorcredits", "vendorcredits", "vendor_credit", "vendor_credit_id",
                     "vendor_credit_number"),
    "creditnote": ("/creditnotes", "creditnotes", "creditnote", "creditnote_id",
                   "creditnote_number"),
}
# What a document became in Zoho Books, as the page names it.
LABELS_OF_TYPES = {"bill": stored_message("Bill"), "expense": stored_message("Expense"),
                   "invoice": stored_message("Invoice"),
                   "vendorcredit": stored_message("Vendor credit"),
                   "creditnote": stored_message("Credit note")}


def type_label(zoho_type: str) -> str:
    """A stored message naming what the document became in Zoho Books ("Bill")."""
    return LABELS_OF_TYPES.get(zoho_type, zoho_type.capitalize())


class PublishProblem(Exception):
    """Why a document was not published, in plain words, with what to do."""


class ZohoDaySpent(PublishProblem):
    """Zoho refused the call for the organisation's daily cap (429 code 45) before doing
    anything: the document is as it was, not failed, and can go after Zoho's reset."""


class NewSupplierNeedsConfirmation(Exception):
    def __init__(self, name: str):
        self.name = name
        super().__init__(stored_message("Zoho Books will get a new supplier: %(name)s",
                                        name=name))


def zoho_type(document: Document) -> str:
    """What the document becomes in Zoho Books."""
    if document.document_type == "credit_note":
        return "creditnote" if document.kind == "sale" else "vendorcredit"
    if document.kind == "sale":
        return "invoice"
    return "expense" if document.payment == "expense" else "bill"


def missing_fields(document: Document) -> list[str]:
    if document.document_type == "credit_note" and document.kind == "cost":
        needed = ["supplier_name", "issue_date", "total_cents", "account_id"]
    elif document.kind == "sale":
        needed = ["contact_id", "issue_date", "total_cents"]
    elif document.payment == "expense":
        needed = ["issue_date", "total_cents", "account_id", "paid_through_account_id"]
    else:
        needed = ["supplier_name", "number", "issue_date", "total_cents", "account_id"]
    return [LABELS[name] for name in needed if getattr(document, name) in (None, "")]


def _fill_in(missing: list[str]) -> str:
    """ "Fill in the supplier, the number and the date before publishing." """
    if len(missing) == 1:
        return stored_message("Fill in %(field)s before publishing.", field=missing[0])
    listed = missing[0]
    for field in missing[1:-1]:
        listed = stored_message("%(first)s, %(then)s", first=listed, then=field)
    return stored_message("Fill in %(fields)s and %(last)s before publishing.", fields=listed,
                          last=missing[-1])


def reference(document: Document) -> str:
    """The reference Bookbridge writes on what it creates, to find it again."""
    return (document.number or f"Bookbridge {document.id}")[:100]


PUBLISHABLE = (DocumentStatus.TO_REVIEW, DocumentStatus.READY, DocumentStatus.FAILED)
# The statuses as stored messages (DocumentStatus.label translates at once: for a page).
STATUS_NAMES = {
    DocumentStatus.PROCESSING: stored_message("Processing"),
    DocumentStatus.TO_REVIEW: stored_message("To review"),
    DocumentStatus.READY: stored_message("Ready"),
    DocumentStatus.PUBLISHED: stored_message("Published"),
    DocumentStatus.FAILED: stored_message("Failed"),
    DocumentStatus.ARCHIVED: stored_message("Archived"),
}


def check_publishable(document: Document) -> None:
    if document.status not in PUBLISHABLE:
        raise PublishProblem(stored_message(
            "This document’s status is “%(status)s”; only documents to review, ready or "
            "failed can be published.", status=STATUS_NAMES[document.status]))


def publish(config, document: Document, user, *, confirm_new_supplier: bool = False) -> None:
    """Callers go through services.settlement.publish, which sends a receipt matched to a
    bank line to its settlement instead."""
    check_publishable(document)
    missing = missing_fields(document)
    if missing:
        raise PublishProblem(_fill_in(missing))
    if document.duplicate_of_id and document.duplicate_decision != "not_duplicate":
        raise PublishProblem(stored_message(
            "This looks like a duplicate; decide whether it is one first."))
    _check_taxes(document)
    client = zoho.books_client(config)
    try:
        _publish_with(client, config, document, user, confirm_new_supplier)
    except ZohoUnavailable:
        raise PublishProblem(stored_message(
            "Zoho Books is not answering. Nothing is lost: publish again in a few minutes; "
            "Bookbridge checks first whether the document already reached Zoho.")) from None
    except ZohoDailyLimitReached as error:
        raise ZohoDaySpent(error.user_message) from None
    except ZohoApiError as error:  # token, a refused contact...: say it plainly
        if getattr(error, "code", None) == 3062:
            raise PublishProblem(stored_message(
                "Zoho Books has an inactive contact with this name: reactivate it in Zoho "
                "Books, or choose it in “Zoho contact”, then publish again.")) from None
        raise PublishProblem(error.user_message) from None


def _check_taxes(document: Document) -> None:
    """Never send Zoho a tax that differs from the document's unless a person confirmed it."""
    problem = document_taxes.check(document).problem
    if problem and not document_taxes.is_confirmed(document, problem):
        raise PublishProblem(stored_message(
            "%(problem)s Choose the matching tax, or confirm the tax code on the document "
            "page, then publish again.", problem=problem))


def _publish_with(client, config, document: Document, user, confirm_new_supplier) -> None:
    if document.publish_state == "publishing":
        if _settle_unknown(client, document):
            return
        if utcnow() - document.updated_at < UNKNOWN_OUTCOME_GRACE:
            raise PublishProblem(stored_message(
                "Zoho Books has not confirmed the last attempt yet. Publish again in a minute: "
                "Bookbridge looks it up first."))
    if document.kind == "cost" and document.supplier_name.strip():
        ensure_supplier(client, document, user, confirm_new_supplier)
    document.publish_state, document.publish_error = "publishing", ""
    document.updated_at = utcnow()
    document.save(only=[Document.publish_state, Document.publish_error, Document.updated_at])
    try:
        created = _create(client, document)
    except ZohoUnavailable:
        if _settle_unknown(client, document):
            return
        # Zoho may still be creating it: keep "publishing" so the next try looks first.
        raise PublishProblem(stored_message(
            "Zoho Books did not confirm the document. Publish again in a minute: Bookbridge "
            "first checks whether it arrived, so it is never created twice.")) from None
    except ZohoDailyLimitReached:
        _reset(document, "")  # refused before Zoho did anything: nothing wrong with it
        raise
    except ZohoApiError as error:
        _reset(document, _plain_zoho_error(error))
        raise PublishProblem(document.publish_error) from None
    attach_original(config, client, document, created)
    mark_published(document, created, user)


def _create(client, document: Document) -> dict:
    kind = zoho_type(document)
    path, _, key, _, _ = RECORDS[kind]
    body = {"bill": _bill_body, "expense": expense_body, "invoice": _invoice_body,
            "vendorcredit": _vendor_credit_body, "creditnote": _credit_note_body}[kind]
    return client.post(path, json=body(document))[key] | {"_type": kind}


def _amount(cents) -> Decimal:
    return Decimal(money(cents))


def _line_items(document: Document) -> list[dict]:
    """One line per document line (keeping quantity and unit price) or per VAT rate, each
    with its tax code: see `document_taxes.lines`."""
    return [_item(document, line) for line in document_taxes.lines(document)]


def _item(document: Document, line: document_taxes.TaxLine) -> dict:
    description = line.description or document.description or document.supplier_name
    item = {"account_id": document.account_id, "description": description[:100]}
    if line.quantity is not None and line.unit_price is not None:
        item.update(quantity=line.quantity, rate=line.unit_price)
    else:
        item.update(quantity=1, rate=line.amount)
    if line.tax_id:
        item["tax_id"] = line.tax_id
    return item


def _bill_body(document: Document) -> dict:
    body = {"vendor_id": document.contact_id, "bill_number": document.number[:100],
            "reference_number": reference(document), "date": document.issue_date,
            "line_items": _line_items(document)}
    if document.due_date:
        body["due_date"] = document.due_date
    return body


def expense_body(document: Document) -> dict:
    body = {"account_id": document.account_id, "date": document.issue_date,
            "amount": _amount(document.total_cents), "is_inclusive_tax": True,
            "paid_through_account_id": document.paid_through_account_id,
            "reference_number": reference(document),
            "description": (document.description or document.supplier_name)[:100]}
    lines = document_taxes.lines(document)
    if len(lines) > 1:  # several VAT rates: an itemised expense, one line per rate
        body["line_items"] = [
            {"account_id": document.account_id, "amount": line.amount,
             "description": (line.description or body["description"])[:100],
             **({"tax_id": line.tax_id} if line.tax_id else {})} for line in lines]
    elif lines[0].tax_id:
        body["tax_id"] = lines[0].tax_id
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


def _vendor_credit_body(document: Document) -> dict:
    """The supplier's number goes in the reference: Zoho numbers its vendor credits."""
    return {"vendor_id": document.contact_id, "date": document.issue_date,
            "reference_number": reference(document), "line_items": _line_items(document)}


def _credit_note_body(document: Document) -> dict:
    body = _invoice_body(document)
    body["creditnote_number"] = reference(document)
    return body


def _find_existing(client, document: Document) -> dict | None:
    """What an earlier attempt may have created: a bill by vendor and number; anything else
    by its reference, with the same contact, date and total."""
    kind = zoho_type(document)
    path, key, _, _, _ = RECORDS[kind]
    if kind == "bill":
        params = {"vendor_id": document.contact_id, "bill_number": document.number}
    else:
        params = {"reference_number": reference(document)}
    found = [record for record in client.get(path, params=params).get(key, [])
             if kind == "bill" or (_same_amount_and_date(record, document)
                                   and _same_contact(record, document))]
    if not found:
        return None
    return found[0] | {"_type": kind}


def _same_contact(record: dict, document: Document) -> bool:
    contact = record.get("vendor_id") or record.get("customer_id")
    return not contact or not document.contact_id or contact == document.contact_id


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
    mark_published(document, existing, None, found_again=True)
    return True


def ensure_supplier(client, document: Document, user, confirmed: bool) -> None:
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
        contact = found[0]
    else:
        if ConnectionSettings.current().warn_new_supplier and not confirmed:
            raise NewSupplierNeedsConfirmation(name)
        contact = client.post("/contacts", json={"contact_name": name,
                                                 "contact_type": "vendor"})["contact"]
        audit.record("zoho.contact_create", user=user, subject=name,
                     zoho_id=contact["contact_id"])
    document.contact_id = contact["contact_id"]
    document.save(only=[Document.contact_id])
    # The document page and the pickers name this contact now, not after the next refresh.
    lists.remember("contacts", org, {"contact_name": name, "contact_type": "vendor",
                                     **contact})


def attach_original(config, client, document: Document, created: dict) -> None:
    kind = created["_type"]
    zoho_id = created[RECORDS[kind][3]]
    # UNCONFIRMED for vendor credits and credit notes: their OAS lists no attachment
    # endpoint; API clients in use post to the same /{kind}s/{id}/attachment as bills.
    field, path = ("receipt", f"/expenses/{zoho_id}/receipt") if kind == "expense" else (
        "attachment", f"/{kind}s/{zoho_id}/attachment")
    content = document_store.read(config, document.file)
    try:
        client.post_file(path, field, document.filename, content, document.file.media_type)
    except ZohoApiError as error:  # refused, gone, down or the day spent: the record stands
        document.warnings = [*document.warnings, stored_message(
            "Published, but the file could not be attached in Zoho Books (%(reason)s). Attach "
            "it there by hand.", reason=getattr(error, "user_message", None) or str(error))]
        document.save(only=[Document.warnings])


def mark_published(document: Document, record: dict, user, found_again=False) -> None:
    kind = record["_type"]
    _, _, _, id_field, number_field = RECORDS[kind]
    document.zoho_type = kind
    document.zoho_id = record[id_field]
    document.zoho_number = (record.get(number_field) if number_field else "") or \
        record.get("reference_number") or ""
    document.status = DocumentStatus.PUBLISHED
    document.publish_state, document.publish_error = "published", ""
    document.published_at = utcnow()
    document.save()
    if document.kind == "cost" and document.contact_id:
        # Reviewed and published: its VAT number, SIREN and IBAN now name this contact.
        supplier_recognition.learn(document, document.contact_id)
    audit.record("document.publish", user=user, actor=None if user else "worker",
                 subject=document.filename, after={"type": kind, "number": document.zoho_number,
                                                    "found_again": found_again},
                 zoho_id=document.zoho_id, link=document)


def _reset(document: Document, error: str) -> None:
    document.publish_state = "failed" if error else ""
    document.publish_error = error
    if error:
        document.status = DocumentStatus.FAILED
    document.save()


def _plain_zoho_error(error: ZohoApiError) -> str:
    message = getattr(error, "message", "") or str(error)
    lowered = message.lower()
    # Zoho's own message is kept as Zoho wrote it; the sentence around it is translated.
    if "tax" in lowered and ("not exist" in lowered or "invalid" in lowered):
        return stored_message(
            "Zoho Books refused the tax: %(reason)s. The tax may no longer exist in Zoho Books: "
            "refresh the lists or pick another tax code, then publish again.", reason=message)
    if "account" in lowered and ("not exist" in lowered or "invalid" in lowered):
        return stored_message(
            "Zoho Books refused the category: %(reason)s. Refresh the lists or pick another "
            "category, then publish again.", reason=message)
    return stored_message("Zoho Books refused the document: %(reason)s. Correct it and publish "
                          "again; the file is kept.", reason=message)
