"""Client of the Zoho Books v3 API for one organisation.

Reference: shared/contracts/zoho-books/NOTES.md §1.6, §2 and §3. What shapes this module:

- the base URL is ``{api_domain}/books/v3`` of the user's data centre, and every call
  except ``GET /organizations`` carries ``organization_id``;
- errors are ``{"code": <non-zero>, "message": ...}``; rate limits are HTTP 429 with code
  44 (per minute), 1070 (concurrency) or 45 (daily plan cap);
- ids are digit strings longer than 2**53 and amounts must stay exact, so JSON is parsed
  with ``Decimal`` floats and ids are never touched;
- Zoho has no idempotency key, so a write whose outcome is unknown is never repeated
  blindly: the caller looks the record up first.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, Self

import requests
from urllib3.exceptions import NewConnectionError

from services.i18n import stored_message

log = logging.getLogger(__name__)

# --- collaborators (implemented by the services layer) -----------------------------------


class TokenProvider(Protocol):
    """Hands out access tokens; owns caching, locking and refreshing."""

    def access_token(self) -> str:
        """A token believed valid (cached until it expires)."""

    def refreshed_access_token(self) -> str:
        """A token refreshed now, because Zoho just refused the cached one."""


class Pacer(Protocol):
    """Keeps calls within the organisation's rate budget, shared by web and worker."""

    def before_call(self) -> None:
        """Called before every request; may sleep to stay within the budget."""

    def rate_limited(self, code: int, attempt: int) -> None:
        """Called on HTTP 429 code 44 or 1070; waits before the client retries."""

    # Optional: `after_reply(status, code, daily_quota)` is called after every answer, with
    # the DailyQuota its headers gave (None without them), to count calls and 429s.


@dataclass(frozen=True)
class DailyQuota:
    """What an answer's X-Rate-Limit-* headers say of the plan's daily calls.

    Zoho's docs do not describe these headers; client libraries report them (NOTES §2.2,
    UNCONFIRMED), so an answer without them, or with garbage in them, simply has none.
    """

    limit: int
    remaining: int
    reset_seconds: float | None  # until the daily reset; None when not sent

    @classmethod
    def from_headers(cls, headers) -> DailyQuota | None:
        limit = _whole_number(headers.get("X-Rate-Limit-Limit"))
        remaining = _whole_number(headers.get("X-Rate-Limit-Remaining"))
        if not limit or remaining is None:
            return None
        reset = _whole_number(headers.get("X-Rate-Limit-Reset"))
        return cls(limit, min(remaining, limit), reset)


# --- errors ------------------------------------------------------------------------------


class ZohoApiError(Exception):
    """Zoho Books answered with an error (or did not answer usefully).

    ``message`` is Zoho's own text; ``user_message`` is for the admin: a stored message
    (services.i18n), read in their language.
    """

    user_message = stored_message("Zoho Books refused the request.")

    def __init__(self, http_status: int | None, code: int | None, message: str):
        super().__init__(f"Zoho Books HTTP {http_status} code {code}: {message}")
        self.http_status = http_status
        self.code = code
        self.message = message


class ZohoUnauthorized(ZohoApiError):
    """The access token was refused even after one forced refresh (or a scope is missing)."""

    user_message = stored_message(
        "Zoho Books refused Bookbridge's access. An admin should reconnect Zoho Books on "
        "the Connections page (this also happens when a permission was not granted)."
    )


class ZohoOrganizationUnavailable(ZohoApiError):
    """The organisation is gone, or the connected user lost access to it."""

    user_message = stored_message(
        "The Zoho Books organisation is not available to the connected user any more "
        "(deleted, or access removed). Reconnect and choose the organisation again."
    )


class ZohoNotFound(ZohoApiError):
    """The record (or URL) does not exist."""

    user_message = stored_message(
        "Zoho Books says this record does not exist (it may have been deleted).")


class ZohoValidationError(ZohoApiError):
    """Zoho rejected the request as invalid; its message says why."""

    @property
    def user_message(self) -> str:
        # Zoho's own words are data: kept as Zoho wrote them.
        return stored_message("Zoho Books rejected the data: %(reason)s", reason=self.message)


class ZohoDailyLimitReached(ZohoApiError):
    """The plan's daily API cap is used up (HTTP 429 code 45). Retrying today is useless."""

    user_message = stored_message(
        "Zoho Books' daily API calls for this organisation's plan are all spent. Try again "
        "after Zoho's daily reset (the Connections page says when).")


class ZohoUnavailable(ZohoApiError):
    """Zoho did not answer properly (5xx, code 1000, timeout, garbage) after retries."""

    user_message = stored_message(
        "Zoho Books is not answering properly right now; the run will try again.")


class ZohoUnknownOutcome(ZohoUnavailable):
    """A write may or may not have happened: look the record up before trying again."""

    user_message = stored_message(
        "The connection to Zoho Books broke during a write, so Bookbridge checks whether "
        "it went through before trying again."
    )


# --- pacing ------------------------------------------------------------------------------


class SimplePacer:
    """In-process pacer for scripts and tests: sleeps to stay under ``per_minute``.

    The real budget lives in the database (services layer) because web and worker share
    it; this one only knows the calls of its own process.
    """

    def __init__(
        self,
        per_minute: int = 100,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        self.per_minute = per_minute
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()

    def before_call(self) -> None:
        """Sleep until a slot in the rolling minute is free, then take it."""
        with self._lock:
            now = self._clock()
            while self._recent and self._recent[0] <= now - 60:
                self._recent.popleft()
            wait = 0.0
            if len(self._recent) >= self.per_minute:
                wait = self._recent[0] + 60 - now
            self._recent.append(now + wait)  # reserve the slot before sleeping outside
        if wait > 0:
            self._sleep(wait)

    def rate_limited(self, code: int, attempt: int) -> None:
        """Code 44: wait for the minute to be over. 1070 (too many at once): a short backoff.

        Zoho does not say whether its minute is the clock's or a rolling one, so the first
        wait ends with the clock's minute and any further wait lasts a whole minute.
        """
        if code == 44:
            first_wait = 60 - self._wall_clock() % 60 + 1
            self._sleep(first_wait if attempt == 1 else 60)
        else:
            self._sleep(min(0.5 * 2 ** (attempt - 1), 8) + random.uniform(0, 0.25))


# --- client ------------------------------------------------------------------------------

_AUTH_CODES = frozenset({57, 14})
_RATE_CODES = frozenset({44, 1070})
_DAILY_LIMIT_CODE = 45
_INTERNAL_ERROR_CODE = 1000
_NOT_FOUND_CODE = 1002
_ORGANIZATION_CODES = frozenset({6041})
# Waiting for quota never fails a run, but a server that answers 429 for ever must not
# hang a worker for ever either: give up after this many waits (about an hour on code 44).
_MAX_RATE_LIMIT_WAITS = 60

_TRANSPORT_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass
class _Request:
    """Everything needed to send (and resend) one call, minus the token."""

    method: str
    path: str
    params: dict
    headers: dict
    data: bytes | None = None
    files: dict | None = None


class _Reply:
    """One HTTP answer, decoded: status, Zoho code and message, envelope."""

    def __init__(self, response: requests.Response):
        self.status = response.status_code
        self.envelope = _decode(response.content)
        body = self.envelope if isinstance(self.envelope, dict) else {}
        self.code = _int_or_none(body.get("code"))
        self.message = str(body.get("message") or response.reason or "")
        self.daily_quota = DailyQuota.from_headers(response.headers)

    @property
    def ok(self) -> bool:
        # Zoho returns 200 or 201 for success; a missing code on a 2xx is treated as
        # success too, so a write that happened is never reported as failed.
        return (
            200 <= self.status < 300
            and isinstance(self.envelope, dict)
            and self.code in (0, None)
        )

    @property
    def transient(self) -> bool:
        """Worth repeating: a server-side failure, or garbage where an envelope belongs.

        A 4xx without an envelope (a proxy's 413, a wrong URL's 404) is not transient.
        """
        garbage = not isinstance(self.envelope, dict) and not 400 <= self.status < 500
        return self.status >= 500 or self.code == _INTERNAL_ERROR_CODE or garbage

    @property
    def rate_limited(self) -> bool:
        return self.code in _RATE_CODES or (self.status == 429 and self.code != _DAILY_LIMIT_CODE)


class ZohoBooksClient:
    """Calls ``{api_domain}/books/v3`` for one organisation.

    Reads (GET) are retried ``max_retries`` times on 5xx, timeouts and dropped
    connections, with exponential backoff from ``retry_base_delay`` plus jitter. Writes are
    not, because Zoho has no idempotency key: a write cut off mid-request raises
    ``ZohoUnknownOutcome``. Pass ``retry_writes=True`` to a write only when repeating it is
    harmless (an upsert keyed by a unique custom field, for example); it is then retried
    like a read. Rate limits (429 code 44/1070) go to the pacer and the same call is
    repeated; a refused token (401 code 57/14) is refreshed once and the call repeated.
    """

    def __init__(
        self,
        api_domain: str,
        organization_id: str | None,
        tokens: TokenProvider,
        pacer: Pacer | None = None,
        timeout: float = 30,
        session: requests.Session | None = None,
        retry_base_delay: float = 0.5,
        max_retries: int = 3,
    ):
        self.base_url = api_domain.rstrip("/") + "/books/v3"
        self.organization_id = organization_id  # None only to call list_organizations()
        self._tokens = tokens
        self._pacer = pacer or SimplePacer()
        self.timeout = timeout
        self._session = session or requests.Session()
        self.retry_base_delay = retry_base_delay
        self.max_retries = max_retries

    def __repr__(self) -> str:
        return f"ZohoBooksClient({self.base_url!r}, organization_id={self.organization_id!r})"

    def close(self) -> None:
        """Close the HTTP session's pooled connections."""
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- generic calls ------------------------------------------------------------------

    def list_organizations(self) -> list[dict]:
        """Every organisation the token's user can reach (no organization_id needed)."""
        envelope = self._call("GET", "/organizations", with_organization=False)
        return envelope.get("organizations") or []

    def get(self, path: str, params: dict | None = None) -> dict:
        """GET ``path``; returns Zoho's whole envelope."""
        return self._call("GET", path, params=params)

    def iter_pages(
        self, path: str, key: str, params: dict | None = None, per_page: int = 200
    ) -> Iterator[list[dict]]:
        """Yield each page's ``key`` list, one API call per page.

        Stops when ``page_context.has_more_page`` is false; when a response has no
        ``page_context`` (some list endpoints in Zoho's spec), on a short page instead.
        """
        page = 1
        while True:
            envelope = self.get(path, {**(params or {}), "page": page, "per_page": per_page})
            rows = envelope.get(key)
            if not isinstance(rows, list):
                raise ZohoApiError(200, envelope.get("code"), f"response has no {key!r} list")
            if rows:
                yield rows
            if not rows or not _has_more_pages(envelope, len(rows), per_page):
                return
            page += 1

    def post(
        self,
        path: str,
        json: Any = None,
        params: dict | None = None,
        *,
        headers: dict | None = None,
        retry_writes: bool = False,
    ) -> dict:
        """POST a JSON body (Decimal amounts are sent exactly); returns the envelope."""
        return self._call(
            "POST", path, params=params, body=json, headers=headers, idempotent=retry_writes
        )

    def put(
        self,
        path: str,
        json: Any,
        params: dict | None = None,
        *,
        headers: dict | None = None,
        retry_writes: bool = False,
    ) -> dict:
        """PUT a JSON body; returns the envelope."""
        return self._call(
            "PUT", path, params=params, body=json, headers=headers, idempotent=retry_writes
        )

    def delete(
        self, path: str, params: dict | None = None, *, retry_writes: bool = False
    ) -> dict:
        """DELETE ``path``; returns the envelope."""
        return self._call("DELETE", path, params=params, idempotent=retry_writes)

    def post_file(
        self,
        path: str,
        field: str,
        filename: str,
        content: bytes,
        content_type: str,
        params: dict | None = None,
    ) -> dict:
        """Upload one file as multipart/form-data.

        ``field`` is ``attachment`` for bills, invoices and bank transactions and
        ``receipt`` for expense receipts (NOTES §3.10–3.11).
        """
        files = {field: (filename, content, content_type)}
        return self._call("POST", path, params=params, files=files, idempotent=False)

    # -- lists the refresh job needs -----------------------------------------------------

    def iter_chart_of_accounts(self) -> Iterator[list[dict]]:
        """Pages of every account, active or not."""
        return self.iter_pages(
            "/chartofaccounts", "chartofaccounts", {"filter_by": "AccountType.All"}
        )

    def iter_taxes(self) -> Iterator[list[dict]]:
        """Pages of taxes."""
        return self.iter_pages("/settings/taxes", "taxes")

    def iter_contacts(self) -> Iterator[list[dict]]:
        """Pages of every contact, customers and vendors, active or not."""
        return self.iter_pages("/contacts", "contacts", {"filter_by": "Status.All"})

    def iter_items(self) -> Iterator[list[dict]]:
        """Pages of every item (the default lists only active ones)."""
        return self.iter_pages("/items", "items", {"filter_by": "Status.All"})

    def iter_currencies(self) -> Iterator[list[dict]]:
        """Pages of currencies."""
        return self.iter_pages("/settings/currencies", "currencies")

    def iter_bank_accounts(self) -> Iterator[list[dict]]:
        """Pages of every bank and credit-card account, active or not."""
        return self.iter_pages("/bankaccounts", "bankaccounts", {"filter_by": "Status.All"})

    # -- the one request loop -----------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: Any = None,
        files: dict | None = None,
        headers: dict | None = None,
        with_organization: bool = True,
        idempotent: bool | None = None,
    ) -> dict:
        if idempotent is None:
            idempotent = method == "GET"
        query = dict(params or {})
        if with_organization:
            if not self.organization_id:
                raise ValueError("this call needs an organization_id; only "
                                 "list_organizations() works without one")
            query["organization_id"] = self.organization_id
        request = _Request(method, path, query, dict(headers or {}), files=files)
        if body is not None:
            request.data = encode_json(body).encode()
            request.headers["Content-Type"] = "application/json"
        return self._send_until_settled(request, idempotent)

    def _send_until_settled(self, request: _Request, idempotent: bool) -> dict:
        token = self._tokens.access_token()
        refreshed = False
        failures = 0
        rate_waits = 0
        while True:
            try:
                reply = self._send_once(request, token)
            except _TRANSPORT_ERRORS as exc:
                failures += 1
                self._after_transport_error(exc, request, idempotent, failures)
                continue
            self._report(reply)
            if reply.ok:
                return reply.envelope
            if reply.status == 401 and reply.code in _AUTH_CODES and not refreshed:
                token, refreshed = self._tokens.refreshed_access_token(), True
                continue
            if reply.rate_limited and rate_waits < _MAX_RATE_LIMIT_WAITS:
                rate_waits += 1
                self._pacer.rate_limited(reply.code or 44, rate_waits)
                continue
            if reply.transient and idempotent and failures < self.max_retries:
                failures += 1
                self._backoff(failures)
                continue
            raise _error_for(reply, idempotent)

    def _report(self, reply: _Reply) -> None:
        """Tell the pacer about the answer (call counts, the daily quota). Never fails the
        call: a write Zoho applied must not be reported as failed for a counter."""
        after_reply = getattr(self._pacer, "after_reply", None)
        if after_reply is None:
            return
        try:
            after_reply(reply.status, reply.code, reply.daily_quota)
        except Exception:  # noqa: BLE001 - counting is monitoring, the call stands
            log.warning("could not record Zoho's answer for quota and metrics", exc_info=True)

    def _send_once(self, request: _Request, token: str) -> _Reply:
        self._pacer.before_call()
        method, path = request.method, request.path
        headers = {**request.headers, "Authorization": f"Zoho-oauthtoken {token}"}
        started = time.monotonic()
        status = "error"
        try:
            response = self._session.request(
                method,
                self.base_url + "/" + path.lstrip("/"),
                params=request.params,
                data=request.data,
                files=request.files,
                headers=headers,
                timeout=self.timeout,
            )
            status = response.status_code
            return _Reply(response)
        finally:
            # Path only: the query holds nothing secret today, but the log need not know.
            log.debug(
                "zoho books %s %s -> %s in %.0f ms",
                method, path, status, (time.monotonic() - started) * 1000,
            )

    def _after_transport_error(
        self, exc: Exception, request: _Request, idempotent: bool, failures: int
    ) -> None:
        """Back off before the next attempt, or raise when another attempt is not safe."""
        where = f"{request.method} {request.path}"
        if not idempotent and not _never_sent(exc):
            raise ZohoUnknownOutcome(
                None, None, f"{type(exc).__name__} during {where}; outcome unknown"
            ) from exc
        if failures > self.max_retries:
            raise ZohoUnavailable(
                None, None, f"{type(exc).__name__} during {where} after {failures} tries"
            ) from exc
        self._backoff(failures)

    def _backoff(self, failures: int) -> None:
        base = self.retry_base_delay * 2 ** (failures - 1)
        time.sleep(base + random.uniform(0, base))


# --- helpers -----------------------------------------------------------------------------


def encode_json(value: Any) -> str:
    """JSON text for Zoho, with ``Decimal`` amounts written as exact number literals.

    The standard encoder would need floats for numbers; money must not pass through them.
    Dates become ``yyyy-mm-dd``.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("cannot send a non-finite amount to Zoho")
        return str(value)
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    if isinstance(value, dict):
        items = (f"{json.dumps(str(key))}:{encode_json(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(encode_json(item) for item in value) + "]"
    return json.dumps(value)


def _decode(content: bytes) -> Any:
    """Zoho's JSON with exact ``Decimal`` amounts; None when the body is not JSON."""
    try:
        return json.loads(content, parse_float=Decimal)
    except ValueError:
        return None


def _error_for(reply: _Reply, idempotent: bool) -> ZohoApiError:
    """The exception that says what went wrong, from status, Zoho code and message."""
    args = (reply.status, reply.code, reply.message)
    if reply.code == _DAILY_LIMIT_CODE:
        return ZohoDailyLimitReached(*args)
    if _is_organization_problem(reply):
        return ZohoOrganizationUnavailable(*args)
    if reply.status == 401 or reply.code in _AUTH_CODES:
        return ZohoUnauthorized(*args)
    if reply.status == 404 or reply.code == _NOT_FOUND_CODE:
        return ZohoNotFound(*args)
    if reply.rate_limited:
        return ZohoUnavailable(*args)  # refused before any work: safe to repeat later
    if reply.transient:
        # A failed write behind a gateway may still have been applied by Zoho.
        return (ZohoUnavailable if idempotent else ZohoUnknownOutcome)(*args)
    return ZohoValidationError(*args)


def _is_organization_problem(reply: _Reply) -> bool:
    # Zoho's codes for a bad organization_id vary (2, 14, 4001, 6041 are reported), so a
    # 400/401 whose message is about the organisation counts too.
    if reply.code in _ORGANIZATION_CODES:
        return True
    return reply.status in (400, 401) and "organization" in reply.message.lower()


def _has_more_pages(envelope: dict, rows: int, per_page: int) -> bool:
    context = envelope.get("page_context")
    if isinstance(context, dict) and "has_more_page" in context:
        return context["has_more_page"] in (True, "true")
    return rows >= per_page


def _never_sent(exc: Exception) -> bool:
    """True when the request cannot have reached Zoho (no connection was made)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def _whole_number(value: Any) -> int | None:
    """A non-negative integer from a header ("1000", " 950 ", "3600.0"); None otherwise."""
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    if number != number or number < 0 or number in (float("inf"),):
        return None
    return int(number)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
