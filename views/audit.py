"""The activity log: every change, run, publish, rule firing and decision; exportable."""

import csv
import datetime
import io
import json

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from models import AuditEvent
from services import activity, i18n
from services.spreadsheet import safe_cell
from views.helpers import keyset_page, older_than

bp = Blueprint("audit", __name__, url_prefix="/activity")

AREAS = [("", _l("Everything")), ("document", _l("Documents")), ("bank", _l("Bank feed")),
         ("rule", _l("Bank rules")), ("supplier_rule", _l("Supplier rules")),
         ("zoho", _l("Zoho connection")), ("qonto", _l("Qonto connection")),
         ("lists", _l("List refreshes")), ("match", _l("Bank matches")),
         ("settings", _l("Settings")), ("user", _l("Users"))]
FILTER_NAMES = ("area", "who", "from", "to")
EXPORT_BATCH = 500
EXPORTED = (AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.subject,
            AuditEvent.zoho_id, AuditEvent.before, AuditEvent.after, AuditEvent.detail,
            AuditEvent.id)
CSV_COLUMNS = ("at_utc", "actor", "action", "subject", "zoho_id", "before", "after", "detail")


def _day(value: str | None) -> datetime.date | None:
    """A filter day; not a date, or outside 1900-2100 (no events there), means no filter."""
    try:
        day = datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    # 9999-12-31 would overflow when the filter adds a day to it.
    return day if day and 1900 <= day.year <= 2100 else None


def filtered(args):
    """The events matching the page's filters (area, who, period), newest first.

    Area and period are ranges on the (area, at, id) or (at, id) index; "who" is a part of
    the actor's name, checked on the rows the index walks (SQL stops once a page is full).
    """
    query = AuditEvent.select().order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    area = args.get("area", "")
    if area in dict(AREAS) and area:
        query = query.where(AuditEvent.area == area)
    who = args.get("who", "").strip()
    if who:
        query = query.where(AuditEvent.actor.contains(who))
    start, end = _day(args.get("from")), _day(args.get("to"))
    if start:
        query = query.where(AuditEvent.at >= datetime.datetime.combine(start, datetime.time()))
    if end:
        query = query.where(AuditEvent.at < datetime.datetime.combine(
            end + datetime.timedelta(days=1), datetime.time()))
    return query


@bp.get("/")
@login_required
def event_list():
    page = keyset_page(filtered(request.args), AuditEvent.at, per_page=50)
    filters = {name: request.args[name] for name in FILTER_NAMES if request.args.get(name)}
    return render_template("audit/index.html", events=activity.describe_page(
                               page.items, show_users=current_user.is_admin),
                           page=page, areas=AREAS,
                           args=request.args, filters=filters)


def _in_english(detail: str) -> str:
    """A detail kept as a stored message, written out in English: the export reads the same
    whoever downloads it, as before messages were translated."""
    with i18n.in_language("en"):
        return i18n.in_words(detail)


@bp.get("/export.csv")
@login_required
def event_export():
    """The filtered events as CSV, streamed (a long period never sits in memory)."""

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for batch in _batches(filtered(request.args)):
            for at, actor, action, subject, zoho_id, before, after, detail, _ in batch:
                writer.writerow([safe_cell(value) for value in (
                    at.isoformat(), actor, action, subject, zoho_id or "", _json(before),
                    _json(after), _in_english(detail))])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    days = (_day(request.args.get("from")), _day(request.args.get("to")))
    period = "-".join(day.isoformat() for day in days if day)
    name = f"bookbridge-activity{'-' + period if period else ''}.csv"
    return Response(stream_with_context(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _batches(query, size: int = EXPORT_BATCH):
    """The query's rows (as EXPORTED tuples) in batches, each one a short read from where
    the last one ended (by (at, id), not OFFSET), so a long export neither re-reads what it
    has sent nor holds one read open, which in WAL mode would stop SQLite from folding the
    log back. Tuples, not models: building a model per row was most of an export's time."""
    query = query.select(*EXPORTED).tuples()
    batch = list(query.limit(size))
    while batch:
        yield batch
        at, *_, row_id = batch[-1]
        batch = list(query.where(older_than(AuditEvent.at, at, row_id)).limit(size))




def _json(value) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
