"""Writing the audit trail."""

from models import AuditEvent


def record(action, *, user=None, actor=None, subject="", before=None, after=None,
           zoho_id=None, detail=""):
    """Add one audit row; `actor` names a background process when there is no user."""
    return AuditEvent.create(
        action=action,
        user=user,
        actor=actor or (user.email if user else "system"),
        subject=subject,
        before=before,
        after=after,
        zoho_id=zoho_id,
        detail=detail,
    )


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose value differs, for a compact before/after pair."""
    changed = [key for key in after if before.get(key) != after.get(key)]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}
