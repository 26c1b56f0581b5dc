"""Reading documents in the background and filling their fields, with where each came from.

Precedence, highest first: a person's edit, then the supplier rule, then the default tax
settings, then what extraction read.
"""

import logging
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from decimal import Decimal

from models import ConnectionSettings, Document, DocumentStatus, Job, StoredFile, utcnow
from services import (
    audit,
    document_store,
    document_taxes,
    duplicates,
    i18n,
    jobs,
    matching,
    settlement,
    supplier_recognition,
    supplier_rules,
)
from services.document_status import refresh_status
from services.i18n import stored_message, stored_plural_message
from services.supplier_rules import rule_for

# This module orchestrates: extraction, then the supplier rule and defaults, then the
# duplicate check, then the status. `duplicates` and `supplier_rules` are leaves that never
# import this module (nor each other); `rule_for` and `refresh_status` are re-exported here
# for the views.
__all__ = ["refresh_status", "rule_for"]

log = logging.getLogger(__name__)

KIND = "extract_documents"
AMOUNT_FIELDS = {"net": "net_cents", "tax": "tax_cents", "total": "total_cents"}
TEXT_FIELDS = ("supplier_name", "supplier_vat", "supplier_iban", "number", "currency")
DATE_FIELDS = ("issue_date", "due_date")
# Fields a person may edit on the document page (and so protect from rules).
EDITABLE = ("kind", "supplier_name", "contact_id", "number", "issue_date", "due_date",
            "currency", "net_cents", "tax_cents", "total_cents", "tax_id", "account_id",
            "payment", "paid_through_account_id", "description")


def request(user=None) -> tuple[Job, bool]:
    return jobs.start(KIND, user=user)


def waiting_documents():
    return Document.select().where(Document.status == DocumentStatus.PROCESSING).order_by(
        Document.id)


def run(config, job_id: int) -> list[int]:
    """Read every document waiting, including ones that arrive while this job runs;
    returns the ids of the documents read.

    Files are read READ_CONCURRENCY at a time in a thread pool (extraction is a pure
    library; OCR runs in Tesseract processes, so the threads overlap); everything that
    touches the database happens here, in the job's own thread, as each file is done.
    """
    job = Job.get_by_id(job_id)
    if not job.is_active:
        return []
    jobs.begin(job)
    read = []
    threads = max(1, int(config.get("READ_CONCURRENCY") or 1))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="reader") as pool:
        while batch := list(waiting_documents().select(Document, StoredFile)
                            .join(StoredFile).limit(20)):  # each file read with its row
            reading = {pool.submit(extract_file, config, document.file, document.filename):
                       document for document in batch}
            for finished in as_completed(reading):
                document = reading[finished]
                jobs.progress(job, stored_message("Read %(file)s (%(waiting)s waiting)",
                                                  file=document.filename,
                                                  waiting=waiting_documents().count() - 1),
                              counts={"read": len(read)})
                record_extraction(document, finished)
                read.append(document.id)
    jobs.succeed(job, stored_plural_message("Read %(num)s document.", "Read %(num)s documents.",
                                            len(read)))
    return read


def extract_file(config, stored, filename: str):
    """The extraction of one stored file; runs in a reader thread, touches no row."""
    from services.extraction import extract

    return extract(document_store.read(config, stored), stored.media_type, filename)


def crashed(job_id: int) -> None:
    job = Job.get_by_id(job_id)
    if job.is_active:
        jobs.fail(job, stored_message("An unexpected error stopped reading the documents; they "
                                      "are kept. The worker log has the details."))


def record_extraction(document: Document, reading: Future) -> None:
    """Store what was read; never leaves the document in 'processing', whatever happens."""
    try:
        result = reading.result()
        # Read the row again: a person may have edited or archived it during extraction.
        document = Document.get_by_id(document.id)
        if document.status is not DocumentStatus.PROCESSING:
            return
        apply_extraction(document, result)
        document.updated_at = utcnow()
        document.save()
        after_change(document)
    except Exception as error:  # noqa: BLE001 — one bad file must never stop the others
        log.exception("extraction of document %s (%s) failed", document.id, document.filename)
        cause = f"{type(error).__name__}: {i18n.in_words(str(error))}"[:200]
        Document.update(status=DocumentStatus.FAILED, extraction_error=stored_message(
            "Bookbridge could not read %(file)s (%(cause)s). It is kept; fill in the fields by "
            "hand or upload a better scan.",
            file=document.filename or stored_message("this file"), cause=cause)).where(
            Document.id == document.id).execute()
        return
    audit.record("document.extract", actor="worker", subject=document.filename,
                 after={"method": document.method, "warnings": document.warnings}, link=document)


def after_change(document: Document) -> None:
    """After extraction or a person's edit: recognise the supplier, apply its rule and the
    defaults, then re-check duplicates and readiness."""
    if "contact_id" in document.edited and document.contact_id:
        # A person tied the document to a contact: its identifiers now name that contact.
        supplier_recognition.learn(document, document.contact_id)
    recognise_supplier(document)
    if document.kind == "cost":  # a correction tells where this supplier prints the value
        supplier_rules.learn_layout(document, supplier_rules.rule_for_document(document))
    apply_rules_and_defaults(document)
    document.save()
    duplicates.flag(document)
    refresh_status(document)
    after_fields_settled(document)


def after_fields_settled(document: Document) -> None:
    """Matching bank lines: proposals for the document as it now reads; a receipt someone
    matched (or found in Qonto) that is now ready settles its line; auto-accept, if on."""
    matching.propose(document_ids=[document.id])
    settlement.document_ready(document)
    settlement.auto_accept(document_ids=[document.id])


def recognise_supplier(document: Document) -> None:
    """Tie a cost document to the Zoho contact its supplier is (by VAT number, registration
    number, IBAN, then name), unless a person chose the contact; say how it was done."""
    if document.kind != "cost":
        return
    sources = dict(document.sources)
    if "contact_id" in document.edited:
        document.recognition = {"by": "person"} if document.contact_id else {}
        return
    contact, how = supplier_recognition.recognise(document)
    if contact is None:
        if sources.get("contact_id") == "recognised":  # what it said before no longer holds
            document.contact_id = None
            sources.pop("contact_id")
        document.recognition = {}
        document.sources = sources
        return
    document.contact_id = contact.zoho_id
    sources["contact_id"] = "recognised"
    if "supplier_name" not in document.edited and document.supplier_name != contact.name:
        how["read"] = document.supplier_name  # as printed, kept to show it
        document.supplier_name = contact.name
        sources["supplier_name"] = "recognised"
    how["contact_id"], how["contact_name"] = contact.zoho_id, contact.name
    how["text"] = supplier_recognition.describe(how, contact.name)
    document.recognition = how
    document.sources = sources


def auto_publish_wanted(config, document: Document) -> bool:
    """Auto-publishing is on, the supplier's rule allows it, and the document is ready."""
    if document.status is not DocumentStatus.READY or not ConnectionSettings.current() \
            .auto_publish:
        return False
    rule = supplier_rules.rule_for_document(document)
    return bool(rule and rule.auto_publish)


def apply_extraction(document: Document, result) -> None:
    document.method = result.method
    document.document_type = result.document_type
    document.text = result.text or ""
    document.warnings = list(result.warnings)
    if result.kind in ("cost", "sale"):
        document.kind = result.kind
    sources, confidence = dict(document.sources), {}
    for name in TEXT_FIELDS + DATE_FIELDS:
        value = result.value(name)
        if name in DATE_FIELDS and value is not None and not 1900 <= value.year <= 2100:
            value = None  # a misread year: leave the date for the person
        if isinstance(value, str):
            value = value[:255]
        if value not in (None, "") and name not in document.edited:
            setattr(document, name, value)
            sources[name] = result.fields[name].source
            confidence[name] = round(result.fields[name].confidence, 2)
    for name, column in AMOUNT_FIELDS.items():
        value = result.value(name)
        if value is None or not Decimal(str(value)).is_finite() or \
                abs(Decimal(str(value))) >= 10**11:
            continue  # absent, or misread beyond any real invoice
        if column not in document.edited:
            setattr(document, column, to_cents(value))
            sources[column] = result.fields[name].source
            confidence[column] = round(result.fields[name].confidence, 2)
    registration = result.value("supplier_registration") or result.value("supplier_siret")
    if registration and "supplier_registration" not in document.edited:
        document.supplier_registration = str(registration)[:64]
    breakdown = result.value("vat_breakdown") or []
    document.vat_breakdown = [{key: _text(value) for key, value in row.items()}
                              for row in breakdown]
    document.lines = [{"description": line.description,
                       "quantity": _text(line.quantity), "unit_price": _text(line.unit_price),
                       "net": _text(line.net), "vat_rate": _text(line.vat_rate)}
                      for line in result.lines]
    document.sources, document.confidence = sources, confidence
    if document.total_cents is not None and document.total_cents < 0:
        as_credit_note(document)


def as_credit_note(document: Document) -> None:
    """A negative total is a credit note: kept as one, with its amounts as printed but
    positive, since a vendor credit (or a customer credit note) carries positive amounts."""
    document.document_type = "credit_note"
    for column in AMOUNT_FIELDS.values():
        value = getattr(document, column)
        if value is not None:
            setattr(document, column, abs(value))
    document.vat_breakdown = [{key: _positive(value) if key in ("base", "tax") else value
                               for key, value in row.items()}
                              for row in document.vat_breakdown]
    document.lines = [{key: _positive(value) if key in ("quantity", "unit_price", "net")
                       else value for key, value in line.items()} for line in document.lines]


def _positive(value):
    return None if value is None else str(abs(Decimal(value)))


def apply_rules_and_defaults(document: Document) -> None:
    """Fill what a person has not set from the supplier rule, then the tax of the rate the
    document shows, then the default taxes."""
    if document.kind == "cost":
        rule = supplier_rules.rule_for_document(document)
        supplier_rules.read_with_layout(document, rule)
        supplier_rules.apply_rule(document, rule)
    sources = dict(document.sources)
    if "tax_id" not in document.edited and sources.get("tax_id") != "rule":
        # The tax of the rate the document shows, else the default tax.
        shown = document_taxes.matching_tax(document)
        settings = ConnectionSettings.current()
        default = (settings.default_cost_tax_id if document.kind == "cost"
                   else settings.default_sales_tax_id)
        if shown is not None:
            document.tax_id, sources["tax_id"] = shown.zoho_id, document.method or "text"
        elif not document.tax_id and default:
            document.tax_id, sources["tax_id"] = default, "default"
    document.sources = sources


def to_cents(value) -> int:
    return int((Decimal(str(value)) * 100).quantize(Decimal(1)))


def _text(value) -> str | None:
    return None if value is None else str(value)


# Decisions a person takes on the review page


def decide_duplicate(document: Document, decision: str, user) -> None:
    """Remember a person's answer on a suspected duplicate; `decide` settles the status."""
    duplicates.decide(document, decision, user)


def tax_check(document: Document) -> document_taxes.TaxCheck:
    """How the document's tax compares with its tax code, for the review page."""
    verdict = document_taxes.check(document)
    verdict.confirmed = document_taxes.is_confirmed(document, verdict.problem)
    return verdict


class TaxDecisionError(Exception):
    """A tax decision that cannot be taken, in plain words."""


def decide_tax(document: Document, decision: str, tax_id: str, user) -> str:
    """"use": take the offered tax of the document's rate (a person's choice, kept from
    rules); "confirm": keep the tax code although it disagrees. Returns what was done."""
    verdict = document_taxes.check(document)
    if not verdict.problem:
        raise TaxDecisionError(stored_message("The tax code already agrees with the document."))
    before = {"tax_id": document.tax_id, "tax_confirmed": document.tax_confirmed}
    if decision == "use":
        if verdict.offer is None or verdict.offer.zoho_id != tax_id:
            raise TaxDecisionError(stored_message(
                "That tax is not the one of the document’s rate; reload the page and choose "
                "again."))
        document.tax_id = tax_id
        document.edited = sorted({*document.edited, "tax_id"})
        document.sources = {**document.sources, "tax_id": "person"}
        message = stored_message("Tax code set to %(tax)s, as on the document.",
                                 tax=verdict.offer.name)
    elif decision == "confirm":
        document.tax_confirmed = verdict.problem
        message = stored_message(
            "Noted: the tax code is kept although the document shows another tax.")
    else:
        raise TaxDecisionError(stored_message("Choose the offered tax, or keep the tax code."))
    document.updated_at = utcnow()
    document.save()
    audit.record("document.tax_decision", user=user, subject=document.filename,
                 before=before, after={"tax_id": document.tax_id, "decision": decision,
                                       "tax_confirmed": document.tax_confirmed}, link=document)
    refresh_status(document)
    return message
