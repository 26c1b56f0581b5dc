"""The Qonto bank feed: connect, accounts, history import, sync, and the sync history."""

import datetime
from decimal import Decimal

from flask import Blueprint, current_app, flash, render_template, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from peewee import JOIN
from playhouse.flask_utils import get_object_or_404

from extensions import htmx
from jobs.bank import sync_bank
from models import (
    BankTransaction,
    Job,
    PushState,
    QontoAccount,
    QontoConnection,
    SyncFailure,
    SyncRun,
    ZohoBankAccount,
    ZohoConnection,
    utcnow,
)
from services import (
    audit,
    bank_line_search,
    bank_schedule,
    bank_sync,
    i18n,
    jobs,
    qonto,
    text_limits,
    zoho,
)
from views.helpers import admin_required, keyset_page, paginate, refuse, see_other, whole_number
from views.jobs import job_banner

bp = Blueprint("bank", __name__, url_prefix="/bank")
# What a refused Qonto connect had typed, shown again in its form once (never the key).
QONTO_TYPED_KEY = "qonto_connect_typed"
LINES_PER_PAGE = 50  # the transactions and the "waiting for a category" lists
FAILURES_SHOWN = 100
# The transactions list's state filter: each push state, then what follows in Zoho Books,
# said plainly.
LINE_STATES = [
    ("", _l("Any state")),
    (PushState.WAITING.value, _l("Pending in Qonto")),
    (PushState.READY.value, _l("Ready for Zoho Books")),
    (PushState.SENDING.value, _l("Being sent")),
    (PushState.PUSHED.value, _l("In Zoho Books")),
    (PushState.NEVER.value, _l("Not sent (declined, or account left out)")),
    (PushState.FAILED.value, _l("Failed")),
    (bank_line_search.CATEGORISED, _l("Categorised in Zoho Books")),
    (bank_line_search.RECEIPT_ATTACHED, _l("Receipt attached in Zoho Books")),
    (bank_line_search.WAITING_CATEGORY, _l("Receipts waiting for a category")),
    (bank_line_search.MATCHED, _l("Matched to a document")),
]


def card_context(config) -> dict:
    """What the Banks card of the Connections page shows."""
    connection = QontoConnection.current()
    zoho_connection = ZohoConnection.current()
    return {
        "qonto": connection,
        "qonto_accounts": list(QontoAccount.select().order_by(QontoAccount.id)),
        "zoho_bank_accounts": list(ZohoBankAccount.usable(zoho_connection.organization_id)),
        "bank_job": jobs.latest(bank_sync.KIND),
        "history_progress": bank_sync.history_progress(),
        "shared_with_zoho": qonto.SHARED_WITH_ZOHO,
        "bank_time_zone": bank_schedule.time_zone(config).key,
        "qonto_sandbox": config["QONTO_API_URL"] != "https://thirdparty.qonto.com",
    }


def _start_sync(trigger: str, history_start: datetime.date | None = None):
    job, created = bank_sync.request(trigger, user=current_user, history_start=history_start)
    if created:
        sync_bank(job.id)
        job = Job.get_by_id(job.id)
    return job, created


def _respond_with_job(job, created):
    if htmx:
        return job_banner(job, just_clicked=not created)
    if not created:
        flash(_("A sync is already running; its progress is shown on the Connections page."),
              "info")
    return see_other("connections.index", _anchor="banks")


def _today() -> datetime.date:
    """Today in the organisation's time zone (bank dates are its calendar dates)."""
    return bank_schedule.local_date(utcnow(), bank_schedule.time_zone(current_app.config))


def _parse_date(value: str) -> datetime.date | None:
    """A date from a form, or None; years outside 1900-2100 are not taken as dates."""
    try:
        day = datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day and 1900 <= day.year <= 2100 else None


# -- connect, disconnect ------------------------------------------------------------------------

@bp.post("/qonto/connect")
@admin_required
def qonto_connect():
    form = request.form
    history_start = _parse_date(form.get("history_start", ""))
    if form.get("history_start") and not history_start:
        return _connect_refused(_("The history start date is not a date from 1900 on (like "
                                  "2025-01-01); nothing was saved."))
    if history_start and history_start > _today():
        return _connect_refused(_("The history start date is in the future; pick today or "
                                  "earlier."))
    if history_start and history_start < bank_sync.EARLIEST_HISTORY_START:
        return _connect_refused(_("Pick a history start from %(day)s on; nothing was saved.",
                                  day=i18n.day(bank_sync.EARLIEST_HISTORY_START)))
    try:
        connection = qonto.connect(current_app.config, current_user, form.get("login", ""),
                                   form.get("secret_key", ""), form.get("consent") == "yes")
    except qonto.BankError as error:
        return _connect_refused(str(error))
    _job, created = _start_sync("history" if history_start else "button", history_start)
    if created:
        flash(_("Qonto is connected to %(organisation)s. The first sync has started.",
                organisation=connection.organization_name), "success")
    else:
        flash(_("Qonto is connected to %(organisation)s. A sync was already running; the "
                "history import is saved and runs right after it.",
                organisation=connection.organization_name), "info")
    return see_other("connections.index", _anchor="banks")


def _connect_refused(message: str):
    """Back to the form, which shows the reason and what was typed (never the key)."""
    session[QONTO_TYPED_KEY] = {"login": request.form.get("login", "")[:200],
                                "history_start": request.form.get("history_start", "")[:20],
                                "consent": request.form.get("consent") == "yes",
                                "error": message}
    return see_other("connections.index", _anchor="banks")


@bp.post("/qonto/disconnect")
@admin_required
def qonto_disconnect():
    qonto.disconnect(current_user)
    flash(_("Qonto is disconnected: syncing stopped and the key was deleted. The history and "
            "account links are kept; connecting again carries on where it stopped."), "success")
    return see_other("connections.index", _anchor="banks")


# -- accounts, history, schedule --------------------------------------------------------------

@bp.post("/accounts/<int:account_id>")
@admin_required
def account_update(account_id):
    account = get_object_or_404(QontoAccount, QontoAccount.id == account_id)
    zoho_account_id = request.form.get("zoho_account_id") or None
    name = account.zoho_account_name
    if zoho_account_id and zoho_account_id != account.zoho_account_id:
        chosen = ZohoBankAccount.get_or_none(
            ZohoBankAccount.zoho_id == zoho_account_id,
            ZohoBankAccount.organization_id == ZohoConnection.current().organization_id)
        if chosen is None:
            flash(_("That Zoho Books account is not in the cached lists; refresh them first."),
                  "error")
            return see_other("connections.index", _anchor="banks")
        name = chosen.name
    qonto.set_account_options(current_user, account, included=request.form.get("included") ==
                              "yes", zoho_account_id=zoho_account_id, zoho_account_name=name)
    flash(_("%(account)s saved.", account=account.name), "success")
    return see_other("connections.index", _anchor="banks")


@bp.post("/history")
@admin_required
def history_import():
    start = _parse_date(request.form.get("history_start", ""))
    earliest = bank_sync.EARLIEST_HISTORY_START
    if start is None or start > _today() or start < earliest:
        flash(_("Pick a start date from %(day)s on, today or earlier.", day=i18n.day(earliest)),
              "error")
        return see_other("connections.index", _anchor="banks")
    if not QontoConnection.current().is_connected:
        flash(_("Connect Qonto first."), "error")
        return see_other("connections.index", _anchor="banks")
    job, created = _start_sync("history", start)  # the start date is stored either way
    audit.record("bank.history_requested", user=current_user, subject=start.isoformat())
    if created:
        return _respond_with_job(job, created)
    notice = _("A sync is running: the history import from %(day)s is saved and runs right "
               "after it.", day=i18n.day(start))
    if htmx:
        return job_banner(job, just_clicked=True, notice=notice)
    flash(notice, "info")
    return see_other("connections.index", _anchor="banks")


@bp.post("/sync")
@admin_required
def sync_create():
    if not QontoConnection.current().is_connected:
        flash(_("Connect Qonto first."), "error")
        return see_other("connections.index", _anchor="banks")
    return _respond_with_job(*_start_sync("button"))


@bp.post("/schedule")
@admin_required
def schedule_update():
    try:
        qonto.set_sync_time(current_app.config, current_user, request.form.get("sync_time", ""))
    except ValueError:
        flash(_("Give the time as HH:MM, for example 20:30."), "error")
    else:
        flash(_("Daily sync time saved."), "success")
    return see_other("connections.index", _anchor="banks")


# -- the bank feed's tabs: transactions, waiting for a category, failures, sync runs ---------

def _account_filter() -> int | None:
    """The ?account= filter: None for every account; anything but an id is refused."""
    if not request.args.get("account"):
        return None
    account_id = whole_number(request.args["account"], 1)
    if account_id is None:
        refuse(400, _("The account filter is not valid: pick an account from the list."))
    return account_id


def _amount_filter() -> int | None:
    """The ?amount= filter in cents ("36.50", "36,50", "-36.50": either side), or None."""
    raw = request.args.get("amount", "").strip()
    if not raw:
        return None
    amount = i18n.typed_amount(raw)
    if amount is not None:
        amount = abs(amount)
    if amount is None or amount >= 10**11 or amount != amount.quantize(Decimal("0.01")):
        refuse(400, _("“Amount” is not an amount like 36.50: type the line’s amount, with "
                      "at most two decimals."))
    return int(amount * 100)


def _zoho_line_links(lines) -> dict[int, str]:
    """Each line's page in Zoho Books, by line id. The link is built once for the page and
    each line's Zoho id put in it, so a page of lines costs no query per line."""
    base = zoho.web_link(current_app.config, "banktransaction", _ZOHO_ID_SLOT)
    return {line.id: base.replace(_ZOHO_ID_SLOT, line.zoho_transaction_id)
            for line in lines if line.zoho_transaction_id}


_ZOHO_ID_SLOT = "ZOHO-LINE-ID"


@bp.get("/")
@login_required
def sync_history():
    """The "Sync runs" tab: every run, newest first, with its counts per account."""
    runs = paginate(SyncRun.select().order_by(SyncRun.id.desc()), paginate_by=20)
    return render_template("bank/history.html", tab="runs", runs=runs.get_object_list(),
                           pages=runs, qonto=QontoConnection.current())


@bp.get("/failures/")
@login_required
def failure_list():
    """The "Failures" tab: what the sync could not do and Zoho's reason, newest first."""
    # Only the columns the table shows: whole joined rows cost more to build than to read.
    failures = list(SyncFailure.select(
        SyncFailure.id, SyncFailure.stage, SyncFailure.reason, SyncRun.id,
        SyncRun.started_at, BankTransaction.id, BankTransaction.booking_date,
        BankTransaction.label, BankTransaction.amount_cents, BankTransaction.currency,
        BankTransaction.transaction_id, QontoAccount.id, QontoAccount.name)
        .join(SyncRun).switch(SyncFailure)
        .join(BankTransaction, JOIN.LEFT_OUTER).switch(SyncFailure)
        .join(QontoAccount, JOIN.LEFT_OUTER)
        .where(SyncFailure.resolved_at.is_null())
        .order_by(SyncFailure.id.desc()).limit(FAILURES_SHOWN + 1))
    return render_template("bank/history.html", tab="failures",
                           failures=failures[:FAILURES_SHOWN],
                           more=len(failures) > FAILURES_SHOWN)


@bp.get("/waiting/")
@login_required
def waiting_list():
    """The "Waiting for a category" tab: every pushed line whose receipts wait for Zoho to
    categorise it, newest first, paged by key, with their number."""
    account_id = _account_filter()
    query = bank_line_search.waiting(account_id)
    page = keyset_page(query, BankTransaction.booking_date, per_page=LINES_PER_PAGE)
    # Counted on the partial index of just these lines: no other line is read.
    total = query.order_by().count()
    return render_template("bank/history.html", tab="waiting", lines=page.items, page=page,
                           total=total,
                           accounts=bank_line_search.accounts(), filters={"account": account_id},
                           zoho_links=_zoho_line_links(page.items))


@bp.post("/failures/retry")
@admin_required
def failures_retry():
    """Put failed lines and receipts back in the queue, then sync."""
    now = utcnow()
    failed = BankTransaction.update(push_state=PushState.READY, last_error="").where(
        BankTransaction.push_state == PushState.FAILED).execute()
    SyncFailure.update(resolved_at=now).where(SyncFailure.resolved_at.is_null()).execute()
    audit.record("bank.retry", user=current_user, after={"lines": failed})
    flash(ngettext("%(num)s failed line will be pushed again; failed categorisations and "
                   "receipts are retried too.",
                   "%(num)s failed lines will be pushed again; failed categorisations and "
                   "receipts are retried too.", failed), "success")
    if QontoConnection.current().is_connected:
        _start_sync("button")
    return see_other("bank.failure_list")


# -- every transaction ------------------------------------------------------------------------

@bp.get("/lines/")
@login_required
def line_list():
    """Every bank line, filtered by account, state, booking dates, amount and a search,
    newest booking date first, paged by key (?before= / ?after= a line id)."""
    args = request.args
    account_id = _account_filter()
    state = args.get("state", "")
    if state not in dict(LINE_STATES):
        refuse(400, _("The state filter is not valid: pick a state from the list."))
    dates = {}
    for name, said in (("from", _("From")), ("to", _("To"))):
        dates[name] = _parse_date(args.get(name, "").strip())
        if args.get(name, "").strip() and dates[name] is None:
            refuse(400, _("“%(field)s” is not a date from 1900 to 2100, like 2025-01-31.",
                          field=said))
    amount = _amount_filter()
    search = args.get("q", "").strip()[:text_limits.SEARCH]
    query = bank_line_search.lines(account_id, state, search, dates["from"], dates["to"],
                                   amount)
    page = keyset_page(query, BankTransaction.booking_date, per_page=LINES_PER_PAGE)
    attached, matched = bank_line_search.page_details([line.id for line in page.items])
    filters = {"account": account_id, "state": state or None, "q": search or None,
               "from": dates["from"], "to": dates["to"],
               "amount": f"{amount / 100:.2f}" if amount is not None else None}
    return render_template("bank/lines.html", lines=page.items, page=page,
                           accounts=bank_line_search.accounts(), states=LINE_STATES,
                           filters=filters, search=search, attached=attached,
                           matched=matched, zoho_links=_zoho_line_links(page.items))
