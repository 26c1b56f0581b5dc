"""The suite's two passes: SQLite, then PostgreSQL (`make test` runs both when a server answers).

These tests check that a pass really runs where it says, and that `make test` skips or
requires the PostgreSQL pass as the self-hoster asks.
"""

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from peewee import PostgresqlDatabase, SqliteDatabase

from models import Document, db
from tests import documents as samples
from tests.conftest import ON_POSTGRES, csrf_token

ROOT = Path(__file__).resolve().parent.parent
# A port nothing listens on: connecting is refused at once.
NO_SERVER = "postgresql://postgres:not-shown@127.0.0.1:9/postgres"


def _upload(client, name: str) -> None:
    response = client.post("/documents/upload", data={
        "csrf_token": csrf_token(client, "/documents/"),
        "files": [(io.BytesIO(samples.text_pdf()), name)]},
        content_type="multipart/form-data")
    assert response.status_code < 400, response.text


def test_an_uploaded_document_is_a_row_of_this_passs_database(app, client, auth, admin):
    auth.login()
    _upload(client, "proof-of-the-pass.pdf")
    document_id = Document.get(Document.filename == "proof-of-the-pass.pdf").id
    database_file = Path(app.config["DATA_DIR"]) / "bookbridge.db"
    if ON_POSTGRES:
        assert isinstance(db.obj, PostgresqlDatabase)
        assert not database_file.exists()  # nothing went to a SQLite file on the side
        # Read by a connection of our own, not the app's: the row is on the server.
        with psycopg2.connect(app.config["DATABASE_URL"]) as connection:
            with connection.cursor() as cursor:
                cursor.execute("SELECT filename FROM document WHERE id = %s", (document_id,))
                assert cursor.fetchone() == ("proof-of-the-pass.pdf",)
    else:
        assert isinstance(db.obj, SqliteDatabase)
        connection = sqlite3.connect(database_file)
        try:
            found = connection.execute("SELECT filename FROM document WHERE id = ?",
                                       (document_id,)).fetchone()
        finally:
            connection.close()
        assert found == ("proof-of-the-pass.pdf",)


def _second_pass(**environment) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in ("BOOKBRIDGE_TEST_POSTGRES", "BOOKBRIDGE_REQUIRE_POSTGRES")}
    env.update(environment)
    return subprocess.run([sys.executable, "scripts/test_on_postgres.py", "--collect-only"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.no_database
def test_make_test_skips_the_postgresql_pass_without_a_server_and_says_so():
    result = _second_pass(BOOKBRIDGE_TEST_POSTGRES=NO_SERVER)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "PostgreSQL run skipped: no server at postgresql://postgres:***@127.0.0.1:9/postgres; "
        "set BOOKBRIDGE_REQUIRE_POSTGRES=1 to require it")


@pytest.mark.no_database
def test_ci_requires_the_postgresql_pass():
    result = _second_pass(BOOKBRIDGE_TEST_POSTGRES=NO_SERVER, BOOKBRIDGE_REQUIRE_POSTGRES="1")
    assert result.returncode == 1
    assert "PostgreSQL run failed: no server at" in result.stderr
    assert "not-shown" not in result.stderr + result.stdout  # the password stays out of logs
