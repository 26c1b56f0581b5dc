"""Reading an invoice or receipt from plain text (a PDF's text layer or OCR output).

Works line by line: labels are matched on a folded copy of each line (lower case, no
accents, same length), and values are then cut from the original line at the same place.
"""

import re
import unicodedata
from collections import Counter
from decimal import Decimal

from .result import Extraction, Field, Line
from .totals import check_totals
from .values import (
    AMOUNT_RE,
    CENT,
    DATE_RE,
    french_vat_from_siren,
    iban_valid,
    parse_amount,
    parse_date,
    parse_rate,
    plain,
)

# How far to trust a value, by how it was found; OCR output is scaled down further.
LABELLED, HEURISTIC, CHECKED = 0.9, 0.5, 0.97
OCR_SCALE = 0.7

RATE_RE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,3})?)\s*%")
TOTAL_LABELS = [  # strongest first: the first label kind found wins
    r"total\s*t\.?t\.?c\.?|montant\s*t\.?t\.?c\.?|net\s*a\s*payer|total\s*a\s*payer"
    r"|reste\s*a\s*payer|amount\s*due|total\s*due|balance\s*due|grand\s*total"
    r"|total\s*(?:incl\.?|including|inc\.?)\s*(?:vat|tax)|total\s*amount",
    r"^\s*(?:total|montant\s*total|montant)\b(?!\s*(?:h\.?t|tva|vat|tax|net|hors|excl))",
]
NET_LABEL = (r"total\s*h\.?t\.?\b|montant\s*h\.?t\.?\b|total\s*hors\s*tax\w*|sous[\s-]*total"
             r"|sub[\s-]*total|net\s*amount|total\s*net|net\s*total|total\s*(?:excl\.?|excluding"
             r"|before|ex\.?)\s*(?:vat|tax)|^\s*net\b(?!\s*(?:a|to)\s*pay)|base\s*h\.?t\.?\b")
TAX_LABEL = r"\b(?:t\.?v\.?a\.?|vat|tax|taxes|sales\s*tax|gst)\b"
# Lines that mention VAT but carry an identifier or a total including VAT, not a VAT amount.
TAX_EXCLUDED = (r"intra|n[o°º]\b|number|numero|\bid\b|reg|identif|incl|inclu|\bhors\b|excl"
                r"|t\.?t\.?c|\bh\.?t\b|non\s*applicable|exon")
NUMBER_RE = re.compile(
    r"(?:facture|invoice|avoir|credit\s*note|recu|receipt|ticket|bon)\s*(?:de\s*caisse\s*)?"
    r"(?:number|numero|num\.?|nr\.?|n\s?[o°º]\.?|#)\s*[:.]?\s*"
    r"|(?:n\s?[o°º]\.?|numero)\s*(?:de\s*)?(?:la\s*)?(?:facture|recu|ticket|avoir)\s*[:.]?\s*"
    r"|invoice\s*(?:id|ref\.?)\s*[:.]?\s*"
    r"|^\s*(?:facture|invoice|avoir)\s*[:#]?\s*(?=[a-z]*[-/]?\d)")
NUMBER_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.]*")
DUE_LABEL = re.compile(
    r"date\s*d.?\s*echeance|echeance|due\s*date|payment\s*due(?:\s*date)?|\bdue\s*(?:on|by)?"
    r"|a\s*payer\s*avant\s*le|date\s*limite(?:\s*de\s*(?:paiement|reglement))?"
    r"|payable\s*(?:avant\s*le|by|before)")
ISSUE_LABEL = re.compile(
    r"date\s*(?:de\s*(?:la\s*)?facture|d.?\s*emission|de\s*facturation|du\s*recu)?|invoice\s*date"
    r"|issue\s*date|date\s*of\s*issue|issued(?:\s*on)?|emise?\s*le|\bdated?\b")
TERMS_RE = re.compile(
    r"(?:conditions?\s*de\s*(?:paiement|reglement)|payment\s*terms|\bterms)\s*[:.]?\s*(?P<v>.+)"
    r"|(?P<w>paiement\s*a\s*\d+\s*jours.*|\bnet\s*\d+\s*(?:days|jours)?\b.*"
    r"|payable\s*a\s*reception.*|due\s*on\s*receipt.*)")
BUYER_RE = re.compile(
    r"^\s*(?:client|factur[ee]\s*a|facture\s*a|bill(?:ed)?\s*to|customer|sold\s*to"
    r"|destinataire|adresse\s*de\s*facturation)\b\s*[:.]?\s*(?P<v>.*)$")
SUPPLIER_RE = re.compile(
    r"^\s*(?:fournisseur|vendeur|emetteur|from|supplier|seller|vendor)\s*[:.]\s*(?P<v>.*)$")
VAT_ID_RE = re.compile(
    r"\b(?:FR\s?[0-9A-HJ-NP-Z]{2}\s?\d{3}\s?\d{3}\s?\d{3}|ATU\d{8}|BE\s?[01]\d{3}\.?\d{3}\.?\d{3}"
    r"|DE\s?\d{9}|ES\s?[A-Z0-9]\d{7}[A-Z0-9]|IT\s?\d{11}|NL\s?\d{9}B\d{2}|LU\s?\d{8}"
    r"|IE\s?\d{7}[A-Z]{1,2}|GB\s?\d{9}(?:\d{3})?|PT\s?\d{9}|CHE[-\s]?\d{3}\.\d{3}\.\d{3})\b")
SIRET_RE = re.compile(r"\bSIR[EE]?[TN]\s*[:.]?\s*(\d{3}\s?\d{3}\s?\d{3}(?:\s?\d{5})?)\b",
                      re.IGNORECASE)
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{1,4}){3,9}")
CURRENCIES = [(re.compile(pattern), code) for pattern, code in [
    (r"€|\bEUR\b|\beuros?\b", "EUR"), (r"£|\bGBP\b", "GBP"), (r"\bUSD\b|US\$", "USD"),
    (r"(?<![A-Z])\$", "USD"), (r"\bCHF\b", "CHF"), (r"\bCAD\b|CA\$", "CAD"),
    (r"\bAUD\b|A\$", "AUD"), (r"\bSEK\b", "SEK"), (r"\bDKK\b", "DKK"), (r"\bPLN\b", "PLN")]]
TITLE_WORDS = re.compile(
    r"^\s*(?:facture|invoice|avoir|credit\s*note|recu|receipt|ticket|devis|quote|page\b|date"
    r"|client|customer|bill|total|tva|vat|n[o°º]\b|tel|phone|email|e-mail|www\.|http|siret"
    r"|siren|iban|bic|capital)")
FRENCH_WORDS = re.compile(r"\b(?:facture|tva|ttc|echeance|recu|montant|total\s*ht|avoir)\b")


def fold(text: str) -> str:
    """Lower case without accents, one character for one, so spans map back to `text`."""
    out = []
    for char in text:
        base = "".join(part for part in unicodedata.normalize("NFKD", char)
                       if not unicodedata.combining(part))
        out.append(base.lower() if len(base) == 1 else char.lower())
    return "".join(out)


def clean_lines(text: str) -> list[str]:
    """The non-empty lines of `text`, with odd spaces made plain.

    A run of spaces becomes exactly two: a column gap, which an amount never spans, so
    "1    100,00" (quantity, price) is not read as "1 100,00" (one thousand one hundred).
    """
    lines = []
    for line in text.splitlines():
        line = re.sub(r"[\u00a0\u2009\u202f]", " ", line)
        line = re.sub(r"[ \t]{2,}", "  ", line).strip()
        if line:
            lines.append(line)
    return lines


def parse(text: str, source: str = "text") -> Extraction:
    """Fields and lines read from the text of an invoice or receipt."""
    doc = _Document(clean_lines(text), source)
    result = Extraction(method=source, kind="cost", document_type=doc.document_type(),
                        text=text)
    doc.read_all()
    result.fields = doc.fields
    result.lines = doc.read_lines()
    if not doc.fields:
        result.warnings.append("No invoice details could be found in this document's text.")
    return result


def visible_total(text: str) -> tuple[Decimal, str] | None:
    """The total a reader sees in `text` and how it is written there, or None."""
    found = _Document(clean_lines(text), "text").amount(TOTAL_LABELS)
    return (found[0], found[1]) if found else None


class _Document:
    """The lines of one document and the fields found in them so far."""

    def __init__(self, lines: list[str], source: str):
        self.lines = lines
        self.folded = [fold(line) for line in lines]
        self.source = source
        self.scale = 1.0 if source == "text" else OCR_SCALE
        self.fields: dict[str, Field] = {}
        self.french = bool(FRENCH_WORDS.search("\n".join(self.folded)))

    def put(self, name: str, value, confidence: float) -> None:
        if value not in (None, "", []):
            self.fields[name] = Field(value, self.source, round(confidence * self.scale, 2))

    def document_type(self) -> str:
        head = self.folded[:12]
        if any(re.search(r"credit\s*note|^\s*(?:facture\s*d.)?avoir\b", line) for line in head):
            return "credit_note"
        if any(re.search(r"^\s*(?:recu|receipt|ticket)\b|ticket\s*de\s*caisse", line)
               for line in head):
            return "receipt"
        return "invoice"

    def read_all(self) -> None:
        self.read_currency()  # first: it decides how ambiguous dates are read
        self.read_parties()
        self.read_identifiers()
        self.read_number()
        self.read_dates()
        self.read_amounts()
        self.read_terms()

    # -- parties and identifiers ---------------------------------------------------------

    def read_parties(self) -> None:
        for index, line in enumerate(self.folded):
            supplier = SUPPLIER_RE.match(line)
            if supplier and "supplier_name" not in self.fields:
                self.put("supplier_name", self._value_or_next(index, supplier), LABELLED)
            buyer = BUYER_RE.match(line)
            if buyer and "buyer_name" not in self.fields:
                self.put("buyer_name", self._value_or_next(index, buyer), LABELLED)
        if "supplier_name" not in self.fields:
            self.put("supplier_name", self._first_meaningful_line(), HEURISTIC)

    def _value_or_next(self, index: int, match: re.Match) -> str | None:
        value = self.lines[index][match.start("v"):].strip(" :")
        if not re.search(r"[^\W\d_]{2}", value) and index + 1 < len(self.lines):
            value = self.lines[index + 1]
        return value if re.search(r"[^\W\d_]{2}", value) else None

    def _first_meaningful_line(self) -> str | None:
        # The issuer's name usually heads the page, above the title and the addresses.
        for line, folded in zip(self.lines[:10], self.folded[:10], strict=True):
            letters = sum(char.isalpha() for char in line)
            if letters < 3 or letters < len(line) / 2 or TITLE_WORDS.match(folded):
                continue
            if "@" in line or DATE_RE.search(line) or BUYER_RE.match(folded):
                continue
            return line.strip(" -*=:")
        return None

    def _buyer_block(self) -> set[int]:
        """Indexes of the lines under a 'Client' / 'Bill to' heading (the buyer's address)."""
        block = set()
        for index, line in enumerate(self.folded):
            if BUYER_RE.match(line):
                block.update(range(index, min(index + 5, len(self.lines))))
        return block

    def read_identifiers(self) -> None:
        buyer_lines = self._buyer_block()
        for index, line in enumerate(self.lines):
            if index in buyer_lines:
                continue
            vat = VAT_ID_RE.search(line.upper())
            if vat and "supplier_vat" not in self.fields:
                self._put_vat(re.sub(r"[\s.\-]", "", vat.group()))
            siret = SIRET_RE.search(line)
            if siret and "supplier_siret" not in self.fields:
                self.put("supplier_siret", re.sub(r"\s", "", siret.group(1)), LABELLED)
            if "supplier_iban" not in self.fields:
                self.put("supplier_iban", _iban_in(line.upper()), LABELLED)
        siret = self.fields.get("supplier_siret")
        if "supplier_vat" not in self.fields and siret is not None:
            # A French company's VAT number follows from its SIREN, but it may not be
            # registered for VAT at all: hence the lower confidence.
            self.put("supplier_vat", french_vat_from_siren(siret.value[:9]), HEURISTIC)

    def _put_vat(self, vat: str) -> None:
        confidence = LABELLED
        if re.fullmatch(r"FR\d{11}", vat):
            checks = french_vat_from_siren(vat[4:]) == vat
            confidence = CHECKED if checks else HEURISTIC
        self.put("supplier_vat", vat, confidence)

    def read_currency(self) -> None:
        counts = Counter()
        for line in self.lines:
            for pattern, code in CURRENCIES:
                counts[code] += len(pattern.findall(line))
        code, count = counts.most_common(1)[0]
        if count:
            self.put("currency", code, LABELLED)

    # -- number and dates ----------------------------------------------------------------

    def read_number(self) -> None:
        for line, folded in zip(self.lines, self.folded, strict=True):
            for label in NUMBER_RE.finditer(folded):
                value = NUMBER_VALUE.match(line, label.end())
                if value and re.search(r"\d", value.group()) and not DATE_RE.fullmatch(
                        value.group()):
                    self.put("number", value.group().rstrip("."), LABELLED)
                    return

    def read_dates(self) -> None:
        day_first = self.value("currency") != "USD" or self.french
        for index, folded in enumerate(self.folded):
            due_spans = []
            for label in DUE_LABEL.finditer(folded):
                due_spans.append(label.span())
                if "due_date" not in self.fields:
                    self.put("due_date", self._date_after(index, label.end(), day_first),
                             LABELLED)
            for label in ISSUE_LABEL.finditer(folded):
                inside_due = any(start <= label.start() <= end for start, end in due_spans)
                if not inside_due and "issue_date" not in self.fields:
                    self.put("issue_date", self._date_after(index, label.end(), day_first),
                             LABELLED)
        if "issue_date" not in self.fields:
            # Receipts often print a bare date: the first one is the date of sale.
            for line in self.lines:
                found = DATE_RE.search(line)
                if found and parse_date(found.group(), day_first):
                    self.put("issue_date", parse_date(found.group(), day_first), HEURISTIC)
                    break

    def _date_after(self, index: int, start: int, day_first: bool):
        line = self.lines[index]
        found = DATE_RE.search(line, start)
        if found and not re.search(r"[^\W\d_]{3}", line[start:found.start()]):
            return parse_date(found.group(), day_first)
        if not line[start:].strip(" :.") and index + 1 < len(self.lines):
            found = DATE_RE.match(self.lines[index + 1])
            return parse_date(found.group(), day_first) if found else None
        return None

    def value(self, name: str):
        found = self.fields.get(name)
        return found.value if found else None

    # -- amounts -------------------------------------------------------------------------

    def amount(self, patterns: list[str]) -> tuple[Decimal, str, int] | None:
        """(amount, as written, line index) for the strongest label kind; its last use."""
        for pattern in patterns:
            found = None
            for index, folded in enumerate(self.folded):
                if re.search(pattern, folded):
                    found = self._amount_on(index) or found
            if found:
                return found
        return None

    def _amount_on(self, index: int) -> tuple[Decimal, str, int] | None:
        amounts = _amounts(self.lines[index])
        if not amounts and index + 1 < len(self.lines):
            # Table layouts put the figure under its label.
            following = _amounts(self.lines[index + 1])
            if following and not re.search(r"[^\W\d_]{3}", self.lines[index + 1]):
                return (*following[-1], index)
        return (*amounts[-1], index) if amounts else None

    def read_amounts(self) -> None:
        total = self.amount(TOTAL_LABELS)
        net = self.amount([NET_LABEL])
        if total and net and total[2] == net[2]:
            net = None  # one line matched both labels: it is the total's
        self.put("total", total[0] if total else None, LABELLED)
        self.put("net", net[0] if net else None, LABELLED)
        rows, tax_total = self._vat_rows()
        if len(rows) == 1 and rows[0]["base"] is None and net:
            rows[0]["base"] = net[0]
        tax = tax_total if tax_total is not None else (
            sum(row["tax"] for row in rows) if rows else None)
        if tax is None and total and net:
            tax = total[0] - net[0]  # e.g. a receipt printing only HT and TTC
            self.put("tax", tax, HEURISTIC)
        else:
            self.put("tax", tax, LABELLED)
        if net is None and total and tax is not None:
            self.put("net", total[0] - tax, HEURISTIC)
        self.put("vat_breakdown", rows, LABELLED)
        self._corroborate()

    def _vat_rows(self) -> tuple[list[dict], Decimal | None]:
        rows, tax_total = [], None
        for index, folded in enumerate(self.folded):
            if not re.search(TAX_LABEL, folded) or re.search(TAX_EXCLUDED, folded):
                continue
            line = self.lines[index]
            rate = RATE_RE.search(line)
            amounts = _amounts(RATE_RE.sub(" ", line))
            if not amounts:
                continue
            if rate:
                base = amounts[0][0] if len(amounts) > 1 else None
                rows.append({"rate": parse_rate(rate.group(1)), "base": base,
                             "tax": amounts[-1][0]})
            elif re.search(r"total|montant", folded):
                tax_total = amounts[-1][0]
            elif tax_total is None:
                tax_total = amounts[-1][0]
        return rows, tax_total

    def _corroborate(self) -> None:
        """Amounts that add up vouch for each other: raise their confidence."""
        names = ("net", "tax", "total")
        if all(name in self.fields for name in names) and not check_totals(self.fields):
            for name in names:
                self.put(name, self.fields[name].value, CHECKED)

    def read_terms(self) -> None:
        for line, folded in zip(self.lines, self.folded, strict=True):
            found = TERMS_RE.search(folded)
            if found:
                start = found.start("v") if found.group("v") else found.start("w")
                self.put("payment_terms", line[start:].strip(" :."), LABELLED)
                return

    # -- lines ---------------------------------------------------------------------------

    def read_lines(self) -> list[Line]:
        """Item lines whose quantity × unit price gives their amount (so surely items)."""
        items = []
        for line, folded in zip(self.lines, self.folded, strict=True):
            if re.search(NET_LABEL + "|" + TAX_LABEL + "|total", folded):
                continue
            item = _item(line)
            if item:
                items.append(item)
        return items


def _amounts(line: str) -> list[tuple[Decimal, str]]:
    """Every amount on `line` as (value, as written), skipping dates and VAT rates."""
    # Identifiers are long digit runs an amount pattern would happily take for money.
    for pattern in (VAT_ID_RE, SIRET_RE, IBAN_RE, DATE_RE, RATE_RE):
        line = pattern.sub("  ", line)
    found = []
    for match in AMOUNT_RE.finditer(line):
        value = parse_amount(match.group())
        if value is not None:
            found.append((value, match.group().strip()))
    return found


def _iban_in(line: str) -> str | None:
    for match in IBAN_RE.finditer(line):
        groups = match.group().split()
        # The pattern may run on into the next word ("... 189 BIC"): shorten until it checks.
        for end in range(len(groups), 0, -1):
            candidate = "".join(groups[:end])
            if iban_valid(candidate):
                return candidate
    return None


ITEM_TAIL = re.compile(r"^(?P<desc>.*?[^\W\d_].*?)\s+(?P<numbers>[\d\s.,x×%€$£-]+?)\s*"
                       r"(?:€|EUR|\$|£)?\s*$")


def _item(line: str) -> Line | None:
    tail = ITEM_TAIL.match(line)
    if not tail:
        return None
    rate = None
    numbers = tail.group("numbers")
    found_rate = RATE_RE.search(numbers)
    if found_rate:
        rate = parse_rate(found_rate.group(1))
        numbers = numbers[:found_rate.start()] + "  " + numbers[found_rate.end():]
    # Symbols and "x" (as in "3 x 1,50") separate columns like a wide gap does.
    numbers = re.sub(r"\s*[x×€$£]\s*", "  ", numbers).strip()
    pieces = re.split(r"(\s+)", numbers)  # numbers at even places, gaps at odd ones
    for quantity, unit, net in _groupings(pieces):
        if (quantity * unit).quantize(CENT) == net and net != 0:
            return Line(tail.group("desc").strip(" .:-"), quantity, unit, net, rate)
    return None


def _groupings(pieces: list[str]):
    """Ways to read the pieces as quantity, unit price, amount.

    Neighbouring numbers may join across a single space ("1 234,56"), never across a gap.
    """
    count = (len(pieces) + 1) // 2
    if not 3 <= count <= 7:
        return
    for cut_one in range(1, count - 1):
        for cut_two in range(cut_one + 1, count):
            parts = ["".join(pieces[2 * start:2 * end - 1])
                     for start, end in ((0, cut_one), (cut_one, cut_two), (cut_two, count))]
            if not all(AMOUNT_RE.fullmatch(part) for part in parts):
                continue
            quantity, unit, net = (parse_amount(part) for part in parts)
            if None not in (quantity, unit, net):
                yield plain(quantity), unit, net
