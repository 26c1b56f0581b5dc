"""Ticks of the unattended intake: the watched folder every minute, the mailbox every five.

Neither writes to Zoho, so no writer lock. A failure is logged (without secrets) and put in
the audit trail; it never stops the worker, and the next tick tries again.
"""

import datetime
import logging

from huey import crontab

from jobs import runtime
from jobs.documents import extract_documents
from jobs.queue import huey
from models import AuditEvent, db, utcnow
from services import alerts, audit, document_intake, document_processing, intake_status
from services.i18n import stored_message

log = logging.getLogger(__name__)

# The same failure (a wrong password, a host down) is recorded once an hour, not every tick.
REPEAT_FAILURE_AFTER = datetime.timedelta(hours=1)


@huey.periodic_task(crontab(minute="*"))
def take_in_folder() -> None:
    """Files dropped in the inbox folder become documents."""
    config = runtime.current()  # opens the database in a fresh worker
    with db.connection_context():
        try:
            report = document_intake.scan_folder(config)
        except Exception:
            log.exception("the inbox folder could not be read")
            reason = stored_message(
                "The inbox folder %(folder)s could not be read. Check that it exists and that "
                "Bookbridge may write to it; the worker log has the details.",
                folder=str(document_intake.inbox_dir(config)))
            _failed("intake.folder_failed", "folder", reason)
            intake_status.failed("folder", reason)
            return
        intake_status.checked("folder", report)
        job_id = _extract_if_added(report, "folder")
    if job_id:
        extract_documents(job_id)


@huey.periodic_task(crontab(minute="*/5"))
def take_in_mail() -> None:
    """Attachments of unread mail become documents."""
    config = runtime.current()
    if not config.get("IMAP_HOST"):
        return
    with db.connection_context():
        try:
            report = document_intake.read_mailbox(config)
        except document_intake.MailboxError as error:
            log.warning("the mailbox was not read to the end: %s", error.reason)
            _failed("intake.mail_failed", "mail", error.reason)
            intake_status.failed("mail", error.reason, error.report)
            report = error.report  # what was stored before the failure is read anyway
        except Exception:
            log.exception("reading the mailbox failed unexpectedly")
            reason = stored_message(
                "An unexpected error stopped reading the mailbox; unread mail stays unread and "
                "is read again next time. The worker log has the details.")
            _failed("intake.mail_failed", "mail", reason)
            intake_status.failed("mail", reason)
            return
        else:
            intake_status.checked("mail", report)
        job_id = _extract_if_added(report, "mail")
    if job_id:
        extract_documents(job_id)


def _extract_if_added(report: document_intake.IntakeReport, source: str) -> int | None:
    """The id of a newly queued extraction job when documents were added, else None."""
    for reason in report.rejected:
        log.info("%s intake refused a file: %s", source, reason)
    if report.rejected:
        alerts.files_rejected(runtime.current(), source)
    if not report.added:
        return None
    log.info("%s intake added %s document(s)", source, report.added)
    job, created = document_processing.request()
    return job.id if created else None


def _failed(action: str, actor: str, reason: str) -> None:
    recent = AuditEvent.select().where(
        AuditEvent.action == action, AuditEvent.detail == reason,
        AuditEvent.at > utcnow() - REPEAT_FAILURE_AFTER)
    if not recent.exists():
        audit.record(action, actor=actor, detail=reason)
