"""Fixtures: a real app on a temporary SQLite file, the sandbox over real HTTP, users."""

import datetime
import os
import re
import shutil

import clock

# Tasks run in-process during tests; set before anything imports the queue.
os.environ["BOOKBRIDGE_HUEY_IMMEDIATE"] = "1"

# The whole suite (the app, the in-process sandbox and the processes the browser and
# reliability tests start, which inherit the environment) runs on a pinned clock, so no
# result depends on the day CI runs. BOOKBRIDGE_TEST_NOW picks another moment
# (tests/test_calendar.py runs the date-sensitive tests at several); "real" unpins it.
PINNED_NOW = "2026-06-17T10:00:00+00:00"  # a Wednesday morning, no DST change near
_wanted_now = os.environ.get("BOOKBRIDGE_TEST_NOW", PINNED_NOW)
if _wanted_now != "real":
    os.environ[clock.OFFSET_VARIABLE] = str(
        clock.offset_to_reach(datetime.datetime.fromisoformat(_wanted_now)))

import pytest  # noqa: E402

from app import create_app  # noqa: E402
from models import Role  # noqa: E402
from tests.factories import DEFAULT_PASSWORD, make_user  # noqa: E402
from tests.sandbox_server import start_sandbox  # noqa: E402

CALLBACK_PATH = "/connections/zoho/callback"


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    """One sandbox server for the session; tests that change its state reset it."""
    server = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    yield server
    server.stop()


@pytest.fixture
def fresh_sandbox(sandbox):
    """The sandbox with its data reseeded and faults cleared."""
    sandbox.admin("POST", "/sandbox/reset")
    return sandbox


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """A database file the real migrations built, once per session: each test's app starts
    from a copy of it instead of migrating again (about 0.2 s a test)."""
    from models import db

    data_dir = tmp_path_factory.mktemp("migrated")
    create_app({"TESTING": True, "DATA_DIR": str(data_dir)})
    db.close()  # the last connection: SQLite folds the WAL back into the file
    return data_dir / "bookbridge.db"


@pytest.fixture
def app(tmp_path, fresh_sandbox, migrated_database):
    (tmp_path / "data").mkdir()
    shutil.copyfile(migrated_database, tmp_path / "data" / "bookbridge.db")
    app = create_app({
        "TESTING": True,
        "DATA_DIR": str(tmp_path / "data"),
        "ZOHO_CLIENT_ID": fresh_sandbox.client_id,
        "ZOHO_CLIENT_SECRET": fresh_sandbox.client_secret,
        "ZOHO_REDIRECT_URI": "http://localhost" + CALLBACK_PATH,
        "ZOHO_ACCOUNTS_URL": fresh_sandbox.url,
        # Zoho's 429s are answered by waiting for the next minute; tests wait 0.2 s.
        "ZOHO_MAX_QUOTA_WAIT": 0.2,
        "ZOHO_RETRY_DELAY": 0.05,
        # The sandbox's own per-minute limit is raised to match (see `zoho_org_unlimited`).
        "ZOHO_CALLS_PER_MINUTE": 10_000,
        "QONTO_RETRY_DELAY": 0.05,
        "QONTO_API_URL": fresh_sandbox.url,
        # Unknown push outcomes are looked up at once (production waits three minutes).
        "BANK_SETTLE_AFTER": 0.0,
    })
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    """Sign in and out through the real login form (with its CSRF token)."""

    def __init__(self, client):
        self.client = client

    def login(self, email="admin@example.com", password=DEFAULT_PASSWORD):
        response = self.client.post("/login", data={
            "email": email, "password": password, "csrf_token": csrf_token(self.client, "/login")})
        assert response.status_code == 303, response.text
        return response

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": csrf_token(self.client)})


@pytest.fixture
def admin(app):
    return make_user(email="admin@example.com", role=Role.ADMIN)


@pytest.fixture
def bookkeeper(app):
    return make_user(email="books@example.com", role=Role.BOOKKEEPER)


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def connected(client, auth, admin):
    """An admin signed in, with Zoho Books connected to the French demo organisation."""
    from models import ZohoConnection
    from tests.zoho_flow import connect

    auth.login()
    connect(client, "Atelier Lumière SAS")
    return ZohoConnection.current()


def csrf_token(client, path="/connections/") -> str:
    """The CSRF token a page carries, as a browser would send it back."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)
