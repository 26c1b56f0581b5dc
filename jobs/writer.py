"""Writing to Zoho: one write at a time per connection, one run at a time per kind of job,
failures on the job's row.

The writer lock serialises writes to one Zoho connection (refresh, sync, publish). A long
run does not hold it from start to end: a bank sync takes it for each write (a statement
import, a categorisation, a receipt upload) and publishing for each document, so a person
can publish while a two-year history import runs. Order and exactly-once within a run are
kept by the run's own lock (one bank sync at a time) and the ledgers (PushBatch,
ReceiptUpload, Document.publish_state), not by the writer lock.
"""

import contextlib
import logging
import threading
import time
import uuid

from huey.exceptions import TaskLockedException

from jobs import runtime
from jobs.leases import Lease
from models import Job, JobStatus, db
from services import jobs
from services.i18n import stored_message

log = logging.getLogger(__name__)


class WaitingLock:
    """A lock, shared by every process through the queue's storage, that when busy waits a
    bounded time for its turn before giving up.

    A bank sync takes the writer lock for each write and takes it again a few milliseconds
    later, so a waiter polling now and then would almost never find it free. The first
    waiter therefore claims the next turn (a second lease): others leave the free lock to
    it. Both are leases (jobs/leases.py): renewed while their holder lives, they lapse
    within LOCK_TTL seconds of a holder killed with -9, at once if it was on this machine.
    """

    POLL_SECONDS = 0.05

    def __init__(self, name: str, wait: float):
        self.name = name
        self.lock = Lease(name)
        self.next_turn = Lease(f"{name}.next")
        self.wait = wait
        self._mine = threading.local()  # the token of this thread's hold

    def acquire(self, wait: float | None = None, on_wait=None) -> None:
        """Take the lock, waiting up to `wait` seconds (polling); `on_wait()` is called
        once if it was busy (to say so on a job's banner). Raises TaskLockedException."""
        deadline = time.monotonic() + (self.wait if wait is None else wait)
        token = uuid.uuid4().hex
        claimed = False
        try:
            while True:
                turn = self.next_turn.holder_token()
                if (turn is None or turn == token) and self.lock.take(token):
                    self._mine.token = token
                    return
                if time.monotonic() >= deadline:
                    raise TaskLockedException(stored_message("unable to acquire lock %(name)s",
                                                             name=self.name))
                if not claimed:
                    claimed = self.next_turn.take(token)
                if on_wait:
                    on_wait()
                    on_wait = None
                time.sleep(self.POLL_SECONDS)
        finally:
            if claimed:
                self.next_turn.give_back(token)  # our turn came, or we gave up waiting

    def release(self) -> None:
        token = getattr(self._mine, "token", None)
        if token is not None:
            self._mine.token = None
            self.lock.give_back(token)

    def is_locked(self) -> bool:
        return self.lock.is_held()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc_info):
        self.release()

    @contextlib.contextmanager
    def held(self, wait: float | None = None, on_wait=None):
        self.acquire(wait, on_wait)
        try:
            yield
        finally:
            self.release()


# One writer per Zoho connection. `with WRITER_LOCK:` waits WEB_WAIT_SECONDS (a request: a
# person is watching); a job's write waits JOB_WAIT_SECONDS (see `zoho_write`).
ZOHO_WRITER_LOCK = "zoho-connection"
WEB_WAIT_SECONDS = 15
JOB_WAIT_SECONDS = 120
WRITER_LOCK = WaitingLock(ZOHO_WRITER_LOCK, wait=WEB_WAIT_SECONDS)


def zoho_write(on_wait=None):
    """Hold the writer lock for one Zoho write (or one batch) of a job: waits up to
    JOB_WAIT_SECONDS for another write to end, then raises TaskLockedException."""
    return WRITER_LOCK.held(JOB_WAIT_SECONDS, on_wait)


def run_as_zoho_writer(service, job_id: int, task, run_lock: WaitingLock | None = None) -> None:
    """Run `service.run(config, job_id, retries_left=…)` as a Zoho writer.

    Without `run_lock`, the writer lock is held for the whole run (the list refresh: short,
    and its pages should not interleave with a publish creating a contact). With it, only
    `run_lock` is held for the run, and the service takes the writer lock per write through
    the `zoho_write` it is given.

    `service` is a module with `run`, `crashed`, `KIND` and a `TryAgainLater` exception:
    passing failures re-raise it so Huey retries later; anything unexpected is logged and
    recorded on the job, so its banner stops instead of spinning.
    """
    config = runtime.current()
    retries_left = task.retries if task else 0
    with db.connection_context():
        try:
            if run_lock is None:
                with zoho_write():
                    service.run(config, job_id, retries_left=retries_left)
            else:
                with run_lock.held(wait=0):
                    service.run(config, job_id, retries_left=retries_left,
                                zoho_write=zoho_write)
        except TaskLockedException:
            job = Job.get_by_id(job_id)
            # Running means another worker runs this very job (a task queued twice: a
            # restarted worker's resume, a retry): its banner must not say "waiting".
            if job.status is not JobStatus.RUNNING:
                jobs.waiting(job, stored_message("Another job is writing to Zoho Books; this "
                                                 "one starts when it ends."))
            raise  # Huey retries after retry_delay
        except service.TryAgainLater:
            raise  # Huey schedules the retry; the banner already says when.
        except Exception:
            log.exception("%s job %s crashed", service.KIND, job_id)
            service.crashed(job_id)
            raise
