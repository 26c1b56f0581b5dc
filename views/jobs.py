"""Progress banners of background jobs, polled by HTMX, and their dismissal."""

import datetime
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_htmx import make_response as htmx_response
from flask_login import login_required
from flask_wtf import FlaskForm
from playhouse.flask_utils import get_object_or_404

from extensions import htmx
from models import Job, JobStatus, ZohoConnection, utcnow
from services import i18n, lists

# Before messages were stored, a paused job's English message began "Paused: ", which the
# banner now says itself.
OLD_PAUSE_PREFIX = "Paused: "

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

# A finished banner says what happened just now; after this long the page's own facts
# (counts, last sync) say it better, and an old "Refresh complete" would only contradict them.
SUCCEEDED_SHOWN_FOR = datetime.timedelta(minutes=10)
FAILED_SHOWN_FOR = datetime.timedelta(hours=24)
DISMISSED_KEY = "dismissed_jobs"
DISMISSED_KEPT = 30  # the last dismissed job ids remembered in the session


@bp.get("/<int:job_id>")
@login_required
def job_status(job_id):
    return job_banner(get_object_or_404(Job, Job.id == job_id))


@bp.post("/<int:job_id>/dismiss")
@login_required
def job_dismiss(job_id):
    """Hide a finished job's banner for this person (remembered in their session)."""
    job = get_object_or_404(Job, Job.id == job_id)
    if not FlaskForm().validate_on_submit():
        return redirect(_back_to(job), code=303)
    if not job.is_active:
        dismissed = [i for i in session.get(DISMISSED_KEY, []) if i != job.id]
        session[DISMISSED_KEY] = [*dismissed, job.id][-DISMISSED_KEPT:]
    if htmx:
        return ""  # the banner swaps itself for nothing
    return redirect(_back_to(job), code=303)


def _back_to(job: Job) -> str:
    """The page the banner was on (only this site's), else the job's own page."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    if job.kind in ("refresh_lists", "bank_sync"):
        return url_for("connections.index")
    return url_for("documents.inbox")


def banner_hidden(job: Job | None, fixed_at: datetime.datetime | None = None) -> bool:
    """Whether a job's banner no longer belongs on the page: dismissed, a success older
    than SUCCEEDED_SHOWN_FOR (a pause once it is over), a failure older than
    FAILED_SHOWN_FOR or older than `fixed_at` (the moment its cause was dealt with, like
    reconnecting)."""
    if job is None:
        return True
    if job.is_active or job.finished_at is None:
        return False
    if job.id in session.get(DISMISSED_KEY, []):
        return True
    if job.paused_until is not None and job.paused_until > utcnow():
        return False  # still paused: the banner says until when
    age = utcnow() - job.finished_at
    if job.status is JobStatus.FAILED:
        return age > FAILED_SHOWN_FOR or bool(fixed_at and job.finished_at < fixed_at)
    return age > SUCCEEDED_SHOWN_FOR


def shown(job: Job | None, fixed_at: datetime.datetime | None = None) -> Job | None:
    """The job if its banner still belongs on the page, else None."""
    return None if banner_hidden(job, fixed_at) else job


@bp.app_context_processor
def _banner_helpers() -> dict:
    return {"job_banner_hidden": banner_hidden, "refresh_count_rows": refresh_count_rows,
            "count_phrase": lists.count_phrase, "list_label": lists.list_label,
            "job_paused": job_paused, "job_outcome": job_outcome, "in_words": i18n.in_words}


def job_paused(job: Job) -> bool:
    """A job stopped by Zoho's daily quota (services.jobs.pause): its message is shown after
    "Paused:"."""
    return job.status is JobStatus.SUCCEEDED and job.paused_until is not None


def job_outcome(job: Job) -> str:
    """What a finished job says after its banner's heading ("Sync complete."): its stored
    message whole. A message kept before messages were stored (plain English) still has
    the heading or "Paused: " in front, which the banner already says: that is cut off."""
    message = job.message or ""
    if i18n.is_stored(message):
        return message
    if message.startswith(OLD_PAUSE_PREFIX):
        return message[len(OLD_PAUSE_PREFIX):]
    return message.split(": ", 1)[-1]


def refresh_count_rows(job: Job) -> list[dict]:
    """A finished refresh's lines: each list's count as the Connections card says it (one
    source: the connection's list_counts), with what this refresh found new or gone."""
    counts = lists.cached_counts(ZohoConnection.current())
    rows = []
    for cached in lists.CACHED_LISTS:
        found = (job.counts or {}).get(cached.key, {})
        rows.append({"label": cached.label, "count": counts.get(cached.label, 0),
                     "new": found.get("new", 0), "removed": found.get("removed", 0)})
    return rows


def job_banner(job: Job, just_clicked: bool = False, notice: str = ""):
    """The banner; once the job has ended, tell the page to reload its cards.

    `just_clicked`: the click found this job already running; `notice` says what that
    means for what was asked.
    """
    html = render_template("jobs/_banner.html", job=job, just_clicked=just_clicked,
                           notice=notice)
    if job.is_active or not htmx:
        return html
    return htmx_response(html, trigger_after_settle={"job-finished": job.id})

