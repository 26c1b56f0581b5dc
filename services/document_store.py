"""Taking documents in: checked by content, stored once by SHA-256, recorded with origin."""

import hashlib
import os
import tempfile
from pathlib import Path

from peewee import IntegrityError
from werkzeug.utils import secure_filename

from models import Document, DocumentStatus, StoredFile, db
from services import audit
from services.i18n import stored_message

MAX_BYTES = 20 * 1024 * 1024
ACCEPTED = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG image",
    "image/png": "PNG image",
    "application/xml": "e-invoice XML",
}


class Rejected(Exception):
    """A file that cannot become a document; the message says why and what to do."""


def _sniff(content: bytes) -> str | None:
    from services.extraction import sniff

    return sniff(content)


def files_dir(config) -> Path:
    return Path(config["DATA_DIR"]) / "files"


def path_of(config, stored: StoredFile) -> Path:
    return files_dir(config) / stored.sha256[:2] / stored.sha256


def check(content: bytes, filename: str) -> str:
    """The media type, read from the content; raises Rejected with the reason."""
    name = filename or stored_message("The file")
    if not content:
        raise Rejected(stored_message("%(name)s is empty.", name=name))
    if len(content) > MAX_BYTES:
        raise Rejected(too_large(name))
    media_type = _sniff(content)
    if media_type not in ACCEPTED:
        raise Rejected(stored_message(
            "%(name)s is not a PDF, JPEG, PNG or e-invoice XML (Factur-X, UBL, CII). "
            "Bookbridge checks the content, not the name.", name=name))
    return media_type


def too_large(name: str) -> str:
    """Why a file over MAX_BYTES is refused (a stored message)."""
    return stored_message("%(name)s is larger than %(size)s MB; scan it at a lower resolution "
                          "or split it.", name=name, size=MAX_BYTES // 2**20)


def store(config, content: bytes, media_type: str) -> StoredFile:
    """Write the bytes once under their hash (atomically) and return their row."""
    digest = hashlib.sha256(content).hexdigest()
    target = files_dir(config) / digest[:2] / digest
    if not target.exists() or target.stat().st_size != len(content):
        _write_atomically(target, content)
    try:
        with db.atomic():
            return StoredFile.create(sha256=digest, media_type=media_type, size=len(content))
    except IntegrityError:
        return StoredFile.get(StoredFile.sha256 == digest)


def _write_atomically(target: Path, content: bytes) -> None:
    """A unique temporary file, synced, then renamed: never a half-written original, even
    with two threads storing the same file at once."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read(config, stored: StoredFile) -> bytes:
    return path_of(config, stored).read_bytes()


def add(config, content: bytes, filename: str, *, source: str, source_detail: str = "",
        user=None) -> Document:
    """Check, store and record one incoming file as a document waiting for extraction."""
    media_type = check(content, filename)
    stored = store(config, content, media_type)
    document = Document.create(file=stored, status=DocumentStatus.PROCESSING,
                               filename=secure_filename(filename or "") or stored.sha256[:12],
                               source=source, source_detail=source_detail or filename,
                               uploaded_by=user)
    audit.record("document.add", user=user, actor=None if user else source,
                 subject=f"{document.filename} ({source})",
                 after={"sha256": stored.sha256, "media_type": media_type,
                        "size": stored.size}, link=document)
    return document
