"""Fixtures for the Zoho clients: a scripted loopback server and token/pacer helpers.

``fake_zoho`` is a real HTTP server on 127.0.0.1 that answers canned Zoho-shaped responses
in order, for the quirks a faithful sandbox may not reproduce (HTTP 200 + ``error``,
HTML 502s, sockets that hang). Everything still travels over real HTTP.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.zoho_accounts import ZohoAccounts
from tests.integrations.helpers import AccountsTokens, self_client_code


@dataclass
class Canned:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    delay: float = 0.0


@dataclass
class Recorded:
    """One request the fake server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        """The body decoded as an HTML form (single values)."""
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


@dataclass
class FakeZoho:
    """Scripted server state: answers are popped in order, requests are recorded."""

    url: str = ""
    answers: list[Canned] = field(default_factory=list)
    received: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reply(self, status: int = 200, body=None, *, delay: float = 0.0, raw: bytes = b"",
              content_type: str = "application/json;charset=UTF-8") -> None:
        """Queue an answer: ``body`` is JSON-encoded, ``raw`` is sent as-is."""
        data = raw if body is None else json.dumps(body).encode()
        self.answers.append(Canned(status, data, content_type, delay))

    def next_answer(self) -> Canned:
        """The next queued answer, or a loud 599 when the test queued too few."""
        with self.lock:
            if self.answers:
                return self.answers.pop(0)
        return Canned(599, b'{"code": 1, "message": "fake_zoho: no answer queued"}')


def _handler_for(state: FakeZoho):
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            state.received.append(
                Recorded(self.command, parts.path, parse_qs(parts.query),
                         dict(self.headers.items()), body)
            )
            answer = state.next_answer()
            time.sleep(answer.delay)
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting: that was the point of the delay

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args) -> None:
            pass

    return Handler


@pytest.fixture
def fake_zoho():
    """A scripted Zoho-shaped HTTP server on loopback; yields its ``FakeZoho`` state."""
    state = FakeZoho()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url():
    """A loopback URL nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class FixedTokens:
    """TokenProvider handing out fixed tokens and counting forced refreshes."""

    def __init__(self, access: str = "access-1", refreshed: str = "access-2"):
        self.current = access
        self._refreshed = refreshed
        self.refreshes = 0

    def access_token(self) -> str:
        return self.current

    def refreshed_access_token(self) -> str:
        self.refreshes += 1
        self.current = self._refreshed
        return self.current


@pytest.fixture
def tokens():
    """A ``FixedTokens`` provider."""
    return FixedTokens()


@pytest.fixture
def sleeps():
    """A list that a ``SimplePacer(sleep=sleeps.append)`` fills instead of sleeping."""
    return []


# --- the sandbox (the lead's ``sandbox`` / ``fresh_sandbox`` fixtures start it) ----------


@pytest.fixture
def sandbox_accounts(fresh_sandbox):
    """ZohoAccounts pointed at a freshly reset sandbox (no redirect URI: self-client codes).

    The sandbox is reset again afterwards, so faults, limits and clock moves stay here.
    """
    yield ZohoAccounts(fresh_sandbox.client_id, fresh_sandbox.client_secret, None,
                       accounts_server_override=fresh_sandbox.url, timeout=10)
    fresh_sandbox.admin("POST", "/sandbox/reset")


@pytest.fixture
def sandbox_tokens(fresh_sandbox, sandbox_accounts):
    """An ``AccountsTokens`` provider holding a real grant from the sandbox."""
    token_set = sandbox_accounts.exchange_code(fresh_sandbox.url, self_client_code(fresh_sandbox))
    return AccountsTokens(sandbox_accounts, fresh_sandbox.url, token_set)
