"""The ways in besides the form's own bytes: uploads spooled to disk as they arrive, a watched
folder and a mailbox read over IMAP.

All hand each file to `document_store.add`, which checks it by content and stores it once
by hash. A file leaves the folder, and a mail is marked read, only after its documents are
committed; a failure in between leaves the file or the mail where it was, to be taken in
again on the next run.
"""

import contextlib
import email
import email.policy
import fcntl
import hashlib
import imaplib
import logging
import os
import re
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from models import Document, StoredFile, db
from services import audit, document_store, i18n
from services.i18n import stored_message

log = logging.getLogger(__name__)

# A file this recent may still be written by the scanner; it is taken on a later run.
SETTLE_SECONDS = 5
# One run reads at most this many unread mails; the rest wait for the next run.
MAX_MESSAGES = 200
# A mail this large is not downloaded (attachments are limited to document_store.MAX_BYTES;
# base64 makes them a third larger, and a mail may carry several).
MAX_MESSAGE_BYTES = 4 * document_store.MAX_BYTES
IMAP_TIMEOUT = 60
# What counts as a document among a mail's parts, by declared type or by name; the content
# is then checked by document_store.
MAIL_TYPES = {"application/pdf", "image/jpeg", "image/jpg", "image/png", "application/xml",
              "text/xml"}
MAIL_EXTENSIONS = {".pdf", ".jpg", ".jpeg", ".png", ".xml"}
DETAIL_LENGTH = 255  # Document.source_detail is a CharField


@dataclass
class IntakeReport:
    """How many documents a run added, and why each refused file or mail was refused."""

    added: int = 0
    rejected: list[str] = field(default_factory=list)


class MailboxError(Exception):
    """The mailbox could not be read (to the end); `reason` is plain English, secret-free,
    and `report` holds what was taken in before the failure."""

    def __init__(self, reason: str, report: IntakeReport | None = None):
        super().__init__(reason)
        self.reason = reason
        self.report = report or IntakeReport()


# -- Uploads ----------------------------------------------------------------------------------


class CappedSpool:
    """One uploaded file, written to an anonymous temporary file as its bytes arrive.

    Past `limit` bytes nothing more is kept and `too_large` is set: the rest of the request
    is still read off the network (the browser sends it anyway), but a 199 MB upload costs
    neither memory nor disk. Werkzeug's form parser writes into it chunk by chunk (see
    `create_app`'s request class), then reads it back through `FileStorage`.
    """

    def __init__(self, limit: int = document_store.MAX_BYTES, directory: str | None = None):
        self.limit = limit
        self.received = 0
        self.too_large = False
        self._directory = directory
        self._file = None  # opened on the first byte: a form may carry many empty parts

    def write(self, data: bytes) -> int:
        self.received += len(data)
        if self.too_large:
            return len(data)
        if self.received > self.limit:
            self.too_large = True
            self._close_file()  # the bytes kept so far are of no use
            return len(data)
        return self._opened().write(data)

    def read(self, size: int = -1) -> bytes:
        return b"" if self.too_large or self._file is None else self._file.read(size)

    def readline(self, size: int = -1) -> bytes:
        return b"" if self.too_large or self._file is None else self._file.readline(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0 if self.too_large or self._file is None else self._file.seek(offset, whence)

    def tell(self) -> int:
        return 0 if self.too_large or self._file is None else self._file.tell()

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        self._close_file()

    def __iter__(self):
        return iter(lambda: self.read(64 * 1024), b"")

    def _opened(self):
        if self._file is None:
            if self._directory:
                os.makedirs(self._directory, mode=0o700, exist_ok=True)
            self._file = tempfile.TemporaryFile(dir=self._directory)
        return self._file

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def take_upload(config, stream, filename: str, *, user=None) -> Document:
    """Check and store one uploaded file from its spool; raises document_store.Rejected with
    the reason (too large, empty, not a document). Never reads more than the limit."""
    if getattr(stream, "too_large", False):
        raise document_store.Rejected(document_store.too_large(filename))
    stream.seek(0)
    content = stream.read(document_store.MAX_BYTES + 1)
    filename = _short_name(filename)
    return document_store.add(config, content, filename, source="upload",
                              source_detail=filename, user=user)


def _short_name(filename: str) -> str:
    """A file name cut to DETAIL_LENGTH characters, keeping its extension."""
    if len(filename) <= DETAIL_LENGTH:
        return filename
    suffix = Path(filename).suffix[:10]
    return filename[:DETAIL_LENGTH - len(suffix)] + suffix


# -- The watched folder ---------------------------------------------------------------------


def inbox_dir(config) -> Path:
    return Path(config.get("INBOX_DIR") or Path(config["DATA_DIR"]) / "inbox")


def scan_folder(config) -> IntakeReport:
    """Take in every settled file at the top of the inbox folder; moves each to done/ or to
    rejected/ (with `<name>.reason.txt`). Call outside a transaction."""
    inbox = inbox_dir(config)
    inbox.mkdir(parents=True, exist_ok=True)
    report = IntakeReport()
    with _exclusive(inbox / ".bookbridge.lock") as locked:
        if not locked:
            log.info("the inbox folder is being read by another run; skipped")
            return report
        for path in _settled_files(inbox):
            _take_file(config, inbox, path, report)
    return report


def _settled_files(inbox: Path) -> list[Path]:
    now = time.time()
    found = []
    with os.scandir(inbox) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                continue
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime < SETTLE_SECONDS:
                    continue
            except FileNotFoundError:
                continue
            found.append(Path(entry.path))
    return sorted(found, key=lambda path: path.name)


def _take_file(config, inbox: Path, path: Path, report: IntakeReport) -> None:
    name = path.name
    try:
        with open(path, "rb") as handle:
            # One byte more than allowed is enough for document_store to refuse a large file.
            content = handle.read(document_store.MAX_BYTES + 1)
    except OSError as error:
        log.warning("inbox file %s could not be read (%s); left in place", name,
                    error.strerror or type(error).__name__)
        return
    try:
        if _already_taken("folder", name, content):
            # Stored by an earlier run that could not move the file away.
            log.info("inbox file %s is already a document; moved to done/", name)
        else:
            with db.atomic():
                document_store.add(config, content, name, source="folder", source_detail=name)
            report.added += 1
    except document_store.Rejected as rejected:
        reason = str(rejected)
        try:
            target = _move_aside(path, inbox / "rejected")
            # Beside the file, for whoever looks in the folder: in English, like the logs.
            target.with_name(target.name + ".reason.txt").write_text(
                i18n.in_words(reason) + "\n")
        except OSError as error:
            log.warning("refused inbox file %s could not be moved to rejected/ (%s)", name,
                        error.strerror or type(error).__name__)
        _reject(report, "folder", name, reason)
        return
    # Committed: only now does the file leave the inbox.
    try:
        _move_aside(path, inbox / "done")
    except OSError as error:
        log.warning("inbox file %s is stored but could not be moved to done/ (%s)", name,
                    error.strerror or type(error).__name__)


def _move_aside(path: Path, folder: Path) -> Path:
    """Move `path` into `folder`, adding -1, -2… to the name when it is taken."""
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    number = 0
    while target.exists() or target.with_name(target.name + ".reason.txt").exists():
        number += 1
        target = folder / f"{path.stem}-{number}{path.suffix}"
    os.replace(path, target)
    return target


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    """Yield True when this run holds the lock file, False when another run does."""
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _reject(report: IntakeReport, source: str, subject: str, reason: str) -> None:
    report.rejected.append(reason)
    audit.record("intake.rejected", actor=source, subject=subject[:DETAIL_LENGTH],
                 detail=reason)


# -- The mailbox -----------------------------------------------------------------------------


def read_mailbox(config) -> IntakeReport:
    """Take in the attachments of unread mail, marking each mail read once they are stored.

    Does nothing without IMAP_HOST. Raises MailboxError with a plain reason when the server
    cannot be reached, refuses the login, or drops the connection."""
    report = IntakeReport()
    if not config.get("IMAP_HOST"):
        return report
    lock = Path(config["DATA_DIR"]) / ".mailbox.lock"
    with _exclusive(lock) as locked:
        if not locked:
            log.info("the mailbox is being read by another run; skipped")
            return report
        password = config.get("IMAP_PASSWORD") or ""
        try:
            _read_mailbox(config, report)
        except MailboxError as error:
            error.report = report
            raise
        except (imaplib.IMAP4.error, OSError) as error:
            raise MailboxError(_scrub(_plain_reason(config, error), password), report) \
                from None
    return report


def _read_mailbox(config, report: IntakeReport) -> None:
    client = _connect(config)
    try:
        try:
            client.login(config.get("IMAP_USER") or "", config.get("IMAP_PASSWORD") or "")
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error:
            raise MailboxError(stored_message(
                "The mail server %(host)s refused the login of “%(user)s”. Check "
                "BOOKBRIDGE_IMAP_USER and BOOKBRIDGE_IMAP_PASSWORD (some providers want an app "
                "password).", host=config["IMAP_HOST"], user=config.get("IMAP_USER") or "")
            ) from None
        folder = config.get("IMAP_FOLDER") or "INBOX"
        status, _ = client.select(_quoted(folder))
        if status != "OK":
            raise MailboxError(stored_message(
                "The mail folder “%(folder)s” does not exist on %(host)s. Check "
                "BOOKBRIDGE_IMAP_FOLDER.", folder=folder, host=config["IMAP_HOST"]))
        status, data = client.uid("SEARCH", None, "UNSEEN")
        if status != "OK":
            raise MailboxError(stored_message(
                "The mail server %(host)s did not list the unread mail.",
                host=config["IMAP_HOST"]))
        uids = b" ".join(item for item in data if item).split()
        for uid in uids[:MAX_MESSAGES]:
            _take_message(config, client, uid.decode(), report)
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def _connect(config) -> imaplib.IMAP4:
    host = config["IMAP_HOST"]
    port = int(config.get("IMAP_PORT") or 993)
    mode = (config.get("IMAP_SSL") or "ssl").lower()
    if mode not in ("ssl", "starttls", "none"):
        raise MailboxError(stored_message(
            "BOOKBRIDGE_IMAP_SSL is “%(mode)s”; use ssl, starttls or none.", mode=mode))
    if mode == "ssl":
        return imaplib.IMAP4_SSL(host, port, ssl_context=ssl.create_default_context(),
                                 timeout=IMAP_TIMEOUT)
    client = imaplib.IMAP4(host, port, timeout=IMAP_TIMEOUT)
    if mode == "starttls":
        try:
            if "STARTTLS" not in client.capabilities:
                raise MailboxError(stored_message(
                    "The mail server %(host)s:%(port)s does not offer STARTTLS. Set "
                    "BOOKBRIDGE_IMAP_SSL to ssl (usually with port 993).", host=host,
                    port=port))
            client.starttls(ssl.create_default_context())
        except BaseException:
            client.shutdown()
            raise
    return client


def _take_message(config, client: imaplib.IMAP4, uid: str, report: IntakeReport) -> None:
    status, data = client.uid("FETCH", uid, "(RFC822.SIZE)")
    match = re.search(rb"RFC822\.SIZE (\d+)", b" ".join(_lines(data)))
    if status != "OK" or not match:
        return  # gone meanwhile (another client moved it)
    if int(match.group(1)) > MAX_MESSAGE_BYTES:
        _reject(report, "mail", f"mail {uid}",
                stored_message("A mail of %(size)s MB was not taken in: it is larger than "
                               "%(limit)s MB. It is marked read in the mailbox; upload its "
                               "attachments by hand.", size=int(match.group(1)) // 2**20,
                               limit=MAX_MESSAGE_BYTES // 2**20))
        _mark_seen(client, uid)
        return
    status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
    raw = next((item[1] for item in data or [] if isinstance(item, tuple)), None)
    if status != "OK" or raw is None:
        return
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        sender, subject = _sender(message), _header(message, "Subject") or "(no subject)"
        detail = f"{sender} · {subject}"[:DETAIL_LENGTH]
        parts = list(_document_parts(message))
    except Exception:  # noqa: BLE001 — one malformed mail must not block all the others
        log.exception("mail %s could not be parsed", uid)
        _reject(report, "mail", f"mail {uid}",
                stored_message("A mail could not be read (its format is broken); it is marked "
                               "read in the mailbox and nothing was added. Forward it again or "
                               "upload its attachments."))
        _mark_seen(client, uid)
        return
    if not parts:
        _reject(report, "mail", detail,
                stored_message("The mail from %(sender)s “%(subject)s” has no PDF, JPEG, PNG or "
                               "XML attachment; it is marked read and nothing was added.",
                               sender=sender, subject=subject))
    for filename, content in parts:
        if _already_taken("mail", detail, content):
            continue  # stored by an earlier run that stopped before marking the mail read
        try:
            with db.atomic():
                document_store.add(config, content, filename, source="mail",
                                   source_detail=detail)
        except document_store.Rejected as rejected:
            _reject(report, "mail", detail, stored_message(
                "%(reason)s (mail from %(sender)s “%(subject)s”)", reason=str(rejected),
                sender=sender, subject=subject))
            continue
        report.added += 1
    # Every document of this mail is committed: only now is it marked read.
    _mark_seen(client, uid)


def _mark_seen(client: imaplib.IMAP4, uid: str) -> None:
    status, _ = client.uid("STORE", uid, "+FLAGS", r"(\Seen)")
    if status != "OK":
        raise MailboxError(stored_message(
            "The mail server refused to mark a mail as read; it will be read again next time "
            "(without duplicating its documents)."))


def _document_parts(message):
    """(file name, bytes) of each attachment, or inline part with a file name, that may be a
    document; the content decides later."""
    for number, part in enumerate(message.walk(), start=1):
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if part.get_content_disposition() != "attachment" and not filename:
            continue
        extension = Path(filename or "").suffix.lower()
        if part.get_content_type() not in MAIL_TYPES and extension not in MAIL_EXTENSIONS:
            continue
        content = part.get_payload(decode=True)
        if content is None:
            continue
        if not filename:
            filename = f"attachment-{number}{_extension_of(part.get_content_type())}"
        yield filename, content


def _extension_of(media_type: str) -> str:
    return {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg",
            "image/jpg": ".jpg"}.get(media_type, ".xml")


def _already_taken(source: str, detail: str, content: bytes) -> bool:
    """Whether this file already became a document from the same place (same file name in
    the folder, same mail), so that a run repeated after a failure adds nothing twice."""
    digest = hashlib.sha256(content).hexdigest()
    return Document.select().join(StoredFile).where(
        Document.source == source, Document.source_detail == detail,
        StoredFile.sha256 == digest).exists()


def _sender(message) -> str:
    try:
        addresses = message["From"].addresses if message["From"] is not None else ()
    except (AttributeError, TypeError, ValueError):
        addresses = ()
    if addresses and addresses[0].addr_spec:
        return addresses[0].addr_spec
    return _header(message, "From") or "unknown sender"


def _header(message, name: str) -> str:
    try:
        value = message[name]
    except (TypeError, ValueError, IndexError):
        return ""
    return " ".join(str(value or "").split())


def _lines(data) -> list[bytes]:
    lines = []
    for item in data or []:
        if isinstance(item, tuple):
            lines.append(item[0])
        elif isinstance(item, bytes):
            lines.append(item)
    return lines


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _plain_reason(config, error: Exception) -> str:
    """Why the mailbox could not be read, as a stored message (kept on the intake status)."""
    where = f"{config['IMAP_HOST']}:{config.get('IMAP_PORT') or 993}"
    if isinstance(error, socket.gaierror):
        return stored_message("The mail server %(host)s could not be found. Check "
                              "BOOKBRIDGE_IMAP_HOST.", host=config["IMAP_HOST"])
    if isinstance(error, ssl.SSLError):
        return stored_message("The secure connection to the mail server %(where)s failed "
                              "(certificate or TLS setting). Check BOOKBRIDGE_IMAP_SSL and "
                              "BOOKBRIDGE_IMAP_PORT.", where=where)
    if isinstance(error, ConnectionRefusedError):
        return stored_message("The mail server %(where)s refused the connection. Check the "
                              "host and port.", where=where)
    if isinstance(error, TimeoutError):
        return stored_message("The mail server %(where)s did not answer in time. It will be "
                              "tried again.", where=where)
    if isinstance(error, imaplib.IMAP4.abort | ConnectionError):
        return stored_message("The connection to the mail server %(where)s dropped. Unread "
                              "mail stays unread and is read again next time, without "
                              "duplicate documents.", where=where)
    if isinstance(error, imaplib.IMAP4.error):
        return stored_message("The mail server %(where)s answered something Bookbridge did "
                              "not expect. It will be tried again.", where=where)
    return stored_message("The mail server %(where)s could not be reached (%(cause)s). It will "
                          "be tried again.", where=where,
                          cause=error.strerror or type(error).__name__)


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text
