"""Tasks of the Qonto bank feed: the sync itself and the tick that starts the daily one."""

import logging

from huey import crontab

from jobs import runtime
from jobs.queue import huey
from jobs.writer import WaitingLock, run_as_zoho_writer
from models import QontoConnection, ZohoConnection, db, utcnow
from services import bank_sync

log = logging.getLogger(__name__)

# One bank sync at a time (its pages, cursors and ledger batches follow each other); the
# Zoho writer lock is taken per write inside the run, so publishing goes on meanwhile.
BANK_RUN_LOCK = WaitingLock("bank-sync", wait=0)


@huey.task(retries=3, retry_delay=60, context=True)
def sync_bank(job_id: int, task=None) -> None:
    run_as_zoho_writer(bank_sync, job_id, task, run_lock=BANK_RUN_LOCK)


@huey.periodic_task(crontab(minute="*"))
def sync_bank_when_due() -> None:
    """Start the daily sync once its time (20:30 by default, organisation time) has come,
    and the follow-up a run booked when it left work to do."""
    runtime.current()  # opens the database in a fresh worker
    with db.connection_context():
        connection = QontoConnection.current()
        if not connection.is_connected or not ZohoConnection.current().is_connected:
            return
        now = utcnow()
        if connection.follow_up_at and connection.follow_up_at <= now:
            trigger = "follow-up"  # booked by a run that left work to do
        elif connection.next_sync_at and connection.next_sync_at <= now:
            trigger = "schedule"
        else:
            return
        job, created = bank_sync.request(trigger)
    if created:
        log.info("%s bank sync queued as job %s", trigger, job.id)
        sync_bank(job.id)
