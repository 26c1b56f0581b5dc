"""Reading an invoice or receipt from plain text (a PDF's text layer or OCR output).

Works line by line: labels are matched on a folded copy of each line (lower case, no
accents, same length), and values are then cut from the original line at the same place.
"""

import re
import unicodedata
from collections import Counter
from decimal import Decimal

from services.i18n import stored_message

from .labels import (
    BUYER_ID_RE,
    BUYER_RE,
    CURRENCIES,
    DUE_LABEL,
    FRENCH_WORDS,
    IBAN_RE,
    ISSUE_LABEL,
    LEGAL_FOOTER,
    LEGAL_FORM,
    NET_LABEL,
    NO_VAT_RE,
    NUMBER_HEADER,
    NUMBER_RE,
    NUMBER_VALUE,
    OTHER_DATE_BEFORE,
    RATE_RE,
    RCS_RE,
    REFERENCE_RE,
    SIRET_RE,
    SUPPLIER_RE,
    TABLE_NET,
    TABLE_TAX,
    TAX_EXCLUDED,
    TAX_LABEL,
    TERMS_RE,
    TITLE_WORDS,
    TOTAL_LABELS,
    VAT_ID_RE,
)
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
    return [clean for clean, _raw in layout_lines(text)]


def layout_lines(text: str) -> list[tuple[str, str]]:
    """Each non-empty line cleaned (see clean_lines) and as laid out, columns in place."""
    lines = []
    for line in text.splitlines():
        raw = re.sub(r"[\u00a0\u2009\u202f\t]", " ", line).rstrip()
        clean = re.sub(r" {2,}", "  ", raw).strip()
        if clean:
            lines.append((clean, raw))
    return lines


def parse(text: str, source: str = "text") -> Extraction:
    """Fields and lines read from the text of an invoice or receipt."""
    doc = _Document(layout_lines(text if source == "text" else ocr_fixes(text)), source)
    result = Extraction(method=source, kind="cost", document_type=doc.document_type(),
                        text=text)
    doc.read_all()
    result.fields = doc.fields
    result.lines = doc.read_lines()
    if not doc.fields:
        result.warnings.append(stored_message(
            "No invoice details could be found in this document's text."))
    return result


def visible_total(text: str) -> tuple[Decimal, str] | None:
    """The total a reader sees in `text` and how it is written there, or None."""
    found = _Document(layout_lines(text), "text").amount(TOTAL_LABELS)
    return (found[0], found[1]) if found else None


def ocr_fixes(text: str) -> str:
    """OCR slips in amounts undone: "73. 00" -> "73.00", "RMO.00" -> "RM0.00"."""
    text = re.sub(r"(?<=\d)([.,]) (?=\d{2}(?!\d))", r"\1", text)
    return re.sub(r"(?<=[\d\sM$])[Oo](?=[.,]\d{2}(?!\d))|(?<=\d)[Oo](?=\d)", "0", text)


def _cells(line: str):
    """(start, end, text) of each cell of a laid-out line: runs split by 2+ spaces."""
    for cell in re.finditer(r"\S+(?: \S+)*", line):
        yield cell.start(), cell.end(), cell.group()


class _Document:
    """The lines of one document and the fields found in them so far."""

    def __init__(self, lines: list[tuple[str, str]], source: str):
        self.lines = [clean for clean, _raw in lines]
        self.raw = [raw for _clean, raw in lines]
        self.folded = [fold(line) for line in self.lines]
        self.source = source
        self.scale = 1.0 if source == "text" else OCR_SCALE
        self.fields: dict[str, Field] = {}
        self.french = bool(FRENCH_WORDS.search("\n".join(self.folded)))
        self.buyer_lines = self._buyer_block()

    def put(self, name: str, value, confidence: float) -> None:
        if value not in (None, "", []):
            self.fields[name] = Field(value, self.source, round(confidence * self.scale, 2))

    def document_type(self) -> str:
        head = self.folded[:12]
        if any(re.search(r"credit\s*note|^\s*(?:facture\s*d.)?avoir\b|gutschrift|creditnota"
                         r"|nota\s*di\s*credito|factura\s*rectificativa", line) for line in head):
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

    def cells_below(self, index: int):
        """Header cells of line `index` with the cell under each in the next line.

        Table layouts print labels in one row and values in the row below, column by
        column ("Factuur datum  Factuur" over "8-9-2022  VF1005193039").
        """
        if index + 1 >= len(self.raw):
            return
        below = list(_cells(self.raw[index + 1]))
        for start, end, header in _cells(fold(self.raw[index])):
            overlaps = [(min(end, b_end) - max(start, b_start), text)
                        for b_start, b_end, text in below]
            best = max(overlaps, default=(0, ""))
            if best[0] > 0:
                yield header.strip(" :."), best[1]

    # -- parties and identifiers ---------------------------------------------------------

    def read_parties(self) -> None:
        supplier = self._labelled_party(SUPPLIER_RE, search=True)
        self.put("supplier_name", supplier, LABELLED)
        self.put("buyer_name", self._labelled_party(BUYER_RE, search=False), LABELLED)
        if "supplier_name" not in self.fields:
            self.put("supplier_name", self._legal_footer_name(), HEURISTIC)
        if "supplier_name" not in self.fields:
            self.put("supplier_name", self._first_meaningful_line(), HEURISTIC)

    def _labelled_party(self, label_re: re.Pattern, search: bool) -> str | None:
        """The name after a label such as 'Sold by:'; a value on the label's own line beats
        one found under it."""
        below = None
        for index, line in enumerate(self.folded):
            match = label_re.search(line) if search else label_re.match(line)
            if not match:
                continue
            group = "v" if match.groupdict().get("v") is not None else "w"
            value = _name_cell(self.lines[index][match.start(group):])
            if value:
                return value
            if below is None:
                below = self._name_below(index, label_re)
        return below

    def _name_below(self, index: int, label_re: re.Pattern) -> str | None:
        """A name printed under its label: in the label's column if the layout shows one."""
        label = label_re.search(fold(self.raw[index]))
        for next_index in range(index + 1, min(index + 3, len(self.raw))):
            for start, end, text in _cells(self.raw[next_index]):
                overlaps = label and min(end, label.end()) > max(start, label.start())
                if overlaps and not text.startswith("(") and _name_cell(text):
                    return _name_cell(text)
        if index + 1 < len(self.lines):
            return _name_cell(self.lines[index + 1])
        return None

    def _legal_footer_name(self) -> str | None:
        """The issuer named in a legal footer: 'Free SAS au capital de …', or the name line
        just above 'Siège social : …'."""
        for index, folded in enumerate(self.folded):
            footer = LEGAL_FOOTER.search(folded)
            if not footer or index in self.buyer_lines:
                continue
            before = self.lines[index][:footer.start()]
            form = ([None] + list(LEGAL_FORM.finditer(before)))[-1]  # the last one
            if form is not None and re.search(r"[^\W\d_]{2}", before[:form.start()]):
                return before[:form.end()].split("  ")[-1].strip(" -–,")
            previous = self.lines[index - 1].split("  ")[0] if index else ""
            if (index and not re.search(r"\d|@", previous) and 2 < len(previous) <= 40
                    and not TITLE_WORDS.match(self.folded[index - 1])):
                return previous.strip(" -–,")
        return None

    def _first_meaningful_line(self) -> str | None:
        # The issuer's name usually heads the page, above the title and the addresses.
        candidates, with_form = [], []
        for index, (line, folded) in enumerate(zip(self.lines[:10], self.folded[:10],
                                                   strict=False)):
            letters = sum(char.isalpha() for char in line)
            if letters < 3 or TITLE_WORDS.match(folded) or "@" in line:
                continue
            if DATE_RE.search(line) or index in self.buyer_lines:
                continue
            if self.source != "text" and line == line.lower():
                continue  # OCR of handwriting; printed names are rarely all lower case
            name = _without_registration(_before_title(line).strip(" -*=:+©®‘'\"|;,."))
            form = LEGAL_FORM.search(line)
            if form:
                with_form.append(self._with_line_above(index, name, form))
            if letters >= len(line) / 2:
                candidates.append(name)
        if self.source == "text":
            return candidates[0] if candidates else None
        # On a scanned receipt, the top lines may be a handwritten note or a logo's word:
        # a name with a legal form ("… SDN BHD") wins, then a line in capitals, as tills
        # print the shop's name.
        capitals = [line for line in candidates if _mostly_capitals(line)]
        for choice in (with_form[:1], capitals[:1], candidates[:1]):
            if choice:
                return choice[0]
        return None

    def _with_line_above(self, index: int, name: str, form: re.Match) -> str:
        """A name broken over two lines ("POPULAR BOOK" / "CO. (M) SDN BHD") joined again:
        when few words stand before the legal form, the capitals line above belongs to it."""
        words_before = re.findall(r"[^\W\d_]{3,}", self.lines[index][:form.start()])
        above = self.lines[index - 1] if index else ""
        if (len(words_before) <= 1 and _mostly_capitals(above) and not re.search(r"\d", above)
                and not TITLE_WORDS.match(self.folded[index - 1])):
            return f"{above.strip()} {name}"
        return name

    def _buyer_block(self) -> set[int]:
        """Indexes of the lines under a 'Client' / 'Bill to' heading (the buyer's address)."""
        block = set()
        for index, line in enumerate(self.folded):
            if BUYER_RE.match(line):
                block.update(range(index, min(index + 5, len(self.lines))))
        return block

    def read_identifiers(self) -> None:
        for index, line in enumerate(self.lines):
            if index in self.buyer_lines or BUYER_ID_RE.search(self.folded[index]):
                continue  # the customer's own VAT number or SIRET, printed for reference
            vat = VAT_ID_RE.search(line.upper())
            if vat and "supplier_vat" not in self.fields:
                self._put_vat(re.sub(r"[\s.\-]", "", vat.group()))
            siret = SIRET_RE.search(line)
            if siret and "supplier_siret" not in self.fields:
                self.put("supplier_siret", re.sub(r"\s", "", siret.group(1)), LABELLED)
            if "supplier_iban" not in self.fields:
                self.put("supplier_iban", _iban_in(line.upper()), LABELLED)
        siren = self._siren()
        if "supplier_vat" not in self.fields and siren is not None:
            # A French company's VAT number follows from its SIREN, but it may not be
            # registered for VAT at all: hence the lower confidence.
            self.put("supplier_vat", french_vat_from_siren(siren), HEURISTIC)

    def _siren(self) -> str | None:
        siret = self.fields.get("supplier_siret")
        if siret is not None:
            return siret.value[:9]
        for index, line in enumerate(self.lines):
            found = RCS_RE.search(line)
            if found and index not in self.buyer_lines:
                return re.sub(r"\s", "", found.group(1) or found.group(2))
        return None

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
        ranked = counts.most_common(1)  # empty when nothing was counted at all
        if ranked and ranked[0][1]:
            self.put("currency", ranked[0][0], LABELLED)

    # -- number and dates ----------------------------------------------------------------

    def read_number(self) -> None:
        number = (self._labelled_number(NUMBER_RE) or self._number_in_table()
                  or self._labelled_number(REFERENCE_RE))
        self.put("number", number, LABELLED)

    def _labelled_number(self, label_re: re.Pattern) -> str | None:
        for line, folded in zip(self.lines, self.folded, strict=True):
            for label in label_re.finditer(folded):
                value = NUMBER_VALUE.match(line, label.end())
                if value and _looks_like_number(value.group()):
                    return value.group().rstrip(".")
        return None

    def _number_in_table(self) -> str | None:
        for index in range(len(self.lines)):
            for header, cell in self.cells_below(index):
                value = NUMBER_VALUE.match(cell)
                if NUMBER_HEADER.fullmatch(header) and value and _looks_like_number(
                        value.group()):
                    return value.group().rstrip(".")
        return None

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
                other = OTHER_DATE_BEFORE.search(folded[:label.start()].rstrip(" :"))
                if not inside_due and not other and "issue_date" not in self.fields:
                    self.put("issue_date", self._date_after(index, label.end(), day_first),
                             LABELLED)
        self._dates_in_table(day_first)
        if "issue_date" not in self.fields:
            # Receipts often print a bare date: the first one is the date of sale.
            for line in self.lines:
                found = DATE_RE.search(line)
                if found and parse_date(found.group(), day_first):
                    self.put("issue_date", parse_date(found.group(), day_first), HEURISTIC)
                    break

    def _dates_in_table(self, day_first: bool) -> None:
        for index in range(len(self.lines)):
            for header, cell in self.cells_below(index):
                found = DATE_RE.match(cell)
                if not found:
                    continue
                if DUE_LABEL.fullmatch(header) and "due_date" not in self.fields:
                    self.put("due_date", parse_date(found.group(), day_first), LABELLED)
                elif ISSUE_LABEL.fullmatch(header) and "issue_date" not in self.fields:
                    self.put("issue_date", parse_date(found.group(), day_first), LABELLED)

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
        skipped = self._tax_summary_lines()
        for pattern in patterns:
            found = None
            for index, folded in enumerate(self.folded):
                label = re.search(pattern, folded)
                # A summary's bare "Total" row is skipped; a strong label never is.
                weak = pattern == TOTAL_LABELS[-1]
                if label and not (weak and index in skipped):
                    found = self._amount_on(index, label.end(), weak) or found
            if found:
                return found
        return None

    def _tax_summary_lines(self) -> set[int]:
        """Lines of a tax summary table ("GST Summary … Total 68.87 4.13"): its Total row
        is the sum of the bases, not what was paid."""
        lines = set()
        for index, folded in enumerate(self.folded):
            if re.search(r"(?:gst|tax|vat|tva|sst)\s*summary|summary\s*of\s*(?:gst|tax|vat)"
                         r"|tax\s*code|gst\s*code|gst\s*analysis|tax\s*analysis", folded):
                lines.update(range(index, min(index + 6, len(self.lines))))
        return lines

    def _amount_on(self, index: int, label_end: int = 0,
                   weak: bool = False) -> tuple[Decimal, str, int] | None:
        amounts = _amounts_after(self.lines[index], label_end)
        if self.source != "text":  # a till prints cents; a bare "5" on a scan is a count
            amounts = [found for found in amounts if re.search(r"[.,]\d\d$", found[1])]
        if not amounts and len(list(_cells(self.raw[index]))) >= 3:
            # A table's header row: a bare "Total" heads the item lines' column, not the
            # total; a strong label ("Endbetrag") counts only over a single row of figures.
            return None if weak else self._amount_in_column(index, label_end)
        if not amounts and index + 1 < len(self.lines):
            # Table layouts put the figure under its label.
            following = _amounts(self.lines[index + 1])
            if following and not re.search(r"[^\W\d_]{3}", self.lines[index + 1]):
                return (*following[-1], index)
        return (*amounts[-1], index) if amounts else None

    def _amount_in_column(self, index: int, label_end: int) -> tuple | None:
        label = fold(self.lines[index])[:label_end].split("  ")[-1].strip()
        below = dict(self.cells_below(index))
        second_row = index + 2 < len(self.raw) and _amounts(self.raw[index + 2])
        cell = below.get(next((header for header in below if label and header.endswith(label)),
                              None), "")
        if len(_amounts(cell)) != 1 or second_row:
            return None  # several rows of figures (one per VAT rate): none is the total
        return (*_amounts(cell)[0], index)

    def read_amounts(self) -> None:
        total = self.amount(TOTAL_LABELS)
        net = self.amount([NET_LABEL])
        if total and net and total[2] == net[2]:
            net = None  # one line matched both labels: it is the total's
        self.put("total", total[0] if total else None, LABELLED)
        self.put("net", net[0] if net else None, LABELLED)
        if self.source != "text":
            self._reconcile_total(net)
        rows, tax_total = self._vat_rows()
        if len(rows) == 1 and rows[0]["base"] is None and net:
            rows[0]["base"] = net[0]
        tax = tax_total if tax_total is not None else (
            sum(row["tax"] for row in rows) if rows else None)
        if tax is None and total and net:
            tax = total[0] - net[0]  # e.g. a receipt printing only HT and TTC
            self.put("tax", tax, HEURISTIC)
        elif tax is None and total and any(NO_VAT_RE.search(line) for line in self.folded):
            tax = Decimal("0.00")  # "reverse charge", "ohne MwSt.": no VAT on this invoice
            self.put("tax", tax, LABELLED)
        else:
            self.put("tax", tax, LABELLED)
        table = self._amounts_in_table()
        if "net" not in self.fields and "tax" not in self.fields:
            self.put("net", table.get("net"), LABELLED)
            self.put("tax", table.get("tax"), LABELLED)
            tax = table.get("tax")
        if "net" not in self.fields and total and tax is not None:
            self.put("net", total[0] - tax, HEURISTIC)
        self.put("vat_breakdown", rows, LABELLED)
        self._corroborate()

    def _reconcile_total(self, net) -> None:
        """On a scan, check the total against what else the receipt says it must be.

        Net + tax (+ rounding) and cash paid - change given are independent readings of
        the same figure. When the total is missing, or differs from one of them by a
        single misread digit, that reading wins.
        """
        readings = []
        tax = self.amount([r"^\W*(?:total\s*)?(?:gst|tax|vat|tva|sst)\b(?!\s*(?:summary|code|id"
                           r"|no|reg))"])
        rounding = self.amount([r"^\W*round\w*\s*(?:adj\w*)?\b(?!\s*total)"])
        if net and tax:
            readings.append(net[0] + tax[0] + (rounding[0] if rounding else 0))
        paid = self.amount([r"^\W*(?:cash|tunai|amount\s*paid|paid|tendered|payment|visa|master\w*"
                            r"|credit\s*card|debit\s*card|card)\b"])
        change = self.amount([r"^\W*(?:change|baki|kembali)\b"])
        if paid:
            readings.append(paid[0] - (change[0] if change else 0))
        total = self.value("total")
        if total is None:
            if paid:  # no readable "Total" line: what was paid, less the change
                self.put("total", readings[-1], HEURISTIC)
            return
        if total in readings:
            return
        for reading in readings:
            if reading > 0 and _one_digit_apart(total, reading):
                self.put("total", reading, HEURISTIC)
                return

    def _amounts_in_table(self) -> dict[str, Decimal]:
        """Net and VAT from a VAT table whose headers stand over its figures
        ("BTW %  Grondslag  BTW bedrag" over "21 %  41,31  8,68"); the last such row wins,
        as the table's own total row comes last."""
        found = {}
        for index in range(len(self.lines)):
            for header, cell in self.cells_below(index):
                amounts = _amounts(cell)
                if len(amounts) != 1:
                    continue
                if re.fullmatch(TABLE_NET, header):
                    found["net"] = amounts[0][0]
                elif re.fullmatch(TABLE_TAX, header):
                    found["tax"] = amounts[0][0]
        return found

    def _vat_rows(self) -> tuple[list[dict], Decimal | None]:
        rows, tax_total = [], None
        for index, folded in enumerate(self.folded):
            if not re.search(TAX_LABEL, folded) or re.search(TAX_EXCLUDED, folded):
                continue
            # What stands before the VAT label is not its amount ("… 40€. TVA acquittée").
            line = self.lines[index][re.search(TAX_LABEL, folded).start():]
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


def _before_title(line: str) -> str:
    """'OVHcloud  FACTURE N° FR-2026-1107' -> 'OVHcloud': the name's own column only."""
    cells = line.split("  ")
    for index in range(1, len(cells)):
        if TITLE_WORDS.match(fold(cells[index])):
            return "  ".join(cells[:index])
    return line


def _without_registration(name: str) -> str:
    """'ACME SDN BHD (123456-X)' -> 'ACME SDN BHD': the company number is not the name."""
    return re.sub(r"\s*\([^()]*\d[^()]*\)?\s*$", "", name).strip() or name


def _mostly_capitals(line: str) -> bool:
    """A line in capitals with at least one real word (not OCR crumbs such as 'LL ESS')."""
    letters = [char for char in line if char.isalpha()]
    return (sum(char.isupper() for char in letters) >= 0.8 * len(letters)
            and bool(re.search(r"[^\W\d_]{4}", line)))


def _one_digit_apart(first: Decimal, second: Decimal) -> bool:
    """True when two amounts are written alike but for one digit (an OCR misreading)."""
    one, two = f"{first:.2f}", f"{second:.2f}"
    return len(one) == len(two) and sum(a != b for a, b in zip(one, two, strict=True)) == 1


def _name_cell(text: str) -> str | None:
    """The first cell of `text` when it reads as a name (two letters at least)."""
    value = text.strip(" :").split("  ")[0].strip(" ,;:")
    return value if re.search(r"[^\W\d_]{2}", value) else None


def _looks_like_number(value: str) -> bool:
    return bool(re.search(r"\d", value)) and not DATE_RE.fullmatch(value)


def _amounts_after(line: str, start: int) -> list[tuple[Decimal, str]]:
    """The amounts in the cell after a label at `start`: up to the next word once an amount
    was seen, so "Exclusief BTW € 593,36  Subtotaal € 717,97" gives 593,36 only."""
    tail = _blank_identifiers(line[start:])
    first = AMOUNT_RE.search(tail)
    if first:
        word = re.search(r"[^\W\d_]{3,}", tail[first.end():])
        if word:
            tail = tail[:first.end() + word.start()]
    return _amounts(tail)


def _blank_identifiers(line: str) -> str:
    # Identifiers are long digit runs an amount pattern would happily take for money.
    for pattern in (VAT_ID_RE, SIRET_RE, IBAN_RE, DATE_RE, RATE_RE):
        line = pattern.sub(lambda found: " " * len(found.group()), line)
    return line


def _amounts(line: str) -> list[tuple[Decimal, str]]:
    """Every amount on `line` as (value, as written), skipping dates and VAT rates."""
    line = _blank_identifiers(line)
    found = []
    for match in AMOUNT_RE.finditer(line):
        value = parse_amount(match.group())
        if re.fullmatch(r"[-−]?\d{9,}", match.group().split(".")[0].split(",")[0]):
            continue  # nine digits in a row is an identifier, not money
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
