"""E-mail alerts to admins: one row per problem (open while it lasts), and which kinds are on."""

from peewee import BooleanField, CharField, DateTimeField, IntegerField, TextField

from models.base import BaseModel, utcnow


class Alert(BaseModel):
    """A problem an admin was (or is being) told about by e-mail.

    `open_key` is "kind:key" while the problem lasts and NULL once it closed. Its unique
    index lets only one process open a given problem, web or worker: NULLs never collide,
    on SQLite and PostgreSQL alike, so closed problems pile up freely as history.
    """

    kind = CharField()  # reconnect, sync_failing, quota_reserve, intake_rejected
    key = CharField()  # zoho, qonto, bank, folder:2026-06-17, an organisation id...
    open_key = CharField(null=True, unique=True)
    subject = TextField()
    body = TextField()
    # The page the mail links to, as a path ("/connections/"); the sender makes it absolute.
    path = CharField(default="")
    opened_at = DateTimeField(default=utcnow, index=True)
    closed_at = DateTimeField(null=True)
    # pending, sending, sent, failed (gave up), off (kind turned off), no_smtp
    mail_state = CharField(default="pending")
    # A process sending this mail holds it until then; a dead one lets go by itself.
    claimed_until = DateTimeField(null=True)
    attempts = IntegerField(default=0)
    sent_to = TextField(default="")
    sent_at = DateTimeField(null=True)
    error = TextField(default="")


class AlertSettings(BaseModel):
    """Which kinds of alert are mailed; one row, every kind on until an admin turns it off."""

    reconnect = BooleanField(default=True)
    sync_failing = BooleanField(default=True)
    quota_reserve = BooleanField(default=True)
    intake_rejected = BooleanField(default=True)
    updated_at = DateTimeField(default=utcnow)

    @classmethod
    def current(cls) -> "AlertSettings":
        settings = cls.select().order_by(cls.id).first()
        return settings or cls.create()
