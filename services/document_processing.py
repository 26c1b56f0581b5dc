"""Reading documents in the background and filling their fields, with where each came from.

Precedence, highest first: a person's edit, then the supplier rule, then the default tax
settings, then what extraction read.
"""

import logging
from decimal import Decimal

from models import ConnectionSettings, Document, DocumentStatus, Job, SupplierRule, utcnow
from services import audit, document_store, jobs

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
    returns the ids of the documents read."""
    job = Job.get_by_id(job_id)
    if not job.is_active:
        return []
    jobs.begin(job)
    done, read = 0, []
    while True:
        batch = list(waiting_documents().limit(20))
        if not batch:
            break
        for document in batch:
            left = waiting_documents().count()
            jobs.progress(job, f"Reading {document.filename} ({left} waiting)",
                          counts={"read": done})
            process(config, document)
            read.append(document.id)
            done += 1
    jobs.succeed(job, f"Read {done} document{'s' if done != 1 else ''}.")
    return read


def crashed(job_id: int) -> None:
    job = Job.get_by_id(job_id)
    if job.is_active:
        jobs.fail(job, "An unexpected error stopped reading the documents; they are kept. "
                       "The worker log has the details.")


def process(config, document: Document) -> None:
    """Extract one document; never leaves it in 'processing', whatever happens."""
    from services.extraction import extract

    try:
        content = document_store.read(config, document.file)
        result = extract(content, document.file.media_type, document.filename)
        # Read the row again: a person may have edited or archived it during extraction.
        document = Document.get_by_id(document.id)
        if document.status is not DocumentStatus.PROCESSING:
            return
        apply_extraction(document, result)
        apply_rules_and_defaults(document)
        document.updated_at = utcnow()
        document.save()
        after_change(document)
    except Exception:  # noqa: BLE001 — one bad file must never stop the others
        log.exception("extraction of document %s failed", document.id)
        Document.update(status=DocumentStatus.FAILED, extraction_error=(
            "Bookbridge could not read this file. It is kept; fill in the fields by hand or "
            "upload a better scan.")).where(Document.id == document.id).execute()
        return
    audit.record("document.extract", actor="worker", subject=document.filename,
                 after={"method": document.method, "warnings": document.warnings})


def after_change(document: Document) -> None:
    """Re-check duplicates and readiness after extraction or an edit."""
    from services import duplicates

    duplicates.flag(document)
    refresh_status(document)


def refresh_status(document: Document) -> None:
    """Ready when nothing is missing, nothing looks wrong and it is not a suspected duplicate;
    to review otherwise. Published, archived and processing documents keep their status."""
    from services.publishing import missing_fields

    if document.status in (DocumentStatus.PUBLISHED, DocumentStatus.ARCHIVED):
        return
    if document.publish_state == "failed":
        return  # a refused publish stays "failed", with Zoho's reason, until published
    pending_duplicate = document.duplicate_of_id and document.duplicate_decision != \
        "not_duplicate"
    ready = (not missing_fields(document) and not document.warnings and not pending_duplicate
             and document.document_type != "credit_note")
    status = DocumentStatus.READY if ready else DocumentStatus.TO_REVIEW
    if status is not document.status:
        document.status = status
        document.save(only=[Document.status])


def auto_publish_wanted(config, document: Document) -> bool:
    """Auto-publishing is on, the supplier's rule allows it, and the document is ready."""
    if document.status is not DocumentStatus.READY or not ConnectionSettings.current() \
            .auto_publish:
        return False
    rule = rule_for(document.supplier_name)
    return bool(rule and rule.auto_publish)


def apply_extraction(document: Document, result) -> None:
    document.method = result.method
    document.document_type = result.document_type
    document.text = result.text or ""
    document.warnings = list(result.warnings)
    if result.kind in ("cost", "sale"):
        document.kind = result.kind
    if result.document_type == "credit_note":
        from services.publishing import CREDIT_NOTE

        document.warnings = [*document.warnings, CREDIT_NOTE]
    sources = dict(document.sources)
    for name in TEXT_FIELDS + DATE_FIELDS:
        value = result.value(name)
        if name in DATE_FIELDS and value is not None and not 1900 <= value.year <= 2100:
            value = None  # a misread year: leave the date for the person
        if isinstance(value, str):
            value = value[:255]
        if value not in (None, "") and name not in document.edited:
            setattr(document, name, value)
            sources[name] = result.fields[name].source
    for name, column in AMOUNT_FIELDS.items():
        value = result.value(name)
        if value is None or not Decimal(str(value)).is_finite() or \
                abs(Decimal(str(value))) >= 10**11:
            continue  # absent, or misread beyond any real invoice
        if column not in document.edited:
            setattr(document, column, to_cents(value))
            sources[column] = result.fields[name].source
    breakdown = result.value("vat_breakdown") or []
    document.vat_breakdown = [{key: _text(value) for key, value in row.items()}
                              for row in breakdown]
    document.lines = [{"description": line.description,
                       "quantity": _text(line.quantity), "unit_price": _text(line.unit_price),
                       "net": _text(line.net), "vat_rate": _text(line.vat_rate)}
                      for line in result.lines]
    document.sources = sources


def apply_rules_and_defaults(document: Document) -> None:
    """Fill what a person has not set from the supplier rule, then the default taxes."""
    from services import supplier_rules  # it imports this module

    if document.kind == "cost":
        supplier_rules.apply_rule(document, rule_for(document.supplier_name))
    sources = dict(document.sources)
    if not document.tax_id and "tax_id" not in document.edited:
        settings = ConnectionSettings.current()
        default = (settings.default_cost_tax_id if document.kind == "cost"
                   else settings.default_sales_tax_id)
        if default:
            document.tax_id = default
            sources["tax_id"] = "default"
    document.sources = sources


def rule_for(supplier_name: str) -> SupplierRule | None:
    """The supplier rule whose name or one of whose aliases is this supplier's name."""
    wanted = (supplier_name or "").strip().casefold()
    if not wanted:
        return None
    for rule in SupplierRule.select():
        names = [rule.name, *(rule.aliases or [])]
        if any(name.strip().casefold() == wanted for name in names):
            return rule
    return None


def to_cents(value) -> int:
    return int((Decimal(str(value)) * 100).quantize(Decimal(1)))


def _text(value) -> str | None:
    return None if value is None else str(value)
