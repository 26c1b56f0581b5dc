"""Settling a match in Zoho Books: one bank line, its documents, one Zoho operation, once.

A person (or auto-accept, or a Qonto receipt) *accepts* documents for a bank line: that
stores a Settlement with its parts. *Settling* it makes the one Zoho operation that records
the decision on the line:

- EXPENSE: an unpublished receipt categorises the line as a new expense (the file is then
  attached to that expense) and the document reads published;
- VENDOR_PAYMENT: published bills of one supplier are paid by the line;
- MATCH: published expenses are matched to the line.

Exactly once, with the ledger rule of services.publishing: the state SETTLING (or UNDOING)
is committed before Zoho is called, and a settlement found in that state (a timeout, a
kill) is looked up on the Zoho line before anything is sent again. The Zoho line itself
guards against a second write: Zoho only categorises or matches an *uncategorised* line,
and only uncategorises a categorised one.

The caller holds the Zoho writer lock (jobs.matching, the bank run's follow-up, or the
publish button); this module never takes it.
"""

import datetime
import logging
from decimal import Decimal

from peewee import IntegrityError

from integrations.zoho_books import (
    ZohoApiError,
    ZohoDailyLimitReached,
    ZohoNotFound,
    ZohoUnavailable,
    ZohoValidationError,
)
from models import (
    BankTransaction,
    Document,
    DocumentStatus,
    MatchSettings,
    PushState,
    Settlement,
    SettlementKind,
    SettlementPart,
    SettlementState,
    db,
    utcnow,
)
from services import (
    audit,
    document_taxes,
    matching,
    publishing,
    supplier_rules,
    zoho,
    zoho_quota,
)
from services.bank_lines import marker_of, money
from services.document_status import refresh_status
from services.i18n import in_words, money_value, stored_message
from services.supplier_recognition import fold_name

log = logging.getLogger(__name__)

LIVE = [state for state in SettlementState if state is not SettlementState.UNDONE]
# Accepted but not yet in Zoho: the job settles these (the minute's safety net too).
TO_SETTLE = (SettlementState.QUEUED, SettlementState.SETTLING)
# Zoho line statuses that mean someone (us or a person in Zoho) already recorded the line.
HANDLED_IN_ZOHO = ("categorized", "matched", "handled")
EXPENSE_NEEDS = ("issue_date", "total_cents", "account_id")
MAX_RETRY_MINUTES = 60


class SettlementProblem(Exception):
    """Why a match was not accepted, settled or undone: what happened and what to do.

    `user_message` is a stored message (services.i18n): it may be kept on a row (a
    publish error, a bank line's failure) and read later; a flash shows it with
    `i18n.in_words`."""

    def __init__(self, user_message: str):
        super().__init__(user_message)
        self.user_message = user_message


# -- accepting ---------------------------------------------------------------------------------


def accept(line: BankTransaction, documents: list[Document], user, *, origin: str = "person",
           amounts: dict[int, int] | None = None, score: int | None = None,
           reasons=()) -> Settlement:
    """Record that `documents` explain `line` and queue the Zoho side.

    `amounts` maps a document id to the part of the line it explains (cents); by default
    one document explains the whole line, several explain what is left of each.
    """
    line = BankTransaction.get_by_id(line.id)  # as it is now
    documents = [Document.get_by_id(document.id) for document in documents]
    problem = _line_problem(line) or _documents_problem(documents)
    if problem:
        raise SettlementProblem(problem)
    kind = _kind_of(documents)
    parts = _parts(line, documents, amounts)
    state = SettlementState.QUEUED
    if kind is SettlementKind.EXPENSE and not ready_to_settle(documents[0]):
        state = SettlementState.WAITING
    settlement = _store(line, kind, state, parts, origin=origin, user=user, score=score,
                        reasons=list(reasons))
    if kind is SettlementKind.EXPENSE:
        _paid_from_the_line(documents[0], line)
    audit.record("match.accepted", user=user, actor=None if user else origin,
                 subject=_subject(settlement),
                 after=_summary(settlement), zoho_id=line.zoho_transaction_id, link=settlement)
    if state is SettlementState.QUEUED:
        queue(settlement)
    return settlement


def _store(line, kind, state, parts, *, origin, user=None, score=None,
           reasons=()) -> Settlement:
    """The settlement and its parts, in one transaction; a line has one live settlement
    (the unique `open_line`), so two people accepting at once cannot both win."""
    try:
        with db.atomic():
            settlement = Settlement.create(
                line=line, open_line=line.id, kind=kind, state=state, origin=origin,
                score=score, reasons=list(reasons), accepted_by=user, accepted_at=utcnow())
            for document, amount in parts:
                SettlementPart.create(settlement=settlement, document=document,
                                      amount_cents=amount)
    except IntegrityError:
        raise SettlementProblem(stored_message(
            "This bank line was matched a moment ago (by someone else, or automatically). "
            "Reload the page to see it.")) from None
    return settlement


def store_qonto_receipt(line: BankTransaction, document: Document) -> Settlement:
    """A file attached to the line in Qonto, now a document being read: it is the line's
    receipt, waiting until the document is ready (the caller's transaction holds both)."""
    settlement = _store(line, SettlementKind.EXPENSE, SettlementState.WAITING,
                        [(document, line.amount_cents)], origin="qonto_receipt",
                        reasons=[stored_message("receipt attached to this payment in Qonto")])
    _paid_from_the_line(document, line)
    audit.record("match.accepted", actor="qonto_receipt", subject=_subject(settlement),
                 after=_summary(settlement), zoho_id=line.zoho_transaction_id, link=settlement)
    return settlement


def release_qonto_receipt(settlement: Settlement) -> None:
    """Its line was categorised in Zoho by hand before the receipt was ready: the match is
    let go and the document archived (the bank run uploads its file to the line)."""
    documents = _documents(settlement)
    _mark_undone(settlement, None, in_zoho=False)
    for document in documents:
        document.status = DocumentStatus.ARCHIVED
        document.save(only=[Document.status])
        audit.record("document.archive", actor="worker", subject=document.filename,
                     detail=stored_message("Its bank line was categorised in Zoho Books by "
                                           "hand; the file was attached to the line there "
                                           "instead."), link=document)


# The problems below are stored messages (services.i18n): a SettlementProblem may be kept
# on a row and read later, in the reader's language.

def _line_problem(line: BankTransaction) -> str:
    if line.side != "debit":
        return stored_message("Only payments (debit lines) are matched to receipts and bills.")
    if line.status != "completed":
        return stored_message("This bank line is not completed in Qonto yet; match it once "
                              "it is.")
    if line.push_state not in (PushState.READY, PushState.SENDING, PushState.PUSHED):
        return stored_message("This bank line is not sent to Zoho Books (it failed or is "
                              "held back).")
    if line.no_receipt_needed:
        return stored_message("This bank line is marked “no receipt needed”; undo that mark "
                              "first.")
    if line.categorized_by_id or line.zoho_status in HANDLED_IN_ZOHO:
        return stored_message("This bank line is already categorised in Zoho Books (by a rule "
                              "or by hand). Uncategorise it in Zoho Books first to match it "
                              "here.")
    if live_settlement(line) is not None:
        return stored_message("This bank line is already matched. Undo that match first.")
    return ""


def _documents_problem(documents: list[Document]) -> str:
    if not documents:
        return stored_message("Choose at least one document for this bank line.")
    for document in documents:
        name = document.filename or stored_message("Document %(id)s", id=document.id)
        if document.kind != "cost" or document.document_type == "credit_note":
            return stored_message("%(name)s is not a cost; only receipts, bills and expenses "
                                  "are matched.", name=name)
        if document.status is DocumentStatus.ARCHIVED:
            return stored_message("%(name)s is archived; it cannot be matched.", name=name)
        if document.status is DocumentStatus.PROCESSING:
            return stored_message("%(name)s is still being read; it cannot be matched yet.",
                                  name=name)
        if document.status is DocumentStatus.FAILED:
            return stored_message("%(name)s could not be read; it cannot be matched.",
                                  name=name)
        if document.total_cents is None:
            return stored_message("%(name)s has no total yet; fill it in first.", name=name)
        if document.not_bank_payment:
            return stored_message("%(name)s is marked “not a bank payment”; undo that mark "
                                  "first.", name=name)
        if document.duplicate_decision == "same_document":
            return stored_message("%(name)s is a duplicate of another document; match that "
                                  "one.", name=name)
        if left_to_explain(document) <= 0:
            return stored_message("%(name)s is already matched to a bank line.", name=name)
    return ""


def _kind_of(documents: list[Document]) -> SettlementKind:
    unpublished = [d for d in documents if d.status is not DocumentStatus.PUBLISHED]
    if unpublished:
        if len(documents) > 1:
            raise SettlementProblem(stored_message(
                "An unpublished receipt is matched alone: it becomes the expense of this "
                "line. Publish the others first, or match it on its own."))
        return SettlementKind.EXPENSE
    types = {d.zoho_type for d in documents}
    if types == {"bill"}:
        if len({d.contact_id for d in documents}) > 1:
            raise SettlementProblem(stored_message(
                "One payment pays the bills of one supplier: choose bills of the same "
                "supplier."))
        return SettlementKind.VENDOR_PAYMENT
    if types == {"expense"}:
        return SettlementKind.MATCH
    raise SettlementProblem(stored_message(
        "Choose either published bills (the line pays them) or published expenses (the line "
        "is matched to them), not both."))


def _parts(line, documents, amounts) -> list[tuple[Document, int]]:
    if amounts:
        parts = [(d, int(amounts.get(d.id, 0))) for d in documents]
    elif len(documents) == 1:
        parts = [(documents[0], line.amount_cents)]
    else:
        parts = [(d, left_to_explain(d)) for d in documents]
    if any(amount <= 0 for _, amount in parts):
        raise SettlementProblem(stored_message(
            "Each document must explain a positive amount of the line."))
    if len(parts) > 1 and sum(amount for _, amount in parts) != line.amount_cents:
        total = sum(amount for _, amount in parts)
        raise SettlementProblem(stored_message(
            "The documents add up to %(total)s but the line is %(amount)s. Choose documents "
            "that add up to the line, or give each one its part.",
            total=money_value(total, line.currency),
            amount=money_value(line.amount_cents, line.currency)))
    for document, amount in parts:
        if len(parts) > 1 and amount > left_to_explain(document):
            raise SettlementProblem(stored_message(
                "%(name)s has only %(left)s left to pay.", name=document.filename,
                left=money_value(left_to_explain(document),
                                 document.currency or line.currency)))
    return parts


def left_to_explain(document: Document) -> int:
    """What of the document's total no live settlement explains yet (split payments)."""
    explained = sum(part.amount_cents for part in (
        SettlementPart.select().join(Settlement)
        .where(SettlementPart.document == document, Settlement.open_line.is_null(False))))
    return (document.total_cents or 0) - explained


def live_settlement(line: BankTransaction) -> Settlement | None:
    return Settlement.get_or_none(Settlement.open_line == line.id)


def live_expense_settlement(document: Document) -> Settlement | None:
    """The live settlement in which this unpublished receipt becomes the line's expense."""
    return (Settlement.select().join(SettlementPart)
            .where(SettlementPart.document == document, Settlement.open_line.is_null(False),
                   Settlement.kind == SettlementKind.EXPENSE).first())


def ready_to_settle(document: Document) -> bool:
    """What categorising a line as this receipt's expense needs: a date, a total and a
    category, no open duplicate question, and a tax Zoho will agree with. The bank account
    the line belongs to is the "paid from"."""
    if any(getattr(document, name) in (None, "") for name in EXPENSE_NEEDS):
        return False
    if document.duplicate_of_id and document.duplicate_decision != "not_duplicate":
        return False
    if document.warnings or document.status is DocumentStatus.PROCESSING:
        return False
    problem = document_taxes.check(document).problem
    return not problem or problem == document.tax_confirmed


def _paid_from_the_line(document: Document, line: BankTransaction) -> None:
    """A receipt matched to a line was paid from that line's account: it becomes an expense
    paid through the line's Zoho bank account (so it can read "ready")."""
    if document.payment == "expense" and document.paid_through_account_id:
        return
    document.payment = "expense"
    document.paid_through_account_id = line.account.zoho_account_id
    document.sources = {**document.sources, "paid_through_account_id": "bank line"}
    document.save(only=[Document.payment, Document.paid_through_account_id, Document.sources])
    refresh_status(document)


# -- queueing ------------------------------------------------------------------------------------


def queue(settlement: Settlement) -> None:
    """Ask the worker to settle it now. Inside a caller's transaction nothing is queued (the
    job could run before the commit and find nothing to do): the minute's safety net
    (jobs.matching.settle_waiting_matches) takes it, or the caller queues after commit."""
    if db.in_transaction():
        return
    from jobs.matching import settle_match  # services do not import jobs at module level

    settle_match(settlement.id)


def _queue_undo(settlement: Settlement) -> None:
    if db.in_transaction():
        return
    from jobs.matching import unsettle_match

    unsettle_match(settlement.id)


def try_later(settlement_id: int, reason: str = "") -> None:
    """Zoho did not confirm (down, busy, a timeout, not connected): the next try waits 1, 2,
    4… minutes, at most an hour, so a long outage costs a few calls an hour, not one a
    minute. `reason`, when given, is what the settlement's page says meanwhile."""
    settlement = Settlement.get_or_none(Settlement.id == settlement_id)
    if settlement is None:
        return
    delay = min(2 ** settlement.attempts, MAX_RETRY_MINUTES)
    values = {Settlement.attempts: Settlement.attempts + 1,
              Settlement.next_try_at: utcnow() + datetime.timedelta(minutes=delay)}
    if reason:
        values[Settlement.error] = reason
    Settlement.update(values).where(Settlement.id == settlement_id).execute()


def after_zohos_reset(settlement_id: int) -> None:
    """Zoho's calls for the day are spent (429 code 45): nothing was done, and the next try
    waits for its reset instead of asking again every few minutes."""
    (Settlement.update(next_try_at=zoho_quota.day_spent().resumes_at,
                       error=ZohoDailyLimitReached.user_message)
     .where(Settlement.id == settlement_id).execute())


def due(query):
    """The settlements of `query` whose next try has come (or that never failed)."""
    return query.where(Settlement.next_try_at.is_null() | (Settlement.next_try_at <= utcnow()))


def to_settle():
    """Settlements the worker should settle: queued, or found mid-write (look up first)."""
    return Settlement.select().where(Settlement.state.in_(TO_SETTLE)).order_by(Settlement.id)


def to_undo():
    return (Settlement.select().where(Settlement.state == SettlementState.UNDOING)
            .order_by(Settlement.id))


def document_ready(document: Document) -> Settlement | None:
    """A receipt someone is waiting on is ready (saved ready, or read): its waiting
    settlement is queued. Returns it, or None when there is none or it is not ready."""
    settlement = live_expense_settlement(document)
    if settlement is None or settlement.state is not SettlementState.WAITING:
        return None
    if not ready_to_settle(document):
        return None
    updated = (Settlement.update(state=SettlementState.QUEUED, error="")
               .where(Settlement.id == settlement.id,
                      Settlement.state == SettlementState.WAITING).execute())
    if updated:
        settlement.state = SettlementState.QUEUED
        queue(settlement)
    return settlement


def queue_after_commit(document: Document) -> None:
    """After the caller's transaction committed: queue the settlement its save made ready
    (inside the transaction `document_ready` could only mark it QUEUED)."""
    settlement = live_expense_settlement(document)
    if settlement is not None and settlement.state is SettlementState.QUEUED:
        queue(settlement)


# -- settling ------------------------------------------------------------------------------------


def settle(config, settlement_id: int, *, client=None, user=None,
           confirm_new_supplier: bool = False) -> Settlement | None:
    """The job body: make the settlement's Zoho operation, exactly once.

    Returns the settlement (SETTLED, FAILED, or still QUEUED while its line is not in Zoho
    yet). Raises SettlementProblem after an unknown outcome (it stays SETTLING: try again
    later, it is looked up first), and publishing.NewSupplierNeedsConfirmation when the
    receipt's supplier would be created in Zoho without a person's consent.
    """
    settlement = Settlement.get_or_none(Settlement.id == settlement_id)
    if settlement is None or settlement.state not in TO_SETTLE:
        return settlement
    line = BankTransaction.get_by_id(settlement.line_id)
    if line.push_state is not PushState.PUSHED:
        return settlement  # the bank run's follow-up settles it once the line is in Zoho
    client = client or zoho.books_client(config)
    if not line.zoho_transaction_id and not _locate(client, line):
        return settlement  # not listed in Zoho yet: the next bank run finds it
    if settlement.state is SettlementState.SETTLING and _look_up(config, client, settlement,
                                                                 user):
        return settlement
    documents = _documents(settlement)
    if settlement.kind is SettlementKind.EXPENSE:
        _prepare_expense(client, settlement, documents[0], user, confirm_new_supplier)
    _commit_state(settlement, SettlementState.SETTLING)
    try:
        _send(client, settlement, line, documents)
    except ZohoUnavailable:
        if _look_up(config, client, settlement, user):
            return settlement
        raise SettlementProblem(stored_message(
            "Zoho Books did not confirm the match. Nothing is lost: it is tried again in a "
            "minute, and Bookbridge first checks whether it reached Zoho, so nothing is "
            "recorded twice.")) from None
    except (ZohoValidationError, ZohoNotFound) as error:
        # A late first attempt may have landed meanwhile: then Zoho refuses this one.
        if _look_up(config, client, settlement, user):
            return settlement
        return _fail(settlement, _plain_error(settlement, error), user)
    _after_send(config, client, settlement, line, documents, user)
    return settlement


def _prepare_expense(client, settlement, document, user, confirmed) -> None:
    """Before the ledger commit: the supplier exists in Zoho (created as publishing does)."""
    if not ready_to_settle(document):
        _commit_state(settlement, SettlementState.WAITING)
        raise SettlementProblem(stored_message(
            "The receipt is not ready: fill in its date, total and category, then publish it "
            "(it settles the bank line)."))
    if document.supplier_name.strip():
        try:
            publishing.ensure_supplier(client, document, user, confirmed)
        except ZohoDailyLimitReached:
            raise  # nothing was sent: the caller waits for Zoho's reset
        except ZohoApiError as error:
            raise SettlementProblem(error.user_message) from None


def wait_for_person(settlement_id: int, reason: str) -> None:
    """Back to WAITING with what to do (a new supplier to confirm, Zoho disconnected):
    nothing is sent until a person acts. `reason` is a stored message."""
    (Settlement.update(state=SettlementState.WAITING, error=reason)
     .where(Settlement.id == settlement_id, Settlement.state.in_(TO_SETTLE)).execute())
    audit.record("match.failed", actor="worker", subject=f"settlement {settlement_id}",
                 detail=reason, link=Settlement.get_or_none(Settlement.id == settlement_id))


def _commit_state(settlement: Settlement, state: SettlementState, error: str = "") -> None:
    settlement.state, settlement.error = state, error
    settlement.save(only=[Settlement.state, Settlement.error])


def _documents(settlement: Settlement) -> list[Document]:
    return [part.document for part in
            settlement.parts.select(SettlementPart, Document).join(Document)
            .order_by(SettlementPart.id)]


def _amounts(settlement: Settlement) -> dict[int, int]:
    return {part.document_id: part.amount_cents for part in settlement.parts}


def _send(client, settlement: Settlement, line: BankTransaction, documents) -> None:
    """The one Zoho write of the settlement."""
    base = f"/banktransactions/uncategorized/{line.zoho_transaction_id}"
    if settlement.kind is SettlementKind.EXPENSE:
        client.post(f"{base}/categorize/expenses", json=_expense_body(line, documents[0]))
    elif settlement.kind is SettlementKind.VENDOR_PAYMENT:
        client.post(f"{base}/categorize/vendorpayments",
                    json=_vendor_payment_body(line, documents, _amounts(settlement)))
    else:
        client.post(f"{base}/match", params={"account_id": line.account.zoho_account_id},
                    json={"transactions_to_be_matched": [
                        {"transaction_id": d.zoho_id, "transaction_type": "expense"}
                        for d in documents]})


def _expense_body(line: BankTransaction, document: Document) -> dict:
    """The receipt's expense (category, taxes, supplier, number) on the line's date, for the
    line's amount, paid through the line's Zoho bank account."""
    body = publishing.expense_body(document)
    body.update(date=line.booking_date, amount=Decimal(money(line.amount_cents)),
                paid_through_account_id=line.account.zoho_account_id)
    if document.total_cents != line.amount_cents:
        # Paid in another currency (the line's amount is in euros): one line, the line's
        # amount; the receipt's own VAT lines would not add up to it.
        body.pop("line_items", None)
        lines = document_taxes.lines(document)
        if lines and lines[0].tax_id:
            body["tax_id"] = lines[0].tax_id
    return body


def _vendor_payment_body(line, documents, amounts) -> dict:
    return {"vendor_id": documents[0].contact_id,
            "bills": [{"bill_id": d.zoho_id, "amount_applied": Decimal(money(amounts[d.id]))}
                      for d in documents],
            "amount": Decimal(money(line.amount_cents)), "date": line.booking_date,
            "paid_through_account_id": line.account.zoho_account_id,
            "reference_number": (line.reference or line.transaction_id)[:100],
            "description": f"Paid by Qonto {line.transaction_id}"}


def _locate(client, line: BankTransaction) -> bool:
    """Read the line's Zoho id from the Zoho lines of its day (by our Qonto marker), as
    services.bank_followup.FollowUp.locate does for many lines at once. The day's other
    lines learn theirs too, so the next match of that day costs no listing."""
    params = {"account_id": line.account.zoho_account_id,
              "date_start": line.booking_date.isoformat(),
              "date_end": line.booking_date.isoformat(), "filter_by": "Status.All"}
    found = {}
    for page in client.iter_pages("/banktransactions", "banktransactions", params=params):
        for zoho_line in page:
            marker = marker_of(zoho_line.get("description", ""))
            if marker:
                found[marker] = zoho_line
    for same_day in BankTransaction.select().where(
            BankTransaction.account == line.account_id,
            BankTransaction.booking_date == line.booking_date,
            BankTransaction.zoho_transaction_id.is_null(),
            BankTransaction.transaction_id.in_(list(found))):
        zoho_line = found[same_day.transaction_id]
        same_day.zoho_transaction_id = zoho_line["transaction_id"]
        same_day.zoho_status = zoho_line.get("status", "")
        same_day.save(only=[BankTransaction.zoho_transaction_id, BankTransaction.zoho_status])
        if same_day.id == line.id:
            line.zoho_transaction_id, line.zoho_status = (same_day.zoho_transaction_id,
                                                          same_day.zoho_status)
    return bool(line.zoho_transaction_id)


def _line_detail(client, line: BankTransaction) -> dict:
    return client.get(f"/banktransactions/{line.zoho_transaction_id}").get(
        "banktransaction", {})


def _record_of(detail: dict, kind: SettlementKind) -> tuple[str, str] | None:
    """What the Zoho line says it is linked to, when it is what this settlement makes:
    ("expense", id), ("vendorpayment", id), ("", "") for a match; None otherwise."""
    status = detail.get("status")
    if kind is SettlementKind.MATCH:
        return ("", "") if status == "matched" else None
    if status != "categorized":
        return None
    if kind is SettlementKind.EXPENSE:
        expense_id = detail.get("expense_id")
        return ("expense", str(expense_id)) if expense_id else None
    # UNCONFIRMED field name: the OAS has none on the detail; the sandbox names it so.
    payment_id = (detail.get("vendorpayment_id") or detail.get("payment_id")
                  or detail.get("vendor_payment_id"))
    if detail.get("transaction_type") in ("vendor_payment", "vendorpayment") or payment_id:
        return "vendorpayment", str(payment_id or "")
    return None


def _look_up(config, client, settlement: Settlement, user) -> bool:
    """After an unknown outcome: if the Zoho line shows our operation, finish the settlement
    (True); if the line is still uncategorised, it may be sent again (False)."""
    line = BankTransaction.get_by_id(settlement.line_id)
    detail = _line_detail(client, line)
    record = _record_of(detail, settlement.kind)
    if record is not None:
        _after_send(config, client, settlement, line, _documents(settlement), user,
                    found=(record, detail))
        return True
    if detail.get("status") not in (None, "", "uncategorized"):
        _fail(settlement, stored_message(
            "Someone recorded this bank line in Zoho Books another way (%(status)s). Undo it "
            "there, or undo this match.", status=str(detail.get("status"))), user)
        return True
    return False


def _after_send(config, client, settlement, line, documents, user, found=None) -> None:
    """The write went through: read what it created, attach the receipt, mark it all."""
    detail = found[1] if found else None
    if found:
        record_type, record_id = found[0]
    elif settlement.kind is SettlementKind.MATCH:
        record_type, record_id = "", ""
    else:  # Zoho's answer does not say what it created: the line's detail does
        detail = _line_detail(client, line)
        record_type, record_id = _record_of(detail, settlement.kind) or ("", "")
    if settlement.kind is SettlementKind.EXPENSE and record_id:
        document = documents[0]
        created = {"_type": "expense", "expense_id": record_id,
                   "reference_number": publishing.reference(document)}
        # One receipt per expense in Zoho: attaching again after a kill replaces, not adds.
        publishing.attach_original(config, client, document, created)
        publishing.mark_published(document, created, user, found_again=bool(found))
    now = utcnow()
    settlement.state, settlement.error = SettlementState.SETTLED, ""
    settlement.zoho_record_type, settlement.zoho_record_id = record_type, record_id or None
    settlement.settled_at = now
    settlement.alias_offer = _alias_offer(line, documents)
    settlement.save()
    line.zoho_status = "matched" if settlement.kind is SettlementKind.MATCH else "categorized"
    line.categorized_at = now
    if record_type == "expense":
        line.zoho_expense_id = record_id
    line.save(only=[BankTransaction.zoho_status, BankTransaction.categorized_at,
                    BankTransaction.zoho_expense_id])
    audit.record("match.settled", user=user, actor=None if user else "worker",
                 subject=_subject(settlement),
                 after={**_summary(settlement), "zoho_record_type": record_type,
                        "zoho_record_id": record_id, "found_again": bool(found)},
                 zoho_id=line.zoho_transaction_id, link=settlement)


def _alias_offer(line: BankTransaction, documents: list[Document]) -> str:
    """The line's counterparty, when its supplier does not know it by that name yet."""
    label = (line.counterparty or line.label).strip()
    document = documents[0]
    if not label or not document.supplier_name.strip():
        return ""
    rule = supplier_rules.rule_for_document(document)
    known = supplier_rules.names_of(rule) if rule else {fold_name(document.supplier_name)}
    return "" if fold_name(label) in known else label[:255]


def _fail(settlement, error: str, user) -> Settlement:
    _commit_state(settlement, SettlementState.FAILED, error)
    audit.record("match.failed", user=user, actor=None if user else "worker",
                 subject=_subject(settlement), after=_summary(settlement), detail=error,
                 zoho_id=settlement.line.zoho_transaction_id, link=settlement)
    return settlement


def _plain_error(settlement: Settlement, error: ZohoApiError) -> str:
    """Zoho's refusal as the settlement's error: our sentence, Zoho's own words inside."""
    message = getattr(error, "message", "") or str(error)
    return stored_message("Zoho Books refused to record this match: %(reason)s. Correct what "
                          "it says (in Bookbridge or in Zoho Books), then settle it again, or "
                          "undo the match.", reason=message)


def retry(settlement: Settlement, user) -> None:
    """A person asks again after a failure: queued, settled by the worker."""
    if settlement.state is not SettlementState.FAILED:
        return
    Settlement.update(attempts=0, next_try_at=None).where(
        Settlement.id == settlement.id).execute()
    _commit_state(settlement, SettlementState.QUEUED)
    queue(settlement)


# -- publishing a matched receipt -----------------------------------------------------------


def publish(config, document: Document, user, *, confirm_new_supplier=False) -> None:
    """Publish a document, the way every "Publish" goes (button, bulk, auto-publish): a
    receipt matched to a bank line becomes that line's expense (one Zoho record, the line
    categorised), never a second expense beside it; anything else goes through
    services.publishing. Raises publishing.PublishProblem with what to do."""
    if live_expense_settlement(document) is not None:
        publishing.check_publishable(document)
        publish_matched(config, document, user, confirm_new_supplier=confirm_new_supplier)
    else:
        publishing.publish(config, document, user, confirm_new_supplier=confirm_new_supplier)


def publish_matched(config, document: Document, user, *, confirm_new_supplier=False) -> None:
    """"Publish" on a receipt matched to a bank line: the line is categorised as its expense
    (never POST /expenses, which would leave the line to categorise again). The caller
    holds the writer lock. Raises publishing.PublishProblem with what to do."""
    settlement = live_expense_settlement(document)
    if settlement.state is SettlementState.WAITING:
        if not ready_to_settle(document):
            raise publishing.PublishProblem(stored_message(
                "Fill in the date, total and category before publishing."))
        _commit_state(settlement, SettlementState.QUEUED)
    elif settlement.state is SettlementState.FAILED:
        _commit_state(settlement, SettlementState.QUEUED)
    try:
        settle(config, settlement.id, user=user, confirm_new_supplier=confirm_new_supplier)
    except SettlementProblem as problem:
        raise publishing.PublishProblem(problem.user_message) from None
    except ZohoUnavailable:
        raise publishing.PublishProblem(stored_message(
            "Zoho Books is not answering. Nothing is lost: publish again in a few "
            "minutes.")) from None
    except ZohoDailyLimitReached as error:  # the settlement is looked up before a retry
        raise publishing.ZohoDaySpent(error.user_message) from None
    except ZohoApiError as error:
        raise publishing.PublishProblem(error.user_message) from None
    settlement = Settlement.get_by_id(settlement.id)
    # The caller's copy reads as published (the settlement saved its own copy of the row).
    document.__data__.update(Document.get_by_id(document.id).__data__)
    if settlement.state is SettlementState.FAILED:
        raise publishing.PublishProblem(settlement.error)
    if settlement.state is SettlementState.QUEUED:
        raise publishing.PublishProblem(stored_message(
            "This receipt is matched to a bank line that is not in Zoho Books yet. It is "
            "published with the line after the next bank sync; nothing else to do."))


# -- undoing -------------------------------------------------------------------------------------


def undo(settlement: Settlement, user) -> None:
    """Reverse a match. Not yet in Zoho: undone at once. In Zoho: UNDOING is committed and
    the worker makes the reversing call (uncategorise or unmatch)."""
    settlement = Settlement.get_by_id(settlement.id)
    if settlement.state in (SettlementState.UNDONE, SettlementState.UNDOING):
        return
    if settlement.state is SettlementState.SETTLING:
        raise SettlementProblem(stored_message(
            "This match is being recorded in Zoho Books right now. Undo it in a minute, once "
            "it is done."))
    if settlement.state is not SettlementState.SETTLED:  # nothing in Zoho to reverse
        _mark_undone(settlement, user, in_zoho=False)
        return
    Settlement.update(state=SettlementState.UNDOING, undone_by=user, error="", attempts=0,
                      next_try_at=None).where(Settlement.id == settlement.id).execute()
    _queue_undo(settlement)


def unsettle(config, settlement_id: int, *, client=None) -> Settlement | None:
    """The job body of an undo: the reversing call, exactly once (the line is looked up
    first: already uncategorised means it was done)."""
    settlement = Settlement.get_or_none(Settlement.id == settlement_id)
    if settlement is None or settlement.state is not SettlementState.UNDOING:
        return settlement
    line = BankTransaction.get_by_id(settlement.line_id)
    client = client or zoho.books_client(config)
    user = settlement.undone_by
    if _line_detail(client, line).get("status") != "uncategorized":
        path = "unmatch" if settlement.kind is SettlementKind.MATCH else "uncategorize"
        try:
            client.post(f"/banktransactions/{line.zoho_transaction_id}/{path}",
                        params={"account_id": line.account.zoho_account_id})
        except ZohoUnavailable:
            if _line_detail(client, line).get("status") != "uncategorized":
                raise SettlementProblem(stored_message(
                    "Zoho Books did not confirm the undo; it is tried again in a minute "
                    "(looked up first).")) from None
        except (ZohoValidationError, ZohoNotFound) as error:
            if _line_detail(client, line).get("status") != "uncategorized":
                settlement.error = stored_message(
                    "Zoho Books refused to undo this match: %(reason)s. Undo it in Zoho Books, "
                    "then here again.", reason=str(getattr(error, "message", error)))
                settlement.state = SettlementState.SETTLED
                settlement.save(only=[Settlement.error, Settlement.state])
                audit.record("match.failed", user=user, actor=None if user else "worker",
                             subject=_subject(settlement), detail=settlement.error, link=settlement)
                return settlement
    _mark_undone(settlement, user, in_zoho=True)
    return settlement


def _mark_undone(settlement: Settlement, user, *, in_zoho: bool) -> None:
    """Both sides back in their lists: the line uncategorised, an expense's receipt back to
    ready with its Zoho ids cleared."""
    documents = _documents(settlement)
    line = BankTransaction.get_by_id(settlement.line_id)
    with db.atomic():
        settlement.state, settlement.open_line = SettlementState.UNDONE, None
        settlement.undone_by, settlement.undone_at = user, utcnow()
        settlement.alias_offer = ""
        settlement.save()
        if in_zoho:
            line.zoho_status, line.categorized_at, line.zoho_expense_id = \
                "uncategorized", None, None
            line.save(only=[BankTransaction.zoho_status, BankTransaction.categorized_at,
                            BankTransaction.zoho_expense_id])
        if in_zoho and settlement.kind is SettlementKind.EXPENSE:
            _unpublish(documents[0])
    audit.record("match.undone", user=user, actor=None if user else "worker",
                 subject=_subject(settlement),
                 after={**_summary(settlement), "in_zoho": in_zoho,
                        "zoho_record_id": settlement.zoho_record_id},
                 zoho_id=line.zoho_transaction_id, link=settlement)


def _unpublish(document: Document) -> None:
    """Zoho deleted the expense with the categorisation: the receipt is ready again."""
    document.zoho_type, document.zoho_id, document.zoho_number = "", None, ""
    document.publish_state, document.publish_error, document.published_at = "", "", None
    document.status = DocumentStatus.TO_REVIEW
    document.save()
    refresh_status(document)


# -- auto-accept -------------------------------------------------------------------------------


def auto_accept(document_ids=None, line_ids=None) -> int:
    """Accept the one-to-one proposals scoring at least the admin's threshold (off by
    default), of these documents or lines when given. Returns how many were accepted."""
    if MatchSettings.current().auto_accept_score is None:
        return 0
    accepted = 0
    for proposal in matching.auto_accept_candidates(document_ids, line_ids):
        try:
            accept(proposal.line, [proposal.document], None, origin="auto",
                   score=proposal.score, reasons=proposal.reasons)
        except SettlementProblem as problem:
            log.info("auto-accept skipped line %s: %s", proposal.line_id,
                     in_words(problem.user_message))
            continue
        accepted += 1
    return accepted


# -- words ---------------------------------------------------------------------------------------


def _subject(settlement: Settlement) -> str:
    line = settlement.line
    return (f"{line.booking_date} {money(line.amount_cents)} {line.currency} "
            f"{line.counterparty or line.label}")[:200]


def _summary(settlement: Settlement) -> dict:
    return {"settlement": settlement.id, "kind": settlement.kind.value,
            "origin": settlement.origin, "line": settlement.line.transaction_id,
            "documents": [{"id": part.document_id, "amount": money(part.amount_cents)}
                          for part in settlement.parts]}
