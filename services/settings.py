"""Connection settings, audited on every change."""

from models import ConnectionSettings, MatchSettings, db, utcnow
from services import audit

FIELDS = ("warn_new_supplier", "default_cost_tax_id", "default_sales_tax_id", "auto_publish")


def snapshot(settings: ConnectionSettings) -> dict:
    return {name: getattr(settings, name) for name in FIELDS}


def update(user, **values) -> dict:
    """Save the given settings; returns the changed ones (after values)."""
    with db.atomic():
        settings = ConnectionSettings.current()
        before_all = snapshot(settings)
        for name, value in values.items():
            if name not in FIELDS:
                raise ValueError(f"unknown setting {name}")
            setattr(settings, name, value)
        before, after = audit.changes(before_all, snapshot(settings))
        if not after:
            return {}
        settings.updated_at = utcnow()
        settings.save()
        audit.record("settings.update", user=user, subject="Connection settings",
                     before=before, after=after)
    return after


MATCH_FIELDS = ("days_before", "days_after", "auto_accept_score")


def update_matching(user, **values) -> dict:
    """Save the match settings (date window, auto-accept score or None); returns the
    changed ones, audited as match.settings."""
    with db.atomic():
        settings = MatchSettings.current()
        before, after = audit.changes(
            {name: getattr(settings, name) for name in MATCH_FIELDS},
            {name: values[name] for name in MATCH_FIELDS})
        if not after:
            return {}
        MatchSettings.update(updated_at=utcnow(), **after).where(
            MatchSettings.id == settings.id).execute()
        audit.record("match.settings", user=user, before=before, after=after)
    return after
