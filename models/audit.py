"""The audit trail: who or what did what, when, before and after."""

from peewee import CharField, DateTimeField, ForeignKeyField, TextField

from models.base import BaseModel, JSONField, utcnow
from models.users import User


class AuditEvent(BaseModel):
    at = DateTimeField(default=utcnow, index=True)
    user = ForeignKeyField(User, null=True, backref="audit_events", on_delete="SET NULL")
    # "user" or the background process that acted ("scheduler", "worker").
    actor = CharField()
    action = CharField(index=True)
    subject = CharField(default="")
    before = JSONField(null=True)
    after = JSONField(null=True)
    zoho_id = CharField(null=True)
    detail = TextField(default="")
