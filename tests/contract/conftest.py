"""Fixtures for the sandbox tests: a private sandbox per module, tokens, organisation ids."""

import pytest
import requests

from tests.sandbox_server import start_sandbox

REDIRECT_URI = "http://127.0.0.1:5000/zoho/callback"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A private sandbox (these tests move its clock and limits), one registered redirect."""
    server = start_sandbox(tmp_path_factory.mktemp("sandbox"), redirect_uris=[REDIRECT_URI])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def org_ids(sandbox):
    return sandbox.org_ids()


@pytest.fixture
def books(sandbox, org_ids):
    """A small Books client bound to the French organisation, with a fresh token (tests
    move the clock, which expires older ones)."""
    token = sandbox.self_client_tokens()["access_token"]
    return BooksClient(sandbox.url, token, org_ids[0])


class BooksClient:
    def __init__(self, url, token, org_id):
        self.base = url + "/books/v3"
        self.token = token
        self.org_id = org_id

    def call(self, method, path, org_id=None, params=None, **kwargs):
        params = dict(params or {})
        params.setdefault("organization_id", org_id or self.org_id)
        headers = {"Authorization": f"Zoho-oauthtoken {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.base + path, params=params, headers=headers,
                                timeout=kwargs.pop("timeout", 30), **kwargs)


@pytest.fixture(scope="session", autouse=True)
def contracts_present():
    """The providers' OpenAPI files live beside the repository (../shared/contracts)."""
    from tests.contract.test_zoho_contract import CONTRACTS

    if not (CONTRACTS / "qonto" / "openapi_v2.yml").exists():
        pytest.fail(f"The contract files are not at {CONTRACTS}: check out shared/ beside the "
                    "repository or set BOOKBRIDGE_CONTRACTS_DIR.", pytrace=False)
