"""The audit trail: who or what did what, when, before and after."""

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from models.base import BaseModel, JSONField, utcnow
from models.users import User


def area_of(action: str) -> str:
    """The part of an action before its first dot ("document" for "document.extract")."""
    area, dot, _ = action.partition(".")
    return area if dot else ""


SUBJECT_LENGTH = 255


class AuditEvent(BaseModel):
    at = DateTimeField(default=utcnow)
    user = ForeignKeyField(User, null=True, backref="audit_events", on_delete="SET NULL")
    # "user" or the background process that acted ("scheduler", "worker").
    actor = CharField()
    action = CharField(index=True)
    # The Activity page's "Area" filter, kept by save() so it is an index look-up.
    area = CharField(default="")
    subject = TextField(default="")
    before = JSONField(null=True)
    after = JSONField(null=True)
    zoho_id = CharField(null=True)
    detail = TextField(default="")
    # What the event is about, for the Activity page's link: a kind ("document", "line",
    # "rule", "supplier_rule", "user") and that row's id; "" and None for the rest. A kind
    # and an id, not a path: the worker has no app to build URLs, and pages may move.
    link_kind = CharField(default="")
    link_id = IntegerField(null=True)

    class Meta:
        # The Activity page: newest first (keyset pages), whole or by area.
        indexes = (
            (("at", "id"), False),
            (("area", "at", "id"), False),
        )

    def save(self, force_insert=False, only=None):
        self.area = area_of(self.action or "")
        # A CharField is VARCHAR(255): PostgreSQL refuses longer (SQLite kept it whole).
        self.subject = (self.subject or "")[:SUBJECT_LENGTH]
        return super().save(force_insert=force_insert, only=only)
