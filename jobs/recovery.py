"""What a starting worker does before taking tasks: open the database, then take over the
jobs a dead worker left "running" and run them again.

Huey calls startup hooks in every worker thread before it takes its first task, so no
task (a periodic one included) can find the database unopened; `jobs.take_over` claims
each job once, however many threads start.
"""

import logging

from jobs import runtime
from jobs.bank import sync_bank
from jobs.documents import extract_documents, publish_requested_documents
from jobs.lists import refresh_lists
from jobs.queue import huey
from models import SyncRun, db
from services import bank_sync, document_processing, jobs, list_refresh, publish_requests
from services.i18n import stored_message

log = logging.getLogger(__name__)

RESUME = {
    bank_sync.KIND: sync_bank,
    list_refresh.KIND: refresh_lists,
    document_processing.KIND: extract_documents,
    publish_requests.KIND: publish_requested_documents,
}


@huey.on_startup()
def resume_interrupted_jobs() -> None:
    runtime.current()
    with db.connection_context():
        for job in jobs.interrupted_jobs():
            task = RESUME.get(job.kind)
            if task is None or not jobs.take_over(job):
                continue
            log.warning("job %s (%s) was left by a worker that stopped; running it again",
                        job.id, job.kind)
            (SyncRun.update(status="interrupted",
                            error=stored_message(
                                "The worker stopped during this run (killed or restarted); it "
                                "was started again at once and carried on."))
             .where(SyncRun.job == job, SyncRun.status == "running").execute())
            task(job.id)
