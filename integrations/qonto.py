"""Read-only client of the Qonto Business API v2 for one organisation (API-key auth).

Reference: shared/contracts/qonto/NOTES.md. What shapes this module:

- every call is a GET under ``{base_url}/v2/...`` with ``Authorization: {login}:{secret_key}``
  (no ``Bearer``, no Base64 — NOTES §2a);
- transactions are listed per bank account and per status: Qonto was seen returning a
  single status even when several ``status[]`` were sent, so each status is walked on its
  own (NOTES §4 quirk 3). The default status is ``completed`` only;
- pagination follows ``meta.next_page`` and ends when it is missing, null, 0 or not
  greater than the page just read — never on an empty page (NOTES §4 quirks 4-5, meta);
- amounts must stay exact: JSON is parsed with ``Decimal`` floats and the ``*_cents``
  integers are left alone;
- errors are JSON:API ``{"errors": [{"code", "detail", "source"}]}`` but the transaction
  endpoints answer 400 with ``message`` and 404 as an empty ``text/plain`` body, and a
  sandbox without its staging token answers 200 with an HTML login page (NOTES §1, §7);
- attachment URLs are pre-signed S3 links valid 30 minutes, fetched *without* the
  Authorization header; an expired one raises ``QontoAttachmentExpired`` so the caller gets
  a fresh one from ``attachment(id)`` (NOTES §6);
- 429 honours ``Retry-After`` when present, else backs off 1 s x 2^n with jitter, up to 5
  tries (NOTES §8). 401s are never repeated: more than 200 per hour gets the IP throttled.

The secret key never appears in logs, exception messages or ``repr``.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Self
from urllib.parse import quote, urlsplit

import requests
from requests.auth import AuthBase

import clock

log = logging.getLogger(__name__)

PRODUCTION_URL = "https://thirdparty.qonto.com"
SANDBOX_URL = "https://thirdparty-sandbox.staging.qonto.co"
TRANSACTION_STATUSES = ("pending", "declined", "completed")
TRANSACTION_INCLUDES = ("attachments", "labels", "vat_details")
MAX_PER_PAGE = 100

# A Retry-After longer than this is not slept through inside one call: the error is raised
# with ``retry_after`` set so the caller can reschedule the run instead of holding a worker.
_MAX_RETRY_AFTER = 120.0
_EXPIRED_STATUSES = frozenset({400, 403, 404, 410})
_TRANSPORT_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


# --- errors ------------------------------------------------------------------------------


class QontoError(Exception):
    """Qonto answered with an error (or did not answer usefully).

    ``code`` and ``detail`` are Qonto's own (first error of the JSON:API envelope, or the
    plain-text body); ``user_message`` is plain English for the admin.
    """

    user_message = "Qonto refused the request."

    def __init__(self, http_status: int | None, code: str | None, detail: str):
        super().__init__(f"Qonto HTTP {http_status} code {code}: {detail}")
        self.http_status = http_status
        self.code = code
        self.detail = detail


class QontoAuthError(QontoError):
    """HTTP 401: the login / secret key pair was refused."""

    user_message = (
        "Qonto refused the login or secret key. An admin should copy them again from Qonto "
        "(Settings > Integrations and Partnerships > API key) on the Connections page."
    )


class QontoForbidden(QontoError):
    """HTTP 403: the credentials are valid but may not read this."""

    user_message = (
        "Qonto says this API key may not read this data. Check in Qonto that the key "
        "belongs to an owner or admin of the organisation, then try again."
    )


class QontoNotFound(QontoError):
    """HTTP 404 (Qonto's body may be an empty text/plain one): unknown id or route."""

    user_message = (
        "Qonto says this item does not exist (it may have been deleted, or the bank account "
        "was closed). Refresh the list of Qonto accounts and try again."
    )


class QontoInvalidRequest(QontoError):
    """HTTP 400/422: Qonto rejected the parameters; ``detail`` says why."""

    @property
    def user_message(self) -> str:
        return (
            f"Qonto rejected Bookbridge's request: {self.detail}. This is usually a bug in "
            "Bookbridge or a date range Qonto does not accept; please report it."
        )


class QontoRateLimited(QontoError):
    """HTTP 429 still answered after the retries. ``retry_after``: seconds, when known."""

    user_message = (
        "Qonto is limiting how fast Bookbridge may call it; the sync will continue later "
        "by itself."
    )

    def __init__(self, http_status: int | None, code: str | None, detail: str,
                 retry_after: float | None = None):
        super().__init__(http_status, code, detail)
        self.retry_after = retry_after


class QontoUnavailable(QontoError):
    """5xx, timeout, dropped connection or a non-JSON answer, after the retries."""

    user_message = (
        "Qonto is not answering properly right now (it may be down or under maintenance); "
        "the sync will try again later."
    )


class QontoAttachmentExpired(QontoError):
    """The pre-signed attachment URL was refused (expired): fetch a fresh one."""

    user_message = (
        "The download link of a Qonto receipt had expired; Bookbridge asks Qonto for a "
        "new one."
    )


# --- client ------------------------------------------------------------------------------


class _StripAuthorization(AuthBase):
    """Makes sure a request carries no Authorization header (not even from ~/.netrc)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request


class QontoClient:
    """Calls ``{base_url}/v2`` with one organisation's login and secret key.

    Every call is an idempotent GET, so 429, 5xx, timeouts, dropped connections and
    non-JSON answers are retried: up to ``max_tries`` attempts in all, waiting
    ``Retry-After`` when Qonto sends it, else ``retry_base_delay`` x 2^n plus jitter.
    ``staging_token`` is only for Qonto's own sandbox (``X-Qonto-Staging-Token``).
    """

    def __init__(
        self,
        login: str,
        secret_key: str,
        base_url: str = PRODUCTION_URL,
        timeout: float = 30,
        retry_base_delay: float = 1.0,
        session: requests.Session | None = None,
        *,
        max_tries: int = 5,
        staging_token: str | None = None,
    ):
        login, secret_key = (login or "").strip(), (secret_key or "").strip()
        if not login or not secret_key:
            raise ValueError("Qonto needs both the organisation's login and its secret key")
        if any(ch in value for value in (login, secret_key) for ch in "\r\n"):
            raise ValueError("the Qonto login and secret key must be on one line")
        base_url = base_url.rstrip("/")
        if base_url.endswith("/v2"):  # docs often call ".../v2" the base URL
            base_url = base_url[: -len("/v2")]
        self.base_url = base_url
        self.login = login
        self._secret_key = secret_key
        self._staging_token = staging_token
        self.timeout = timeout
        self.retry_base_delay = retry_base_delay
        self.max_tries = max(1, max_tries)
        self._session = session or requests.Session()

    def __repr__(self) -> str:
        return f"QontoClient({self.base_url!r}, login={self.login!r})"

    def close(self) -> None:
        """Close the HTTP session's pooled connections."""
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- API -----------------------------------------------------------------------------

    def organization(self) -> dict:
        """The organisation of the credentials, with ``bank_accounts`` (external ones too)."""
        envelope = self._get("/v2/organization", [("include_external_accounts", "true")])
        return _member(envelope, "organization", dict)

    def iter_transactions(
        self,
        bank_account_id: str,
        *,
        statuses: Iterable[str] = ("completed",),
        updated_at_from: datetime | None = None,
        updated_at_to: datetime | None = None,
        settled_at_from: datetime | None = None,
        settled_at_to: datetime | None = None,
        sort_by: str = "updated_at:asc",
        includes: Iterable[str] = ("attachments",),
        per_page: int = MAX_PER_PAGE,
    ) -> Iterator[list[dict]]:
        """Yield pages of one bank account's transactions, one API call per page.

        Each status is walked on its own, in the order given, all its pages before the
        next status. Empty pages are not yielded (but do not end the walk). Filters are
        sent as ISO 8601 UTC with milliseconds (``2026-01-31T23:59:59.000Z``); datetimes
        must be timezone-aware. Qonto was reported to reject ``settled_at`` windows that
        span two calendar years: chunk history imports by year (NOTES §4 quirk 1).
        """
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
        status_list = _choices("status", statuses, TRANSACTION_STATUSES)
        include_list = _choices("include", includes, TRANSACTION_INCLUDES)
        base = _transaction_filters(bank_account_id, updated_at_from=updated_at_from,
                                    updated_at_to=updated_at_to,
                                    settled_at_from=settled_at_from,
                                    settled_at_to=settled_at_to)
        base.append(("sort_by", sort_by))
        base.extend(("includes[]", include) for include in include_list)
        base.append(("per_page", str(per_page)))
        # Arguments are checked above, at call time; the calls start with the first next().
        return (
            page
            for status in status_list
            for page in self._walk_pages(
                "/v2/transactions", "transactions", [*base, ("status[]", status)]
            )
        )

    def count_transactions(self, bank_account_id: str, *, status: str = "completed",
                           settled_at_from: datetime | None = None,
                           settled_at_to: datetime | None = None) -> int:
        """How many transactions match, from the pagination ``meta.total_count`` of a
        one-row page (one call). 0 when Qonto gives no count."""
        params = _transaction_filters(bank_account_id, settled_at_from=settled_at_from,
                                      settled_at_to=settled_at_to)
        status_name = _choices("status", (status,), TRANSACTION_STATUSES)[0]
        params += [("status[]", status_name), ("per_page", "1"), ("page", "1")]
        meta = self._get("/v2/transactions", params).get("meta")
        count = meta.get("total_count") if isinstance(meta, dict) else None
        return count if isinstance(count, int) and count >= 0 else 0

    def transaction(self, transaction_uuid: str, includes: Iterable[str] = ("attachments",)
                    ) -> dict:
        """One transaction by its UUID (``id``, not ``transaction_id``)."""
        params = [("includes[]", x) for x in _choices("include", includes, TRANSACTION_INCLUDES)]
        envelope = self._get(f"/v2/transactions/{_segment(transaction_uuid)}", params)
        return _member(envelope, "transaction", dict)

    def transaction_attachments(self, transaction_uuid: str) -> list[dict]:
        """The attachments of one transaction (each with a fresh pre-signed ``url``)."""
        envelope = self._get(f"/v2/transactions/{_segment(transaction_uuid)}/attachments")
        return _member(envelope, "attachments", list)

    def attachment(self, attachment_id: str) -> dict:
        """One attachment, with a fresh pre-signed ``url`` valid 30 minutes."""
        envelope = self._get(f"/v2/attachments/{_segment(attachment_id)}")
        return _member(envelope, "attachment", dict)

    def download(self, url: str) -> tuple[bytes, str]:
        """Fetch a pre-signed attachment URL; returns (content, content type).

        Sent without the Qonto Authorization header (S3 refuses a request carrying both a
        query signature and that header). 400/403/404/410 from the file host mean the link
        expired (or was revoked): ``QontoAttachmentExpired``; call ``attachment(id)`` for a
        fresh URL and try again. 429/5xx/transport errors are retried like API calls.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("not an attachment URL")
        where = f"{parts.netloc}{parts.path}"  # the query string is the signature: not logged
        failures = 0
        while True:
            try:
                response = self._send(url, where, headers={}, auth=_StripAuthorization(),
                                       allow_redirects=True)
            except _TRANSPORT_ERRORS as exc:
                failures += 1
                self._transport_failed(exc, f"GET {where}", failures)
                continue
            status = response.status_code
            content_type = _media_type(response.headers.get("Content-Type"))
            if status == 200 and content_type == "text/html":
                # Qonto's sandbox puts files behind a OneLogin page (NOTES §1); receipts are
                # PDFs and images, so a web page is never the file.
                raise QontoUnavailable(
                    status, None, "the file host answered with a web page instead of the file"
                )
            if 200 <= status < 300:
                return response.content, content_type or "application/octet-stream"
            if status in _EXPIRED_STATUSES:
                raise QontoAttachmentExpired(
                    status, None, f"the file host refused the download link (HTTP {status})"
                )
            failures += 1
            retry_after = _retry_after(response) if status == 429 else None
            if ((status == 429 or status >= 500) and failures < self.max_tries
                    and (retry_after is None or retry_after <= _MAX_RETRY_AFTER)):
                self._wait(failures, retry_after)
                continue
            code, detail = _error_detail(response, self._secret_key)
            if status == 429:
                raise QontoRateLimited(status, code, detail, retry_after)
            if status >= 500:
                raise QontoUnavailable(status, code, detail)
            raise QontoError(status, code, detail)

    # -- the request loop ---------------------------------------------------------------

    def _walk_pages(self, path: str, key: str, params: list[tuple[str, str]]
                    ) -> Iterator[list[dict]]:
        page = 1
        while True:
            envelope = self._get(path, [*params, ("page", str(page))])
            rows = _member(envelope, key, list)
            if rows:
                yield rows
            next_page = _next_page(envelope.get("meta"))
            if next_page is None or next_page <= page:
                return
            page = next_page

    def _get(self, path: str, params: list[tuple[str, str]] | None = None) -> dict:
        headers = {
            "Authorization": f"{self.login}:{self._secret_key}",
            "Accept": "application/json",
        }
        if self._staging_token:
            headers["X-Qonto-Staging-Token"] = self._staging_token
        url = self.base_url + path
        failures = 0
        while True:
            try:
                # Redirects are not followed: the API never redirects, and a sandbox without
                # its staging token redirects to a login page (NOTES §1).
                response = self._send(url, path, headers=headers, params=params or [],
                                      allow_redirects=False)
            except _TRANSPORT_ERRORS as exc:
                failures += 1
                self._transport_failed(exc, f"GET {path}", failures)
                continue
            status = response.status_code
            envelope = _decode(response.content) if 200 <= status < 300 else None
            if isinstance(envelope, dict):
                return envelope
            error = self._error_for(response)
            if isinstance(error, (QontoRateLimited, QontoUnavailable)):
                failures += 1
                if failures < self.max_tries:
                    retry_after = error.retry_after if isinstance(error, QontoRateLimited) else None
                    if retry_after is None or retry_after <= _MAX_RETRY_AFTER:
                        self._wait(failures, retry_after)
                        continue
            raise error

    def _send(self, url: str, where: str, **kwargs: Any) -> requests.Response:
        started = time.monotonic()
        status: int | str = "error"
        try:
            response = self._session.get(url, timeout=self.timeout, **kwargs)
            status = response.status_code
            return response
        finally:
            log.debug("qonto GET %s -> %s in %.0f ms",
                      where, status, (time.monotonic() - started) * 1000)

    def _error_for(self, response: requests.Response) -> QontoError:
        status = response.status_code
        code, detail = _error_detail(response, self._secret_key)
        if 200 <= status < 400:
            kind = _media_type(response.headers.get("Content-Type")) or "no content type"
            hint = ""
            if kind == "text/html" or 300 <= status < 400:
                hint = " (a login page? Qonto's sandbox needs its staging token)"
            return QontoUnavailable(status, code, f"not a JSON object ({kind}){hint}")
        if status == 401:
            return QontoAuthError(status, code, detail)
        if status == 403:
            return QontoForbidden(status, code, detail)
        if status == 404:
            return QontoNotFound(status, code, detail or "not found")
        if status in (400, 422):
            return QontoInvalidRequest(status, code, detail)
        if status == 429:
            return QontoRateLimited(status, code, detail, _retry_after(response))
        if status >= 500:
            return QontoUnavailable(status, code, detail)
        return QontoError(status, code, detail)

    def _transport_failed(self, exc: Exception, where: str, failures: int) -> None:
        if failures >= self.max_tries:
            raise QontoUnavailable(
                None, None, f"{type(exc).__name__} during {where} after {failures} tries"
            ) from exc
        self._wait(failures, None)

    def _wait(self, failures: int, retry_after: float | None) -> None:
        if retry_after is not None:
            time.sleep(retry_after)
            return
        base = self.retry_base_delay * 2 ** (failures - 1)
        time.sleep(base + random.uniform(0, base / 2))


# --- helpers -----------------------------------------------------------------------------


def format_datetime(value: datetime) -> str:
    """``2019-01-10T11:47:53.123Z``: UTC, milliseconds, literal Z (NOTES §4)."""
    if not isinstance(value, datetime):
        raise TypeError("Qonto date filters take a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("Qonto date filters need a timezone-aware datetime (use UTC)")
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _transaction_filters(bank_account_id: str, **moments: datetime | None
                         ) -> list[tuple[str, str]]:
    """The account and the time filters given (``updated_at_from=…``), as query pairs."""
    if not bank_account_id:
        raise ValueError("bank_account_id is required")
    pairs = [("bank_account_id", bank_account_id)]
    pairs += [(name, format_datetime(value)) for name, value in moments.items()
              if value is not None]
    return pairs


def _choices(name: str, values: Iterable[str], allowed: tuple[str, ...]) -> list[str]:
    if isinstance(values, str):
        values = (values,)
    chosen = list(dict.fromkeys(values))  # de-duplicated, order kept
    unknown = [value for value in chosen if value not in allowed]
    if unknown:
        raise ValueError(f"unknown Qonto {name} {unknown!r}; expected some of {allowed!r}")
    if name == "status" and not chosen:
        raise ValueError("at least one transaction status is needed")
    return chosen


def _segment(value: str) -> str:
    if not value:
        raise ValueError("an id is required")
    return quote(str(value), safe="")


def _member(envelope: dict, key: str, kind: type) -> Any:
    value = envelope.get(key)
    if not isinstance(value, kind):
        raise QontoUnavailable(200, None, f"the answer has no {key!r} {kind.__name__}")
    return value


def _next_page(meta: Any) -> int | None:
    if not isinstance(meta, dict):
        return None
    value = meta.get("next_page")
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def _decode(content: bytes) -> Any:
    """Qonto's JSON with exact ``Decimal`` amounts; None when the body is not JSON."""
    try:
        return json.loads(content, parse_float=Decimal)
    except ValueError:
        return None


def _media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def _error_detail(response: requests.Response, secret: str) -> tuple[str | None, str]:
    """Qonto's error code and text, read defensively; never contains the secret key."""
    code: str | None = None
    detail = ""
    body = _decode(response.content)
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            texts = []
            for item in errors:
                if isinstance(item, dict):
                    if code is None and item.get("code") is not None:
                        code = str(item["code"])
                    text = item.get("detail") or item.get("message") or item.get("title")
                    if text:
                        texts.append(str(text))
                elif item:
                    texts.append(str(item))
            detail = "; ".join(texts)
        elif isinstance(errors, str):
            detail = errors
        if code is None and body.get("code") is not None:
            code = str(body["code"])
        detail = detail or str(body.get("message") or body.get("error_description")
                               or body.get("error") or "")
    elif body is None and response.content:
        kind = _media_type(response.headers.get("Content-Type"))
        if kind in ("", "text/plain", "application/json"):
            detail = response.content[:300].decode("utf-8", "replace").strip()
    detail = detail or response.reason or f"HTTP {response.status_code}"
    if secret:
        detail = detail.replace(secret, "***")
    return code, detail


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date), if any."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - clock.now()).total_seconds())
