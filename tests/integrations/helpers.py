"""Helpers for the Zoho client tests that talk to the sandbox."""

from __future__ import annotations

import requests

from integrations.zoho_accounts import SCOPES


def self_client_code(sandbox, scope: str | None = None) -> str:
    """A grant code minted without a browser (Zoho's "Self Client")."""
    response = requests.post(sandbox.url + "/oauth/v2/self-client", timeout=10, data={
        "client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
        "scope": scope or ",".join(SCOPES), "access_type": "offline"})
    response.raise_for_status()
    return response.json()["code"]


class AccountsTokens:
    """TokenProvider that really refreshes at the sandbox's accounts server."""

    def __init__(self, accounts, server: str, token_set, access_token: str | None = None):
        self.accounts = accounts
        self.server = server
        self.refresh_token = token_set.refresh_token
        self.current = access_token or token_set.access_token
        self.refreshes = 0

    def access_token(self) -> str:
        return self.current

    def refreshed_access_token(self) -> str:
        self.refreshes += 1
        self.current = self.accounts.refresh(self.server, self.refresh_token).access_token
        return self.current


def sandbox_stats(sandbox, organization_id: str) -> dict[str, int]:
    """Calls the sandbox counted per "METHOD /route" for one organisation."""
    return sandbox.admin("GET", f"/sandbox/stats?organization_id={organization_id}")["calls"]
