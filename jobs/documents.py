"""Tasks that read documents, and publish those whose supplier is set to auto-publish."""

import logging

from huey import crontab
from huey.exceptions import TaskLockedException

from jobs import runtime
from jobs.queue import huey
from jobs.writer import WaitingLock, run_as_zoho_writer, zoho_write
from models import Document, db, utcnow
from services import (
    audit,
    document_processing,
    publish_requests,
    publishing,
    settlement,
    zoho,
    zoho_quota,
)
from services.i18n import stored_message

log = logging.getLogger(__name__)


@huey.task(context=True)
def extract_documents(job_id: int, task=None) -> None:
    config = runtime.current()
    with db.connection_context():
        try:
            read = document_processing.run(config, job_id)
        except Exception:
            log.exception("document extraction job %s crashed", job_id)
            document_processing.crashed(job_id)
            raise
        wanted = [document.id for document in Document.select().where(Document.id.in_(read))
                  if document_processing.auto_publish_wanted(config, document)]
    for document_id in wanted:
        publish_automatically(document_id)


# Each write holds the lock seconds, but a refresh or a bulk publish holds it for its whole
# run: after the bounded wait of `zoho_write`, try again for about an hour.
LOCKED_RETRIES = 60


@huey.task()
def publish_automatically(document_id: int, attempt: int = 1) -> None:
    """Publish a ready document of a supplier set to auto-publish (see Supplier rules). On a
    day whose Zoho calls are spent it tries again after Zoho's reset."""
    config = runtime.current()
    with db.connection_context():
        try:
            with zoho_write():  # this document only
                document = Document.get_or_none(Document.id == document_id)
                if document is None or not document_processing.auto_publish_wanted(
                        config, document):
                    return
                settlement.publish(config, document, None)
        except TaskLockedException:
            if attempt < LOCKED_RETRIES:
                publish_automatically.schedule((document_id, attempt + 1), delay=60)
            else:
                Document.update(publish_error=stored_message(
                    "Not published automatically: Zoho Books was busy for an hour. Publish it "
                    "by hand.")).where(
                    Document.id == document_id).execute()
            return
        except publishing.ZohoDaySpent:
            publish_automatically.schedule((document_id, attempt), delay=_until_zohos_reset())
            return
        except publishing.NewSupplierNeedsConfirmation as ask:
            note = stored_message("Not published automatically: Zoho Books would get a new "
                                  "supplier, %(name)s. Publish it by hand to confirm.",
                                  name=ask.name)
            Document.update(publish_error=note).where(Document.id == document.id).execute()
        except (publishing.PublishProblem, zoho.ConnectError) as problem:
            audit.record("document.auto_publish_failed", actor="worker",
                         subject=document.filename, detail=str(problem), link=document)


def _until_zohos_reset() -> float:
    """Seconds until Zoho's daily calls come back (and a little more), after a 429 code 45.
    A delay, not a time: huey's clock and ours may differ (tests move ours)."""
    return max(60.0, (zoho_quota.day_spent().resumes_at - utcnow()).total_seconds())


@huey.periodic_task(crontab(minute="*"))
def extract_documents_left_waiting() -> None:
    """A safety net: documents that arrived as a job was finishing are read a minute later."""
    runtime.current()  # opens the database in a fresh worker (the startup hook does too)
    with db.connection_context():
        if not document_processing.waiting_documents().exists():
            return
        job, created = document_processing.request()
    if created:
        extract_documents(job.id)


# One bulk publish at a time; it takes the writer lock per document. A document waits for
# a refresh (which holds the lock for its run) or a write of a sync: retried for two hours.
PUBLISH_RUN_LOCK = WaitingLock("publish-documents", wait=0)


@huey.task(retries=120, retry_delay=60, context=True)
def publish_requested_documents(job_id: int, task=None) -> None:
    """Publish the documents a person asked for together (see services.publish_requests)."""
    run_as_zoho_writer(publish_requests, job_id, task, run_lock=PUBLISH_RUN_LOCK)


@huey.periodic_task(crontab(minute="*"))
def publish_requests_left_waiting() -> None:
    """A safety net: requested documents no job is working on get a new job; after a pause
    for Zoho's daily quota, the first tick past the reset starts it."""
    runtime.current()
    with db.connection_context():
        if not publish_requests.requested().exists() or publish_requests.paused_job():
            return
        job, created = publish_requests.carry_on()
    if created:
        publish_requested_documents(job.id)
