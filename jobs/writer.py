"""Running a job that writes to Zoho: one at a time per connection, failures on its row."""

import logging

from huey.exceptions import TaskLockedException

from jobs import runtime
from jobs.queue import huey
from models import Job, db
from services import jobs

log = logging.getLogger(__name__)

# One writer per Zoho connection: refresh, sync and publish share this lock. Created at
# import so the consumer knows its name: started with -f (flush locks), it clears a lock
# a killed worker left behind.
ZOHO_WRITER_LOCK = "zoho-connection"
WRITER_LOCK = huey.lock_task(ZOHO_WRITER_LOCK)


def run_as_zoho_writer(service, job_id: int, task) -> None:
    """Run `service.run(config, job_id, retries_left=…)` under the writer lock.

    `service` is a module with `run`, `crashed`, `KIND` and a `TryAgainLater` exception:
    passing failures re-raise it so Huey retries later; anything unexpected is logged and
    recorded on the job, so its banner stops instead of spinning.
    """
    config = runtime.current()
    with db.connection_context():
        try:
            with WRITER_LOCK:
                service.run(config, job_id, retries_left=task.retries if task else 0)
        except TaskLockedException:
            jobs.waiting(Job.get_by_id(job_id), "Another job is writing to Zoho Books; this "
                                                "one starts when it ends.")
            raise  # Huey retries after retry_delay
        except service.TryAgainLater:
            raise  # Huey schedules the retry; the banner already says when.
        except Exception:
            log.exception("%s job %s crashed", service.KIND, job_id)
            service.crashed(job_id)
            raise
