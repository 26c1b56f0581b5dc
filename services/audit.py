"""Writing the audit trail."""

import logging

from models import (
    AuditEvent,
    BankTransaction,
    CategorisationRule,
    Document,
    ReceiptUpload,
    Settlement,
    SupplierRule,
    User,
)

log = logging.getLogger(__name__)

# What a `link=` row stands for on the Activity page: (kind, the attribute holding its id).
# A settlement or a Qonto receipt is shown on its bank line's page; `*_id` attributes read
# the foreign key without loading the row.
LINK_KINDS = {
    Document: ("document", "id"),
    BankTransaction: ("line", "id"),
    Settlement: ("line", "line_id"),
    ReceiptUpload: ("line", "transaction_id"),
    CategorisationRule: ("rule", "id"),
    SupplierRule: ("supplier_rule", "id"),
    User: ("user", "id"),
}


def record(action, *, user=None, actor=None, subject="", before=None, after=None,
           zoho_id=None, detail="", link=None):
    """Add one audit row; `actor` names a background process when there is no user;
    `link` is the one row the event is about (a document, bank line, settlement, rule,
    supplier rule or user), which the Activity page links the subject to."""
    link_kind, link_id = _link_of(link)
    return AuditEvent.create(
        action=action,
        user=user,
        actor=actor or (user.email if user else "system"),
        subject=subject,
        before=before,
        after=after,
        zoho_id=zoho_id,
        detail=detail,
        link_kind=link_kind,
        link_id=link_id,
    )


def _link_of(row) -> tuple[str, int | None]:
    if row is None:
        return "", None
    if type(row) not in LINK_KINDS:
        # A slip in a call site must not undo the action being recorded: no link, a warning.
        log.warning("audit link to a %s ignored: it has no page", type(row).__name__)
        return "", None
    kind, attribute = LINK_KINDS[type(row)]
    row_id = getattr(row, attribute)
    return (kind, row_id) if row_id is not None else ("", None)


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose value differs, for a compact before/after pair."""
    changed = [key for key in after if before.get(key) != after.get(key)]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}
