"""Tasks that refresh the lists cached from Zoho Books."""

import logging

from huey import crontab

from jobs import runtime
from jobs.queue import huey
from jobs.writer import run_as_zoho_writer
from models import db
from services import list_refresh

log = logging.getLogger(__name__)


@huey.task(retries=3, retry_delay=60, context=True)
def refresh_lists(job_id: int, task=None) -> None:
    run_as_zoho_writer(list_refresh, job_id, task)


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
