"""Review decisions on a document that are not edits: is it a duplicate or not, which tax."""

from flask import Blueprint, flash, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from playhouse.flask_utils import get_object_or_404

from models import Document, DocumentStatus
from services import document_processing, duplicates, i18n
from views.helpers import see_other

bp = Blueprint("review", __name__)


@bp.post("/documents/<int:document_id>/duplicate")
@login_required
def duplicate_decide(document_id):
    """Remember "not a duplicate" for the pair, or archive this copy as the same document."""
    document = get_object_or_404(Document, Document.id == document_id)
    match = document.duplicate_of
    try:
        document_processing.decide_duplicate(document, request.form.get("decision", ""),
                                             current_user)
    except duplicates.DuplicateError as error:
        flash(i18n.in_words(str(error)), category="error")
    else:
        if document.duplicate_decision == "same_document":
            flash(_("Archived: this is the same document as %(original)s. The original is kept.",
                    original=match.filename or match.id), category="success")
            return see_other("documents.document_show", document_id=match.id)
        flash(_("Noted: not a duplicate. Bookbridge will not ask again for these two "
                "documents."), category="success")
    return see_other("documents.document_show", document_id=document.id)


@bp.post("/documents/<int:document_id>/tax")
@login_required
def tax_decide(document_id):
    """The tax on the document disagrees with the tax code: use the tax of the document's
    rate (one click), or keep the tax code on purpose."""
    document = get_object_or_404(Document, Document.id == document_id)
    if document.status is DocumentStatus.PUBLISHED or document.publish_state == "publishing":
        flash(_("This document is published or being published; its tax can no longer change "
                "here."), category="error")
        return see_other("documents.document_show", document_id=document.id)
    try:
        message = document_processing.decide_tax(document, request.form.get("decision", ""),
                                                 request.form.get("tax_id", ""), current_user)
    except document_processing.TaxDecisionError as error:
        flash(i18n.in_words(str(error)), category="error")
    else:
        flash(i18n.in_words(message), category="success")
    return see_other("documents.document_show", document_id=document.id)
