"""Documents: upload, the inbox, and the review page with the original beside the fields."""

import datetime
from decimal import Decimal, InvalidOperation

from flask import Blueprint, Response, current_app, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from huey.exceptions import TaskLockedException
from playhouse.flask_utils import get_object_or_404

from jobs.documents import extract_documents, publish_requested_documents
from jobs.writer import WRITER_LOCK
from models import (
    Document,
    DocumentStatus,
    ZohoBankAccount,
    ZohoConnection,
    ZohoTax,
    db,
    utcnow,
)
from services import (
    audit,
    bank_lines,
    document_intake,
    document_processing,
    document_search,
    document_store,
    i18n,
    jobs,
    publish_requests,
    publishing,
    settlement,
    text_limits,
    zoho,
)
from views import matching as matching_views
from views.helpers import form_ids, keyset_page, see_other

bp = Blueprint("documents", __name__, url_prefix="/documents")

# Where a document came from (Document.source), as the pages name it.
SOURCE_NAMES = {"upload": _l("upload"), "folder": _l("watched folder"), "mail": _l("mailbox"),
                "qonto": "Qonto"}
DOCUMENTS_PER_PAGE = 50
MAX_FILES_PER_UPLOAD = 50
MAX_BULK_SELECTION = 500  # also keeps the IN (...) list under SQLite's variable limit


@bp.get("/")
@login_required
def inbox():
    status = request.args.get("status", "")
    search = request.args.get("q", "").strip()[:text_limits.SEARCH]
    problem = request.args.get("problem", "")
    if problem not in dict(document_search.PROBLEMS):
        problem = ""  # as an unknown status: the whole list
    page = keyset_page(document_search.documents(status, search, problem),
                       Document.created_at, per_page=DOCUMENTS_PER_PAGE,
                       **_settled_per_row(problem))
    problems = document_search.problems(page.items)
    return render_template("documents/inbox.html", documents=page.items, problems=problems,
                           problem=problem, problem_filters=document_search.PROBLEMS,
                           badges=document_search.BADGES, page=page, filters=_filters(),
                           status=status, search=search, source_names=SOURCE_NAMES,
                           job=jobs.latest(document_processing.KIND),
                           publish_job=jobs.latest(publish_requests.KIND))


def _settled_per_row(problem: str) -> dict:
    """A tax difference or a low confidence is settled per row, in Python: SQL narrows the
    list to candidates, and the page reads several pages' worth of them to fill itself: ten
    for a low confidence (a look at each row), four for a tax difference (a tax check of
    each: 500 took 62 ms at p95 in bench.scale's large state, 200 stay under 50)."""
    if problem == document_search.LOW_CONFIDENCE:
        return {"keep": lambda rows: [document_search.low_confidence(row) for row in rows],
                "read_at_most": DOCUMENTS_PER_PAGE * 10}
    if problem != document_search.TAX:
        return {}

    def keep(rows):  # the tax check of every row read: two statements, whatever the count
        found = document_search.problems(rows)
        return [problem in found[row.id] for row in rows]

    return {"keep": keep, "read_at_most": DOCUMENTS_PER_PAGE * 4}


def _filters() -> list[tuple[str, str]]:
    """The status filter, in the reader's language."""
    return [("", _("All open"))] + [(status.value, status.label) for status in DocumentStatus]


@bp.post("/upload")
@login_required
def upload():
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        flash(_("Choose one or more files to upload."), category="error")
        return see_other("documents.inbox")
    if len(files) > MAX_FILES_PER_UPLOAD:
        flash(_("Upload at most %(num)s files at once.", num=MAX_FILES_PER_UPLOAD),
              category="error")
        return see_other("documents.inbox")
    added, refused = 0, []
    for storage in files:
        try:
            # Spooled to disk as it arrived, and already cut off past 20 MB.
            document_intake.take_upload(current_app.config, storage.stream, storage.filename,
                                        user=current_user)
            added += 1
        except document_store.Rejected as error:
            refused.append(i18n.in_words(str(error)))
    if added:
        job, created = document_processing.request(user=current_user)
        if created:
            extract_documents(job.id)
        flash(ngettext("%(num)s document added; reading it now.",
                       "%(num)s documents added; reading them now.", added), category="success")
    for reason in refused:
        flash(reason, category="error")
    return see_other("documents.inbox")


@bp.get("/<int:document_id>")
@login_required
def document_show(document_id):
    document = get_object_or_404(Document, Document.id == document_id)
    org = ZohoConnection.current().organization_id
    # Contacts and accounts (thousands) are searchable pickers that name only the chosen
    # one; taxes and bank accounts are an organisation's few, so they stay <select>s.
    return render_template(
        "documents/show.html", document=document, source_names=SOURCE_NAMES,
        plain_amount=_plain_amount,
        zoho_type_name=publishing.type_label(document.zoho_type),
        zoho_link=zoho.web_link(current_app.config, document.zoho_type, document.zoho_id),
        taxes=ZohoTax.usable(org), paid_through=ZohoBankAccount.usable(org),
        tax_check=document_processing.tax_check(document),
        **matching_views.document_panel(document))


@bp.get("/<int:document_id>/file")
@login_required
def document_file(document_id):
    """The original, shown inline; never sniffed, and sandboxed unless it is a PDF."""
    document = get_object_or_404(Document, Document.id == document_id)
    content = document_store.read(current_app.config, document.file)
    media_type = document.file.media_type
    if media_type == "application/xml":
        media_type = "text/plain; charset=utf-8"
    response = Response(content, mimetype=media_type)
    response.headers["Content-Disposition"] = f'inline; filename="{document.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    if media_type != "application/pdf":
        # Chrome's PDF viewer does not run under a sandboxing policy; everything else does.
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _plain_amount(cents) -> str:
    """An amount as a form posts it back: 1234.56 in every language (94,80 is read too)."""
    return "" if cents is None else bank_lines.money(cents)


def _cents(value: str) -> int | None:
    if not (value or "").strip():
        return None
    amount = i18n.typed_amount(value)
    if amount is None:
        raise ValueError("not an amount")
    cents = document_processing.to_cents(amount)
    if abs(cents) >= 10**13:
        raise ValueError("amount out of range")
    return cents


def _date(value: str) -> datetime.date | None:
    if not value:
        return None
    day = datetime.date.fromisoformat(value)
    if not 1900 <= day.year <= 2100:
        raise ValueError("date out of range")
    return day


def _choice(value: str) -> str | None:
    """A Zoho id from a select: empty means none chosen."""
    return value.strip() or None


# Typed text: (what the person calls it, the longest accepted); choices: what may be chosen.
TEXT_FIELDS = {"supplier_name": (_l("The supplier"), text_limits.NAME),
               "number": (_l("The number"), text_limits.REFERENCE),
               "description": (_l("The description"), text_limits.DESCRIPTION),
               "currency": (_l("The currency"), text_limits.CURRENCY)}
CHOICES = {"kind": ("cost", "sale"), "payment": ("bill", "expense")}


def _form_problem(form) -> str | None:
    """Why the typed fields cannot be saved as they are, in plain words, or None."""
    for name, (label, limit) in TEXT_FIELDS.items():
        problem = text_limits.problem(str(label), form.get(name, "").strip(), limit)
        if problem:
            return problem
    for name, allowed in CHOICES.items():
        if name in form and form[name] not in allowed:
            return _("Choose one of the offered values for “%(name)s”.", name=name)
    return None


PARSERS = {"net_cents": _cents, "tax_cents": _cents, "total_cents": _cents,
           "issue_date": _date, "due_date": _date, "contact_id": _choice, "tax_id": _choice,
           "account_id": _choice, "paid_through_account_id": _choice}


@bp.post("/<int:document_id>")
@login_required
def document_update(document_id):
    """Save a person's edits; what they change is theirs and rules no longer touch it."""
    document = get_object_or_404(Document, Document.id == document_id)
    if document.status is DocumentStatus.PUBLISHED:
        flash(_("This document is published in Zoho Books; it can no longer be edited here."),
              category="error")
        return see_other("documents.document_show", document_id=document.id)
    if document.publish_state == "publishing":
        # Its number, supplier and kind are how Zoho is searched for the unconfirmed record.
        flash(_("Zoho Books has not confirmed the last publish yet. Publish again first (it "
                "checks whether the record arrived); then edit if needed."), category="error")
        return see_other("documents.document_show", document_id=document.id)
    problem = _form_problem(request.form)
    if problem:
        flash(_("%(problem)s Nothing was saved.", problem=problem), category="error")
        return see_other("documents.document_show", document_id=document.id)
    before, after = {}, {}
    try:
        for name in document_processing.EDITABLE:
            if name not in request.form:
                continue
            raw = request.form[name]
            value = PARSERS.get(name, str.strip)(raw)
            if value != getattr(document, name):
                before[name], after[name] = _plain(getattr(document, name)), _plain(value)
                setattr(document, name, value)
    except (ValueError, ArithmeticError):
        flash(_("A date or an amount is not valid; nothing was saved. Dates look like "
                "2026-11-21 and amounts like 1234.56."), category="error")
        return see_other("documents.document_show", document_id=document.id)
    if "line_description_0" in request.form:
        try:
            lines = _lines_from(request.form)
        except ArithmeticError:
            flash(_("A line’s amount is not a number; nothing was saved."), category="error")
            return see_other("documents.document_show", document_id=document.id)
        if lines != document.lines:
            before["lines"], after["lines"] = document.lines, lines
            document.lines = lines
    if request.form.get("acknowledge_warnings") == "yes" and document.warnings:
        before["warnings"], after["warnings"] = document.warnings, []
        document.warnings = []
    if after:
        document.edited = sorted(set(document.edited) | set(after) - {"warnings"})
        document.sources = {**document.sources,
                             **dict.fromkeys(set(after) - {"warnings"}, "person")}
        document.updated_at = utcnow()
        with db.atomic():  # one commit for the edit, its audit row and what follows from it
            document.save()
            audit.record("document.edit", user=current_user, subject=document.filename,
                         before=before, after=after, link=document)
            document_processing.after_change(document)
        settlement.queue_after_commit(document)  # a matched receipt saved ready settles now
        flash(_("Saved.") if document.status is not DocumentStatus.READY
              else _("Saved. It is ready to publish."), category="success")
    return see_other("documents.document_show", document_id=document.id)


def _publish_many(ids: list[int]):
    """Queue the selected documents for publishing; the inbox banner follows the job."""
    job, created, added = publish_requests.request(ids, current_user)
    if created:
        publish_requested_documents(job.id)
    if added:
        flash(ngettext("%(num)s document queued for publishing. The banner above says how "
                       "far it got.",
                       "%(num)s documents queued for publishing. Each one is published in "
                       "turn; the banner above says how far it got.", added), category="success")
    else:
        flash(_("None of the selected documents can be published (published, archived or "
                "already queued)."), category="info")
    return see_other("documents.inbox")


LINE_FIELDS = ("description", "quantity", "unit_price", "net", "vat_rate")


def _lines_from(form) -> list[dict]:
    """The lines table of the form; decimals kept as text (as extraction stores them)."""
    lines, index = [], 0
    while f"line_description_{index}" in form:
        line = {name: form.get(f"line_{name}_{index}", "").strip() for name in LINE_FIELDS}
        index += 1
        if not line["description"] and not line["net"]:
            continue
        for name in LINE_FIELDS[1:]:
            value = line[name].replace(" ", "").replace(",", ".")
            line[name] = str(Decimal(value)) if value else None
            # Finite and below a trillion, like the document's own amounts.
            if line[name] is not None and not (Decimal(line[name]).is_finite()
                                               and abs(Decimal(line[name])) < 10**12):
                raise InvalidOperation(name)
        lines.append(line)
    return lines


def _plain(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


@bp.post("/<int:document_id>/publish")
@login_required
def document_publish(document_id):
    document = get_object_or_404(Document, Document.id == document_id)
    if document.status is DocumentStatus.PUBLISHED:
        flash(_("Already published as %(type)s %(number)s.",
                type=i18n.in_words(publishing.type_label(document.zoho_type)),
                number=document.zoho_number), category="info")
        return see_other("documents.document_show", document_id=document.id)
    confirmed = request.form.get("confirm_new_supplier") == "yes"
    try:
        with WRITER_LOCK:
            document = Document.get_by_id(document.id)  # as it is now, under the lock
            settlement.publish(current_app.config, document, current_user,
                               confirm_new_supplier=confirmed)
    except TaskLockedException:
        flash(_("Bookbridge is writing to Zoho Books for a sync or refresh right now; publish "
                "again in a minute."), category="error")
    except publishing.NewSupplierNeedsConfirmation as ask:
        return render_template("documents/confirm_supplier.html", document=document,
                               name=ask.name)
    except (publishing.PublishProblem, zoho.ConnectError) as problem:
        flash(i18n.in_words(str(problem)), category="error")
    else:
        flash(_("Published as %(type)s %(number)s.",
                type=i18n.in_words(publishing.type_label(document.zoho_type)),
                number=document.zoho_number), category="success")
    return see_other("documents.document_show", document_id=document.id)


@bp.post("/bulk")
@login_required
def bulk_update():
    ids = form_ids(request.form.getlist("document_ids"))
    action = request.form.get("action")
    if len(ids) > MAX_BULK_SELECTION:
        flash(_("Select at most %(num)s documents at once.", num=MAX_BULK_SELECTION),
              category="error")
        return see_other("documents.inbox")
    if action not in ("archive", "publish") or not ids:
        flash(_("Select documents and an action."), category="error")
        return see_other("documents.inbox")
    if action == "publish":
        return _publish_many(ids)
    archived = (Document.update(status=DocumentStatus.ARCHIVED, updated_at=utcnow())
                .where(Document.id.in_(ids), Document.status != DocumentStatus.PUBLISHED,
                       Document.publish_state != "publishing")
                .execute())
    audit.record("document.archive", user=current_user, after={"ids": ids})
    flash(ngettext("%(num)s document archived.", "%(num)s documents archived.", archived),
          category="success")
    return see_other("documents.inbox")
