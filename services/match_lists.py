"""The lists that matching should make shorter, and what a person answers about them.

"Receipt missing": open debit lines that no document explains yet (services.matching says
what "open" is). "Not paid yet": open cost documents without a line. "Paid from elsewhere":
documents a person marked "not a bank payment". Each list filters, pages by key in the
view, and exports the same filter as CSV. The marks ("no receipt needed", "not a bank
payment") are remembered on the row, audited, and undone from their own list.

Also here: the answer to an alias offer after a settled match (issue 8, item 7).
"""

import csv
import datetime
import io
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from models import BankTransaction, Document, DocumentStatus, QontoAccount, db, utcnow
from models.matching import Settlement, SettlementPart
from services import audit, bank_line_search, document_search, i18n, matching, supplier_rules
from services.bank_lines import money
from services.spreadsheet import safe_cell

MISSING = "missing"  # lines without a document
NO_RECEIPT = "no_receipt"  # lines marked "no receipt needed"
LINE_VIEWS = {MISSING: _l("Receipt missing"), NO_RECEIPT: _l("No receipt needed")}

NOT_PAID = "not_paid"  # open cost documents without a line
PAID_ELSEWHERE = "paid_elsewhere"  # documents marked "not a bank payment"
DOCUMENT_VIEWS = {NOT_PAID: _l("Not paid yet"), PAID_ELSEWHERE: _l("Paid from elsewhere")}

# A CSV export is one request: past this many rows, narrow the filter.
CSV_LIMIT = 50_000


@dataclass
class LineFilter:
    """What a person narrowed the "Receipt missing" list to (None: not narrowed)."""

    account_id: int | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    amount_cents: int | None = None
    search: str = ""


# -- bank lines -----------------------------------------------------------------------------

def lines(view: str, chosen: LineFilter):
    """The lines of this view, narrowed, newest booking date first."""
    if view == NO_RECEIPT:
        query = BankTransaction.select().where(BankTransaction.no_receipt_needed == True)  # noqa: E712
    else:
        query = matching.open_lines()
    if chosen.account_id is not None:
        query = query.where(BankTransaction.account == chosen.account_id)
    if chosen.date_from is not None:
        query = query.where(BankTransaction.booking_date >= chosen.date_from)
    if chosen.date_to is not None:
        query = query.where(BankTransaction.booking_date <= chosen.date_to)
    if chosen.amount_cents is not None:
        # Qonto amounts are positive with a side; a typed "-36.50" means the same line.
        query = query.where(BankTransaction.amount_cents == abs(chosen.amount_cents))
    if chosen.search.strip():
        query = query.where(bank_line_search.matching_words(chosen.search))
    return query.order_by(BankTransaction.booking_date.desc(), BankTransaction.id.desc())


def age_days(line: BankTransaction, today: datetime.date) -> int:
    """How long the line has waited for its receipt, in days since it was booked."""
    return max((today - line.booking_date).days, 0)


def account_names() -> dict[int, str]:
    return {account.id: account.name or account.iban
            for account in QontoAccount.select(QontoAccount.id, QontoAccount.name,
                                               QontoAccount.iban)}


def lines_csv(query, today: datetime.date) -> str:
    """The lines as CSV, one row each, in the columns the page shows."""
    names = account_names()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "amount", "currency", "label", "counterparty", "account",
                     "age_days", "qonto_transaction_id"])
    for line in query.limit(CSV_LIMIT):
        writer.writerow([line.booking_date.isoformat(), "-" + money(line.amount_cents)
                         if line.side == "debit" else money(line.amount_cents),
                         line.currency, safe_cell(line.label), safe_cell(line.counterparty),
                         safe_cell(names.get(line.account_id, "")), age_days(line, today),
                         line.transaction_id])
    return out.getvalue()


def mark_no_receipt_needed(line: BankTransaction, user, needed: bool) -> bool:
    """Set or clear the line's "no receipt needed" mark; False when it already was so."""
    if line.no_receipt_needed == needed:
        return False
    with db.atomic():
        line.no_receipt_needed = needed
        line.save(only=[BankTransaction.no_receipt_needed])
        audit.record("match.no_receipt_needed" if needed else "match.receipt_needed",
                     user=user, subject=f"{line.booking_date} {line.label} "
                     f"{money(line.amount_cents)} {line.currency}", link=line)
    return True


# -- documents ------------------------------------------------------------------------------

def documents(view: str, search: str = ""):
    """The documents of this view, matching the search, newest first."""
    if view == PAID_ELSEWHERE:
        query = Document.select().where(Document.not_bank_payment == True,  # noqa: E712
                                        Document.status != DocumentStatus.ARCHIVED)
    else:
        query = matching.open_documents()
    if search.strip():
        query = query.where(document_search.matching_words(search))
    return query.order_by(Document.created_at.desc(), Document.id.desc())


def documents_csv(query) -> str:
    """The documents as CSV. A machine reads it: the same columns and English status names
    whatever the reader's language, amounts as 94.80, dates as ISO."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "supplier", "number", "total", "currency", "status", "received",
                     "file"])
    with i18n.in_language("en"):
        for document in query.limit(CSV_LIMIT):
            writer.writerow([document.issue_date.isoformat() if document.issue_date else "",
                             safe_cell(document.supplier_name), safe_cell(document.number),
                             money(document.total_cents) if document.total_cents is not None
                             else "", document.currency, str(document.status.label),
                             document.created_at.date().isoformat(),
                             safe_cell(document.filename)])
    return out.getvalue()


def mark_not_bank_payment(document: Document, user, value: bool) -> bool:
    """Set or clear the document's "not a bank payment" mark; False when it already was so."""
    if document.not_bank_payment == value:
        return False
    with db.atomic():
        document.not_bank_payment = value
        document.updated_at = utcnow()
        document.save(only=[Document.not_bank_payment, Document.updated_at])
        audit.record("match.not_bank_payment" if value else "match.bank_payment", user=user,
                     subject=document.filename, link=document)
    return True


# -- the alias offer after a settled match ----------------------------------------------------

def supplier_of(settlement: Settlement) -> str:
    """The supplier name an alias would be added to: the first part's document's."""
    part = settlement.parts.order_by(SettlementPart.id).first()
    return (part.document.supplier_name or "").strip() if part else ""


def answer_alias_offer(settlement: Settlement, user, accept: bool) -> str:
    """Add the offered bank label to the supplier's aliases (yes) or drop the offer (no);
    either way the offer is cleared and the answer audited. Returns the message to show at
    once (in the reader's language)."""
    label, supplier = settlement.alias_offer, supplier_of(settlement)
    if not label:
        return _("There is nothing to answer: the offer was already answered.")
    if accept and supplier:
        try:
            rule = supplier_rules.add_alias(supplier, label, user)
        except supplier_rules.SupplierRuleError as problem:
            return _("“%(label)s” was not added: %(problem)s Edit the supplier rules to fix it.",
                     label=label, problem=i18n.in_words(str(problem)))
        said = _("“%(label)s” is now a name of supplier %(supplier)s: its next lines match it.",
                 label=label, supplier=rule.name)
    else:
        said = _("Noted: the bank label was not added.")
    with db.atomic():
        Settlement.update(alias_offer="").where(Settlement.id == settlement.id).execute()
        audit.record("match.alias_added" if accept and supplier else "match.alias_declined",
                     user=user, subject=supplier, after={"alias": label})
    return said


# -- settlements shown on the document and line pages -------------------------------------

def settlement_of_document(document: Document) -> Settlement | None:
    """The document's live settlement (newest first when a split payment has several)."""
    return (Settlement.select().join(SettlementPart)
            .where(SettlementPart.document == document, Settlement.open_line.is_null(False))
            .order_by(Settlement.id.desc()).first())


def settlements_of_document(document: Document) -> list[Settlement]:
    """Every live settlement of the document: one, or several for a split payment."""
    return list(Settlement.select().join(SettlementPart)
                .where(SettlementPart.document == document,
                       Settlement.open_line.is_null(False))
                .order_by(Settlement.id))


def settlement_of_line(line: BankTransaction) -> Settlement | None:
    """The line's live settlement, else its last undone one (to say it was undone)."""
    return (Settlement.select().where(Settlement.line == line)
            .order_by(Settlement.open_line.is_null(), Settlement.id.desc()).first())


def parts_of(settlement: Settlement) -> list[SettlementPart]:
    return list(SettlementPart.select(SettlementPart, Document).join(Document)
                .where(SettlementPart.settlement == settlement).order_by(SettlementPart.id))


def open_documents_matching(search: str, limit: int = 20) -> list[Document]:
    """Open documents a person may add to a line, by supplier, number, file or amount."""
    return list(documents(NOT_PAID, search).limit(limit))


def open_lines_matching(search: str, limit: int = 20) -> list[BankTransaction]:
    """Open lines a person may pick for a document: by amount when an amount is typed
    ("36.50", "36,50"), else by words of the label or counterparty."""
    amount = amount_cents(search)
    chosen = LineFilter(amount_cents=amount) if amount is not None else LineFilter(
        search=search)
    return list(lines(MISSING, chosen).limit(limit))


def amount_cents(text: str) -> int | None:
    """What a person typed as cents when it is an amount ("36.50", "-36,50", "1 234,50"),
    else None."""
    amount = i18n.typed_amount(text)
    if amount is None or abs(amount) >= 10**11 or amount != amount.quantize(Decimal("0.01")):
        return None
    return int(amount * 100)
