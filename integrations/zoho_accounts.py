"""Client of Zoho's OAuth 2.0 accounts server: authorize URL, code exchange, refresh, revoke.

Reference: shared/contracts/zoho-books/NOTES.md §1. The quirks that shape this module:

- every data centre has its own accounts server, and the callback names the user's one in
  its ``accounts-server`` parameter, so we check that value against a fixed list before
  sending our client secret to it;
- the token endpoint answers most errors with HTTP 200 and an ``error`` key;
- a refresh never returns a new refresh token;
- revoking an unknown or already revoked token answers HTTP 400.

The authorize URL is built with Authlib. The token endpoint is called with plain
``requests`` because Authlib's ``fetch_token`` folds every failure into one generic
``OAuthError`` and hides the HTTP status, and the mapping below needs both.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from authlib.integrations.requests_client import OAuth2Session

import clock
from services.i18n import stored_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataCentre:
    """One Zoho data centre: where its users log in and where its API lives."""

    code: str
    label: str
    accounts_server: str
    api_domain: str


DATA_CENTRES: OrderedDict[str, DataCentre] = OrderedDict(
    (dc.code, dc)
    for dc in (
        DataCentre("us", "United States", "https://accounts.zoho.com", "https://www.zohoapis.com"),
        DataCentre("eu", "Europe", "https://accounts.zoho.eu", "https://www.zohoapis.eu"),
        DataCentre("in", "India", "https://accounts.zoho.in", "https://www.zohoapis.in"),
        DataCentre(
            "au", "Australia", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au"
        ),
        DataCentre("jp", "Japan", "https://accounts.zoho.jp", "https://www.zohoapis.jp"),
        DataCentre("ca", "Canada", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
        DataCentre("cn", "China", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
        DataCentre("sa", "Saudi Arabia", "https://accounts.zoho.sa", "https://www.zohoapis.sa"),
    )
)

SCOPES: tuple[str, ...] = (
    "ZohoBooks.settings.READ",
    "ZohoBooks.accountants.READ",
    "ZohoBooks.contacts.READ",
    "ZohoBooks.contacts.CREATE",
    "ZohoBooks.banking.READ",
    "ZohoBooks.banking.CREATE",
    "ZohoBooks.bills.READ",
    "ZohoBooks.bills.CREATE",
    "ZohoBooks.expenses.READ",
    "ZohoBooks.expenses.CREATE",
    "ZohoBooks.invoices.READ",
    "ZohoBooks.invoices.CREATE",
    # Vendor credits sit under the "debitnotes" scope in Zoho's OAS (vendor-credits.yml).
    "ZohoBooks.debitnotes.READ",
    "ZohoBooks.debitnotes.CREATE",
    "ZohoBooks.creditnotes.READ",
    "ZohoBooks.creditnotes.CREATE",
)

# Zoho documents an expiry of 3600 s; used only if a response leaves it out.
_DEFAULT_EXPIRES_IN = 3600


# --- errors ------------------------------------------------------------------------------


class ZohoAuthError(Exception):
    """A failure talking to Zoho's accounts server.

    ``error`` is Zoho's error string (never a secret); ``user_message`` says what happened
    and what to do to the admin: a stored message (services.i18n), read in their language.
    """

    user_message = stored_message(
        "Zoho's accounts server refused the request. Try again; if it keeps failing, "
        "reconnect Zoho Books."
    )

    def __init__(self, detail: str, error: str | None = None):
        super().__init__(detail)
        self.error = error


class UntrustedAccountsServer(ZohoAuthError):
    """The callback named an accounts server that is not one of Zoho's."""

    user_message = stored_message(
        "The sign-in reply named an unknown Zoho accounts server, so Bookbridge stopped. "
        "Start the connection again from the Connections page."
    )


class TokenRevoked(ZohoAuthError):
    """The refresh token was revoked or has expired: only a new consent helps."""

    user_message = stored_message(
        "Zoho no longer accepts Bookbridge's access (it was revoked or replaced). "
        "An admin must reconnect Zoho Books on the Connections page."
    )


class InvalidGrant(ZohoAuthError):
    """The authorization code was wrong, expired (about 2 minutes) or already used."""

    user_message = stored_message(
        "The Zoho sign-in code was expired or already used. Start the connection again; "
        "finish the Zoho consent screen within two minutes."
    )


class ClientMisconfigured(ZohoAuthError):
    """Zoho rejected our client id, client secret or redirect URI."""

    user_message = stored_message(
        "Zoho rejected Bookbridge's client id, client secret or redirect URI. Check the "
        "Zoho client settings in the API console and in Bookbridge's configuration."
    )


class RefreshThrottled(ZohoAuthError):
    """Too many access-token requests for this refresh token (10 per 10 minutes)."""

    user_message = stored_message(
        "Zoho is limiting how often Bookbridge may renew its access. Nothing is broken: "
        "wait a few minutes and try again."
    )


class AccountsUnavailable(ZohoAuthError):
    """The accounts server timed out, dropped the connection or answered garbage."""

    user_message = stored_message(
        "Zoho's accounts server did not answer properly. Try again in a few minutes."
    )


_CLIENT_ERRORS = frozenset({"invalid_client", "invalid_client_secret", "invalid_redirect_uri"})
_REVOKED_ERRORS = frozenset({"invalid_code", "invalid_token", "invalid_grant"})


# --- tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenSet:
    """What the token endpoint gave us. Tokens are left out of ``repr`` so logs stay clean."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    api_domain: str
    expires_at: datetime
    scope: str | None = None


# --- client ------------------------------------------------------------------------------


class ZohoAccounts:
    """Talks to Zoho's accounts servers for one OAuth client.

    ``accounts_server_override`` replaces every data centre's accounts server (a sandbox
    or a test server); it is then the only server trusted. ``redirect_uri`` may be None
    only for grant codes minted without a browser (Zoho's "self client").
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None,
        accounts_server_override: str | None = None,
        timeout: float = 15,
    ):
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.accounts_override = _normalise(accounts_server_override)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"ZohoAccounts(client_id={self.client_id!r}, override={self.accounts_override!r})"

    # -- authorize ----------------------------------------------------------------------

    def accounts_server_for(self, data_centre: str) -> str:
        """The accounts server users of ``data_centre`` log in at (the override if set)."""
        if data_centre not in DATA_CENTRES:
            raise ValueError(f"unknown Zoho data centre {data_centre!r}")
        return self.accounts_override or DATA_CENTRES[data_centre].accounts_server

    def authorize_url(self, data_centre: str, state: str) -> str:
        """The consent URL to send the admin's browser to."""
        if not self.redirect_uri:
            raise ValueError("a redirect_uri is needed to build an authorize URL")
        session = OAuth2Session(
            self.client_id,
            redirect_uri=self.redirect_uri,
            scope=",".join(SCOPES),  # Zoho wants commas, not OAuth's spaces.
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 (a method name)
        )
        url, _ = session.create_authorization_url(
            self.accounts_server_for(data_centre) + "/oauth/v2/auth",
            state=state,
            # offline + consent: the only way to get a (new) refresh token every time.
            access_type="offline",
            prompt="consent",
        )
        return url

    def trusted_accounts_server(self, value: str | None) -> str:
        """The canonical accounts server for a callback's ``accounts-server`` value.

        Raises ``UntrustedAccountsServer`` unless it is one of Zoho's (or exactly the
        override): a tampered callback must never make us send our secret elsewhere.
        """
        wanted = _normalise(value)
        if self.accounts_override:
            trusted = {self.accounts_override}
        else:
            trusted = {dc.accounts_server for dc in DATA_CENTRES.values()}
        if wanted not in trusted:
            raise UntrustedAccountsServer(stored_message("untrusted accounts server %(server)s",
                                                         server=repr(value)))
        return wanted

    # -- token endpoint -----------------------------------------------------------------

    def exchange_code(self, accounts_server: str, code: str) -> TokenSet:
        """Trade a grant code for tokens at the user's own accounts server."""
        form = {"grant_type": "authorization_code", "code": code}
        if self.redirect_uri:
            form["redirect_uri"] = self.redirect_uri
        server = self.trusted_accounts_server(accounts_server)
        payload = self._token_request(server, form, refreshing=False)
        return self._token_set(server, payload, keep_refresh_token=True)

    def refresh(self, accounts_server: str, refresh_token: str) -> TokenSet:
        """A new access token. Zoho sends no new refresh token, so keep the old one."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        server = self.trusted_accounts_server(accounts_server)
        payload = self._token_request(server, form, refreshing=True)
        return self._token_set(server, payload, keep_refresh_token=False)

    def revoke(self, accounts_server: str, token: str) -> None:
        """Revoke a refresh token (and every access token minted from it).

        A token Zoho no longer knows (HTTP 400) counts as already revoked.
        """
        server = self.trusted_accounts_server(accounts_server)
        response = self._post(server, "/oauth/v2/token/revoke", params={"token": token})
        if response.status_code == 400:
            return  # Zoho's answer for a token it no longer knows: already revoked
        if response.status_code >= 500:
            raise AccountsUnavailable(stored_message("revoke answered HTTP %(status)s",
                                                     status=response.status_code))
        payload = _json_or_none(response)
        if not isinstance(payload, dict):
            raise AccountsUnavailable(stored_message("revoke answered HTTP %(status)s, not JSON",
                                                     status=response.status_code))
        error = payload.get("error")
        if error in _REVOKED_ERRORS:
            return  # the same "already gone" answer, sent with HTTP 200
        if error or payload.get("status") == "failure":
            _raise_for_error(payload, refreshing=True)

    # -- internals ----------------------------------------------------------------------

    def _token_request(self, server: str, form: dict, refreshing: bool) -> dict:
        """POST to the token endpoint of an already trusted server; the payload or raise."""
        form = {**form, "client_id": self.client_id, "client_secret": self._client_secret}
        response = self._post(server, "/oauth/v2/token", data=form)
        payload = _json_or_none(response)
        if response.status_code >= 500 or not isinstance(payload, dict):
            raise AccountsUnavailable(stored_message(
                "token endpoint answered HTTP %(status)s without usable JSON",
                status=response.status_code))
        # Zoho answers errors with HTTP 200 too: the body decides, not the status.
        if payload.get("error") or response.status_code == 429:
            _raise_for_error(payload, refreshing, response.status_code)
        if response.status_code >= 400 or not payload.get("access_token"):
            raise ZohoAuthError(stored_message("token endpoint answered HTTP %(status)s",
                                               status=response.status_code))
        return payload

    def _post(self, server: str, path: str, **kwargs) -> requests.Response:
        started = time.monotonic()
        try:
            response = requests.post(server + path, timeout=self.timeout, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as exc:
            # "from None": requests' messages repeat the URL, which may carry a token.
            raise AccountsUnavailable(stored_message(
                "%(error)s calling %(url)s", error=type(exc).__name__, url=server + path
            )) from None
        log.debug(
            "zoho accounts POST %s -> %s in %.0f ms",
            path, response.status_code, (time.monotonic() - started) * 1000,
        )
        return response

    def _token_set(self, server: str, payload: dict, keep_refresh_token: bool) -> TokenSet:
        expires_in = _expires_in_seconds(payload)
        return TokenSet(
            access_token=payload["access_token"],
            refresh_token=payload.get("refresh_token") if keep_refresh_token else None,
            api_domain=_normalise(payload.get("api_domain")) or self._default_api_domain(server),
            expires_at=clock.now() + timedelta(seconds=expires_in),
            scope=payload.get("scope"),
        )

    def _default_api_domain(self, server: str) -> str:
        """Zoho always sends ``api_domain``; this guess only covers a response without it."""
        for dc in DATA_CENTRES.values():
            if dc.accounts_server == server:
                return dc.api_domain
        return server  # the override: sandboxes serve both roles from one URL


def _raise_for_error(payload: dict, refreshing: bool, status: int = 200) -> None:
    """Turn a token-endpoint error body into the matching ``ZohoAuthError``."""
    error = str(payload.get("error") or "")
    description = str(payload.get("error_description") or "")
    detail = f"Zoho accounts error {error or status!s}"
    if _is_throttle(error, description, status):
        raise RefreshThrottled(detail, error)
    if error in _CLIENT_ERRORS:
        raise ClientMisconfigured(detail, error)
    if error in _REVOKED_ERRORS:
        raise (TokenRevoked if refreshing else InvalidGrant)(detail, error)
    raise ZohoAuthError(detail, error or None)


def _is_throttle(error: str, description: str, status: int) -> bool:
    # Zoho's throttle answer is {"error": "Access Denied", "error_description": "You have
    # made too many requests continuously..."}: a pause, never a revocation.
    return (
        status == 429
        or error.lower() == "access denied"
        or "too many requests" in description.lower()
    )


def _expires_in_seconds(payload: dict) -> int:
    # Older accounts servers sent expires_in in milliseconds next to expires_in_sec.
    for key in ("expires_in_sec", "expires_in"):
        try:
            seconds = int(payload[key])
        except (KeyError, TypeError, ValueError):
            continue
        return seconds // 1000 if seconds > 86_400 else seconds
    return _DEFAULT_EXPIRES_IN


def _json_or_none(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


def _normalise(url: str | None) -> str | None:
    """Lower-case, trimmed, no trailing slash: the form servers are compared in."""
    if not url:
        return None
    return url.strip().rstrip("/").lower() or None
