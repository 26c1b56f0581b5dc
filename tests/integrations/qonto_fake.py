"""A small Qonto-shaped HTTP server on loopback, for the Qonto client tests.

It serves canned data the way NOTES.md describes Qonto (``shared/contracts/qonto``):
``/v2/organization``, ``/v2/transactions`` (one status per query even when several are
sent, ``meta`` pagination, 422 past the last page), ``/v2/transactions/{id}`` (404 as an
empty ``text/plain`` body), ``/v2/transactions/{id}/attachments``, ``/v2/attachments/{id}``
and a file host under ``/files/`` whose pre-signed links expire and that refuses requests
carrying an Authorization header, like S3. Scripted answers (``script``) jump the queue for
the quirks: 401/429/5xx, HTML 200s, slow answers. Every request is recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import clock

LOGIN = "atelier-lumiere-1234"
SECRET = "sk-fake-0123456789abcdef"
ORG_ID = "0190a1b2-0000-7000-8000-000000000001"
MAIN_ACCOUNT = "0190a1b2-0000-7000-8000-0000000000a1"
EXTERNAL_ACCOUNT = "0190a1b2-0000-7000-8000-0000000000e1"
_SIGNING_KEY = b"fake-s3-signing-key"


@dataclass
class Canned:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    path: str | None = None  # only for requests to this path (None: the next request)


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    raw_query: str
    query: dict[str, list[str]]
    headers: dict[str, str]


def _attachment(index: int, transaction_id: str) -> dict:
    return {
        "id": f"0190a1b2-0000-7000-8000-00000000f{index:03d}",
        "transaction": transaction_id,
        "created_at": "2026-03-02T10:00:00.000Z",
        "file_name": f"receipt-{index}.pdf",
        "file_content_type": "application/pdf",
        "content": b"%PDF-1.4 fake receipt " + str(index).encode(),
    }


def _transaction(n: int, status: str, account: str = MAIN_ACCOUNT) -> dict:
    cents = 1230 + n  # 12.31, 12.32, ...: exact only as Decimal
    return {
        "id": f"0190a1b2-0000-7000-8000-{n:012d}",
        "transaction_id": f"{LOGIN}-1-transaction-{n}",
        "amount": f"@{cents // 100}.{cents % 100:02d}",  # "@" marks a bare JSON number
        "amount_cents": cents,
        "settled_balance": "@1000.10" if status == "completed" else None,
        "settled_balance_cents": 100010 if status == "completed" else None,
        "currency": "EUR",
        "side": "debit" if n % 2 else "credit",
        "operation_type": "card",
        "status": status,
        "label": f"Merchant {n}",
        "settled_at": "2026-03-02T10:00:00.000Z" if status == "completed" else None,
        "emitted_at": "2026-03-01T10:00:00.000Z",
        "updated_at": f"2026-03-02T10:{n % 60:02d}:00.000Z",
        "bank_account_id": account,
        "attachment_ids": [],
    }


def default_transactions() -> list[dict]:
    """5 completed, 2 pending, 1 declined on the main account; 1 on the external one."""
    rows = [_transaction(n, "completed") for n in range(1, 6)]
    rows += [_transaction(n, "pending") for n in range(6, 8)]
    rows.append(_transaction(8, "declined"))
    rows.append(_transaction(9, "completed", EXTERNAL_ACCOUNT))
    return rows


_BARE = re.compile(r'"@(-?\d+(?:\.\d+)?)"')


def _encode(value) -> bytes:
    """JSON where strings starting with "@" become bare number literals (exact decimals)."""
    text = json.dumps(value)
    return _BARE.sub(lambda match: match.group(1), text).encode()



@dataclass
class FakeQonto:
    """Server state: data, scripted answers, recorded requests, a clock for link expiry."""

    url: str = ""
    login: str = LOGIN
    secret: str = SECRET
    transactions: list[dict] = field(default_factory=default_transactions)
    attachments: dict[str, dict] = field(default_factory=dict)
    scripted: list[Canned] = field(default_factory=list)
    received: list[Recorded] = field(default_factory=list)
    link_ttl: float = 1800.0
    clock_offset: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        first = self.transactions[0]
        for index in (1, 2):
            attachment = _attachment(index, first["id"])
            self.attachments[attachment["id"]] = attachment
            first["attachment_ids"].append(attachment["id"])

    # -- test controls ------------------------------------------------------------------

    def script(self, status: int = 200, body=None, *, raw: bytes = b"", path: str | None = None,
               content_type: str = "application/json; charset=utf-8",
               headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        """Queue an answer for the next request (to ``path``): ``body`` JSON, or ``raw``."""
        data = raw if body is None else _encode(body)
        self.scripted.append(Canned(status, data, content_type, dict(headers or {}), delay,
                                    path))

    def advance(self, seconds: float) -> None:
        """Move the fake's clock (pre-signed links expire ``link_ttl`` after signing)."""
        self.clock_offset += seconds

    def now(self) -> float:
        return clock.epoch() + self.clock_offset

    def requests_to(self, path: str) -> list[Recorded]:
        return [r for r in self.received if r.path == path]

    # -- routing ------------------------------------------------------------------------

    def take_scripted(self, path: str) -> Canned | None:
        with self.lock:
            for index, canned in enumerate(self.scripted):
                if canned.path in (None, path):
                    return self.scripted.pop(index)
        return None

    def answer(self, request: Recorded) -> Canned:
        if request.path.startswith("/files/"):
            return self._file(request)
        if request.headers.get("Authorization") != f"{self.login}:{self.secret}":
            return _error(401, "unauthorized", "Invalid credentials")
        parts = request.path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != "v2":
            return Canned(404, b"", "text/plain")
        route, rest = parts[1], parts[2:]
        if route == "organization" and not rest:
            return self._organization(request)
        if route == "transactions" and not rest:
            return self._list(request)
        if route == "transactions" and len(rest) == 1:
            row = self._find(rest[0])
            if row is None:
                return Canned(404, b"", "text/plain")  # Qonto's quirk: blank text/plain
            return _ok({"transaction": self._with_includes(row, request)})
        if route == "transactions" and len(rest) == 2 and rest[1] == "attachments":
            row = self._find(rest[0])
            if row is None:
                return _error(404, "not_found", "Transaction not found", parameter="id")
            return _ok({"attachments": [self._attachment_json(a) for a in row["attachment_ids"]]})
        if route == "attachments" and len(rest) == 1 and rest[0] in self.attachments:
            return _ok({"attachment": self._attachment_json(rest[0])})
        if route == "attachments":
            return _error(404, "not_found", "Attachment not found", parameter="id")
        return Canned(404, b"", "text/plain")

    def _organization(self, request: Recorded) -> Canned:
        accounts = [{
            "id": MAIN_ACCOUNT, "slug": f"{self.login}-bank-account-1",
            "iban": "FR7616958000010000000000001", "bic": "QNTOFRP1XXX", "currency": "EUR",
            "balance": "@1000.10", "balance_cents": 100010,
            "authorized_balance": "@975.40", "authorized_balance_cents": 97540,
            "name": "Main account", "updated_at": "2026-03-02T10:00:00.000Z",
            "status": "active", "main": True, "is_external_account": False,
            "account_number": "",
        }]
        if request.query.get("include_external_accounts") == ["true"]:
            accounts.append({
                "id": EXTERNAL_ACCOUNT, "slug": f"{self.login}-bank-account-2", "iban": "",
                "bic": "", "currency": "EUR", "balance": "@20.00", "balance_cents": 2000,
                "authorized_balance": "@20.00", "authorized_balance_cents": 2000,
                "name": "Other bank", "updated_at": "2026-03-02T10:00:00.000Z",
                "status": "active", "main": False, "is_external_account": True,
                "account_number": "ext-42",
            })
        return _ok({"organization": {
            "id": ORG_ID, "name": "Atelier Lumière", "slug": self.login,
            "legal_name": "Atelier Lumière SAS", "legal_share_capital": "@10000.00",
            "bank_accounts": accounts,
        }})

    def _list(self, request: Recorded) -> Canned:
        query = request.query
        account = (query.get("bank_account_id") or [None])[0]
        if not account:
            return _error(422, "missing", "bank_account_id or iban is missing")
        # Quirk 3 (NOTES §4): only one status is honoured per query.
        status = (query.get("status[]") or ["completed"])[0]
        rows = [r for r in self.transactions
                if r["bank_account_id"] == account and r["status"] == status]
        since = (query.get("updated_at_from") or [None])[0]
        if since:
            try:
                floor = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                return Canned(400, _encode({"errors": [{
                    "code": "date_invalid", "message": "updated_at_from isn't ISO 8601"}]}))
            rows = [r for r in rows
                    if datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")) >= floor]
        reverse = (query.get("sort_by") or ["settled_at:desc"])[0].endswith(":desc")
        rows.sort(key=lambda r: (r["updated_at"], r["id"]), reverse=reverse)
        per_page = int((query.get("per_page") or ["100"])[0])
        page = int((query.get("page") or query.get("current_page") or ["1"])[0])
        total_pages = max(1, -(-len(rows) // per_page))
        if page > total_pages:
            return _error(422, "invalid", "page is out of range")  # quirk 4
        chunk = rows[(page - 1) * per_page: page * per_page]
        return _ok({
            "transactions": [self._with_includes(r, request) for r in chunk],
            "meta": {
                "current_page": page, "next_page": page + 1 if page < total_pages else None,
                "prev_page": page - 1 if page > 1 else None, "total_pages": total_pages,
                "total_count": len(rows), "per_page": per_page,
            },
        })

    def _find(self, transaction_id: str) -> dict | None:
        return next((r for r in self.transactions if r["id"] == transaction_id), None)

    def _with_includes(self, row: dict, request: Recorded) -> dict:
        row = dict(row)
        if "attachments" in request.query.get("includes[]", []):
            row["attachments"] = [self._attachment_json(a) for a in row["attachment_ids"]]
        return row

    def _attachment_json(self, attachment_id: str) -> dict:
        stored = self.attachments[attachment_id]
        return {
            "id": stored["id"], "created_at": stored["created_at"],
            "file_name": stored["file_name"], "file_size": str(len(stored["content"])),
            "file_content_type": stored["file_content_type"],
            "url": self.signed_url(stored["id"]), "probative_attachment": {
                "status": "unavailable"},
        }

    def signed_url(self, attachment_id: str) -> str:
        expires = int(self.now() + self.link_ttl)
        query = urlencode({"X-Amz-Expires": int(self.link_ttl), "expires": expires,
                           "X-Amz-Signature": _sign(attachment_id, expires)})
        return f"{self.url}/files/{attachment_id}?{query}"

    def _file(self, request: Recorded) -> Canned:
        attachment_id = request.path.rsplit("/", 1)[-1]
        expires = (request.query.get("expires") or ["0"])[0]
        signature = (request.query.get("X-Amz-Signature") or [""])[0]
        if "Authorization" in request.headers:
            return _s3_error(400, "InvalidArgument",
                             "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                             "parameter, Signature query string parameter or the "
                             "Authorization header should be specified")
        stored = self.attachments.get(attachment_id)
        if (stored is None or not expires.isdigit()
                or not hmac.compare_digest(signature, _sign(attachment_id, int(expires)))):
            return _s3_error(403, "SignatureDoesNotMatch", "The signature does not match")
        if self.now() > int(expires):
            return _s3_error(403, "AccessDenied", "Request has expired")
        return Canned(200, stored["content"], stored["file_content_type"])


def _sign(attachment_id: str, expires: int) -> str:
    message = f"{attachment_id}:{expires}".encode()
    return hmac.new(_SIGNING_KEY, message, hashlib.sha256).hexdigest()


def _ok(body: dict) -> Canned:
    return Canned(200, _encode(body))


def _error(status: int, code: str, detail: str, parameter: str | None = None) -> Canned:
    item: dict = {"code": code, "detail": detail}
    if parameter:
        item["source"] = {"parameter": parameter}
    return Canned(status, _encode({"errors": [item]}))


def _s3_error(status: int, code: str, message: str) -> Canned:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>").encode()
    return Canned(status, body, "application/xml")


def _handler_for(state: FakeQonto):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            request = Recorded(self.command, parts.path, parts.query,
                               parse_qs(parts.query, keep_blank_values=True),
                               dict(self.headers.items()))
            state.received.append(request)
            answer = state.take_scripted(parts.path) or state.answer(request)
            time.sleep(answer.delay)
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting: that was the point of the delay

        def log_message(self, *args) -> None:
            pass

    return Handler


class RunningFake:
    """Starts a ``FakeQonto`` on 127.0.0.1 with a free port; ``stop()`` shuts it down."""

    def __init__(self, state: FakeQonto | None = None):
        self.state = state or FakeQonto()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self.state))
        self._server.daemon_threads = True
        self.state.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def utc(*args: int) -> datetime:
    """``datetime(*args, tzinfo=UTC)``."""
    return datetime(*args, tzinfo=UTC)
