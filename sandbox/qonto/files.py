"""Receipt files (real, tiny PDFs and PNGs, deterministic per attachment) and the
pre-signed, S3-style download URLs that Qonto hands out for them (valid 30 minutes)."""

import hashlib
import hmac
import struct
import zlib
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote

URL_LIFETIME = 1800  # seconds, like Qonto's X-Amz-Expires=1800
SIGNING_KEY = b"bookbridge-sandbox-qonto-s3"
AMZ_DATE = "%Y%m%dT%H%M%SZ"


def _pdf_text(text):
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def receipt_pdf(merchant, when, amount, reference):
    """A valid one-page PDF receipt ("Reçu") written by hand: objects, xref, trailer."""
    lines = [("Helvetica-Bold", 20, "Reçu"), ("Helvetica", 12, merchant),
             ("Helvetica", 11, f"Date : {when}"), ("Helvetica", 11, f"Montant : {amount}"),
             ("Helvetica", 9, f"Référence : {reference}"),
             ("Helvetica", 8, "Document généré par le sandbox Bookbridge")]
    fonts = {"Helvetica": b"/F1", "Helvetica-Bold": b"/F2"}
    stream = b"BT\n"
    y = 780
    for font, size, text in lines:
        stream += b"%s %d Tf 1 0 0 1 56 %d Tm (%s) Tj\n" % (fonts[font], size, y,
                                                            _pdf_text(text))
        y -= size + 14
    stream += b"ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%sendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold"
        b" /Encoding /WinAnsiEncoding >>",
    ]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return out


def _png_chunk(kind, payload):
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def receipt_png(seed, width=96, height=160):
    """A valid greyscale PNG that looks like a photographed till receipt (text-ish bars)."""
    digest = hashlib.sha256(seed.encode()).digest()
    rows = []
    for y in range(height):
        line = digest[y % len(digest)]
        is_text = 8 <= y < height - 8 and (y // 3) % 3 != 2
        length = 20 + line % (width - 36) if is_text else 0
        row = bytearray([0])  # filter type 0 for every scanline
        for x in range(width):
            paper = 8 <= x < width - 8
            ink = paper and 12 <= x < 12 + length and (x + line) % 7 != 0
            row.append(40 if ink else (244 if paper else 90))
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + _png_chunk(b"IEND", b""))


@lru_cache(maxsize=4096)
def render(attachment_id, kind, merchant, when, amount, reference):
    if kind == "png":
        return receipt_png(attachment_id)
    return receipt_pdf(merchant, when, amount, reference)


def render_for(attachment, transaction):
    """Bytes of an attachment row, given its transaction's static data."""
    when = transaction["created_at"][:10]
    amount = f"{transaction['amount_cents'] / 100:.2f} EUR".replace(".", ",")
    if transaction["local_currency"] != "EUR":
        amount += f" ({transaction['local_amount_cents'] / 100:.2f} "
        amount += f"{transaction['local_currency']})"
    return render(attachment["id"], attachment["kind"], transaction["label"], when, amount,
                  transaction["reference"] or transaction["transaction_id"])


def _signature(attachment_id, amz_date):
    message = f"{attachment_id}\n{amz_date}\n{URL_LIFETIME}".encode()
    return hmac.new(SIGNING_KEY, message, hashlib.sha256).hexdigest()


def signed_url(base_url, attachment_id, file_name, content_type, now):
    """A fresh pre-signed URL for ``GET /sandbox/qonto/files/<id>``, valid 30 minutes."""
    amz_date = datetime.fromtimestamp(now, UTC).strftime(AMZ_DATE)
    disposition = quote(f"attachment;filename*=UTF-8''{quote(file_name)}", safe="")
    return (f"{base_url.rstrip('/')}/sandbox/qonto/files/{attachment_id}"
            f"?response-content-disposition={disposition}"
            f"&response-content-type={quote(content_type, safe='')}"
            f"&X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Credential=SANDBOXQONTO%2F{amz_date[:8]}%2Feu-central-1%2Fs3%2Faws4_request"
            f"&X-Amz-Date={amz_date}&X-Amz-Expires={URL_LIFETIME}&X-Amz-SignedHeaders=host"
            f"&X-Amz-Signature={_signature(attachment_id, amz_date)}")


def check_url(attachment_id, args, has_authorization, now):
    """None when the download may proceed, else (HTTP status, S3 error code, message)."""
    if has_authorization:
        return (400, "InvalidArgument", "Only one auth mechanism allowed; only the"
                " X-Amz-Algorithm query parameter, Signature query string parameter or the"
                " Authorization header should be specified")
    amz_date, signature = args.get("X-Amz-Date", ""), args.get("X-Amz-Signature", "")
    if not amz_date or not signature:
        return 403, "AccessDenied", "Access Denied"
    if not hmac.compare_digest(signature, _signature(attachment_id, amz_date)):
        return (403, "SignatureDoesNotMatch", "The request signature we calculated does not"
                " match the signature you provided.")
    issued = datetime.strptime(amz_date, AMZ_DATE).replace(tzinfo=UTC).timestamp()
    if now > issued + URL_LIFETIME:
        return 403, "AccessDenied", "Request has expired"
    return None


def s3_error_xml(code, message):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            "<RequestId>SANDBOX</RequestId></Error>")
