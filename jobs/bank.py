"""Tasks of the Qonto bank feed: the sync itself and the tick that starts the daily one."""

import logging

from huey import crontab

from jobs import runtime
from jobs.queue import huey
from jobs.writer import run_as_zoho_writer
from models import QontoConnection, ZohoConnection, db, utcnow
from services import bank_sync

log = logging.getLogger(__name__)


@huey.task(retries=3, retry_delay=60, context=True)
def sync_bank(job_id: int, task=None) -> None:
    run_as_zoho_writer(bank_sync, job_id, task)


@huey.periodic_task(crontab(minute="*"))
def sync_bank_when_due() -> None:
    """Start the daily sync once its time (20:30 by default, organisation time) has come."""
    runtime.current()  # opens the database in a fresh worker
    with db.connection_context():
        connection = QontoConnection.current()
        if not connection.is_connected or not ZohoConnection.current().is_connected:
            return
        if connection.next_sync_at is None or connection.next_sync_at > utcnow():
            return
        job, created = bank_sync.request("schedule")
    if created:
        log.info("daily bank sync queued as job %s", job.id)
        sync_bank(job.id)
