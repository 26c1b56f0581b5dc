"""Whether a reviewed document is ready to publish or still needs a person.

A leaf shared by the document services (processing, duplicates, supplier rules), so that
none of them needs another to settle a document's status after a change.
"""

from models import Document, DocumentStatus
from services import document_taxes
from services.publishing import missing_fields


def refresh_status(document: Document) -> None:
    """Ready when nothing is missing, nothing looks wrong and it is not a suspected duplicate;
    to review otherwise. Published, archived and processing documents keep their status."""
    if document.status in (DocumentStatus.PUBLISHED, DocumentStatus.ARCHIVED):
        return
    if document.publish_state == "failed":
        return  # a refused publish stays "failed", with Zoho's reason, until published
    pending_duplicate = document.duplicate_of_id and document.duplicate_decision != \
        "not_duplicate"
    ready = (not missing_fields(document) and not document.warnings and not pending_duplicate
             and not tax_disagrees(document))
    status = DocumentStatus.READY if ready else DocumentStatus.TO_REVIEW
    if status is not document.status:
        document.status = status
        document.save(only=[Document.status])


def tax_disagrees(document: Document) -> bool:
    """The tax Zoho would compute differs from the document's, and no person accepted it."""
    problem = document_taxes.check(document).problem
    return bool(problem) and not document_taxes.is_confirmed(document, problem)
