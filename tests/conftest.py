"""Fixtures: a real app on a temporary SQLite file (or, with BOOKBRIDGE_TEST_POSTGRES set, a
PostgreSQL database of its own), the sandbox over real HTTP, users."""

import contextlib
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

import jinja2  # noqa: E402
import pytest  # noqa: E402

from app import create_app  # noqa: E402
from models import Role  # noqa: E402
from tests import postgres  # noqa: E402
from tests.factories import DEFAULT_PASSWORD, make_user  # noqa: E402
from tests.sandbox_server import start_sandbox  # noqa: E402

CALLBACK_PATH = "/connections/zoho/callback"
ON_POSTGRES = bool(postgres.admin_url())


def pytest_configure(config):
    if not ON_POSTGRES or hasattr(config, "workerinput"):
        return  # the SQLite pass, or an xdist worker (the controller checked already)
    postgres.new_run()  # made here, before xdist starts the workers, so they inherit it
    if not postgres.server_answers(postgres.admin_url()):
        pytest.exit(f"no PostgreSQL server answers at {postgres.shown(postgres.admin_url())} "
                    f"({postgres.ADMIN_URL_VARIABLE})", returncode=3)
    stale = postgres.Databases(postgres.admin_url())
    stale.drop_stale()
    config.stash[_RUN_DATABASES] = stale


def pytest_unconfigure(config):
    databases = config.stash.get(_RUN_DATABASES, None)
    if databases is not None:  # the controller: whatever a crashed worker left
        databases.drop_run()
        databases.drop_mine()


def pytest_report_header(config):
    if ON_POSTGRES:
        shown = postgres.shown(postgres.admin_url())
        return f"database: PostgreSQL ({shown}), run {postgres.run_id()}"
    return "database: SQLite"


# Whole folders of tests that touch no database, app or worker: extraction and OCR of files,
# the HTTP clients of integrations/ (no models, by design), the sandbox and its contracts,
# the corpus score. They run once, on the SQLite pass: run again on PostgreSQL they would
# test nothing new and add minutes (OCR, the contract walks) to a pass meant to stay short.
NO_DATABASE_PATHS = ("tests/extraction/", "tests/integrations/", "tests/sandbox/",
                     "tests/contract/", "tests/test_corpus.py")


def pytest_collection_modifyitems(config, items):
    """On the PostgreSQL pass, skip what is about SQLite itself, and leave out the tests
    that never touch a database or check what the engine does not change (they ran on the
    SQLite pass)."""
    root = str(config.rootpath) + "/"
    for item in items:
        if str(item.path).removeprefix(root).startswith(NO_DATABASE_PATHS):
            item.add_marker(pytest.mark.no_database)
    if not ON_POSTGRES:
        return
    left_out = [item for item in items if item.get_closest_marker("no_database")
                or item.get_closest_marker("sqlite_pass_only")]
    if left_out:  # deselected, as `-m "not no_database"` would: they are not for this pass
        config.hook.pytest_deselected(items=left_out)
        leaving = set(left_out)
        items[:] = [item for item in items if item not in leaving]
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


_RUN_DATABASES = pytest.StashKey()


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

    if ON_POSTGRES:
        return None  # the template database of `postgres_databases` plays this part
    data_dir = tmp_path_factory.mktemp("migrated")
    create_app({"TESTING": True, "DATA_DIR": str(data_dir)})
    db.close()  # the last connection: SQLite folds the WAL back into the file
    return data_dir / "bookbridge.db"


@pytest.fixture(scope="session")
def postgres_databases(tmp_path_factory):
    """This worker's PostgreSQL databases (None on the SQLite pass), with a template the real
    migrations built once; every one of them is dropped when the worker ends."""
    if not ON_POSTGRES:
        yield None
        return
    from models import db

    databases = postgres.Databases(postgres.admin_url())
    databases.template = databases.new_name("template")
    url = databases.create(databases.template)
    create_app({"TESTING": True, "DATA_DIR": str(tmp_path_factory.mktemp("migrated")),
                "DATABASE_URL": url})
    db.close()  # a template must have no connection while it is copied
    yield databases
    databases.drop_mine()


@pytest.fixture(autouse=True)
def _no_database_by_accident(monkeypatch):
    """On the PostgreSQL pass, an app a test builds without asking for a database points to
    one that does not exist, so it fails loudly rather than running on SQLite unnoticed."""
    if ON_POSTGRES:
        monkeypatch.setenv("BOOKBRIDGE_DATABASE_URL", postgres.Databases(
            postgres.admin_url()).url(f"{postgres.PREFIX}{postgres.run_id()}_none"))


@pytest.fixture
def database_url(postgres_databases, monkeypatch):
    """On the PostgreSQL pass, a migrated database of this test's own, also in the
    environment for the apps, workers and scripts the test starts; None on SQLite (where
    the data directory holds the database)."""
    if postgres_databases is None:
        yield None
        return
    name = postgres_databases.new_name()
    url = postgres_databases.create(name, template=postgres_databases.template)
    monkeypatch.setenv("BOOKBRIDGE_DATABASE_URL", url)
    yield url
    _close_connections()
    postgres_databases.drop(name)


def _close_connections():
    """Close this thread's connection before the test's database is dropped."""
    from models import db

    if db.obj is not None and not db.obj.is_closed():
        with contextlib.suppress(Exception):  # a broken one cannot close; FORCE ends it
            db.close()


def new_database(postgres_databases) -> str | None:
    """A migrated PostgreSQL database for a fixture broader than a test (dropped when the
    worker ends); None on the SQLite pass."""
    if postgres_databases is None:
        return None
    return postgres_databases.create(postgres_databases.new_name(),
                                     template=postgres_databases.template)


def database_config(data_dir, url, migrated_database) -> dict:
    """The app config keys that put its database in `data_dir` (SQLite: a copy of the
    migrated file) or at `url` (PostgreSQL)."""
    if url:
        return {"DATA_DIR": str(data_dir), "DATABASE_URL": url}
    shutil.copyfile(migrated_database, data_dir / "bookbridge.db")
    return {"DATA_DIR": str(data_dir)}


class _CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once per test process rather than once per test's app (which
    cost about 0.15 s a test): Jinja's own bytecode cache, checked against each template's
    source."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()


@pytest.fixture
def app(request, tmp_path, fresh_sandbox, migrated_database, database_url):
    """The app on this test's own database. Passwords are hashed with argon2's cheapest
    parameters unless the test is marked `standard_password_hashing`."""
    (tmp_path / "data").mkdir()
    app = create_app({
        "TESTING": True,
        "FAST_PASSWORD_HASHING": request.node.get_closest_marker(
            "standard_password_hashing") is None,
        **database_config(tmp_path / "data", database_url, migrated_database),
        **sandbox_config(fresh_sandbox),
    })
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    yield app


def sandbox_config(sandbox) -> dict:
    """The settings that point an app at the sandbox, with the tests' short waits."""
    return {
        "ZOHO_CLIENT_ID": sandbox.client_id,
        "ZOHO_CLIENT_SECRET": sandbox.client_secret,
        "ZOHO_REDIRECT_URI": "http://localhost" + CALLBACK_PATH,
        "ZOHO_ACCOUNTS_URL": sandbox.url,
        # Zoho's 429s are answered by waiting for the next minute; tests wait 0.2 s.
        "ZOHO_MAX_QUOTA_WAIT": 0.2,
        "ZOHO_RETRY_DELAY": 0.05,
        # The sandbox's own per-minute limit is raised to match (see `zoho_org_unlimited`).
        "ZOHO_CALLS_PER_MINUTE": 10_000,
        "QONTO_RETRY_DELAY": 0.05,
        "QONTO_API_URL": sandbox.url,
        # Unknown push outcomes are looked up at once (production waits three minutes).
        "BANK_SETTLE_AFTER": 0.0,
    }


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
