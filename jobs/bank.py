"""Tasks of the Qonto bank feed: the sync itself and the tick that starts the daily one."""

import logging

from huey import crontab

from jobs import runtime
from jobs.lists import ZOHO_WRITER_LOCK
from jobs.queue import huey
from models import QontoConnection, ZohoConnection, db, utcnow
from services import bank_sync

log = logging.getLogger(__name__)


@huey.task(retries=3, retry_delay=60, context=True)
def sync_bank(job_id: int, task=None) -> None:
    config = runtime.current()
    with db.connection_context(), huey.lock_task(ZOHO_WRITER_LOCK):
        try:
            bank_sync.run(config, job_id, retries_left=task.retries if task else 0)
        except bank_sync.TryAgainLater:
            raise  # Huey schedules the retry; the banner already says when.
        except Exception:
            log.exception("bank sync job %s crashed", job_id)
            bank_sync.crashed(job_id)
            raise


@huey.periodic_task(crontab(minute="*"))
def sync_bank_when_due() -> None:
    """Start the daily sync once its time (20:30 by default, organisation time) has come."""
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
