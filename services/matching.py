"""Which bank line pays which document: scored match proposals.

A proposal says "this cost document may explain this Qonto debit", with a score out of 100
and its reasons in words a bookkeeper reads. Proposals are recomputed whenever documents or
lines change (`propose`) and never decide anything alone: a person accepts one, or
auto-accept takes the clear one-to-one pairs above the admin's threshold
(`auto_accept_candidates`; services.settlement acts on them).

How a pair scores (the weights below add up to more than 100; the total is capped):

- **Amount is the gate.** No proposal without the same amount: the document's total (what
  is left of it once live settlements paid part of it) equals the line's amount in the
  line's currency, or its local amount when the document is in the line's local currency
  (a card payment in GBP charged in EUR). A bill whose number is in the line's reference
  may match a different amount (a transfer paying three invoices, or one invoice paid in
  two transfers), for fewer points.
- **Date** inside the window MatchSettings gives around the document's issue date (default
  3 days before to 10 days after): paid on the day or in the two days after scores most,
  the window's edges least. A document with a later due date (a bill on 30 days) also
  reaches lines up to its due date plus the window, for the fewest date points.
- **Supplier**: the document's supplier name as read, its recognised Zoho contact, and the
  name and aliases of its supplier rule, against the line's counterparty and label, folded
  as supplier recognition folds them (no case, accents, punctuation or legal form).
- **Card**: the last 4 digits printed on a receipt ("**** 4242") against the paying card.
  Different digits cost points: that receipt was paid with another card.
- **Number**: the document's number in the line's reference or label (compared without
  case, spaces, dashes or dots).

Finding candidates never compares every document with every line: open lines are indexed
by amount, by local amount and by the digit runs of their references, and each document
only looks up its own keys.
"""

import bisect
import dataclasses
import datetime
import difflib
import functools
import itertools
import re

from peewee import Expression, chunked, fn

from models import (
    BankTransaction,
    Document,
    DocumentStatus,
    MatchProposal,
    MatchSettings,
    PushState,
    Settlement,
    SettlementPart,
    SupplierRule,
    ZohoConnection,
    ZohoContact,
    db,
    utcnow,
)
from services.i18n import money_value, stored_message, stored_plural_message
from services.supplier_recognition import fold_name

# -- weights (points out of 100) ------------------------------------------------------------
AMOUNT_POINTS = 40  # the same amount (or local amount): required
PARTIAL_AMOUNT_POINTS = 15  # another amount, allowed only with the number in the reference
DATE_POINTS = 20  # paid on the document's date or in the 2 days after
DATE_EDGE_POINTS = 5  # paid at the window's edge (the points fall linearly towards it)
DATE_DUE_POINTS = 3  # paid after the window but before the bill's due date (+ window)
SUPPLIER_POINTS = 25  # the same supplier; a close name (typo, OCR) gets its likeness share
CARD_POINTS = 10  # the card's last 4 digits printed on the receipt
OTHER_CARD_PENALTY = 15  # the receipt shows another card's digits
NUMBER_POINTS = 25  # the document's number in the line's reference or label

CLOSE_DAYS = 2  # days after the document's date that still count as "right away"
LIKENESS_FLOOR = 0.8  # folded names less alike than this are different suppliers
KEEP_PER_DOCUMENT = 5  # proposals kept per document, best first
CLEAR_LEAD = 10  # auto-accept: no other proposal of either side within this many points
INSERT_CHUNK = 300  # proposal rows per INSERT (7 columns: far under SQLite's variable limit)
ID_CHUNK = 500  # ids per IN (...) list
FEW_DOCUMENTS = 20  # up to this many documents, SQL narrows the lines to the payable ones

LIVE_LINE_STATES = (PushState.READY, PushState.SENDING, PushState.PUSHED)
SETTLED_IN_ZOHO = ("categorized", "matched", "handled")
CLOSED_DOCUMENT_STATUSES = (DocumentStatus.ARCHIVED, DocumentStatus.FAILED,
                            DocumentStatus.PROCESSING)

# "**** 4242", "XXXX XXXX XXXX 4242", "•••• 4242", "xxxx-4242"; or "carte ... 4242", "CB 4242"
_MASKED_CARD = re.compile(r"(?:[*xX•·]{2,}[ \t-]*)+(\d{4})(?!\d)")
_CARD_WORDS = re.compile(r"\b(?:carte|card|cb|visa|mastercard|amex)\b[^\d\n]{0,20}?"
                         r"(?:[*xX•·.]{2,}[ \t-]*)*(\d{4})(?!\d)", re.IGNORECASE)
_DIGIT_RUN = re.compile(r"\d{3,}")
_YEAR = re.compile(r"(?:19|20)\d\d")


@dataclasses.dataclass
class Score:
    """How well a document and a line fit: points (0..100) and why, in plain words (stored
    messages, services.i18n: each reader reads them in their language, amounts in their
    locale). `days` is the line's date minus the document's (None without a fit), for ties."""

    points: int
    reasons: list[str]
    days: int | None = None


@dataclasses.dataclass(frozen=True)
class SupplierName:
    """One name a document's supplier is known by, folded once."""

    shown: str  # as a person reads it in a reason
    folded: str
    how: str  # "supplier", "Zoho contact", "supplier rule"


NO_FIT = Score(0, [])


# -- scoring (pure: no queries) -------------------------------------------------------------


def score(document: Document, line: BankTransaction, settings: MatchSettings, *,
          names: list[SupplierName] | None = None, paid_cents: int = 0) -> Score:
    """How well `line` pays `document`. `names` are the supplier's known names (propose
    reads the contact and rule names once per document; without them, the names the
    document carries are used); `paid_cents` is what live settlements already paid of it."""
    if document.total_cents is None or document.issue_date is None:
        return NO_FIT
    date = _date(document, line, settings)
    if date is None:
        return NO_FIT
    amount = _same_amount(document, line, paid_cents)
    if amount is None and not _may_pay_part(document, line):
        return NO_FIT
    numbered = number_in(document.number, line)
    amount = amount or _part_amount(document, line, paid_cents, numbered)
    if amount is None:
        return NO_FIT
    points, reasons = amount[0] + date[0], [amount[1], date[1]]
    for signal in (_supplier(names if names is not None else document_names(document), line),
                   _card(document, line), _number(document, numbered)):
        if signal is not None:
            points += signal[0]
            reasons.append(signal[1])
    return Score(max(1, min(100, points)), reasons,
                 (line.booking_date - document.issue_date).days)


def _is_receipt(document: Document) -> bool:
    """Reasons say "receipt" for a receipt and "invoice" for anything else."""
    return document.document_type == "receipt"


def _same_amount(document, line, paid_cents) -> tuple[int, str] | None:
    """Points and reason for the same amount (or local amount), else None."""
    due = document.total_cents - paid_cents
    currency = document.currency or line.currency
    if currency == line.currency and due == line.amount_cents:
        return AMOUNT_POINTS, _same_amount_reason(
            due, currency, document.total_cents if paid_cents else None)
    if (line.local_currency and currency == line.local_currency
            and due == line.local_amount_cents):
        return AMOUNT_POINTS, _charged_reason(due, currency, line.amount_cents, line.currency)
    return None


# The reasons are stored messages (JSON): the same few hundred are made again and again while
# proposing, so they are made once each (these functions are pure).

@functools.lru_cache(maxsize=65536)
def _same_amount_reason(due: int, currency: str, total: int | None) -> str:
    if total is not None:
        return stored_message("same amount %(amount)s (left to pay of %(total)s)",
                              amount=money_value(due, currency),
                              total=money_value(total, currency))
    return stored_message("same amount %(amount)s", amount=money_value(due, currency))


@functools.lru_cache(maxsize=65536)
def _charged_reason(due: int, currency: str, charged: int, charged_currency: str) -> str:
    return stored_message("same amount %(amount)s (charged %(charged)s)",
                          amount=money_value(due, currency),
                          charged=money_value(charged, charged_currency))


def _may_pay_part(document, line) -> bool:
    """Only an invoice in the line's currency may be paid in part (with its number)."""
    return document.document_type != "receipt" and document.currency in ("", line.currency)


def _part_amount(document, line, paid_cents, numbered) -> tuple[int, str] | None:
    """Points and reason for a line paying part of the document, or more than it: only
    with the document's number in the line's reference or label (never a receipt:
    `_may_pay_part`)."""
    due, currency = document.total_cents - paid_cents, line.currency
    if numbered:
        paid, owed = money_value(line.amount_cents, currency), money_value(due, currency)
        if line.amount_cents > due:
            return PARTIAL_AMOUNT_POINTS, stored_message(
                "the %(paid)s payment covers this %(due)s invoice and more",
                paid=paid, due=owed)
        return PARTIAL_AMOUNT_POINTS, stored_message(
            "part payment: %(paid)s of the %(due)s invoice", paid=paid, due=owed)
    return None


def window(document: Document, settings: MatchSettings
           ) -> tuple[datetime.date, datetime.date] | None:
    """The booking dates a line paying this document may have (due date included)."""
    if document.issue_date is None:
        return None
    last = max(document.issue_date, document.due_date or document.issue_date)
    return (document.issue_date - datetime.timedelta(days=settings.days_before),
            last + datetime.timedelta(days=settings.days_after))


def _date(document, line, settings) -> tuple[int, str] | None:
    days = (line.booking_date - document.issue_date).days
    receipt = _is_receipt(document)
    if days < -settings.days_before:
        return None
    if days > settings.days_after:
        due = document.due_date
        if due is None or (line.booking_date - due).days > settings.days_after:
            return None
        return DATE_DUE_POINTS, _paid_by_due_date(receipt, days)
    if days < 0:
        share = 1 - (-days) / (settings.days_before + 1)
        said = _paid_before(receipt, -days)
    elif days <= CLOSE_DAYS:
        share = 1
        said = _paid_after(receipt, days)
    else:
        share = 1 - (days - CLOSE_DAYS) / (max(settings.days_after, CLOSE_DAYS + 1) - CLOSE_DAYS)
        said = _paid_after(receipt, days)
    return DATE_EDGE_POINTS + round((DATE_POINTS - DATE_EDGE_POINTS) * share), said


# A receipt and an invoice each have their own sentences: in French their gender differs.

@functools.lru_cache(maxsize=1024)
def _paid_after(receipt: bool, days: int) -> str:
    if days == 0:
        return stored_message("paid on the receipt's date") if receipt else \
            stored_message("paid on the invoice's date")
    if receipt:
        return stored_plural_message("paid %(num)s day after the receipt",
                                     "paid %(num)s days after the receipt", days)
    return stored_plural_message("paid %(num)s day after the invoice",
                                 "paid %(num)s days after the invoice", days)


@functools.lru_cache(maxsize=1024)
def _paid_before(receipt: bool, days: int) -> str:
    if receipt:
        return stored_plural_message("paid %(num)s day before the receipt's date",
                                     "paid %(num)s days before the receipt's date", days)
    return stored_plural_message("paid %(num)s day before the invoice's date",
                                 "paid %(num)s days before the invoice's date", days)


@functools.lru_cache(maxsize=1024)
def _paid_by_due_date(receipt: bool, days: int) -> str:
    if receipt:
        return stored_plural_message("paid %(num)s day after the receipt, by its due date",
                                     "paid %(num)s days after the receipt, by its due date",
                                     days)
    return stored_plural_message("paid %(num)s day after the invoice, by its due date",
                                 "paid %(num)s days after the invoice, by its due date", days)


def document_names(document: Document, rules: list[SupplierRule] = ()) -> list[SupplierName]:
    """The names a document's supplier goes by: as read (and as printed, when recognition
    replaced it), its Zoho contact's, and its supplier rules' names and aliases."""
    recognition = document.recognition or {}
    found = [(document.supplier_name, "supplier"), (recognition.get("read", ""), "supplier"),
             (recognition.get("contact_name", ""), "Zoho contact")]
    for rule in rules:
        found += [(name, "supplier rule") for name in [rule.name, *(rule.aliases or [])]]
    names, seen = [], set()
    for shown, how in found:
        folded = fold_name(shown)
        if folded and folded not in seen:
            seen.add(folded)
            names.append(SupplierName(shown.strip(), folded, how))
    return names


@functools.lru_cache(maxsize=65536)  # pure; the same few hundred names meet again and again
def likeness(ours: str, theirs: str) -> float:
    """How alike two folded names are, 0..1: 1 the same; 0.9 when all the words of one are
    in the other ("big mamma" in "big mamma group", "uber" in "cb uber trip") or one,
    without spaces, begins the other ("pointp" and "point p pantin"); else how similar
    their letters are (a misread letter)."""
    if not ours or not theirs:
        return 0.0
    if ours == theirs:
        return 1.0
    short, long_ = sorted((ours, theirs), key=len)
    compact_short, compact_long = short.replace(" ", ""), long_.replace(" ", "")
    if len(compact_short) >= 4 and (set(short.split()) <= set(long_.split())
                                    or compact_long.startswith(compact_short)):
        return 0.9
    return difflib.SequenceMatcher(None, compact_short, compact_long).ratio()


def _supplier(names: list[SupplierName], line) -> tuple[int, str] | None:
    best, found = 0.0, None
    for text in (line.counterparty, line.label):
        folded = fold_name(text)
        for name in names:
            alike = likeness(name.folded, folded)
            if alike > best:
                best, found = alike, (name, text)
    if best < LIKENESS_FLOOR:
        return None
    name, text = found
    return round(SUPPLIER_POINTS * best), _known_as(name.how, name.shown, text.strip())


@functools.lru_cache(maxsize=65536)
def _known_as(how: str, shown: str, text: str) -> str:
    """The reason for a supplier's name found on the line: "supplier X ~ LABEL"."""
    if how == "Zoho contact":
        return stored_message("Zoho contact %(name)s ~ %(bank)s", name=shown, bank=text)
    if how == "supplier rule":
        return stored_message("supplier rule %(name)s ~ %(bank)s", name=shown, bank=text)
    return stored_message("supplier %(name)s ~ %(bank)s", name=shown, bank=text)


def card_digits(text: str) -> set[str]:
    """The last 4 digits of the cards a receipt's text shows ("**** 4242", "carte ...4242")."""
    text = text or ""
    return set(_MASKED_CARD.findall(text)) | set(_CARD_WORDS.findall(text))


def _card(document, line) -> tuple[int, str] | None:
    paid_with = (line.card_last_digits or "").strip()
    if not paid_with:
        return None
    printed = card_digits(document.text)
    if paid_with in printed:
        return CARD_POINTS, _card_reason(paid_with)
    if printed:
        shown = ", ".join(f"•••• {digits}" for digits in sorted(printed))
        if _is_receipt(document):
            return -OTHER_CARD_PENALTY, stored_message(
                "the receipt shows card %(shown)s, the line was paid with •••• %(digits)s",
                shown=shown, digits=paid_with)
        return -OTHER_CARD_PENALTY, stored_message(
            "the invoice shows card %(shown)s, the line was paid with •••• %(digits)s",
            shown=shown, digits=paid_with)
    return None


@functools.lru_cache(maxsize=65536)
def _card_reason(digits: str) -> str:
    return stored_message("card •••• %(digits)s", digits=digits)


@functools.lru_cache(maxsize=65536)  # pure; every line's reference is compared many times
def compact(text: str) -> str:
    """A number or reference as compared: upper case, letters and digits only."""
    return re.sub(r"[^0-9A-Z]", "", (text or "").upper())


def number_in(number: str, line) -> str:
    """Where the document's number appears: "reference", "label" or ""; a number needs 4
    characters with a digit, and must not be the middle of a longer run of digits."""
    wanted = compact(number)
    if len(wanted) < 4 or not any(ch.isdigit() for ch in wanted):
        return ""
    for where, text in (("reference", line.reference), ("label", line.label)):
        haystack = compact(text)
        start = haystack.find(wanted)
        while start >= 0:
            end = start + len(wanted)
            digit_before = start > 0 and wanted[0].isdigit() and haystack[start - 1].isdigit()
            digit_after = end < len(haystack) and wanted[-1].isdigit() \
                and haystack[end].isdigit()
            if not digit_before and not digit_after:
                return where
            start = haystack.find(wanted, start + 1)
    return ""


def _number(document, numbered: str) -> tuple[int, str] | None:
    if not numbered:
        return None
    number = document.number.strip()
    if numbered == "reference":
        if _is_receipt(document):
            return NUMBER_POINTS, stored_message("receipt %(number)s in the transfer reference",
                                                 number=number)
        return NUMBER_POINTS, stored_message("invoice %(number)s in the transfer reference",
                                             number=number)
    if _is_receipt(document):
        return NUMBER_POINTS, stored_message("receipt %(number)s in the bank label",
                                             number=number)
    return NUMBER_POINTS, stored_message("invoice %(number)s in the bank label", number=number)


def number_keys(text: str) -> set[str]:
    """The digit runs (3 digits or more) of a line's reference or label: its index keys."""
    return set(_DIGIT_RUN.findall(text or ""))


def number_key(number: str) -> str | None:
    """The digit run a document's number is looked up by: its longest (the last of equals),
    a year only when nothing else ("FACT-2026-0042" -> "0042")."""
    if len(compact(number)) < 4:
        return None
    runs = _DIGIT_RUN.findall(number or "")
    plain = [run for run in runs if not _YEAR.fullmatch(run)] or runs
    return max(reversed(plain), key=len) if plain else None


# -- what is open -------------------------------------------------------------------------------


def _live_settlements():
    return Settlement.select(Settlement.id).where(Settlement.open_line.is_null(False))


def _fully_settled_documents():
    """Documents whose live settlement parts cover their total."""
    return (SettlementPart.select(SettlementPart.document)
            .join(Document, on=(SettlementPart.document == Document.id))
            .where(SettlementPart.settlement.in_(_live_settlements()))
            .group_by(SettlementPart.document, Document.total_cents)
            .having(fn.SUM(SettlementPart.amount_cents) >= Document.total_cents))


def document_is_open() -> Expression:
    """What makes a document open, as a condition on its row (so a join can test it)."""
    return ((Document.kind == "cost") & (Document.document_type != "credit_note")
            & Document.status.not_in(CLOSED_DOCUMENT_STATUSES)
            & Document.total_cents.is_null(False)
            & (Document.not_bank_payment == False)  # noqa: E712 (a SQL comparison)
            & (Document.duplicate_decision != "same_document")
            & Document.id.not_in(_fully_settled_documents()))


def line_is_open() -> Expression:
    """What makes a line open, as a condition on its row (so a join can test it)."""
    return ((BankTransaction.side == "debit") & (BankTransaction.status == "completed")
            & BankTransaction.push_state.in_(LIVE_LINE_STATES)
            & (BankTransaction.no_receipt_needed == False)  # noqa: E712
            & BankTransaction.categorized_by.is_null()
            & BankTransaction.zoho_status.not_in(SETTLED_IN_ZOHO)
            & BankTransaction.id.not_in(Settlement.select(Settlement.open_line).where(
                Settlement.open_line.is_null(False))))


def open_documents():
    """Cost documents still waiting for their bank line (a query: narrow it before reading).
    A bill split over two lines stays open until its parts cover its total."""
    return Document.select().where(document_is_open())


def open_lines():
    """Qonto debits in Zoho (or on their way) that nothing explains yet (a query)."""
    return BankTransaction.select().where(line_is_open())


def _paid_so_far(document_ids) -> dict[int, int]:
    """What live settlements already paid of these (partly paid) documents."""
    paid = {}
    for chunk in chunked(list(document_ids), ID_CHUNK):
        query = (SettlementPart.select(SettlementPart.document,
                                       fn.SUM(SettlementPart.amount_cents))
                 .where(SettlementPart.document.in_(chunk),
                        SettlementPart.settlement.in_(_live_settlements()))
                 .group_by(SettlementPart.document).tuples())
        paid.update({document: total for document, total in query})
    return paid


# -- proposing ----------------------------------------------------------------------------------

DOCUMENT_COLUMNS = (Document.id, Document.kind, Document.document_type, Document.supplier_name,
                    Document.recognition, Document.contact_id, Document.number,
                    Document.issue_date, Document.due_date, Document.currency,
                    Document.total_cents, Document.text)
LINE_COLUMNS = (BankTransaction.id, BankTransaction.amount_cents, BankTransaction.currency,
                BankTransaction.local_amount_cents, BankTransaction.local_currency,
                BankTransaction.label, BankTransaction.counterparty, BankTransaction.reference,
                BankTransaction.booking_date, BankTransaction.card_last_digits)


class _LineIndex:
    """Open lines by amount, by (local currency, local amount) and by reference digits, each
    list in booking-date order so a document reads only the lines inside its window."""

    def __init__(self, lines):
        self.by_amount, self.by_local, self.by_digits = {}, {}, {}
        for line in sorted(lines, key=lambda line: (line.booking_date, line.id)):
            self.by_amount.setdefault(line.amount_cents, []).append(line)
            if line.local_currency and line.local_amount_cents is not None:
                self.by_local.setdefault((line.local_currency, line.local_amount_cents),
                                         []).append(line)
            # As written and without separators: "HON-2026-0007" gives 2026, 0007 and
            # 20260007, so a number is found however either side wrote it.
            keys = set()
            for text in (line.reference, line.label):
                keys |= number_keys(text) | number_keys(compact(text))
            for key in keys:
                self.by_digits.setdefault(key, []).append(line)

    def candidates(self, document: Document, due_cents: int,
                   dates: tuple[datetime.date, datetime.date]) -> dict[int, BankTransaction]:
        """The lines dated inside `dates` that share the document's amount, local amount or
        number digits."""
        found = {}
        lists = [self.by_amount.get(due_cents, ())]
        if document.currency:
            lists.append(self.by_local.get((document.currency, due_cents), ()))
        for key in {number_key(document.number), number_key(compact(document.number))}:
            if key:
                lists.append(self.by_digits.get(key, ()))
        for lines in lists:
            start = bisect.bisect_left(lines, dates[0], key=_booked)
            for line in itertools.islice(lines, start, None):
                if line.booking_date > dates[1]:
                    break
                found[line.id] = line
        return found


def _booked(line) -> datetime.date:
    return line.booking_date


class _Names:
    """Each document's supplier names, with its Zoho contact and supplier rules read once."""

    def __init__(self, documents):
        self.rules_by_contact, self.rules_by_name = {}, {}
        for rule in SupplierRule.select(SupplierRule.id, SupplierRule.name,
                                        SupplierRule.aliases, SupplierRule.contact_id):
            if rule.contact_id:
                self.rules_by_contact.setdefault(rule.contact_id, rule)
            for name in [rule.name, *(rule.aliases or [])]:
                self.rules_by_name.setdefault(fold_name(name), rule)
        wanted = {document.contact_id for document in documents if document.contact_id}
        org = ZohoConnection.current().organization_id
        self.contacts = {}
        for chunk in chunked(sorted(wanted), ID_CHUNK):
            for contact in ZohoContact.select(ZohoContact.zoho_id, ZohoContact.name,
                                              ZohoContact.company_name).where(
                    ZohoContact.organization_id == org, ZohoContact.zoho_id.in_(chunk)):
                self.contacts[contact.zoho_id] = contact

    def of(self, document: Document) -> list[SupplierName]:
        rules = {self.rules_by_contact.get(document.contact_id or ""),
                 self.rules_by_name.get(fold_name(document.supplier_name))} - {None}
        names = document_names(document, sorted(rules, key=lambda rule: rule.id))
        contact = self.contacts.get(document.contact_id or "")
        if contact is not None:
            known = {name.folded for name in names}
            for shown in (contact.name, contact.company_name):
                if fold_name(shown) and fold_name(shown) not in known:
                    known.add(fold_name(shown))
                    names.append(SupplierName(shown, fold_name(shown), "Zoho contact"))
        return names


def propose(document_ids=None, line_ids=None) -> int:
    """Recompute the proposals touching these documents and lines (both None: everything
    open), replacing their old rows, and mark each side's best. Returns proposals written."""
    settings = MatchSettings.current()
    everything = document_ids is None and line_ids is None
    line_ids = list(line_ids or [])
    documents = _documents_to_recompute(document_ids, line_ids, settings, everything)
    paid = _paid_so_far([d.id for d in documents])
    lines = _lines_for(documents, settings, everything, paid)
    index, names = _LineIndex(lines), _Names(documents)
    rows = []
    for document in documents:
        rows += _best_of(document, index, settings, names.of(document),
                         paid.get(document.id, 0))
    with db.atomic():
        # Asked-for documents that are no longer open lose their proposals too.
        replaced = {document.id for document in documents} | set(document_ids or [])
        touched_lines = _delete_old(replaced, line_ids, everything)
        _mark_best_for_line(rows)
        _insert(rows)
        if not everything:  # other documents' proposals to these lines count as well
            _refresh_best_for_line(touched_lines | {row["line"] for row in rows})
    return len(rows)


def _documents_to_recompute(document_ids, line_ids, settings, everything) -> list[Document]:
    """The open documents to recompute: those asked for, and those that may match the
    lines asked for (their amount or local amount, their number in the reference, or an
    earlier proposal) within the window."""
    query = open_documents().select(*DOCUMENT_COLUMNS).order_by(Document.id)
    if everything:
        return list(query)
    wanted = set(document_ids or [])
    if line_ids:
        wanted |= _documents_for_lines(line_ids, settings)
    documents = []
    for chunk in chunked(sorted(wanted), ID_CHUNK):
        documents += list(query.where(Document.id.in_(chunk)))
    return documents


def _documents_for_lines(line_ids, settings) -> set[int]:
    lines = []
    for chunk in chunked(line_ids, ID_CHUNK):
        lines += list(BankTransaction.select(*LINE_COLUMNS).where(
            BankTransaction.id.in_(chunk)).namedtuples())
    # Documents that had a proposal with these lines: their best may change.
    wanted = set()
    for chunk in chunked(line_ids, ID_CHUNK):
        wanted |= {row.document_id for row in MatchProposal.select(MatchProposal.document)
                   .where(MatchProposal.line.in_(chunk))}
    if not lines:
        return wanted
    # Documents dated so that one of these lines falls in their window (a due date
    # stretches it: those are read from the oldest issue date the longest terms allow).
    earliest = min(line.booking_date for line in lines) - datetime.timedelta(
        days=settings.days_after)
    latest = max(line.booking_date for line in lines) + datetime.timedelta(
        days=settings.days_before)
    amounts = {line.amount_cents for line in lines} | {
        line.local_amount_cents for line in lines if line.local_amount_cents is not None}
    dated = open_documents().select(*DOCUMENT_COLUMNS).where(
        Document.issue_date <= latest,
        (Document.issue_date >= earliest) | (Document.due_date >= earliest))
    index = _LineIndex(lines)
    for document in dated:
        if document.total_cents in amounts or index.candidates(
                document, document.total_cents, window(document, settings)):
            wanted.add(document.id)
    return wanted


def _lines_for(documents, settings, everything, paid) -> list[BankTransaction]:
    """The open lines in the dates these documents' windows span; for a few documents (a
    person's edit), only those that could pay one of them, so an edit reads a handful of
    lines, not the weeks of lines around its date."""
    windows = [w for w in (window(document, settings) for document in documents) if w]
    if not windows:
        return []
    query = open_lines().select(*LINE_COLUMNS)
    if not everything:
        query = query.where(BankTransaction.booking_date.between(
            min(w[0] for w in windows), max(w[1] for w in windows)))
    if not everything and len(documents) <= FEW_DOCUMENTS:
        query = query.where(_could_pay(documents, paid))
    return list(query.namedtuples())  # a tenth of the cost of 100,000 model instances


def _could_pay(documents, paid) -> Expression:
    """A superset of what _LineIndex.candidates finds for these documents, as SQL: the
    amount or local amount due, or the last digits of a number key in the reference or
    label (the index then keeps the exact matches)."""
    amounts = {document.total_cents - paid.get(document.id, 0) for document in documents}
    condition = (BankTransaction.amount_cents.in_(amounts)
                 | BankTransaction.local_amount_cents.in_(amounts))
    for document in documents:
        for key in {number_key(document.number), number_key(compact(document.number))}:
            if key:
                condition |= (BankTransaction.reference.contains(key[-3:])
                              | BankTransaction.label.contains(key[-3:]))
    return condition


def _best_of(document, index, settings, names, paid_cents) -> list[dict]:
    """The document's KEEP_PER_DOCUMENT best proposals as rows, the first marked best."""
    due, dates = document.total_cents - paid_cents, window(document, settings)
    if dates is None:
        return []  # no date, no window: a person matches it from the line
    scored = []
    for line in index.candidates(document, due, dates).values():
        found = score(document, line, settings, names=names, paid_cents=paid_cents)
        if found.points > 0:
            scored.append((found, line))
    scored.sort(key=lambda pair: _rank(pair[0].points, pair[0].days, pair[1].id))
    now = utcnow()
    return [{"document": document.id, "line": line.id, "score": found.points,
             "reasons": found.reasons, "best_for_document": position == 0,
             "best_for_line": False, "computed_at": now, "_days": found.days}
            for position, (found, line) in enumerate(scored[:KEEP_PER_DOCUMENT])]


def _rank(points: int, days: int | None, other_id: int) -> tuple:
    """Best first: more points, then paid closer to (and rather after) the document's
    date, then the older row."""
    days = 0 if days is None else days
    return (-points, abs(days) + (0.5 if days < 0 else 0), other_id)


def _mark_best_for_line(rows: list[dict]) -> None:
    """Among these rows, mark each line's best (rows then lose their helper key)."""
    best = {}
    for row in rows:
        key = _rank(row["score"], row["_days"], row["document"])
        if row["line"] not in best or key < best[row["line"]][0]:
            best[row["line"]] = (key, row)
    for _key, row in best.values():
        row["best_for_line"] = True
    for row in rows:
        del row["_days"]


PROPOSAL_FIELDS = (MatchProposal.document, MatchProposal.line, MatchProposal.score,
                   MatchProposal.reasons, MatchProposal.best_for_document,
                   MatchProposal.best_for_line, MatchProposal.computed_at)


def _insert(rows: list[dict]) -> None:
    """One multi-row INSERT per INSERT_CHUNK rows. Its SQL is written here, once per chunk
    size: peewee composing every value of 50,000 rows took longer than the matching."""
    columns = ", ".join(f'"{field.column_name}"' for field in PROPOSAL_FIELDS)
    table = MatchProposal._meta.table_name
    param = db.obj.param
    for chunk in chunked(rows, INSERT_CHUNK):
        values = ", ".join([f"({', '.join([param] * len(PROPOSAL_FIELDS))})"] * len(chunk))
        params = [field.db_value(row[field.name]) for row in chunk for field in PROPOSAL_FIELDS]
        sql = f'INSERT INTO "{table}" ({columns}) VALUES {values}'  # noqa: S608 - our names
        db.execute_sql(sql, params)


def _delete_old(document_ids: set[int], line_ids, everything) -> set[int]:
    """Delete the proposals being replaced; returns the lines they were for."""
    if everything:
        MatchProposal.delete().execute()
        return set()
    touched = set(line_ids)
    document_ids = sorted(document_ids)
    for field, ids in ((MatchProposal.document, document_ids), (MatchProposal.line, line_ids)):
        for chunk in chunked(ids, ID_CHUNK):
            touched |= {row.line_id for row in MatchProposal.select(MatchProposal.line)
                        .where(field.in_(chunk))}
            MatchProposal.delete().where(field.in_(chunk)).execute()
    return touched


def _refresh_best_for_line(line_ids) -> None:
    """Mark again the best proposal of each of these lines, from every document's rows."""
    for chunk in chunked(sorted(line_ids), ID_CHUNK):
        rows = (MatchProposal.select(MatchProposal.id, MatchProposal.line,
                                     MatchProposal.document, MatchProposal.score,
                                     Document.issue_date, BankTransaction.booking_date)
                .join(Document, on=(MatchProposal.document == Document.id))
                .switch(MatchProposal)
                .join(BankTransaction, on=(MatchProposal.line == BankTransaction.id))
                .where(MatchProposal.line.in_(chunk)).tuples())
        best = {}
        for proposal, line, document, points, issued, booked in rows:
            days = (booked - issued).days if issued and booked else None
            key = _rank(points, days, document)
            if line not in best or key < best[line][0]:
                best[line] = (key, proposal)
        MatchProposal.update(best_for_line=False).where(
            MatchProposal.line.in_(chunk)).execute()
        winners = [proposal for _key, proposal in best.values()]
        if winners:
            MatchProposal.update(best_for_line=True).where(
                MatchProposal.id.in_(winners)).execute()


# -- reading proposals --------------------------------------------------------------------------


def _open_only(proposals: list[MatchProposal]) -> list[MatchProposal]:
    """The proposals whose document and line are both still open: two look-ups by id, not
    a join (SQLite would walk every completed line to join them)."""
    if not proposals:
        return []
    line_ids = {proposal.line_id for proposal in proposals}
    document_ids = {proposal.document_id for proposal in proposals}
    open_line_ids = {row_id for (row_id,) in BankTransaction.select(BankTransaction.id).where(
        BankTransaction.id.in_(list(line_ids)), line_is_open()).tuples()}
    open_document_ids = {row_id for (row_id,) in Document.select(Document.id).where(
        Document.id.in_(list(document_ids)), document_is_open()).tuples()}
    return [proposal for proposal in proposals if proposal.line_id in open_line_ids
            and proposal.document_id in open_document_ids]


def proposals_for_document(document: Document) -> list[MatchProposal]:
    """The document's proposals to lines still open, best first, each with its line."""
    return _open_only(list(MatchProposal.select(MatchProposal, BankTransaction)
                           .join(BankTransaction)
                           .where(MatchProposal.document == document.id)
                           .order_by(MatchProposal.score.desc(), MatchProposal.id)))


def proposals_for_line(line: BankTransaction) -> list[MatchProposal]:
    """The line's proposals of documents still open, best first, each with its document."""
    return _open_only(list(MatchProposal.select(MatchProposal, Document)
                           .join(Document)
                           .where(MatchProposal.line == line.id)
                           .order_by(MatchProposal.score.desc(), MatchProposal.id)))


def auto_accept_candidates(document_ids=None, line_ids=None) -> list[MatchProposal]:
    """The clear one-to-one pairs at or above the admin's threshold ([] when it is off):
    best for both sides, with no other proposal of either side within CLEAR_LEAD points;
    only those of these documents or lines when given (a person's edit, a sync's lines)."""
    threshold = MatchSettings.current().auto_accept_score
    if threshold is None:
        return []
    other = MatchProposal.alias("other")

    def close_rival(side):
        return (other.select(other.id).where(
            getattr(other, side) == getattr(MatchProposal, side), other.id != MatchProposal.id,
            other.score >= MatchProposal.score - CLEAR_LEAD))

    query = (MatchProposal.select()
             .where(MatchProposal.best_for_document == True,  # noqa: E712
                    MatchProposal.best_for_line == True,  # noqa: E712
                    MatchProposal.score >= threshold,
                    ~fn.EXISTS(close_rival("document")), ~fn.EXISTS(close_rival("line"))))
    if document_ids is not None:
        query = query.where(MatchProposal.document.in_(list(document_ids)))
    if line_ids is not None:
        query = query.where(MatchProposal.line.in_(list(line_ids)))
    return _open_only(list(query.order_by(MatchProposal.score.desc(), MatchProposal.id)))

