"""Starting background jobs once, and recording their progress on the Job row."""

import datetime
import os
import socket

from models import Job, JobStatus, db, utcnow
from services.i18n import stored_message

# A job whose worker has not written for this long is taken as dead (killed worker), when
# no restarted worker has said so sooner (see `interrupted_jobs`).
STALE_AFTER = datetime.timedelta(minutes=5)
ACTIVE = [status for status in JobStatus if status.is_active]
_started_at: dict[int, int] = {}


def this_worker() -> str:
    """"host:pid:start" of this process: unique even when a container reuses its pid."""
    pid = os.getpid()
    started = _started_at.setdefault(pid, int(utcnow().timestamp() * 1000))
    return f"{socket.gethostname()}:{pid}:{started}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def interrupted_jobs() -> list[Job]:
    """Active jobs whose worker process, on this machine, is gone (killed or restarted).

    Workers elsewhere are not judged here: their jobs wait for STALE_AFTER.
    """
    host, me = socket.gethostname(), this_worker()
    my_pid = os.getpid()
    found = []
    for job in Job.select().where(Job.status.in_(ACTIVE), Job.worker != ""):
        worker_host, _, rest = job.worker.partition(":")
        if worker_host != host or job.worker == me:
            continue
        try:
            pid = int(rest.partition(":")[0])
        except ValueError:
            continue
        if pid == my_pid or not _process_alive(pid):  # our pid, reused: the old one died
            found.append(job)
    return found


def take_over(job: Job) -> bool:
    """Claim a dead worker's job for this one, to run it again; False if another thread
    of this worker claimed it first."""
    claimed = Job.update(
        worker=this_worker(), status=JobStatus.QUEUED, heartbeat_at=utcnow(),
        step=stored_message("Resuming: the worker stopped during this job and was restarted"),
        message="").where(Job.id == job.id, Job.worker == job.worker).execute()
    return claimed == 1


def active_job(kind: str) -> Job | None:
    """The job of this kind still under way, after failing any that a dead worker left."""
    for job in Job.active_of_kind(kind):
        last_sign_of_life = job.heartbeat_at or job.started_at or job.created_at
        if utcnow() - last_sign_of_life > STALE_AFTER:
            fail(job, stored_message("The worker stopped during this job. Nothing was lost; "
                                     "start it again."))
            continue
        return job
    return None


def start(kind: str, *, user=None, trigger: str = "user", params=None) -> tuple[Job, bool]:
    """Create a queued job unless one of this kind is under way; returns (job, created)."""
    with db.atomic():
        running = active_job(kind)
        if running:
            return running, False
        job = Job.create(kind=kind, created_by=user, trigger=trigger, params=params or {},
                         step=stored_message("Waiting for the worker"))
        return job, True


def latest(kind: str) -> Job | None:
    return Job.latest_of_kind(kind).first()


def _update(job: Job, **fields) -> None:
    fields["heartbeat_at"] = utcnow()
    for name, value in fields.items():
        setattr(job, name, value)
    Job.update(**fields).where(Job.id == job.id).execute()


def begin(job: Job) -> None:
    _update(job, status=JobStatus.RUNNING, started_at=job.started_at or utcnow(),
            attempts=job.attempts + 1, message="", error="", worker=this_worker())


def progress(job: Job, step: str, *, counts=None, percent=None) -> None:
    """`step` is shown later in the banner, to whoever looks: a stored message."""
    fields = {"step": step, "status": JobStatus.RUNNING, "message": ""}
    if counts is not None:
        fields["counts"] = counts
    if percent is not None:
        fields["percent"] = percent
    _update(job, **fields)


def waiting(job: Job, message: str) -> None:
    """The job is alive but paused (quota, a retry); the banner says why (`message`: a
    stored message, services.i18n)."""
    _update(job, status=JobStatus.WAITING, message=message)


def succeed(job: Job, message: str) -> None:
    """`message` is the outcome the banner shows after its heading ("Sync complete."): a
    stored message saying what was done, not repeating the heading."""
    _update(job, status=JobStatus.SUCCEEDED, percent=100, message=message, error="",
            finished_at=utcnow())


def pause(job: Job, message: str, until: datetime.datetime) -> None:
    """The job stopped at a clean point for Zoho's daily quota: ended, not failed, and its
    work carries on after `until`. The banner shows `message` (a stored message saying why
    and when) after "Paused:"."""
    _update(job, status=JobStatus.SUCCEEDED, message=message, error="", finished_at=utcnow(),
            paused_until=until)


def fail(job: Job, error: str) -> None:
    """`error`: a stored message, shown after the banner's "… failed." heading."""
    _update(job, status=JobStatus.FAILED, error=error, finished_at=utcnow())
