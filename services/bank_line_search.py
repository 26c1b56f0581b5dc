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

from peewee import fn

from models import BankTransaction, PushState, QontoAccount
from services.document_search import amount_text, every_word_in, full_text, matching_rows

NEWEST_FIRST = (BankTransaction.booking_date.desc(), BankTransaction.id.desc())
# What a row of the list shows (the account's name comes from the page's account list).
LISTED = (BankTransaction.id, BankTransaction.account, BankTransaction.booking_date,
          BankTransaction.label, BankTransaction.counterparty, BankTransaction.side,
          BankTransaction.amount_cents, BankTransaction.currency, BankTransaction.push_state,
          BankTransaction.zoho_status, BankTransaction.attachment_ids,
          BankTransaction.last_error)


def lines(account_id: int | None, state: str, search: str,
          date_from: datetime.date | None, date_to: datetime.date | None):
    """The lines of this account (None: every account) in this push state ("": any),
    booked between the dates (both included, None: open) and matching the search, newest
    booking date first, then newest id. Every filter and the order are one range on an
    index: (account_id, booking_date, id), (push_state, booking_date, id), or
    (account_id, push_state, booking_date) for both."""
    query = BankTransaction.select(*LISTED).order_by(*NEWEST_FIRST)
    if account_id is not None:
        query = query.where(BankTransaction.account == account_id)
    if state in {s.value for s in PushState}:
        query = query.where(BankTransaction.push_state == PushState(state))
    if date_from is not None:
        query = query.where(BankTransaction.booking_date >= date_from)
    if date_to is not None:
        query = query.where(BankTransaction.booking_date <= date_to)
    if search.strip():
        query = query.where(_matching(search))
    return query


def accounts() -> list[QontoAccount]:
    return list(QontoAccount.select(QontoAccount.id, QontoAccount.name, QontoAccount.iban)
                .order_by(QontoAccount.name, QontoAccount.id))


def _matching(search: str):
    """The condition a line meets when it matches every word of the search."""
    if not full_text():
        return every_word_in(search, (
            BankTransaction.label, BankTransaction.counterparty, BankTransaction.reference,
            BankTransaction.note, amount_text(fn.ABS(BankTransaction.amount_cents))))
    return matching_rows(BankTransaction, "bank_line_search", search)
