"""Security headers, private data files, and uploads that are cut off as they arrive."""

import io
import os
import re
import stat
import subprocess
import sys
import tracemalloc
from pathlib import Path

from models import Document, StoredFile
from services import document_store
from services.document_intake import CappedSpool
from tests import documents as samples
from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parent.parent
MB = 2**20


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- Headers -----------------------------------------------------------------------------------


def test_signed_in_pages_carry_strict_headers_and_are_never_cached(client, auth, admin):
    auth.login()
    page = client.get("/connections/")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in page.headers
    # htmx is told not to inject its indicator styles nor to evaluate anything.
    assert '"allowEval": false' in page.text and '"includeIndicatorStyles": false' in page.text


def test_https_adds_hsts(tmp_path, fresh_sandbox, database_url):
    from app import create_app

    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "d"), "HTTPS": True})
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_an_original_is_private_unsniffed_and_framed_only_by_bookbridge(client, auth, admin):
    auth.login()
    client.post("/documents/upload", data={
        "csrf_token": csrf_token(client, "/documents/"),
        "files": [(io.BytesIO(samples.text_pdf()), "ovh.pdf")]},
        content_type="multipart/form-data")
    original = client.get(f"/documents/{Document.get().id}/file")
    assert original.status_code == 200 and original.mimetype == "application/pdf"
    assert original.headers["Cache-Control"] == "no-store"
    assert original.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'self'" in original.headers["Content-Security-Policy"]
    auth.logout()
    assert client.get(f"/documents/{Document.get().id}/file").status_code == 302


def test_templates_carry_no_inline_script_or_style():
    """The CSP forbids them; a new one would silently stop working in the browser."""
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"\bhx-on",
                        r"\sstyle\s*=", r"javascript:", r"\bhx-vars\b", r"js:"):
            offenders += [f"{template.relative_to(ROOT)}: {match.group(0)}"
                          for match in re.finditer(pattern, text)]
    assert not offenders, offenders


# -- Files -------------------------------------------------------------------------------------


def test_data_files_and_folders_are_private(app, client, auth, admin):
    auth.login()
    client.post("/documents/upload", data={
        "csrf_token": csrf_token(client, "/documents/"),
        "files": [(io.BytesIO(samples.text_pdf()), "ovh.pdf")]},
        content_type="multipart/form-data")
    data_dir = Path(app.config["DATA_DIR"])
    original = document_store.path_of(app.config, StoredFile.get())
    assert _mode(data_dir) == 0o700
    # On PostgreSQL the database is the server's; the data directory keeps the rest.
    database_files = [] if app.config.get("DATABASE_URL") else [
        data_dir / "bookbridge.db", data_dir / "bookbridge.db-wal"]
    for path in (*database_files, data_dir / "secret_key", data_dir / "encryption.key",
                 original):
        assert _mode(path) == 0o600, path
    assert _mode(original.parent) == 0o700


def test_files_left_readable_by_an_older_version_are_made_private_at_start(tmp_path,
                                                                          fresh_sandbox,
                                                                          database_url):
    from app import create_app

    data_dir = tmp_path / "old"
    (data_dir / "files" / "ab").mkdir(parents=True)
    (data_dir / "files" / "ab" / "abcdef").write_bytes(b"%PDF-1.4 old original")
    (data_dir / "secret_key").write_text("an old secret")
    for path in [data_dir, *data_dir.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)

    create_app({"TESTING": True, "DATA_DIR": str(data_dir)})

    assert _mode(data_dir) == 0o700 and _mode(data_dir / "files" / "ab") == 0o700
    assert _mode(data_dir / "files" / "ab" / "abcdef") == 0o600
    assert _mode(data_dir / "secret_key") == 0o600
    assert database_url or _mode(data_dir / "bookbridge.db") == 0o600


def test_the_worker_creates_its_queue_privately(tmp_path):
    environment = {**os.environ, "BOOKBRIDGE_DATA_DIR": str(tmp_path / "worker"),
                   "BOOKBRIDGE_HUEY_IMMEDIATE": ""}
    subprocess.run([sys.executable, "-c", "import jobs.queue as q; q.huey.pending_count()"],
                   cwd=ROOT, env=environment, check=True, timeout=60)
    assert _mode(tmp_path / "worker") == 0o700
    assert _mode(tmp_path / "worker" / "queue.db") == 0o600


# -- Uploads -----------------------------------------------------------------------------------


def test_spool_stops_keeping_bytes_past_the_limit_as_they_arrive(tmp_path):
    spool = CappedSpool(limit=20 * MB, directory=str(tmp_path))
    chunk = b"%PDF" + b"x" * (64 * 1024 - 4)
    tracemalloc.start()
    try:
        for _ in range(25 * MB // len(chunk)):  # 25 MB, written as Werkzeug does
            spool.write(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert spool.too_large and spool.received == 25 * MB
    assert peak < 2 * MB, f"the spool held {peak} bytes in memory"
    assert spool.read() == b"" and not list(tmp_path.iterdir())  # nothing left on disk


def test_spool_under_the_limit_reads_back_whole(tmp_path):
    spool = CappedSpool(limit=20 * MB, directory=str(tmp_path))
    content = samples.text_pdf()
    for start in range(0, len(content), 100):
        spool.write(content[start:start + 100])
    spool.seek(0)
    assert not spool.too_large and spool.read() == content


class _LazyUpload(io.RawIOBase):
    """A multipart body with one `size`-byte file, produced as it is read (never whole)."""

    BOUNDARY = "bookbridge-test-boundary"

    def __init__(self, token: str, size: int):
        self._head = (f"--{self.BOUNDARY}\r\nContent-Disposition: form-data; "
                      f"name=\"csrf_token\"\r\n\r\n{token}\r\n--{self.BOUNDARY}\r\n"
                      "Content-Disposition: form-data; name=\"files\"; "
                      "filename=\"huge.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
                      "%PDF-1.4\n").encode()
        self._tail = f"\r\n--{self.BOUNDARY}--\r\n".encode()
        self._filler_end = len(self._head) + size - len(b"%PDF-1.4\n")
        self.length = self._filler_end + len(self._tail)
        self._position = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.length}[whence]
        self._position = base + offset
        return self._position

    def readinto(self, buffer):
        position, head = self._position, len(self._head)
        if position < head:
            chunk = self._head[position:position + len(buffer)]
        elif position < self._filler_end:
            chunk = b"0" * min(len(buffer), self._filler_end - position)
        else:
            start = position - self._filler_end
            chunk = self._tail[start:start + len(buffer)]
        buffer[:len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)


def test_a_25_mb_upload_is_refused_without_being_held_in_memory(client, auth, admin):
    auth.login()
    body = _LazyUpload(csrf_token(client, "/documents/"), 25 * MB)
    tracemalloc.start()
    try:
        response = client.post(
            "/documents/upload", input_stream=body, content_length=body.length,
            content_type=f"multipart/form-data; boundary={_LazyUpload.BOUNDARY}")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MB, f"the request held {peak} bytes in memory"
    assert response.status_code == 303
    inbox = client.get(response.location)
    assert "huge.pdf is larger than 20 MB" in inbox.text
    assert Document.select().count() == 0


def test_an_upload_past_the_request_limit_is_answered_413_with_a_message(client, auth, admin):
    auth.login()
    body = _LazyUpload(csrf_token(client, "/documents/"), 201 * MB)
    response = client.post(
        "/documents/upload", input_stream=body, content_length=body.length,
        content_type=f"multipart/form-data; boundary={_LazyUpload.BOUNDARY}")
    assert response.status_code == 413
    assert "smaller groups" in response.text and "Traceback" not in response.text


def test_an_empty_upload_is_explained(client, auth, admin):
    auth.login()
    response = client.post("/documents/upload", data={
        "csrf_token": csrf_token(client, "/documents/"),
        "files": [(io.BytesIO(b""), "empty.pdf")]},
        content_type="multipart/form-data", follow_redirects=True)
    assert "empty.pdf is empty" in response.text


def test_a_very_long_file_name_is_cut_keeping_its_extension(client, auth, admin):
    auth.login()
    client.post("/documents/upload", data={
        "csrf_token": csrf_token(client, "/documents/"),
        "files": [(io.BytesIO(samples.text_pdf()), "f" * 5_000 + ".pdf")]},
        content_type="multipart/form-data")
    document = Document.get()
    assert len(document.source_detail) <= 255 and document.filename.endswith(".pdf")
