"""The activity log: every change, run, publish, rule firing and decision; exportable."""

import csv
import datetime
import io
import json

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_login import login_required

from models import AuditEvent
from views.helpers import paginate

bp = Blueprint("audit", __name__, url_prefix="/activity")

AREAS = [("", "Everything"), ("document", "Documents"), ("bank", "Bank feed"),
         ("rule", "Bank rules"), ("supplier", "Supplier rules"), ("zoho", "Zoho connection"),
         ("qonto", "Qonto connection"), ("lists", "List refreshes"),
         ("settings", "Settings"), ("user", "Users")]
CSV_COLUMNS = ("at_utc", "actor", "action", "subject", "zoho_id", "before", "after", "detail")


def _day(value: str | None) -> datetime.date | None:
    """A filter day; not a date, or outside 1900-2100 (no events there), means no filter."""
    try:
        day = datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    # 9999-12-31 would overflow when the filter adds a day to it.
    return day if day and 1900 <= day.year <= 2100 else None


def filtered():
    """The events matching the page's filters (area, who, period), newest first."""
    query = AuditEvent.select().order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    area = request.args.get("area", "")
    if area in dict(AREAS) and area:
        query = query.where(AuditEvent.action.startswith(area + "."))
    who = request.args.get("who", "").strip()
    if who:
        query = query.where(AuditEvent.actor.contains(who))
    start, end = _day(request.args.get("from")), _day(request.args.get("to"))
    if start:
        query = query.where(AuditEvent.at >= datetime.datetime.combine(start, datetime.time()))
    if end:
        query = query.where(AuditEvent.at < datetime.datetime.combine(
            end + datetime.timedelta(days=1), datetime.time()))
    return query


@bp.get("/")
@login_required
def event_list():
    pages = paginate(filtered(), paginate_by=50)
    return render_template("audit/index.html", events=pages.get_object_list(), pages=pages,
                           areas=AREAS, args=request.args)


@bp.get("/export.csv")
@login_required
def event_export():
    """The filtered events as CSV, streamed (a long period never sits in memory)."""

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for event in filtered().iterator():
            writer.writerow([_cell(value) for value in (
                event.at.isoformat(), event.actor, event.action, event.subject,
                event.zoho_id or "", _json(event.before), _json(event.after), event.detail)])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    days = (_day(request.args.get("from")), _day(request.args.get("to")))
    period = "-".join(day.isoformat() for day in days if day)
    name = f"bookbridge-activity{'-' + period if period else ''}.csv"
    return Response(stream_with_context(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _cell(value: str) -> str:
    """Text a spreadsheet will not run as a formula (mail senders reach the audit)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _json(value) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
