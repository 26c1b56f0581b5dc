"""Progress banners of background jobs, polled by HTMX."""

from flask import Blueprint, render_template
from flask_htmx import make_response as htmx_response
from flask_login import login_required
from playhouse.flask_utils import get_object_or_404

from extensions import htmx
from models import Job

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.get("/<int:job_id>")
@login_required
def job_status(job_id):
    return job_banner(get_object_or_404(Job, Job.id == job_id))


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
