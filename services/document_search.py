"""The documents list: a status filter and a search on what a person types.

Search covers the supplier, the number, the file name and the total ("94.80" or "94,80").
On SQLite it is the full-text index `document_search` (FTS5, kept by triggers from migration
0009, its rowid the document id), matching words by their beginning, so "ovh fr-20" finds
OVHcloud's FR-2026-0193. PostgreSQL has no such index here (no extension is assumed): the
same words are matched there by a regular expression per word (`word_patterns`), which finds
what FTS5 finds, by scanning the rows: that is the whole switch, `full_text`.
"""

import re
import unicodedata

from flask_babel import lazy_gettext as _l
from peewee import SQL, Entity, Expression, NodeList, SqliteDatabase, fn

from models import Document, DocumentStatus, ZohoConnection, ZohoTax, db
from services import document_taxes

NEWEST_FIRST = (Document.created_at.desc(), Document.id.desc())
# What a row of the list shows: not the read text, lines or sources, which can be long and
# would be read (and sorted, for a search) for nothing.
LISTED = (Document.id, Document.created_at, Document.status, Document.supplier_name,
          Document.number, Document.filename, Document.issue_date, Document.total_cents,
          Document.currency, Document.source, Document.source_detail, Document.warnings,
          Document.duplicate_of, Document.duplicate_decision, Document.sources,
          Document.confidence)

# The inbox's "Problems" filter, and the badge each problem shows on a row.
DUPLICATES, TAX, LOW_CONFIDENCE = "duplicates", "tax", "low_confidence"
# Lazy: each page reads them in its reader's language.
PROBLEMS = [("", _l("All")), (DUPLICATES, _l("Possible duplicates")),
            (TAX, _l("Tax differences")), (LOW_CONFIDENCE, _l("Low confidence"))]
BADGES = {DUPLICATES: _l("Possible duplicate"), TAX: _l("Tax differs"),
          LOW_CONFIDENCE: _l("Check: low confidence")}
# As the review page flags a value (templates/documents/show.html): read by extraction, and
# trusted under 70 %.
UNSURE_BELOW = 0.7
READ_FROM = ("text", "ocr", "e-invoice", "learned")
# What the tax check reads, fetched for a page's documents under review in one query.
TAX_COLUMNS = (Document.id, Document.kind, Document.payment, Document.document_type,
               Document.net_cents, Document.tax_cents, Document.total_cents,
               Document.vat_breakdown, Document.tax_id, Document.tax_confirmed, Document.lines)
# A tax difference holds a document for review (services.document_status), or it failed.
TAX_CHECKED = (DocumentStatus.TO_REVIEW, DocumentStatus.FAILED)


def documents(status: str, search: str, problem: str = ""):
    """The documents with this status ("" for every open one) matching the search, newest
    first. A status filter is a look-up on the (status, created_at, id) index. A problem
    narrows the list in SQL: exactly for duplicates, to the candidates for a tax difference
    or a low confidence (which `problems` then settles row by row, in Python)."""
    query = Document.select(*LISTED).order_by(*NEWEST_FIRST)
    if status in {s.value for s in DocumentStatus}:
        query = query.where(Document.status == DocumentStatus(status))
    else:
        query = query.where(Document.status != DocumentStatus.ARCHIVED)
    if search.strip():
        query = query.where(matching_words(search))
    if problem == DUPLICATES:
        query = query.where(Document.duplicate_of.is_null(False),
                            Document.duplicate_decision.not_in(("not_duplicate",
                                                                "same_document")))
    elif problem == TAX:
        query = query.where(Document.status.in_(TAX_CHECKED))
    elif problem == LOW_CONFIDENCE:
        query = query.where(Document.confidence != "{}")
    return query


def problems(documents: list) -> dict[int, list[str]]:
    """The problems of each listed document by id (DUPLICATES, TAX, LOW_CONFIDENCE), for a
    page of rows selected with LISTED: from the rows' own columns, plus, when some are under
    review, one query for their tax columns and the organisation's taxes."""
    found = {document.id: [] for document in documents}
    for document in documents:
        if document.duplicate_of_id and document.duplicate_decision not in (
                "not_duplicate", "same_document"):
            found[document.id].append(DUPLICATES)
    checked = [document.id for document in documents if document.status in TAX_CHECKED]
    if checked:
        organization = ZohoConnection.current().organization_id
        taxes = [tax for tax in ZohoTax.usable(organization) if tax.percentage is not None]
        for document in Document.select(*TAX_COLUMNS).where(Document.id.in_(checked)):
            problem = document_taxes.check(document, taxes).problem
            if problem and not document_taxes.is_confirmed(document, problem):  # as tax_disagrees
                found[document.id].append(TAX)
    for document in documents:
        if low_confidence(document):
            found[document.id].append(LOW_CONFIDENCE)
    return found


def low_confidence(document) -> bool:
    """A value extraction read with under 70 % confidence, that no person has changed."""
    sources = document.sources or {}
    return any(trust is not None and trust < UNSURE_BELOW and sources.get(name) in READ_FROM
               for name, trust in (document.confidence or {}).items())


def full_text() -> bool:
    """Whether the database has SQLite's FTS5 tables (the bank lines search asks too)."""
    return isinstance(db.obj, SqliteDatabase)


def matching_words(search: str):
    """The condition a document meets when it matches every word of the search (the
    inbox's and the "Not paid yet" list's)."""
    if not full_text():
        return every_word_in(search, (Document.supplier_name, Document.number,
                                      Document.filename, amount_text(Document.total_cents)))
    return matching_rows(Document, "document_search", search)


def amount_text(cents):
    """Cents as the FTS index writes them, "94.80" ("-1.50" below zero; "" for none)."""
    return fn.COALESCE(fn.CONCAT((cents / 100).cast("text"), ".",
                                 fn.LPAD(fn.ABS(fn.MOD(cents, 100)).cast("text"), 2, "0")), "")


def every_word_in(search: str, columns):
    """Outside SQLite: the condition a row meets when every word of the search is in one of
    the columns, as FTS5 (unicode61, diacritics removed, word prefixes) would match it."""
    patterns = word_patterns(search)
    if not patterns:
        return SQL("0 = 1")
    condition = None
    for pattern in patterns:
        in_a_column = None
        for column in columns:
            found = Expression(column, "~*", pattern)
            in_a_column = found if in_a_column is None else in_a_column | found
        condition = in_a_column if condition is None else condition & in_a_column
    return condition


# Each Latin letter stands for its accented forms, as FTS5's remove_diacritics does.
_ACCENTED = {}
for _code in range(0xC0, 0x250):
    _char = chr(_code)
    _base = unicodedata.normalize("NFKD", _char)[0].lower()
    if _base.isascii() and _base.isalpha() and _char.lower() != _base:
        _ACCENTED.setdefault(_base, set()).update({_char.lower(), _char.upper()})


def word_patterns(search: str) -> list[str]:
    """One PostgreSQL regular expression per word typed: its tokens (runs of letters and
    digits) in order, separated by anything else, the first at a word's start and the last
    matched as a beginning: "FR-20" finds "FR-2026-0193", "94,80" finds "94.80"."""
    patterns = []
    for word in search.split():
        tokens = re.findall(r"[^\W_]+", _plain(word))
        if tokens:
            body = r"[^[:alnum:]]+".join(_letters(token) for token in tokens)
            patterns.append(r"(^|[^[:alnum:]])" + body)
    return patterns


def _plain(text: str) -> str:
    return "".join(char for char in unicodedata.normalize("NFKD", text.lower())
                   if not unicodedata.combining(char))


def _letters(token: str) -> str:
    return "".join(
        "[" + char + char.upper() + "".join(sorted(_ACCENTED[char])) + "]" if char in _ACCENTED
        else re.escape(char) for char in token)


def matching_rows(model, fts_table: str, search: str):
    """The condition a row of `model` meets when its FTS5 table (rowid = the row's id) has
    every word of the search; the bank lines search uses it too."""
    words = fts_query(search)
    if not words:  # only punctuation: FTS5 refuses an empty query, and nothing matches
        return SQL("0 = 1")
    # "id + 0" keeps SQLite from starting at the matches and sorting them all (16 ms for
    # a word in every document, at 10,000): it walks the list's own newest-first index
    # instead, checks each row against the matches, and stops once a page is full.
    table = Entity(fts_table)  # quoted as an identifier
    return (model.id + 0).in_(NodeList((SQL("(SELECT rowid FROM"), table, SQL("WHERE"),
                                        table, SQL("MATCH ?)", [words]))))


def fts_query(search: str) -> str:
    """What a person typed as an FTS5 query: every word required, each matched by its
    beginning, `ovh FR-20` -> `"ovh"* "FR-20"*`.

    Each word becomes a quoted string (a quote inside is doubled), so nothing typed is read
    as FTS syntax: AND, OR, NOT, NEAR, column filters, parentheses and stars stay plain
    text. Words with no letter or digit are dropped, since their empty phrase would match
    nothing and so hide every result.
    """
    # Control characters out first: FTS5 reads a NUL as the end of the query.
    search = "".join(char if char.isprintable() else " " for char in search)
    words = [word for word in search.split() if any(char.isalnum() for char in word)]
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)
