"""Tasks that read documents (no Zoho writes, so no writer lock)."""

import logging

from huey import crontab

from jobs import runtime
from jobs.queue import huey
from models import db
from services import document_processing

log = logging.getLogger(__name__)


@huey.task(context=True)
def extract_documents(job_id: int, task=None) -> None:
    config = runtime.current()
    with db.connection_context():
        try:
            document_processing.run(config, job_id)
        except Exception:
            log.exception("document extraction job %s crashed", job_id)
            document_processing.crashed(job_id)
            raise


@huey.periodic_task(crontab(minute="*"))
def extract_documents_left_waiting() -> None:
    """A safety net: documents that arrived as a job was finishing are read a minute later."""
    with db.connection_context():
        if not document_processing.waiting_documents().exists():
            return
        job, created = document_processing.request()
    if created:
        extract_documents(job.id)
