"""Access tokens cached and refreshed under Zoho's limits; revoked tokens need a reconnect."""

import pytest

from integrations.zoho_accounts import RefreshThrottled
from models import ConnectionStatus, ZohoConnection, utcnow
from services import zoho
from tests.conftest import csrf_token
from tests.zoho_flow import connect


def test_access_token_is_reused_until_it_expires(app, connected, sandbox):
    tokens = zoho.StoredTokens(app.config, connected.id)
    first = tokens.access_token()
    assert tokens.access_token() == first
    assert ZohoConnection.current().token_refreshes == []

    sandbox.admin("POST", "/sandbox/clock", advance_seconds=3700)
    ZohoConnection.update(access_token_expires_at=utcnow()).execute()
    renewed = tokens.access_token()
    assert renewed != first
    assert len(ZohoConnection.current().token_refreshes) == 1
    # The renewed token works against Zoho Books.
    assert zoho.books_client(app.config).list_organizations()


def test_never_more_than_ten_refreshes_in_ten_minutes(app, connected):
    stamps = [utcnow().isoformat()] * 10
    ZohoConnection.update(token_refreshes=stamps, access_token_expires_at=utcnow()).execute()
    with pytest.raises(RefreshThrottled):
        zoho.StoredTokens(app.config, connected.id).access_token()
    assert ZohoConnection.current().status is ConnectionStatus.CONNECTED


def test_revoked_at_zoho_turns_needs_reconnect_with_a_banner_everywhere(app, client, auth,
                                                                       connected, sandbox,
                                                                       bookkeeper):
    sandbox.admin("POST", "/sandbox/revoke-tokens")
    client.post("/connections/zoho/refresh", data={"csrf_token": csrf_token(client)})
    connection = ZohoConnection.current()
    assert connection.status is ConnectionStatus.NEEDS_RECONNECT
    activity = client.get("/activity/").text
    banner = "<strong>Zoho Books needs reconnecting.</strong>"
    assert banner in activity and ">Reconnect</a>" in activity
    assert "reconnect" in client.get("/connections/").text.lower()

    auth.logout()
    auth.login("books@example.com")
    assert "Ask an admin to reconnect" in client.get("/activity/").text
    auth.logout()

    auth.login()
    connect(client)
    connection = ZohoConnection.current()
    assert connection.status is ConnectionStatus.CONNECTED
    assert banner not in client.get("/activity/").text
