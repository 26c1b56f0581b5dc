"""The Intake page (admins): the watched folder and the mailbox, what they last did, and
"Check now"."""

from flask import Blueprint, abort, current_app, flash, render_template
from flask_babel import gettext as _
from flask_login import current_user

from jobs.intake import take_in_folder, take_in_mail
from services import intake_status
from views.helpers import admin_required, see_other

bp = Blueprint("intake", __name__, url_prefix="/intake")


@bp.get("/")
@admin_required
def overview():
    return render_template("intake/index.html",
                           sources=intake_status.overview(current_app.config))


@bp.post("/<source>/check")
@admin_required
def check_now(source: str):
    views = {view.name: view for view in intake_status.overview(current_app.config)}
    if source not in views:
        abort(404)
    if not views[source].configured:
        abort(409)
    intake_status.request_check(source, current_user)
    (take_in_folder if source == "folder" else take_in_mail)()
    flash(_("%(source)s: checking now. This page shows the result once the worker has looked "
            "(usually within seconds).", source=views[source].title), category="success")
    return see_other("intake.overview")
