"""Reading supplier invoices and receipts: e-invoice XML first, then a text layer, then OCR.

`extract` never raises: a file it cannot read comes back with method "none" and a warning
that tells the uploader what was wrong.
"""

import logging
import re

from services.i18n import stored_message

from . import einvoice, ocr, pdf, text
from .einvoice import EInvoiceError
from .ocr import OcrError
from .pdf import PdfError
from .result import Extraction, Field, Line, failed
from .sniff import JPEG, PDF, PNG, XML, sniff
from .totals import check_totals
from .values import format_amount

__all__ = ["Extraction", "Field", "Line", "check_totals", "extract", "sniff"]

log = logging.getLogger(__name__)

MAX_BYTES = 50 * 1024 * 1024
MIN_TEXT_LETTERS = 20  # fewer letters than this: a scan with a stray stamp, not a text PDF
DESCRIPTIONS = {PDF: stored_message("a PDF"), JPEG: stored_message("a JPEG image"),
                PNG: stored_message("a PNG image"), XML: stored_message("an e-invoice XML file")}
EQUIVALENT = {"text/xml": XML, "image/jpg": JPEG, "image/pjpeg": JPEG,
              "application/x-pdf": PDF}
STANDARDS = {"zugferd-invoice.xml": "ZUGFeRD", "xrechnung.xml": "XRechnung"}


def extract(content: bytes, media_type: str, filename: str = "") -> Extraction:
    """Everything that can be read from an uploaded document (type decided by content)."""
    try:
        return _extract(content or b"", media_type or "", filename or "")
    except Exception:  # a reader bug must not lose the upload: it goes to manual entry
        log.exception("extraction failed for %r", filename)
        return failed(stored_message("Something went wrong while reading this file; please "
                                     "enter its details by hand."))


def _extract(content: bytes, media_type: str, filename: str) -> Extraction:
    if not content:
        return failed(stored_message("This file is empty; upload it again."))
    if len(content) > MAX_BYTES:
        return failed(stored_message(
            "This file is too large to read (%(size)s MB; the limit is %(limit)s MB).",
            size=len(content) // 2**20, limit=MAX_BYTES // 2**20))
    actual = sniff(content)
    if actual is None:
        return failed(_unknown(content, media_type, filename))
    notes = []
    declared = media_type.split(";")[0].strip().lower()
    declared = EQUIVALENT.get(declared, declared)
    if declared not in ("", actual, "application/octet-stream"):
        notes.append(stored_message("This file was sent as %(declared)s but is %(actual)s; it "
                                    "was read as such.", declared=declared,
                                    actual=DESCRIPTIONS[actual]))
    if actual == PDF:
        result = _from_pdf(content)
    elif actual == XML:
        result = _from_xml(content)
    else:
        result = _from_image(content)
    result.warnings = notes + result.warnings
    if result.method != "none":
        result.warnings += check_totals(result.fields)
    return result


def _unknown(content: bytes, media_type: str, filename: str) -> str:
    """Why a file of no known type was refused, in the uploader's terms."""
    claimed_pdf = "pdf" in media_type.lower() or filename.lower().endswith(".pdf")
    if claimed_pdf:
        return stored_message("This file is named or sent as a PDF but is not one, so it could "
                              "not be read.")
    if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return stored_message("This XML file is not a UBL or CII (Factur-X) invoice, so it "
                              "could not be read.")
    return stored_message("This file is not a PDF, a JPEG or PNG image, or an e-invoice XML, "
                          "so it could not be read.")


def _from_xml(content: bytes) -> Extraction:
    try:
        return einvoice.parse(content)
    except EInvoiceError as error:
        return failed(str(error))


def _from_pdf(content: bytes) -> Extraction:
    try:
        contents = pdf.read(content)
    except PdfError as error:
        return failed(str(error))
    warnings = list(contents.notes)
    has_text = sum(char.isalpha() for char in contents.text) >= MIN_TEXT_LETTERS
    if contents.xml is not None:
        try:
            result = einvoice.parse(contents.xml)
        except EInvoiceError as error:
            warnings.append(stored_message(
                "The embedded e-invoice %(name)s could not be used (%(reason)s); the visible "
                "page was read instead.", name=contents.xml_name, reason=str(error)))
        else:
            if has_text:
                result.text = contents.text
                warnings += _compare_visible(contents.text, result, contents.xml_name)
            result.warnings = warnings + result.warnings
            return result
    result = text.parse(contents.text, "text") if has_text else _ocr_pdf(content)
    result.warnings = warnings + result.warnings
    return result


def _compare_visible(page_text: str, result: Extraction, xml_name: str) -> list[str]:
    """A warning when the total printed on the page is not the embedded XML's total."""
    visible = text.visible_total(page_text)
    embedded = result.value("total")
    if visible is None or embedded is None or visible[0] == embedded:
        return []
    amount, written = visible
    standard = STANDARDS.get(xml_name.lower(), "Factur-X")
    french = bool(re.search(r",\d{2}$", written))
    return [stored_message("The PDF's visible total (%(written)s) differs from its embedded "
                           "%(standard)s XML (%(embedded)s)", written=written, standard=standard,
                           embedded=format_amount(embedded, french))]


def _ocr_pdf(content: bytes) -> Extraction:
    notes, pages = [], []
    try:
        # One page image at a time: each is read and dropped before the next is decoded.
        for image in pdf.page_images(content, notes):
            pages.append(ocr.read_text(image))
            del image
    except (PdfError, OcrError) as error:
        return failed(str(error))
    if not pages:
        return failed(stored_message("This PDF has no text and no scanned image to read."))
    result = text.parse("\n".join(pages), "ocr")
    result.warnings = notes + result.warnings
    return result


def _from_image(content: bytes) -> Extraction:
    try:
        return text.parse(ocr.read_text(ocr.open_image(content)), "ocr")
    except OcrError as error:
        return failed(str(error))
