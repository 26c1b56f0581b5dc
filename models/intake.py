"""What the unattended intake (watched folder, mailbox) last did, for the Intake page."""

from peewee import CharField, DateTimeField, IntegerField, TextField

from models.base import BaseModel


class IntakeSource(BaseModel):
    """One row per source ("folder", "mail"), written by each tick of the worker."""

    name = CharField(unique=True)
    last_checked_at = DateTimeField(null=True)  # the last check that ended, well or not
    last_added_at = DateTimeField(null=True)
    added_total = IntegerField(default=0)
    rejected_total = IntegerField(default=0)
    last_rejected = TextField(default="")
    # Cleared by the next check that succeeds, so the page says only what is still wrong.
    last_error = TextField(default="")
    last_error_at = DateTimeField(null=True)
    check_requested_at = DateTimeField(null=True)  # "Check now", until the check ends
