"""The bank transactions list: filters by account, state and dates, and a search on what a
person types.

Search covers the label, the counterparty, the reference, the note and the amount ("94.80"
or "94,80"). On SQLite it is the full-text index `bank_line_search` (FTS5, kept by triggers
from migration 0012, its rowid the line id), built and matched as the documents search does
(services.document_search.fts_query). Any other database matches the same words with a
regular expression per word (services.document_search.every_word_in): that is the whole
switch, `document_search.full_text`.
"""

import datetime

from peewee import Value, fn

from models import (
    BankTransaction,
    Document,
    PushState,
    QontoAccount,
    ReceiptUpload,
    Settlement,
    SettlementPart,
)
from services.document_search import amount_text, every_word_in, full_text, matching_rows

# States a line reaches after it is pushed, each a filter of the list beside the push states.
CATEGORISED = "categorised"  # Zoho Books has it categorised (by a rule, a match or by hand)
RECEIPT_ATTACHED = "receipt_attached"  # one of its Qonto receipts is attached in Zoho Books
WAITING_CATEGORY = "waiting_category"  # has receipts, waits for a category to attach them
MATCHED = "matched"  # a live settlement ties it to one or more documents
LATER_STATES = (CATEGORISED, RECEIPT_ATTACHED, WAITING_CATEGORY, MATCHED)

NEWEST_FIRST = (BankTransaction.booking_date.desc(), BankTransaction.id.desc())
# What a row of the list shows (the account's name comes from the page's account list).
LISTED = (BankTransaction.id, BankTransaction.account, BankTransaction.booking_date,
          BankTransaction.label, BankTransaction.counterparty, BankTransaction.side,
          BankTransaction.amount_cents, BankTransaction.currency, BankTransaction.push_state,
          BankTransaction.zoho_status, BankTransaction.attachment_ids,
          BankTransaction.last_error, BankTransaction.zoho_transaction_id)
# What a row of the "waiting for a category" list shows.
WAITING_LISTED = (BankTransaction.id, BankTransaction.account, BankTransaction.booking_date,
                  BankTransaction.label, BankTransaction.side, BankTransaction.amount_cents,
                  BankTransaction.currency, BankTransaction.attachment_ids,
                  BankTransaction.zoho_transaction_id)


def lines(account_id: int | None, state: str, search: str,
          date_from: datetime.date | None, date_to: datetime.date | None,
          amount_cents: int | None = None):
    """The lines of this account (None: every account) in this state ("": any; a push
    state or one of LATER_STATES), booked between the dates (both included, None: open),
    of this amount (either side) and matching the search, newest booking date first, then
    newest id. Every filter and the order are one range on an index: (account_id,
    booking_date, id), (push_state, booking_date, id), or (account_id, push_state,
    booking_date) for both."""
    query = BankTransaction.select(*LISTED).order_by(*NEWEST_FIRST)
    if account_id is not None:
        query = query.where(BankTransaction.account == account_id)
    if state in {s.value for s in PushState}:
        query = query.where(BankTransaction.push_state == PushState(state))
    elif state in LATER_STATES:
        query = query.where(_in_state(state))
    if amount_cents is not None:
        query = query.where(BankTransaction.amount_cents == abs(amount_cents))
    if date_from is not None:
        query = query.where(BankTransaction.booking_date >= date_from)
    if date_to is not None:
        query = query.where(BankTransaction.booking_date <= date_to)
    if search.strip():
        query = query.where(matching_words(search))
    return query


def _in_state(state: str):
    """The condition of a line in one of LATER_STATES (all of them are pushed lines, so the
    push-state index still narrows the walk)."""
    pushed = BankTransaction.push_state == PushState.PUSHED
    if state == CATEGORISED:
        return pushed & (BankTransaction.zoho_status == "categorized")
    if state == WAITING_CATEGORY:  # BankTransaction.receipts_waiting, term for term
        return (pushed & (BankTransaction.attachment_ids != Value("[]", converter=False))
                & (BankTransaction.zoho_status != "categorized"))
    if state == RECEIPT_ATTACHED:
        return pushed & BankTransaction.id.in_(
            ReceiptUpload.select(ReceiptUpload.transaction).where(ReceiptUpload.state == "done"))
    return BankTransaction.id.in_(  # MATCHED
        Settlement.select(Settlement.open_line).where(Settlement.open_line.is_null(False)))


def page_details(line_ids: list[int]) -> tuple[set[int], dict[int, list]]:
    """For one page of lines, two queries whatever its length: the ids of lines with a
    receipt attached in Zoho Books, and the documents each matched line is settled with
    ((document id, what to call it), oldest first)."""
    if not line_ids:
        return set(), {}
    attached = {upload.transaction_id for upload in ReceiptUpload.select(
        ReceiptUpload.transaction).where(ReceiptUpload.transaction.in_(line_ids),
                                         ReceiptUpload.state == "done")}
    matched: dict[int, list] = {}
    parts = (SettlementPart.select(Settlement.open_line, Document.id, Document.supplier_name,
                                   Document.number, Document.filename)
             .join(Settlement).switch(SettlementPart).join(Document)
             .where(Settlement.open_line.in_(line_ids))
             .order_by(SettlementPart.id).tuples())
    for line_id, document_id, supplier, number, filename in parts:
        said = " ".join(part for part in (supplier, number) if part) or filename
        matched.setdefault(line_id, []).append((document_id, said or f"document {document_id}"))
    return attached, matched


def waiting(account_id: int | None = None):
    """Pushed lines with receipts that wait for a category, newest first, on the partial
    index `banktransaction_receipts_waiting` (models.bank)."""
    query = (BankTransaction.receipts_waiting().select(*WAITING_LISTED)
             .order_by(*NEWEST_FIRST))
    if account_id is not None:
        query = query.where(BankTransaction.account == account_id)
    return query


def accounts() -> list[QontoAccount]:
    return list(QontoAccount.select(QontoAccount.id, QontoAccount.name, QontoAccount.iban)
                .order_by(QontoAccount.name, QontoAccount.id))


def matching_words(search: str):
    """The condition a line meets when it matches every word of the search (this list's
    and the "Receipt missing" list's)."""
    if not full_text():
        return every_word_in(search, (
            BankTransaction.label, BankTransaction.counterparty, BankTransaction.reference,
            BankTransaction.note, amount_text(fn.ABS(BankTransaction.amount_cents))))
    return matching_rows(BankTransaction, "bank_line_search", search)
