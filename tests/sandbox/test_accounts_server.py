"""The accounts server stand-in: consent page, code exchange and token quirks (NOTES §1)."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.sandbox.conftest import REDIRECT_URI

SCOPE = "ZohoBooks.contacts.READ,ZohoBooks.settings.READ"


def _auth_params(sandbox, **overrides):
    params = {"client_id": sandbox.client_id, "response_type": "code",
              "redirect_uri": REDIRECT_URI, "scope": SCOPE, "access_type": "offline",
              "prompt": "consent", "state": "xyz 1"}
    params.update(overrides)
    return params


def _consent(sandbox, decision="accept", **overrides):
    form = dict(_auth_params(sandbox, **overrides), decision=decision)
    response = requests.post(sandbox.url + "/oauth/v2/auth", data=form, allow_redirects=False,
                             timeout=10)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    return location, {key: values[0] for key, values in parse_qs(location.query).items()}


def _token(sandbox, **params):
    base = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
    return requests.post(sandbox.url + "/oauth/v2/token", data={**base, **params}, timeout=10)


def _exchange(sandbox, code, redirect_uri=REDIRECT_URI):
    return _token(sandbox, grant_type="authorization_code", code=code, redirect_uri=redirect_uri)


def test_consent_page_lists_scopes_and_buttons(sandbox):
    page = requests.get(sandbox.url + "/oauth/v2/auth", params=_auth_params(sandbox), timeout=10)
    assert page.status_code == 200
    assert "Bookbridge wants to access Zoho Books of demo@bookbridge.test" in page.text
    assert 'id="accept"' in page.text and 'id="reject"' in page.text
    assert "ZohoBooks.contacts.READ" in page.text and "ZohoBooks.settings.READ" in page.text


@pytest.mark.parametrize("override", [{"client_id": "nope"},
                                      {"redirect_uri": "https://evil.example/cb"}])
def test_bad_client_or_redirect_is_an_error_page_without_redirect(sandbox, override):
    page = requests.get(sandbox.url + "/oauth/v2/auth", params=_auth_params(sandbox, **override),
                        allow_redirects=False, timeout=10)
    assert page.status_code == 400
    assert "Location" not in page.headers


def test_accept_redirects_with_code_location_and_accounts_server(sandbox):
    location, query = _consent(sandbox)
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    assert query["state"] == "xyz 1" and query["location"] == "eu"
    assert query["accounts-server"] == sandbox.url and query["code"]


def test_reject_redirects_with_access_denied(sandbox):
    _, query = _consent(sandbox, decision="reject")
    assert query == {"error": "access_denied", "state": "xyz 1"}


def test_code_exchange_success_then_code_is_single_use(sandbox):
    _, query = _consent(sandbox)
    first = _exchange(sandbox, query["code"])
    body = first.json()
    assert first.status_code == 200
    assert body["api_domain"] == sandbox.url and body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600 and body["scope"] == SCOPE and body["refresh_token"]
    second = _exchange(sandbox, query["code"])
    assert (second.status_code, second.json()) == (200, {"error": "invalid_code"})


def test_token_errors_are_http_200_with_error_key(sandbox):
    _, query = _consent(sandbox)
    assert _exchange(sandbox, query["code"], "http://127.0.0.1:5000/other").json() == {
        "error": "invalid_redirect_uri"}
    wrong_client = _token(sandbox, grant_type="authorization_code", code="x", client_id="who")
    assert (wrong_client.status_code, wrong_client.json()) == (200, {"error": "invalid_client"})
    wrong_secret = _token(sandbox, grant_type="authorization_code", code="x", client_secret="no")
    assert wrong_secret.json() == {"error": "invalid_client_secret"}


def test_params_in_query_string_are_accepted(sandbox):
    _, query = _consent(sandbox)
    response = requests.post(sandbox.url + "/oauth/v2/token", timeout=10, params={
        "grant_type": "authorization_code", "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret, "redirect_uri": REDIRECT_URI,
        "code": query["code"]})
    assert "access_token" in response.json()


def test_expired_code(sandbox):
    _, query = _consent(sandbox)
    sandbox.admin("POST", "/sandbox/clock", advance_seconds=121)
    assert _exchange(sandbox, query["code"]).json() == {"error": "invalid_code"}


def test_online_access_gets_no_refresh_token(sandbox):
    _, query = _consent(sandbox, access_type="online")
    assert "refresh_token" not in _exchange(sandbox, query["code"]).json()


def test_refresh_returns_no_refresh_token_and_throttles(sandbox):
    refresh_token = sandbox.self_client_tokens()["refresh_token"]
    for _ in range(10):
        body = _token(sandbox, grant_type="refresh_token", refresh_token=refresh_token).json()
        assert "access_token" in body and "refresh_token" not in body
    throttled = _token(sandbox, grant_type="refresh_token", refresh_token=refresh_token)
    assert throttled.status_code == 400
    assert throttled.json()["error"] == "Access Denied"
    assert throttled.json()["status"] == "failure"
    sandbox.admin("POST", "/sandbox/clock", advance_seconds=601)
    assert "access_token" in _token(sandbox, grant_type="refresh_token",
                                    refresh_token=refresh_token).json()


def _books_status(sandbox, access_token):
    return requests.get(sandbox.url + "/books/v3/organizations", timeout=10,
                        headers={"Authorization": f"Zoho-oauthtoken {access_token}"}).status_code


def test_at_most_ten_live_access_tokens_per_refresh_token(sandbox):
    tokens = sandbox.self_client_tokens()
    minted = [tokens["access_token"]]
    for _ in range(10):
        minted.append(_token(sandbox, grant_type="refresh_token",
                             refresh_token=tokens["refresh_token"]).json()["access_token"])
    assert _books_status(sandbox, minted[0]) == 401  # the 11th killed the oldest
    assert _books_status(sandbox, minted[1]) == 200


def test_twenty_first_refresh_token_silently_kills_the_oldest(sandbox):
    sandbox.admin("POST", "/sandbox/revoke-tokens")
    refresh_tokens = [sandbox.self_client_tokens()["refresh_token"] for _ in range(21)]
    oldest = _token(sandbox, grant_type="refresh_token", refresh_token=refresh_tokens[0])
    assert oldest.json() == {"error": "invalid_code"}
    newest = _token(sandbox, grant_type="refresh_token", refresh_token=refresh_tokens[-1])
    assert "access_token" in newest.json()


def test_access_token_expires_after_an_hour(sandbox):
    access_token = sandbox.self_client_tokens()["access_token"]
    assert _books_status(sandbox, access_token) == 200
    sandbox.admin("POST", "/sandbox/clock", advance_seconds=3601)
    assert _books_status(sandbox, access_token) == 401


def test_revoke_refresh_token_revokes_its_access_tokens(sandbox):
    tokens = sandbox.self_client_tokens()
    revoke = requests.post(sandbox.url + "/oauth/v2/token/revoke", timeout=10,
                           params={"token": tokens["refresh_token"]})
    assert (revoke.status_code, revoke.json()) == (200, {"status": "success"})
    assert _books_status(sandbox, tokens["access_token"]) == 401
    refreshed = _token(sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.json() == {"error": "invalid_code"}
    unknown = requests.post(sandbox.url + "/oauth/v2/token/revoke", timeout=10,
                            params={"token": "1000.nope"})
    assert unknown.status_code == 400 and unknown.json()["status"] == "failure"


def test_admin_revoke_simulates_user_disconnect(sandbox):
    tokens = sandbox.self_client_tokens()
    sandbox.admin("POST", "/sandbox/revoke-tokens")
    assert _books_status(sandbox, tokens["access_token"]) == 401
