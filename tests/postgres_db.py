"""New, empty PostgreSQL databases for the tests that bring their own: moving to PostgreSQL,
backing it up, and the several-workers mode (tests/scale_mode.py).

A test module imports `new_postgres_fixture` to get the `new_postgres` fixture.

The server is BOOKBRIDGE_TEST_POSTGRES's, or else the local one at 127.0.0.1:5432 (user
postgres). Without an answering server these tests are skipped, saying why, unless
BOOKBRIDGE_REQUIRE_POSTGRES=1 (CI), where they fail instead. They run on the suite's SQLite
pass only: the PostgreSQL pass would repeat them unchanged. The databases are named and
dropped as the PostgreSQL pass's are (tests/postgres.py), so a killed run's are cleaned too.
"""

import os
import secrets

import psycopg2
import pytest

from tests import postgres

ADMIN_URL = postgres.admin_url() or "postgresql://postgres@127.0.0.1:5432/postgres"


def require_server(what: str = "these tests") -> None:
    """Skip (or, with BOOKBRIDGE_REQUIRE_POSTGRES=1, fail) when no server answers."""
    if postgres.server_answers(ADMIN_URL):
        return
    reason = f"no PostgreSQL server answers at {postgres.shown(ADMIN_URL)}, which {what} need"
    if os.environ.get("BOOKBRIDGE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"BOOKBRIDGE_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(f"{reason}; set BOOKBRIDGE_REQUIRE_POSTGRES=1 to make this a failure")


@pytest.fixture(name="new_postgres")
def new_postgres_fixture():
    """A function returning the URL of a new empty database; all are dropped afterwards."""
    if postgres.admin_url():
        pytest.skip("makes its own PostgreSQL databases, so it runs once, on the SQLite pass")
    require_server()
    databases = postgres.Databases(ADMIN_URL)
    made = []

    def make() -> str:
        made.append(databases.new_name(f"own{secrets.token_hex(4)}"))
        return databases.create(made[-1])

    yield make
    from models import db

    if db.obj is not None:
        db.close()
    for name in made:
        databases.drop(name)  # WITH (FORCE): ends what a thread of the test left connected
    databases.drop_mine()


def query(url: str, sql: str, parameters=()) -> list[tuple]:
    """Rows of one statement on the database at `url`, outside the app."""
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()
