"""ZohoAccounts over real HTTP: a scripted loopback server for quirks, the sandbox for flows."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

import clock
from integrations.zoho_accounts import (
    DATA_CENTRES,
    SCOPES,
    AccountsUnavailable,
    ClientMisconfigured,
    InvalidGrant,
    RefreshThrottled,
    TokenRevoked,
    UntrustedAccountsServer,
    ZohoAccounts,
    ZohoAuthError,
)
from tests.integrations.helpers import self_client_code

SECRET = "s3cret-client-secret"
REDIRECT = "https://bookbridge.example/connections/zoho/callback"


def accounts_for(url: str | None = None, **kwargs) -> ZohoAccounts:
    return ZohoAccounts("client-1", SECRET, REDIRECT, accounts_server_override=url, **kwargs)


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


# --- authorize URL and trust -------------------------------------------------------------


def test_data_centres_cover_the_eight_zoho_regions():
    assert list(DATA_CENTRES) == ["us", "eu", "in", "au", "jp", "ca", "cn", "sa"]
    assert DATA_CENTRES["ca"].accounts_server == "https://accounts.zohocloud.ca"
    assert DATA_CENTRES["au"].api_domain == "https://www.zohoapis.com.au"


@pytest.mark.parametrize("code", list(DATA_CENTRES))
def test_authorize_url_goes_to_the_data_centres_server_with_every_param(code):
    url = accounts_for().authorize_url(code, state="st4te")

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == DATA_CENTRES[code].accounts_server
    assert parts.path == "/oauth/v2/auth"
    assert query_of(url) == {
        "client_id": "client-1",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": ",".join(SCOPES),
        "access_type": "offline",
        "prompt": "consent",
        "state": "st4te",
    }


def test_scopes_are_the_ones_bookbridge_needs():
    assert "ZohoBooks.settings.READ" in SCOPES
    assert "ZohoBooks.accountants.READ" in SCOPES
    assert len(SCOPES) == 16 and all(" " not in scope for scope in SCOPES)


def test_authorize_url_uses_the_override_for_any_data_centre():
    url = accounts_for("http://127.0.0.1:9999").authorize_url("eu", state="x")
    assert url.startswith("http://127.0.0.1:9999/oauth/v2/auth?")


def test_authorize_url_rejects_an_unknown_data_centre():
    with pytest.raises(ValueError):
        accounts_for().authorize_url("uk", state="x")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("https://accounts.zoho.eu", "https://accounts.zoho.eu"),
        ("https://accounts.zoho.eu/", "https://accounts.zoho.eu"),
        (" HTTPS://Accounts.Zoho.COM.AU ", "https://accounts.zoho.com.au"),
    ],
)
def test_trusted_accounts_server_normalises_zoho_servers(value, expected):
    assert accounts_for().trusted_accounts_server(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "https://evil.example",
        "https://accounts.zoho.eu.evil.example",
        "http://accounts.zoho.com",
        "https://accounts.zoho.com/steal",
        "https://user@accounts.zoho.com",
        "",
        None,
    ],
)
def test_untrusted_accounts_server_is_rejected(value):
    with pytest.raises(UntrustedAccountsServer) as caught:
        accounts_for().trusted_accounts_server(value)
    assert caught.value.user_message


def test_with_an_override_only_the_override_is_trusted():
    accounts = accounts_for("http://127.0.0.1:8123/")
    assert accounts.trusted_accounts_server("http://127.0.0.1:8123") == "http://127.0.0.1:8123"
    with pytest.raises(UntrustedAccountsServer):
        accounts.trusted_accounts_server("https://accounts.zoho.com")


def test_exchange_refuses_to_send_the_secret_to_an_untrusted_server(fake_zoho):
    with pytest.raises(UntrustedAccountsServer):
        accounts_for().exchange_code(fake_zoho.url, "grant-code")
    assert fake_zoho.received == []


# --- token endpoint over a scripted server -----------------------------------------------


TOKEN_REPLY = {
    "access_token": "1000.access",
    "refresh_token": "1000.refresh",
    "api_domain": "https://www.zohoapis.eu",
    "token_type": "Bearer",
    "expires_in": 3600,
}


def test_exchange_posts_a_form_and_builds_a_token_set(fake_zoho):
    fake_zoho.reply(200, TOKEN_REPLY)

    tokens = accounts_for(fake_zoho.url).exchange_code(fake_zoho.url, "grant-code")

    sent = fake_zoho.received[0]
    assert (sent.method, sent.path) == ("POST", "/oauth/v2/token")
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.form() == {
        "grant_type": "authorization_code",
        "code": "grant-code",
        "redirect_uri": REDIRECT,
        "client_id": "client-1",
        "client_secret": SECRET,
    }
    assert sent.query == {}  # secrets stay out of URLs (and so out of access logs)
    assert (tokens.access_token, tokens.refresh_token) == ("1000.access", "1000.refresh")
    assert tokens.api_domain == "https://www.zohoapis.eu"
    assert tokens.expires_at.tzinfo is not None
    assert abs(tokens.expires_at - clock.now() - timedelta(hours=1)) < timedelta(minutes=1)
    assert "1000.access" not in repr(tokens) and "1000.refresh" not in repr(tokens)


def test_refresh_keeps_no_refresh_token(fake_zoho):
    fake_zoho.reply(200, {k: v for k, v in TOKEN_REPLY.items() if k != "refresh_token"})

    tokens = accounts_for(fake_zoho.url).refresh(fake_zoho.url, "1000.refresh")

    assert tokens.refresh_token is None
    assert fake_zoho.received[0].form()["grant_type"] == "refresh_token"
    assert fake_zoho.received[0].form()["refresh_token"] == "1000.refresh"


@pytest.mark.parametrize(
    "error, refreshing, expected",
    [
        ("invalid_client", False, ClientMisconfigured),
        ("invalid_client_secret", True, ClientMisconfigured),
        ("invalid_redirect_uri", False, ClientMisconfigured),
        ("invalid_code", False, InvalidGrant),
        ("invalid_code", True, TokenRevoked),
        ("invalid_token", True, TokenRevoked),
        ("something_new", True, ZohoAuthError),
    ],
)
def test_http_200_with_an_error_key_maps_to_the_right_exception(
    fake_zoho, error, refreshing, expected
):
    fake_zoho.reply(200, {"error": error})
    accounts = accounts_for(fake_zoho.url)

    with pytest.raises(expected) as caught:
        if refreshing:
            accounts.refresh(fake_zoho.url, "1000.refresh")
        else:
            accounts.exchange_code(fake_zoho.url, "grant-code")

    assert caught.value.error == error
    assert caught.value.user_message


def test_access_denied_is_a_throttle_not_a_revocation(fake_zoho):
    fake_zoho.reply(200, {
        "error_description": "You have made too many requests continuously. "
                             "Please try again after some time.",
        "error": "Access Denied",
        "status": "failure",
    })
    with pytest.raises(RefreshThrottled):
        accounts_for(fake_zoho.url).refresh(fake_zoho.url, "1000.refresh")


@pytest.mark.parametrize(
    "status, raw",
    [(502, b"<html>Bad gateway</html>"), (200, b"<html>maintenance</html>"), (503, b"{}")],
)
def test_garbage_or_5xx_means_accounts_unavailable(fake_zoho, status, raw):
    fake_zoho.reply(status, raw=raw, content_type="text/html")
    with pytest.raises(AccountsUnavailable):
        accounts_for(fake_zoho.url).refresh(fake_zoho.url, "1000.refresh")


def test_a_hanging_accounts_server_times_out(fake_zoho):
    fake_zoho.reply(200, TOKEN_REPLY, delay=1.0)
    with pytest.raises(AccountsUnavailable):
        accounts_for(fake_zoho.url, timeout=0.2).refresh(fake_zoho.url, "1000.refresh")


def test_connection_refused_means_accounts_unavailable(closed_port_url):
    with pytest.raises(AccountsUnavailable):
        accounts_for(closed_port_url).exchange_code(closed_port_url, "grant-code")


def test_revoke_sends_the_token_and_accepts_success(fake_zoho):
    fake_zoho.reply(200, {"status": "success"})
    accounts_for(fake_zoho.url).revoke(fake_zoho.url, "1000.refresh")
    sent = fake_zoho.received[0]
    assert (sent.method, sent.path, sent.query) == (
        "POST", "/oauth/v2/token/revoke", {"token": ["1000.refresh"]}
    )


def test_revoking_an_unknown_token_counts_as_revoked(fake_zoho):
    fake_zoho.reply(400, {"error": "invalid_token"})
    accounts_for(fake_zoho.url).revoke(fake_zoho.url, "1000.gone")


def test_secrets_never_reach_messages_or_logs(fake_zoho, caplog, closed_port_url):
    caplog.set_level(logging.DEBUG)
    fake_zoho.reply(200, {"error": "invalid_client"})
    fake_zoho.reply(200, TOKEN_REPLY, delay=1.0)
    accounts = accounts_for(fake_zoho.url, timeout=0.2)
    failures = []
    for call in (
        lambda: accounts.exchange_code(fake_zoho.url, "grant-code-xyz"),
        lambda: accounts.refresh(fake_zoho.url, "1000.refresh-xyz"),
        lambda: accounts_for(closed_port_url).revoke(closed_port_url, "1000.revoke-xyz"),
    ):
        with pytest.raises(ZohoAuthError) as caught:
            call()
        failures.append(caught.value)

    text = caplog.text + " ".join(f"{e} {e.user_message} {e!r}" for e in failures)
    for secret in (SECRET, "grant-code-xyz", "1000.refresh-xyz", "1000.revoke-xyz"):
        assert secret not in text
    assert all(e.__cause__ is None and e.__suppress_context__ for e in failures[1:])
    assert SECRET not in repr(accounts)


# --- against the sandbox -----------------------------------------------------------------


def test_sandbox_self_client_code_exchange_gives_lasting_tokens(fresh_sandbox, sandbox_accounts):
    tokens = sandbox_accounts.exchange_code(fresh_sandbox.url, self_client_code(fresh_sandbox))

    assert tokens.access_token and tokens.refresh_token
    assert tokens.api_domain == fresh_sandbox.url
    assert timedelta(minutes=55) < tokens.expires_at - clock.now() <= timedelta(hours=1)


def test_sandbox_code_is_single_use(fresh_sandbox, sandbox_accounts):
    code = self_client_code(fresh_sandbox)
    sandbox_accounts.exchange_code(fresh_sandbox.url, code)
    with pytest.raises(InvalidGrant):
        sandbox_accounts.exchange_code(fresh_sandbox.url, code)


def test_sandbox_refresh_gives_a_new_access_token_and_no_refresh_token(
    fresh_sandbox, sandbox_accounts
):
    first = sandbox_accounts.exchange_code(fresh_sandbox.url, self_client_code(fresh_sandbox))

    renewed = sandbox_accounts.refresh(fresh_sandbox.url, first.refresh_token)

    assert renewed.access_token != first.access_token
    assert renewed.refresh_token is None
    assert renewed.api_domain == fresh_sandbox.url


def test_sandbox_wrong_secret_is_a_misconfigured_client(fresh_sandbox):
    accounts = ZohoAccounts(fresh_sandbox.client_id, "wrong", None,
                            accounts_server_override=fresh_sandbox.url)
    with pytest.raises(ClientMisconfigured) as caught:
        accounts.exchange_code(fresh_sandbox.url, self_client_code(fresh_sandbox))
    assert caught.value.error in {"invalid_client", "invalid_client_secret"}


def test_sandbox_revoke_then_refresh_is_token_revoked(fresh_sandbox, sandbox_accounts):
    tokens = sandbox_accounts.exchange_code(fresh_sandbox.url, self_client_code(fresh_sandbox))

    sandbox_accounts.revoke(fresh_sandbox.url, tokens.refresh_token)
    sandbox_accounts.revoke(fresh_sandbox.url, tokens.refresh_token)  # already gone: fine

    with pytest.raises(TokenRevoked):
        sandbox_accounts.refresh(fresh_sandbox.url, tokens.refresh_token)


def test_sandbox_revoked_from_zohos_side_is_token_revoked(fresh_sandbox, sandbox_accounts):
    tokens = sandbox_accounts.exchange_code(fresh_sandbox.url, self_client_code(fresh_sandbox))
    fresh_sandbox.admin("POST", "/sandbox/revoke-tokens")
    with pytest.raises(TokenRevoked):
        sandbox_accounts.refresh(fresh_sandbox.url, tokens.refresh_token)


def test_sandbox_eleventh_refresh_in_ten_minutes_is_throttled(fresh_sandbox, sandbox_accounts):
    tokens = sandbox_accounts.exchange_code(fresh_sandbox.url, self_client_code(fresh_sandbox))
    for _ in range(10):
        sandbox_accounts.refresh(fresh_sandbox.url, tokens.refresh_token)

    with pytest.raises(RefreshThrottled) as caught:
        sandbox_accounts.refresh(fresh_sandbox.url, tokens.refresh_token)

    assert not isinstance(caught.value, TokenRevoked)
    fresh_sandbox.admin("POST", "/sandbox/clock", advance_seconds=601)
    assert sandbox_accounts.refresh(fresh_sandbox.url, tokens.refresh_token).access_token
