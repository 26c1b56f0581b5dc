"""Receipts meet bank lines: the lists matching makes shorter, a bank line's page, the
accept / undo / retry buttons, the alias offer, and the admins' match settings.

Deciding and settling is services.settlement's; this file only asks it and says what it
answered (a SettlementProblem's user_message, a stored message, in the page in the reader's
language, never a 500).
"""

import datetime

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_htmx import make_response as htmx_response
from flask_login import current_user, login_required
from playhouse.flask_utils import get_object_or_404

from extensions import htmx
from models import BankTransaction, Document, utcnow
from models.matching import MatchProposal, MatchSettings, Settlement, SettlementState
from services import bank_schedule, i18n, match_lists, matching, settlement, text_limits, zoho
from services import settings as settings_service
from views.helpers import admin_required, form_ids, keyset_page, refuse, see_other, whole_number

bp = Blueprint("matching", __name__, url_prefix="/matching")
PER_PAGE = 50
MAX_PARTS = 50  # documents one line may explain, checked before any query


# -- small parsers ----------------------------------------------------------------------------

def _today() -> datetime.date:
    """Today in the organisation's time zone: bank dates are its calendar dates."""
    return bank_schedule.local_date(utcnow(), bank_schedule.time_zone(current_app.config))


def _date_arg(name: str, said: str) -> datetime.date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = datetime.date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 2100:
        refuse(400, _("“%(field)s” is not a date from 1900 to 2100, like 2026-01-31.",
                      field=said))
    return day


def _amount_arg() -> int | None:
    raw = request.args.get("amount", "").strip()
    if not raw:
        return None
    cents = match_lists.amount_cents(raw)
    if cents is None:
        refuse(400, _("The amount is not a number like 36.50."))
    return cents


def _line_filter() -> tuple[match_lists.LineFilter, dict]:
    """The list's filter from the query string, and the same as URL values for links."""
    account_id = None
    if request.args.get("account"):
        account_id = whole_number(request.args["account"], 1)
        if account_id is None:
            refuse(400, _("The account filter is not valid: pick an account from the list."))
    chosen = match_lists.LineFilter(
        account_id=account_id, date_from=_date_arg("from", _("From")),
        date_to=_date_arg("to", _("To")), amount_cents=_amount_arg(),
        search=request.args.get("q", "").strip()[:text_limits.SEARCH])
    view = request.args.get("view", match_lists.MISSING)
    if view not in match_lists.LINE_VIEWS:
        refuse(400, _("Pick a list: receipt missing or no receipt needed."))
    values = {"view": view if view != match_lists.MISSING else None,
              "account": account_id, "from": chosen.date_from, "to": chosen.date_to,
              "amount": request.args.get("amount", "").strip() or None,
              "q": chosen.search or None}
    return chosen, values


def _csv(text: str, name: str) -> Response:
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# -- bank lines: receipt missing / no receipt needed --------------------------------------------

@bp.get("/lines/")
@login_required
def line_list():
    """Open lines no document explains ("receipt missing"), or those marked as needing none."""
    chosen, values = _line_filter()
    view = values["view"] or match_lists.MISSING
    page = keyset_page(match_lists.lines(view, chosen), BankTransaction.booking_date,
                       per_page=PER_PAGE)
    return render_template("matching/lines.html", lines=page.items, page=page, view=view,
                           views=match_lists.LINE_VIEWS, filters=values,
                           accounts=match_lists.account_names(), today=_today(),
                           age_days=match_lists.age_days)


@bp.get("/lines.csv")
@login_required
def line_list_csv():
    chosen, values = _line_filter()
    view = values["view"] or match_lists.MISSING
    text = match_lists.lines_csv(match_lists.lines(view, chosen), _today())
    return _csv(text, f"bank-lines-{view.replace('_', '-')}-{_today().isoformat()}.csv")


@bp.post("/lines/<int:line_id>/no-receipt")
@login_required
def line_no_receipt(line_id):
    line = get_object_or_404(BankTransaction, BankTransaction.id == line_id)
    needed = request.form.get("needed") == "yes"  # "yes": undo the mark
    found = match_lists.settlement_of_line(line)
    if not needed and found is not None and found.open_line:
        flash(_("This line is matched to a document: undo the match first."), category="error")
    elif match_lists.mark_no_receipt_needed(line, current_user, needed=not needed):
        amount = i18n.money(line.amount_cents, line.currency)
        if needed:
            flash(_("%(line)s (%(amount)s): back in “Receipt missing”.", line=line.label,
                    amount=amount), category="success")
        else:
            flash(_("%(line)s (%(amount)s): no receipt needed. Undo it from the “No receipt "
                    "needed” list.", line=line.label, amount=amount), category="success")
    return _back_to_list("matching.line_list")


# -- documents: not paid yet / paid from elsewhere ---------------------------------------------

def _document_view() -> tuple[str, str]:
    view = request.args.get("view", match_lists.NOT_PAID)
    if view not in match_lists.DOCUMENT_VIEWS:
        refuse(400, _("Pick a list: not paid yet or paid from elsewhere."))
    return view, request.args.get("q", "").strip()[:text_limits.SEARCH]


@bp.get("/documents/")
@login_required
def document_list():
    """Open cost documents no line explains, or those paid from elsewhere."""
    view, search = _document_view()
    page = keyset_page(match_lists.documents(view, search), Document.created_at,
                       per_page=PER_PAGE)
    return render_template("matching/documents.html", documents=page.items, page=page,
                           view=view, views=match_lists.DOCUMENT_VIEWS, search=search)


@bp.get("/documents.csv")
@login_required
def document_list_csv():
    view, search = _document_view()
    text = match_lists.documents_csv(match_lists.documents(view, search))
    return _csv(text, f"documents-{view.replace('_', '-')}-{_today().isoformat()}.csv")


@bp.post("/documents/<int:document_id>/not-bank-payment")
@login_required
def document_not_bank_payment(document_id):
    document = get_object_or_404(Document, Document.id == document_id)
    value = request.form.get("value") != "no"  # "no": undo the mark
    if value and match_lists.settlement_of_document(document):
        flash(_("This document is matched to a bank line: undo the match first."), category="error")
    elif match_lists.mark_not_bank_payment(document, current_user, value):
        name = document.supplier_name or document.filename
        if value:
            flash(_("%(document)s: not a bank payment; it left “Not paid yet”.",
                    document=name), category="success")
        else:
            flash(_("%(document)s: back in “Not paid yet”.", document=name), category="success")
    return _back_to_list("matching.document_list")


def _back_to_list(endpoint: str):
    """Back where the button was: a list (keeping its filters) or a document's page."""
    back = request.form.get("back", "")
    if back.startswith("/") and not back.startswith("//"):
        return _see_other_path(back)
    return see_other(endpoint)


def _see_other_path(path: str):
    """see_other for a path of this site the form carried (never another site)."""
    if htmx:
        return htmx_response(redirect=path)
    return redirect(path, code=303)


# -- the document page's "Bank line" panel and the bank line page -------------------------------

def _zoho_line_link(line: BankTransaction) -> str:
    return zoho.web_link(current_app.config, "banktransaction", line.zoho_transaction_id)


def _record_link(found: Settlement) -> str:
    return zoho.web_link(current_app.config, found.zoho_record_type, found.zoho_record_id)


def _document_link(document: Document) -> str:
    return zoho.web_link(current_app.config, document.zoho_type, document.zoho_id)


# The alias offer names the supplier of a settlement's first document.
bp.add_app_template_global(match_lists.supplier_of, "supplier_of")


def document_panel(document: Document) -> dict:
    """What the document page's "Bank line" panel shows (views.documents calls it)."""
    # A bill split over two lines keeps its proposals until its parts cover its total.
    return {"bank_settlements": match_lists.settlements_of_document(document),
            "bank_proposals": matching.proposals_for_document(document),
            "zoho_line_link": _zoho_line_link, "zoho_record_link": _record_link}


@bp.get("/lines/<int:line_id>")
@login_required
def line_show(line_id):
    line = get_object_or_404(BankTransaction, BankTransaction.id == line_id)
    found = match_lists.settlement_of_line(line)
    live = found if found and found.open_line else None
    search = request.args.get("q", "").strip()[:text_limits.SEARCH]
    proposals = [] if live else matching.proposals_for_line(line)
    proposed_ids = {proposal.document_id for proposal in proposals}
    others = [] if live or not search else [
        document for document in match_lists.open_documents_matching(search)
        if document.id not in proposed_ids]
    return render_template(
        "matching/line.html", line=line, settlement=found, live=live,
        parts=match_lists.parts_of(found) if found else [], proposals=proposals,
        others=others, search=search, account=match_lists.account_names().get(
            line.account_id, ""), zoho_line_link=_zoho_line_link(line),
        record_link=_record_link(found) if found else "", document_link=_document_link)


@bp.get("/documents/<int:document_id>/pick")
@login_required
def document_pick(document_id):
    """Open lines to choose for a document, searched by amount or label."""
    document = get_object_or_404(Document, Document.id == document_id)
    search = request.args.get("q", "").strip()[:text_limits.SEARCH]
    lines = match_lists.open_lines_matching(search) if search else []
    template = "matching/_pick_lines.html" if htmx else "matching/pick.html"
    return render_template(template, document=document, lines=lines, search=search)


@bp.get("/settlements/<int:settlement_id>/state")
@login_required
def settlement_state(settlement_id):
    """The settlement's state fragment, which polls itself while Zoho Books is being
    written (queued, settling, undoing) and stops once there is nothing to wait for."""
    found = _settlement_or_404(settlement_id)
    return render_template("matching/_settlement.html", settlement=found, line=found.line,
                           record_link=_record_link(found),
                           zoho_line_link=_zoho_line_link(found.line),
                           document_id=whole_number(request.args.get("document_id", ""), 1))


# -- accept, undo, retry --------------------------------------------------------------------

@bp.post("/documents/<int:document_id>/accept")
@login_required
def document_accept(document_id):
    """Accept one line for this document (a proposal, or a line a person picked)."""
    document = get_object_or_404(Document, Document.id == document_id)
    line_id = whole_number(request.form.get("line_id", ""), 1)
    line = BankTransaction.get_or_none(BankTransaction.id == line_id) if line_id else None
    if line is None:
        flash(_("Choose a bank line first."), category="error")
    else:
        _accept(line, [document])
    return see_other("documents.document_show", document_id=document.id)


@bp.post("/lines/<int:line_id>/accept")
@login_required
def line_accept(line_id):
    """Accept one or several documents for this line; several must add up to its amount."""
    line = get_object_or_404(BankTransaction, BankTransaction.id == line_id)
    ids = form_ids(request.form.getlist("document_ids"))
    if not ids:
        flash(_("Tick the document (or documents) this line paid."), category="error")
    elif len(ids) > MAX_PARTS:
        flash(_("A line can be matched to at most %(most)s documents at once.",
                most=MAX_PARTS), category="error")
    else:
        # services.settlement checks the sum and says by how much it is off.
        _accept(line, list(Document.select().where(Document.id.in_(ids))))
    return see_other("matching.line_show", line_id=line.id)


def _accept(line: BankTransaction, chosen: list[Document]) -> None:
    proposal = _proposal_of(line, chosen)
    try:
        accepted = settlement.accept(line, chosen, current_user,
                                     score=proposal.score if proposal else None,
                                     reasons=tuple(proposal.reasons) if proposal else ())
    except settlement.SettlementProblem as problem:
        flash(i18n.in_words(problem.user_message), category="error")
        return
    if accepted.state is SettlementState.WAITING:
        flash(_("Matched. It is settled in Zoho Books once the document is ready to publish "
                "(fill in what it lacks, like its category)."), category="success")
    else:
        flash(_("Matched. Bookbridge is settling it in Zoho Books now."), category="success")


def _proposal_of(line, chosen):
    if len(chosen) != 1:
        return None
    return MatchProposal.get_or_none(MatchProposal.line == line,
                                     MatchProposal.document == chosen[0])


def _settlement_or_404(settlement_id: int) -> Settlement:
    return get_object_or_404(Settlement, Settlement.id == settlement_id)


def _back_to(found: Settlement):
    """After a settlement button: the page it was pressed on."""
    document_id = whole_number(request.form.get("document_id", ""), 1)
    if document_id:
        return see_other("documents.document_show", document_id=document_id)
    return see_other("matching.line_show", line_id=found.line_id)


@bp.post("/settlements/<int:settlement_id>/undo")
@login_required
def settlement_undo(settlement_id):
    return _ask(settlement.undo, settlement_id,
                _("Undoing the match: Zoho Books is put back as it was, then the line and its "
                  "documents return to their lists."))


@bp.post("/settlements/<int:settlement_id>/retry")
@login_required
def settlement_retry(settlement_id):
    return _ask(settlement.retry, settlement_id,
                _("Trying again: Bookbridge first checks what Zoho Books already has."))


def _ask(action, settlement_id: int, done: str):
    """Ask services.settlement to undo or retry, and say what it answered."""
    found = _settlement_or_404(settlement_id)
    try:
        action(found, current_user)
    except settlement.SettlementProblem as problem:
        flash(i18n.in_words(problem.user_message), category="error")
    else:
        flash(done, category="success")
    return _back_to(found)


@bp.post("/settlements/<int:settlement_id>/alias")
@login_required
def settlement_alias(settlement_id):
    """Yes or no to "add this bank label as a name of the supplier?"."""
    found = _settlement_or_404(settlement_id)
    # "Yes" is the button named accept, "No" the one named decline.
    message = match_lists.answer_alias_offer(found, current_user,
                                             accept="accept" in request.form)
    flash(message, category="success")
    return _back_to(found)


# -- admin settings ---------------------------------------------------------------------------

@bp.app_template_global("match_settings")
def match_settings_for_template() -> MatchSettings:
    """The match settings, read only by the settings page section that shows them."""
    return MatchSettings.current()


@bp.post("/settings")
@admin_required
def settings_update():
    form = request.form
    before_days = whole_number(form.get("days_before", ""), 0, 60)
    after_days = whole_number(form.get("days_after", ""), 0, 60)
    threshold = whole_number(form.get("auto_accept_score", ""), 50, 100)
    auto = form.get("auto_accept") == "yes"
    if before_days is None or after_days is None:
        flash(_("The date window is a number of days from 0 to 60, before and after the "
                "document's date; nothing was saved."), category="error")
    elif auto and threshold is None:
        flash(_("The auto-accept score is a whole number from 50 to 100; nothing was saved."),
              category="error")
    else:
        _save_settings(before_days, after_days, threshold if auto else None)
    return see_other("settings.settings_show", _anchor="matching")


def _save_settings(days_before: int, days_after: int, auto_accept_score: int | None):
    changed = settings_service.update_matching(
        current_user, days_before=days_before, days_after=days_after,
        auto_accept_score=auto_accept_score)
    if not changed:
        flash(_("Nothing to save: the match settings were unchanged."), category="success")
    else:
        flash(_("Match settings saved. Proposals follow them from the next bank sync."),
              category="success")
