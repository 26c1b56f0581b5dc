"""Publishing a selection of documents as a stored request, not inside the web request.

"Publish" on several documents saves the request on each document before the job is
queued; the job publishes them one at a time under the Zoho writer lock and clears each
request once that document is settled. A worker killed half-way leaves the rest requested:
the restarted worker takes the job over (jobs.recovery), and the minute tick starts a new
run for requests no job is working on. A document caught mid-publish is looked up in Zoho
before anything is sent again (services.publishing).

When Zoho answers that the organisation's calls for the day are spent (429 code 45), the
run pauses there: the documents left stay requested, not failed, and the minute tick starts
the next run after Zoho's reset. Bulk publishing does not stop at the daily reserve: the
reserve is kept for people publishing (services.zoho_quota).
"""

from models import Document, DocumentStatus, Job, db, utcnow
from services import audit, jobs, publishing, settlement, zoho, zoho_quota
from services.i18n import stored_message, stored_plural_message

KIND = "publish_documents"


class TryAgainLater(Exception):
    """Never raised: each document's failure is recorded on it (for run_as_zoho_writer)."""


def request(document_ids: list[int], user) -> tuple[Job, bool, int]:
    """Save the request on the documents that can be published; returns (job, created,
    how many were added to the queue)."""
    with db.atomic():
        added = (Document.update(publish_requested_at=utcnow(), publish_requested_by=user,
                                 publish_error="")
                 .where(Document.id.in_(document_ids),
                        Document.status.in_(publishing.PUBLISHABLE),
                        Document.publish_requested_at.is_null())
                 .execute())
        paused = paused_job()
        if paused is not None:  # queued behind the pause: its banner says until when
            job, created = paused, False
        else:
            job, created = jobs.start(KIND, user=user, trigger="bulk")
    audit.record("document.publish_requested", user=user, after={"documents": added})
    return job, created, added


def carry_on() -> tuple[Job, bool]:
    """A job for requests left over (their job gave up or its worker died elsewhere)."""
    return jobs.start(KIND, trigger="schedule")


def paused_job() -> Job | None:
    """The last run, while it is paused until Zoho's reset (then no new run starts)."""
    latest = jobs.latest(KIND)
    if latest is None or latest.is_active or latest.paused_until is None:
        return None
    return latest if latest.paused_until > utcnow() else None


def requested():
    return (Document.select().where(Document.publish_requested_at.is_null(False))
            .order_by(Document.publish_requested_at, Document.id))


def run(config, job_id: int, *, zoho_write, retries_left: int = 0) -> None:
    """Publish every requested document, one at a time, holding the Zoho writer lock
    (`zoho_write`) for each document only, so a sync's writes can go between them."""
    job = Job.get_by_id(job_id)
    if not job.is_active:
        return
    jobs.begin(job)
    published, problems = 0, 0
    while (document := requested().first()) is not None:
        left = requested().count()
        jobs.progress(job, stored_message("Publishing %(file)s (%(left)s left)",
                                          file=document.filename or document.id, left=left),
                      counts={"published": published, "problems": problems})
        try:
            with zoho_write():
                # Read again under the lock: an auto-publish or a person may have published
                # it since (they resume at the same reset); the copy above is only for the
                # banner.
                ok = _publish_one(config, Document.get_by_id(document.id))
        except publishing.ZohoDaySpent:
            _pause(job, published, left)
            return
        if ok:
            published += 1
        else:
            problems += 1
    message = stored_plural_message("%(num)s document published.", "%(num)s documents published.",
                                    published)
    if problems:
        # One message with both counts, never two glued together.
        message = stored_plural_message(
            "%(published)s %(num)s could not be: it says why in the inbox (filter: failed, or "
            "open the document).",
            "%(published)s %(num)s could not be: each says why in the inbox (filter: failed, "
            "or open the document).", problems, published=message)
    jobs.succeed(job, message)


def _pause(job: Job, published: int, left: int) -> None:
    """Zoho's calls for the day are spent: stop with the rest still requested, and let the
    minute tick start the next run after the reset (see `paused_job`)."""
    pause = zoho_quota.day_spent()
    zoho_quota.note_pause(pause)  # the admins' alert, once per pause
    done = stored_plural_message("%(num)s document published.",
                                 "%(num)s documents published.", published)
    message = stored_plural_message(
        "%(done)s Zoho's daily API calls are all spent (other apps connected to the "
        "organisation spend them too): the %(num)s document left is published after the "
        "reset, in %(wait)s.",
        "%(done)s Zoho's daily API calls are all spent (other apps connected to the "
        "organisation spend them too): the %(num)s documents left are published after the "
        "reset, in %(wait)s.", left, done=done, wait=zoho_quota.wait_text(
            pause.resumes_at - utcnow()))
    jobs.pause(job, message, pause.resumes_at)
    audit.record("document.publish_paused", actor="worker", subject=job.trigger,
                 detail=message)


def _publish_one(config, document: Document) -> bool:
    """Publish and clear the request; False (with the reason on the document) otherwise.
    Raises publishing.ZohoDaySpent with the request kept.

    A document already published was published by a run killed before it cleared the
    request: it counts as published, not as a problem."""
    problem = ""
    try:
        if document.status != DocumentStatus.PUBLISHED:
            settlement.publish(config, document, document.publish_requested_by)
    except publishing.ZohoDaySpent:
        raise
    except publishing.NewSupplierNeedsConfirmation as ask:
        problem = stored_message("Not published: Zoho Books would get a new supplier, "
                                 "%(name)s. Open the document to confirm it.", name=ask.name)
    except (publishing.PublishProblem, zoho.ConnectError) as error:
        problem = str(error)
    fields = {"publish_requested_at": None, "publish_requested_by": None}
    if problem:
        fields["publish_error"] = problem
    Document.update(**fields).where(Document.id == document.id).execute()
    return not problem


def crashed(job_id: int) -> None:
    job = Job.get_by_id(job_id)
    if job.is_active:
        jobs.fail(job, stored_message(
            "An unexpected error stopped publishing. The documents not published yet are still "
            "queued and the next run carries on; the worker log has the details."))
