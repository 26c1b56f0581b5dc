"""The activity log: every connection change, refresh and settings change."""

from flask import Blueprint, render_template
from flask_login import login_required
from playhouse.flask_utils import PaginatedQuery

from models import AuditEvent

bp = Blueprint("audit", __name__, url_prefix="/activity")


@bp.get("/")
@login_required
def event_list():
    query = AuditEvent.select().order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    pages = PaginatedQuery(query, paginate_by=50)
    return render_template("audit/index.html", events=pages.get_object_list(), pages=pages)
