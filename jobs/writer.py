"""Running a job that writes to Zoho: one at a time per connection, failures on its row."""

import logging

from jobs import runtime
from jobs.queue import huey
from models import db

log = logging.getLogger(__name__)

# One writer per Zoho connection: refresh, sync and publish share this lock name.
ZOHO_WRITER_LOCK = "zoho-connection"


def run_as_zoho_writer(service, job_id: int, task) -> None:
    """Run `service.run(config, job_id, retries_left=…)` under the writer lock.

    `service` is a module with `run`, `crashed` and a `TryAgainLater` exception: passing
    failures re-raise it so Huey retries later; anything unexpected is logged and recorded
    on the job, so its banner stops instead of spinning.
    """
    config = runtime.current()
    with db.connection_context(), huey.lock_task(ZOHO_WRITER_LOCK):
        try:
            service.run(config, job_id, retries_left=task.retries if task else 0)
        except service.TryAgainLater:
            raise  # Huey schedules the retry; the banner already says when.
        except Exception:
            log.exception("%s job %s crashed", service.KIND, job_id)
            service.crashed(job_id)
            raise
