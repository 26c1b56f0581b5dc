"""Getting text, embedded e-invoice XML and page images out of a PDF with pypdf."""

import io
import logging
import os
from dataclasses import dataclass, field

from PIL import Image
from pypdf import PdfReader, apply_configuration

from services.i18n import stored_message, stored_plural_message

from .einvoice import MAX_XML_BYTES, ROOTS
from .sniff import xml_root

log = logging.getLogger(__name__)

# Names the Factur-X, ZUGFeRD and XRechnung specifications give the embedded invoice.
EINVOICE_NAMES = {"factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml"}
MAX_TEXT_PAGES = 50  # invoices are short; a 500-page upload is not read to the end
DEFAULT_OCR_PAGES = 10  # OCR takes seconds a page; BOOKBRIDGE_OCR_MAX_PAGES changes it
DECODE_LIMIT = 30 * 1024 * 1024
# pypdf's defaults allow 75 MB per stream; an invoice never needs that much.
LIMITS = {
    "maximum_declared_stream_length": 50 * 1024 * 1024,  # the upload limit itself
    "zlib_maximum_output_length": DECODE_LIMIT,
    "lzw_maximum_output_length": DECODE_LIMIT,
    "run_length_maximum_output_length": DECODE_LIMIT,
    "jbig2_maximum_output_length": DECODE_LIMIT,
    "brotli_maximum_output_length": DECODE_LIMIT,
    "array_based_stream_maximum_output_length": DECODE_LIMIT,
    "image_maximum_buffer_size": DECODE_LIMIT,
}


class PdfError(ValueError):
    """The PDF could not be read; the message is meant for the person who uploaded it."""


@dataclass
class PdfContents:
    """What a PDF holds that extraction can use."""

    text: str = ""
    xml: bytes | None = None  # the embedded e-invoice, if any
    xml_name: str = ""
    pages: int = 0
    notes: list[str] = field(default_factory=list)  # what was skipped, for warnings


def read(content: bytes) -> PdfContents:
    """The text layer and embedded e-invoice of a PDF; raises PdfError when it is unreadable."""
    try:
        with apply_configuration(**LIMITS):
            reader = _open(content)
            contents = PdfContents(pages=len(reader.pages))
            contents.xml_name, contents.xml = _embedded_invoice(reader, contents.notes)
            contents.text = _text(reader, contents.notes)
            return contents
    except PdfError:
        raise
    except Exception as error:  # pypdf raises many kinds on malformed files
        log.info("unreadable PDF: %r", error)
        raise PdfError(stored_message("This PDF is damaged and could not be read; upload it "
                                      "again or try a scan.")) from error


def max_ocr_pages() -> int:
    """How many pages of a scanned PDF to read: BOOKBRIDGE_OCR_MAX_PAGES, default 10."""
    try:
        return max(1, int(os.environ.get("BOOKBRIDGE_OCR_MAX_PAGES", DEFAULT_OCR_PAGES)))
    except ValueError:
        return DEFAULT_OCR_PAGES


def page_images(content: bytes, notes: list[str], limit: int | None = None):
    """The largest image on each page of a scanned PDF, one page at a time, for OCR.

    A generator, so only one page's image is decoded and held at once however long the
    scan; past `limit` pages (max_ocr_pages() by default) a note says what was skipped.
    """
    limit = limit or max_ocr_pages()
    try:
        with apply_configuration(**LIMITS):
            reader = _open(content)
            if len(reader.pages) > limit:
                notes.append(stored_plural_message(
                    "Only the first %(num)s of this scan's %(pages)s pages were read.",
                    "Only the first %(num)s of this scan's %(pages)s pages were read.", limit,
                    pages=len(reader.pages)))
            for page in reader.pages[:limit]:
                largest = _largest_image(page)
                if largest is not None:
                    yield largest
    except PdfError:
        raise
    except Exception as error:
        log.info("unreadable PDF images: %r", error)
        raise PdfError(stored_message("The images in this PDF are damaged and could not be "
                                      "read; upload it again or try a scan.")) from error


def _open(content: bytes) -> PdfReader:
    reader = PdfReader(io.BytesIO(content))
    if reader.is_encrypted and not reader.decrypt(""):
        # Many PDFs are "encrypted" with an empty password only to restrict printing.
        raise PdfError(stored_message("This PDF is password-protected; remove the password and "
                                      "upload it again."))
    return reader


def _embedded_invoice(reader: PdfReader, notes: list[str]) -> tuple[str, bytes | None]:
    candidates = []
    for attachment in reader.attachment_list:
        name = attachment.name or ""
        if name.lower() in EINVOICE_NAMES:
            candidates.insert(0, attachment)
        elif name.lower().endswith(".xml"):
            candidates.append(attachment)
    for attachment in candidates:
        if (attachment.size or 0) > MAX_XML_BYTES:
            notes.append(stored_message("The embedded file %(name)s is too large to be read.",
                                        name=attachment.name))
            continue
        try:
            data = attachment.content
        except Exception:  # a decompression bomb hits pypdf's limits; the page may be fine
            log.info("unreadable attachment %r", attachment.name, exc_info=True)
            notes.append(stored_message("The embedded file %(name)s is damaged or too large and "
                                        "was not read.", name=attachment.name))
            continue
        if len(data) > MAX_XML_BYTES:
            notes.append(stored_message("The embedded file %(name)s is too large to be read.",
                                        name=attachment.name))
            continue
        # A known name is enough; any other XML must prove to be an invoice (CII, ZUGFeRD 1
        # or UBL: Odoo, for one, attaches "UBL-Invoice-2.1.xml").
        if attachment.name.lower() in EINVOICE_NAMES or xml_root(data) in ROOTS:
            return attachment.name, data
    return "", None


def _text(reader: PdfReader, notes: list[str]) -> str:
    pages = reader.pages
    if len(pages) > MAX_TEXT_PAGES:
        notes.append(stored_plural_message("Only the first %(num)s of %(pages)s pages were read.",
                                           "Only the first %(num)s of %(pages)s pages were read.",
                                           MAX_TEXT_PAGES, pages=len(pages)))
    return "\n".join(_page_text(page) for page in pages[:MAX_TEXT_PAGES])


def _page_text(page) -> str:
    # Layout mode keeps a table row on one line ("Total HT      100,00 €"); the plain mode
    # often splits each cell onto its own line, losing which amount belongs to which label.
    try:
        return page.extract_text(extraction_mode="layout") or ""
    except Exception:  # layout mode trips on some odd fonts where the plain mode copes
        log.info("layout text extraction failed; using plain mode", exc_info=True)
        return page.extract_text() or ""


def _largest_image(page) -> Image.Image | None:
    # Decoding every image of a page at once would hold them all: keep the largest only.
    best, best_pixels = None, 0
    for image_file in page.images:
        image = image_file.image
        if image is not None and image.width * image.height > best_pixels:
            best, best_pixels = image, image.width * image.height
        del image
    return best
