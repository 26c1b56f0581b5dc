"""Scoring extraction on the shared corpus of real invoices and receipts.

    .venv/bin/python -m bench.corpus [--kind receipt] [--jobs 2] [--show-misses]

Reads every file under ../shared/corpus/files/<kind>/ (or $BOOKBRIDGE_CORPUS_DIR/files),
runs our real extraction on it and compares, field by field, with expected values the
project derives itself:

- e-invoices (CII, UBL, and PDFs carrying one): from the XML, with the small reader below,
  which shares nothing with services/extraction's parser so the check is a real one;
- text PDFs and receipts: from the labels shipped with the corpus (labels/<tag>__<name>.json,
  see SOURCE.txt). A field its label does not give is not scored.

`score()` is also what tests/test_corpus.py runs against bench/corpus_floor.json.
"""

import argparse
import datetime
import difflib
import io
import json
import logging
import os
import re
import sys
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import defusedxml.ElementTree as ElementTree

FIELDS = ["seller", "seller_vat", "number", "issue_date", "due_date", "currency", "net",
          "tax", "total", "type"]
EXTENSIONS = {".pdf": "application/pdf", ".xml": "application/xml", ".jpg": "image/jpeg",
              ".jpeg": "image/jpeg", ".png": "image/png"}
FLOOR_FILE = Path(__file__).with_name("corpus_floor.json")
# UNTDID 1001 document codes that cancel or reduce an earlier invoice.
CREDIT_NOTE_CODES = {"381", "261", "262", "296", "308", "396", "420", "458", "532"}


def corpus_dir() -> Path:
    """Where the corpus lives: $BOOKBRIDGE_CORPUS_DIR, else ../shared/corpus."""
    configured = os.environ.get("BOOKBRIDGE_CORPUS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "corpus"


# -- expected values ---------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(node, *path: str):
    """The first element under `node` along local names (namespaces ignored), or None."""
    for name in path:
        if node is None:
            return None
        node = next((child for child in node if _local(child.tag) == name), None)
    return node


def _either(first, second):
    """`first` unless it is None (an Element without children is falsy, so no `or`)."""
    return first if first is not None else second


def _all(node, name: str) -> list:
    return [] if node is None else [child for child in node if _local(child.tag) == name]


def _text(node, *path: str) -> str | None:
    found = _find(node, *path)
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def _xml_date(text: str | None) -> datetime.date | None:
    if not text:
        return None
    digits = re.sub(r"\D", "", text)[:8]
    return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def _money(text: str | None) -> Decimal | None:
    return Decimal(text).quantize(Decimal("0.01")) if text else None


def expected_from_xml(data: bytes) -> dict:
    """Expected fields of a CII (any version, ZUGFeRD 1 included) or UBL invoice."""
    root = ElementTree.fromstring(data.lstrip(b"\xef\xbb\xbf \t\r\n"))
    if _local(root.tag) in ("Invoice", "CreditNote"):
        return _expected_ubl(root)
    return _expected_cii(root)


def _expected_cii(root) -> dict:
    # ZUGFeRD 1 (CrossIndustryDocument) names the same parts differently from CII D16B.
    header = _either(_find(root, "ExchangedDocument"), _find(root, "HeaderExchangedDocument"))
    trade = _either(_find(root, "SupplyChainTradeTransaction"),
                    _find(root, "SpecifiedSupplyChainTradeTransaction"))
    agreement = _either(_find(trade, "ApplicableHeaderTradeAgreement"),
                        _find(trade, "ApplicableSupplyChainTradeAgreement"))
    settlement = _either(_find(trade, "ApplicableHeaderTradeSettlement"),
                         _find(trade, "ApplicableSupplyChainTradeSettlement"))
    seller = _find(agreement, "SellerTradeParty")
    sums = _either(_find(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation"),
                   _find(settlement, "SpecifiedTradeSettlementMonetarySummation"))
    currency = _text(settlement, "InvoiceCurrencyCode")
    taxes = _all(sums, "TaxTotalAmount")
    tax = next((node for node in taxes if node.get("currencyID") in (None, currency)), None)
    vat = next((_text(node, "ID") for node in _all(seller, "SpecifiedTaxRegistration")
                if _find(node, "ID") is not None and _find(node, "ID").get("schemeID") == "VA"),
               None)
    terms = _find(settlement, "SpecifiedTradePaymentTerms")
    return {
        "seller": [_text(seller, "Name")],
        "seller_vat": vat,
        "number": _text(header, "ID"),
        "issue_date": _xml_date(_text(header, "IssueDateTime", "DateTimeString")),
        "due_date": _xml_date(_text(terms, "DueDateDateTime", "DateTimeString")),
        "currency": currency,
        "net": _money(_text(sums, "TaxBasisTotalAmount")),
        "tax": _money(tax.text.strip()) if tax is not None and tax.text else None,
        "total": _money(_text(sums, "GrandTotalAmount")),
        "type": "credit_note" if _text(header, "TypeCode") in CREDIT_NOTE_CODES else "invoice",
    }


def _expected_ubl(root) -> dict:
    credit = _local(root.tag) == "CreditNote"
    party = _find(root, "AccountingSupplierParty", "Party")
    vat = None
    for scheme in _all(party, "PartyTaxScheme"):
        if _text(scheme, "TaxScheme", "ID") in (None, "VAT"):
            vat = _text(scheme, "CompanyID")
            break
    currency = _text(root, "DocumentCurrencyCode")
    totals = _find(root, "LegalMonetaryTotal")
    tax = None
    for tax_total in _all(root, "TaxTotal"):
        amount = _find(tax_total, "TaxAmount")
        if amount is not None and amount.get("currencyID") in (None, currency):
            tax = amount.text
            break
    code = _text(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode")
    return {
        "seller": [_text(party, "PartyName", "Name"),
                   _text(party, "PartyLegalEntity", "RegistrationName")],
        "seller_vat": vat,
        "number": _text(root, "ID"),
        "issue_date": _xml_date(_text(root, "IssueDate")),
        "due_date": _xml_date(_text(root, "DueDate")
                              or _text(root, "PaymentMeans", "PaymentDueDate")),
        "currency": currency,
        "net": _money(_text(totals, "TaxExclusiveAmount")),
        "tax": _money(tax),
        "total": _money(_text(totals, "TaxInclusiveAmount")),
        "type": "credit_note" if credit or code in CREDIT_NOTE_CODES else "invoice",
    }


def _embedded_xml(path: Path) -> bytes | None:
    """The invoice XML attached to a PDF (any name), or None."""
    from pypdf import PdfReader

    for attachment in PdfReader(io.BytesIO(path.read_bytes())).attachment_list:
        data = attachment.content
        if (attachment.name or "").lower().endswith(".xml") and re.search(
                rb"CrossIndustry(?:Invoice|Document)|<(?:\w+:)?(?:Invoice|CreditNote)\b",
                data[:4000]):
            return data
    return None


def _label_date(text: str) -> datetime.date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d-%m-%y", "%d %b %Y"):
        try:
            return datetime.datetime.strptime(text.strip().title(), pattern).date()
        except ValueError:
            continue
    raise ValueError(f"unknown label date {text!r}")


def _label_money(value) -> Decimal:
    return Decimal(re.sub(r"[^\d.\-]", "", str(value))).quantize(Decimal("0.01"))


def expected_from_label(label: dict) -> dict:
    """Expected fields from an invoice2data or SROIE label; absent ones stay None."""
    if isinstance(label, list):
        label = label[0]
    sellers = [label.get(key) for key in ("issuer", "partner_name", "company") if
               label.get(key)]
    vat = label.get("vat") or label.get("static_vat")
    expected = {
        "seller": sellers or None,
        "seller_vat": re.sub(r"[\s.]", "", vat) if vat else None,
        "number": str(label["invoice_number"]) if "invoice_number" in label else None,
        "issue_date": _label_date(label["date"]) if label.get("date") else None,
        "due_date": _label_date(label["date_due"]) if label.get("date_due") else None,
        "currency": label.get("currency"),
        "net": _label_money(label["amount_untaxed"]) if "amount_untaxed" in label else None,
        "tax": _label_money(label["amount_tax"]) if "amount_tax" in label else None,
        "total": _label_money(label.get("amount", label.get("total")))
        if ("amount" in label or "total" in label) else None,
        "type": None,
    }
    return expected


def expected_for(path: Path) -> dict | None:
    """Expected values for one corpus file, or None when nothing says what is right."""
    label = corpus_dir() / "labels" / (path.stem + ".json")
    if label.exists():
        return expected_from_label(json.loads(label.read_text(encoding="utf-8")))
    if path.suffix.lower() == ".xml":
        return expected_from_xml(path.read_bytes())
    if path.suffix.lower() == ".pdf":
        data = _embedded_xml(path)
        return expected_from_xml(data) if data else None
    return None


# -- comparing ---------------------------------------------------------------------------

def _folded(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text))
    return "".join(char for char in text.casefold() if char.isalnum())


def _same_name(found, names: list[str]) -> bool:
    """A company name is right when it is the expected one, give or take punctuation,
    a legal-form suffix ('Amazon Web Services' for 'Amazon Web Services, Inc.') or an OCR
    slip (at least 85 % alike)."""
    if not found:
        return False
    got = _folded(found)
    for name in filter(None, names):
        want = _folded(name)
        if not got or not want:
            continue
        if got == want or (len(got) >= 4 and (want.startswith(got) or got.startswith(want))):
            return True
        if difflib.SequenceMatcher(None, got, want).ratio() >= 0.85:
            return True
    return False


def is_right(name: str, found, want) -> bool:
    if found is None:
        return False
    if name == "seller":
        return _same_name(found, want)
    if name in ("seller_vat", "number"):
        return _folded(found).lstrip("#") == _folded(want).lstrip("#")
    if name in ("net", "tax", "total"):
        return Decimal(found).quantize(Decimal("0.01")) == want
    return found == want


def actual_values(result) -> dict:
    """Our extraction's values under the corpus's field names."""
    names = {"seller": "supplier_name", "seller_vat": "supplier_vat", "number": "number",
             "issue_date": "issue_date", "due_date": "due_date", "currency": "currency",
             "net": "net", "tax": "tax", "total": "total"}
    values = {field_name: result.value(ours) for field_name, ours in names.items()}
    values["type"] = "credit_note" if result.document_type == "credit_note" else "invoice"
    return values


# -- running -----------------------------------------------------------------------------

@dataclass
class FileScore:
    kind: str
    name: str
    seconds: float
    checks: dict = field(default_factory=dict)  # field -> (right, found, wanted)


def score_file(path: Path) -> FileScore | None:
    """Our extraction of one file, field by field against what is expected of it."""
    from services.extraction import extract

    expected = expected_for(path)
    if expected is None:
        return None
    started = time.perf_counter()
    result = extract(path.read_bytes(), EXTENSIONS.get(path.suffix.lower(), ""), path.name)
    seconds = time.perf_counter() - started
    found = actual_values(result)
    checks = {}
    for name in FIELDS:
        want = expected.get(name)
        if want in (None, [], ""):
            continue
        checks[name] = (is_right(name, found[name], want), _show(found[name]), _show(want))
    return FileScore(path.parent.name, path.name, seconds, checks)


def _show(value) -> str:
    return str(value) if not isinstance(value, list) else " | ".join(map(str, value))


def corpus_files(kinds: list[str] | None = None) -> list[Path]:
    files = []
    for folder in sorted((corpus_dir() / "files").iterdir()):
        if folder.is_dir() and (not kinds or folder.name in kinds):
            files += sorted(p for p in folder.iterdir()
                            if p.suffix.lower() in EXTENSIONS and p.is_file())
    return files


def score(kinds: list[str] | None = None, jobs: int = 2) -> dict:
    """Per kind: files scored, seconds, and per field [right, scored], plus 'fully'."""
    files = corpus_files(kinds)
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(score_file, files))
    else:
        results = [score_file(path) for path in files]
    table: dict[str, dict] = {}
    for result in filter(None, results):
        row = table.setdefault(result.kind, {"files": 0, "seconds": 0.0, "fields": {},
                                             "fully": [0, 0], "misses": []})
        row["files"] += 1
        row["seconds"] += result.seconds
        for name, (right, found, want) in result.checks.items():
            counts = row["fields"].setdefault(name, [0, 0])
            counts[0] += right
            counts[1] += 1
            if not right:
                row["misses"].append(f"{result.name}: {name} read {found!r}, expected {want!r}")
        row["fully"][0] += all(check[0] for check in result.checks.values())
        row["fully"][1] += 1
    return table


def _cell(counts: list[int] | None) -> str:
    if not counts:
        return "-"
    right, scored = counts
    return f"{right}/{scored} {100 * right // scored}%"


def print_table(table: dict, show_misses: bool = False, out=sys.stdout) -> None:
    header = ["kind", "files"] + FIELDS + ["fully right", "s/file"]
    rows = [header]
    for kind, row in sorted(table.items()):
        rows.append([kind, str(row["files"])] + [_cell(row["fields"].get(name))
                                                 for name in FIELDS]
                    + [_cell(row["fully"]), f"{row['seconds'] / row['files']:.2f}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)),
              file=out)
    if show_misses:
        for kind, row in sorted(table.items()):
            for miss in row["misses"]:
                print(f"  [{kind}] {miss}", file=out)


def floor_of(table: dict) -> dict:
    """The figures to keep: right answers per kind and field, and files fully right."""
    return {kind: {**{name: counts[0] for name, counts in row["fields"].items()},
                   "fully": row["fully"][0], "files": row["files"]}
            for kind, row in sorted(table.items())}


def time_ocr(limit: int | None = None, out=sys.stdout) -> tuple[float, float]:
    """Seconds of bare Tesseract on each receipt as it is, against our whole OCR step
    (decode, normalise, Tesseract) on the same file, run one after the other, one process.
    Same engine flags for both (languages, --psm 6, one thread)."""
    import subprocess

    from services.extraction import ocr

    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    bare_total = ours_total = 0.0
    files = corpus_files(["receipt"])
    for path in files[:limit] if limit else files:
        content = path.read_bytes()
        started = time.perf_counter()
        subprocess.run([ocr.tesseract(), "stdin", "stdout", "-l", ocr.languages(), "--psm",
                        ocr.PAGE_SEGMENTATION, "--dpi", "300"], input=content,
                       capture_output=True, env=env, check=True)
        bare = time.perf_counter() - started
        started = time.perf_counter()
        ocr.read_text(ocr.open_image(content))
        ours = time.perf_counter() - started
        bare_total, ours_total = bare_total + bare, ours_total + ours
        print(f"{path.name}: bare {bare:.2f} s, ours {ours:.2f} s", file=out, flush=True)
    return bare_total, ours_total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", action="append", help="only this folder (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--show-misses", action="store_true", help="list every wrong field")
    parser.add_argument("--ocr-timing", type=int, nargs="?", const=0, metavar="N",
                        help="time our OCR step against bare Tesseract on N receipts (all)")
    parser.add_argument("--write-floor", action="store_true",
                        help=f"record these figures in {FLOOR_FILE.name}")
    args = parser.parse_args()
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # odd fonts in real PDFs: not news
    if not (corpus_dir() / "files").is_dir():
        sys.exit(f"No corpus at {corpus_dir()}; set BOOKBRIDGE_CORPUS_DIR.")
    if args.ocr_timing is not None:
        load = Path("/proc/loadavg").read_text().split()[:3]
        bare, ours = time_ocr(args.ocr_timing or None)
        print(f"bare Tesseract {bare:.1f} s, our OCR step {ours:.1f} s: {ours / bare:.2f} x "
              f"(load average before {' '.join(load)}, after "
              f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])})")
        return
    started = time.perf_counter()
    table = score(args.kind, args.jobs)
    print_table(table, args.show_misses)
    print(f"{sum(row['files'] for row in table.values())} files in "
          f"{time.perf_counter() - started:.1f} s with {args.jobs} process(es)")
    if args.write_floor:
        FLOOR_FILE.write_text(json.dumps(floor_of(table), indent=2) + "\n")
        print(f"floor written to {FLOOR_FILE}")


if __name__ == "__main__":
    try:
        main()
    except InvalidOperation as error:  # a label we cannot read: say which, no traceback
        sys.exit(f"a corpus label has an amount that is not a number: {error}")
