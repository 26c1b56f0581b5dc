"""Telling a file's type from its bytes, never from its name."""

import io

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .einvoice import MAX_XML_BYTES, ROOTS

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
XML = "application/xml"


def sniff(content: bytes) -> str | None:
    """The media type of `content` by its magic bytes or XML root, else None.

    XML counts only when its root is a UBL Invoice/CreditNote, a CII CrossIndustryInvoice
    or a ZUGFeRD 1.0 CrossIndustryDocument.
    """
    if not content:
        return None
    # Readers accept a PDF header anywhere in the first kilobyte (some mailers prepend junk).
    if b"%PDF-" in content[:1024]:
        return PDF
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    return XML if xml_root(content) in ROOTS else None


def xml_root(content: bytes) -> str | None:
    """The `{namespace}tag` of an XML document's root, read without parsing the whole file."""
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<") or len(content) > MAX_XML_BYTES:
        return None
    try:
        for _event, element in SafeET.iterparse(io.BytesIO(content.lstrip(b" \t\r\n")),
                                                events=("start",),
                                                forbid_dtd=True):
            return element.tag
    except (SafeET.ParseError, DefusedXmlException, ValueError):
        return None
    return None
