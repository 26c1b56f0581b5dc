"""Tasks that refresh the lists cached from Zoho Books."""

import logging

from huey import crontab

from jobs import runtime
from jobs.queue import huey
from models import db
from services import list_refresh

log = logging.getLogger(__name__)

# One writer per Zoho connection: refresh, sync and publish share this lock name.
ZOHO_WRITER_LOCK = "zoho-connection"


@huey.task(retries=3, retry_delay=60, context=True)
def refresh_lists(job_id: int, task=None) -> None:
    config = runtime.current()
    with db.connection_context(), huey.lock_task(ZOHO_WRITER_LOCK):
        try:
            list_refresh.run(config, job_id, retries_left=task.retries if task else 0)
        except list_refresh.TryAgainLater:
            raise  # Huey schedules the retry; the banner already says when.
        except Exception:
            log.exception("list refresh job %s crashed", job_id)
            list_refresh.crashed(job_id)
            raise


@huey.periodic_task(crontab(minute="*/15"))
def refresh_lists_when_due() -> None:
    """Refresh by itself every 48 hours (LIST_REFRESH_HOURS)."""
    config = runtime.current()
    with db.connection_context():
        if not list_refresh.is_due(config):
            return
        job, created = list_refresh.request(trigger="schedule")
    if created:
        log.info("scheduled list refresh queued as job %s", job.id)
        refresh_lists(job.id)
