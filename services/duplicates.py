"""Possible duplicates: same file, same supplier and number, or same supplier, date and total.

A document is compared with the documents that came before it (and with published ones,
whenever they came): the earlier one is the original, the later one is flagged. Blank fields
never make two documents look alike. A person's decision on a pair is kept for good: a pair
declared "not a duplicate" is never flagged again.
"""

import datetime

from models import Document, DocumentStatus, DuplicateDecision, SupplierRule, db, utcnow
from models.documents import duplicate_key
from services import audit
from services.document_status import refresh_status
from services.i18n import stored_message, stored_plural_message

DECISIONS = ("not_duplicate", "same_document")
DATE_WINDOW_DAYS = 3
# Why a document was flagged, kept on it (duplicate_reason) and read in the reader's language.
SAME_FILE = stored_message("same file")
SAME_NUMBER = stored_message("same supplier and number")
SAME_DATE_TOTAL = stored_plural_message("same supplier, date and total within %(num)s day",
                                        "same supplier, date and total within %(num)s days",
                                        DATE_WINDOW_DAYS)
SETTLED = (DocumentStatus.PUBLISHED, DocumentStatus.ARCHIVED)


class DuplicateError(Exception):
    """A decision that cannot be taken, in plain words."""


def _supplier_keys() -> dict[str, str]:
    """Every supplier rule's name and alias -> the rule's name, so aliases are one supplier."""
    keys = {}
    for name, aliases in SupplierRule.select(SupplierRule.name, SupplierRule.aliases).tuples():
        for alias in [name, *(aliases or [])]:
            keys.setdefault(duplicate_key(alias), duplicate_key(name))
    return keys


def _same_supplier_keys(supplier_name: str) -> set[str]:
    """The stored supplier keys that name the same supplier as this name (via the rules'
    aliases), or an empty set for a blank name."""
    own = duplicate_key(supplier_name)
    if not own:
        return set()
    aliases = _supplier_keys()
    supplier = aliases.get(own, own)
    same = {alias for alias, name in aliases.items() if name == supplier}
    if supplier not in aliases:  # a name no rule knows stands for itself alone
        same.add(supplier)
    return same


def _cleared_pairs(document: Document) -> set[int]:
    """Ids of the documents a person declared this one is not a duplicate of (either way)."""
    rows = DuplicateDecision.select(DuplicateDecision.document, DuplicateDecision.other).where(
        (DuplicateDecision.decision == "not_duplicate")
        & ((DuplicateDecision.document == document.id)
           | (DuplicateDecision.other == document.id)))
    return {row.other_id if row.document_id == document.id else row.document_id
            for row in rows}


def _candidates(document: Document):
    """The earliest other live document this one may duplicate (earlier ones, and published
    ones), as a query for its id: building SQL for every column costs more than the look-up.
    """
    return Document.select(Document.id).where(
        (Document.id != document.id)
        & (Document.status != DocumentStatus.ARCHIVED)
        & ((Document.id < document.id) | (Document.status == DocumentStatus.PUBLISHED))
    ).order_by(Document.created_at, Document.id).limit(1)


def find(document: Document) -> tuple[Document | None, str]:
    """The earliest other document this one duplicates, and why; (None, "") if none.

    The strongest reason wins: same file, then same supplier and number, then same
    supplier, date and total within a few days. Each is a look-up on an index of the
    stored keys (Document.supplier_key, number_key), never a scan of every document.
    """
    cleared = _cleared_pairs(document)
    candidates = _candidates(document)
    if cleared:
        candidates = candidates.where(Document.id.not_in(cleared))

    same_file = candidates.where(Document.file == document.file_id).scalar()
    if same_file:
        return Document.get_by_id(same_file), SAME_FILE

    suppliers = _same_supplier_keys(document.supplier_name)
    if not suppliers:
        return None, ""
    same_supplier = candidates.where(Document.supplier_key.in_(sorted(suppliers)),
                                     Document.kind == document.kind)
    number = duplicate_key(document.number)
    if number:
        other = same_supplier.where(Document.number_key == number).scalar()
        if other:
            return Document.get_by_id(other), SAME_NUMBER
    if document.issue_date and document.total_cents is not None:
        window = datetime.timedelta(days=DATE_WINDOW_DAYS)
        other = same_supplier.where(
            Document.total_cents == document.total_cents,
            Document.issue_date.between(document.issue_date - window,
                                        document.issue_date + window)).scalar()
        if other:
            return Document.get_by_id(other), SAME_DATE_TOTAL
    return None, ""


def flag(document: Document) -> None:
    """Set or clear the document's duplicate flag, unless a decision already settles it."""
    if document.status in SETTLED or document.duplicate_decision == "same_document":
        return
    match, reason = find(document)
    was = document.duplicate_of_id
    if match is None:
        if was is None:
            return
        document.duplicate_of, document.duplicate_reason = None, ""
        if document.duplicate_decision != "not_duplicate":
            document.duplicate_decision = ""
        _save(document)
        audit.record("document.duplicate_cleared", actor="system", subject=document.filename,
                     before={"duplicate_of": was}, link=document)
        return
    if was == match.id and document.duplicate_reason == reason:
        return
    document.duplicate_of, document.duplicate_reason = match, reason
    document.duplicate_decision = ""  # a new possible match: ask again
    _save(document)
    if was != match.id:
        audit.record("document.duplicate_flagged", actor="system", subject=document.filename,
                     after={"duplicate_of": match.id, "match": match.filename,
                            "reason": reason}, link=document)


def decide(document: Document, decision: str, user) -> None:
    """Remember a person's answer for this pair; "same_document" archives this document."""
    if decision not in DECISIONS:
        raise DuplicateError(stored_message("Choose “Not a duplicate” or “Same document”."))
    if document.duplicate_of_id is None:
        raise DuplicateError(stored_message(
            "This document is not marked as a possible duplicate."))
    if decision == "same_document" and document.status is DocumentStatus.PUBLISHED:
        raise DuplicateError(stored_message(
            "This document is already published in Zoho Books, so it cannot be archived here. "
            "Delete the copy in Zoho Books instead."))
    other_id = document.duplicate_of_id
    before = _snapshot(document)
    with db.atomic():
        (DuplicateDecision
         .insert(document=document.id, other=other_id, decision=decision,
                 user=getattr(user, "id", None), at=utcnow())
         .on_conflict(conflict_target=[DuplicateDecision.document, DuplicateDecision.other],
                      update={DuplicateDecision.decision: decision,
                              DuplicateDecision.user: getattr(user, "id", None),
                              DuplicateDecision.at: utcnow()})
         .execute())
        document.duplicate_decision = decision
        if decision == "same_document":
            document.status = DocumentStatus.ARCHIVED
        else:
            document.duplicate_of, document.duplicate_reason = None, ""
        _save(document, status=True)
    refresh_status(document)  # no longer held back: maybe ready
    after = _snapshot(document)
    audit.record("document.duplicate_decision", user=user, subject=document.filename,
                 before=before, after={**after, "match": other_id}, link=document)


def decision_for(document: Document, other: Document) -> str:
    """What a person said about this pair, either way round: "" if nothing yet."""
    row = DuplicateDecision.get_or_none(
        ((DuplicateDecision.document == document.id) & (DuplicateDecision.other == other.id))
        | ((DuplicateDecision.document == other.id) & (DuplicateDecision.other == document.id)))
    return row.decision if row else ""


def _save(document: Document, status: bool = False) -> None:
    document.updated_at = utcnow()
    fields = [Document.duplicate_of, Document.duplicate_reason, Document.duplicate_decision,
              Document.updated_at]
    document.save(only=[*fields, Document.status] if status else fields)


def _snapshot(document: Document) -> dict:
    return {"duplicate_of": document.duplicate_of_id, "reason": document.duplicate_reason,
            "decision": document.duplicate_decision, "status": document.status.value}
