"""Background job state, polled by the progress banners."""

import enum

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField
from playhouse.fields import EnumField

from models.base import BaseModel, JSONField, utcnow
from models.users import User


class JobStatus(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    # Running, but paused until Zoho's per-minute quota frees up.
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_active(self) -> bool:
        return self in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.WAITING)


class Job(BaseModel):
    kind = CharField(index=True)
    status = EnumField(JobStatus, default=JobStatus.QUEUED)
    # "user" or "schedule": what started the job.
    trigger = CharField(default="user")
    created_by = ForeignKeyField(User, null=True, backref="jobs", on_delete="SET NULL")
    step = TextField(default="")
    counts = JSONField(default=dict)
    percent = IntegerField(default=0)
    message = TextField(default="")
    error = TextField(default="")
    attempts = IntegerField(default=0)
    # What the job was asked to do (e.g. a history start date), for the task to read.
    params = JSONField(default=dict)
    created_at = DateTimeField(default=utcnow, index=True)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    # Set when the job ended at a pause of Zoho's daily quota: it "succeeded" as far as it
    # went, and its work carries on after this time (services.jobs.pause).
    paused_until = DateTimeField(null=True)
    heartbeat_at = DateTimeField(null=True)
    # "host:pid:start" of the worker process running it, so a restarted worker can tell
    # the jobs of a dead one (see jobs.recovery).
    worker = CharField(default="")

    @classmethod
    def active_of_kind(cls, kind: str):
        active = [s for s in JobStatus if s.is_active]
        return cls.select().where(cls.kind == kind, cls.status.in_(active))

    @classmethod
    def latest_of_kind(cls, kind: str):
        return cls.select().where(cls.kind == kind).order_by(cls.id.desc())

    @property
    def is_active(self) -> bool:
        return self.status.is_active
