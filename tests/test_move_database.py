"""Moving a SQLite installation to PostgreSQL (issue 12, item 4), on real databases.

The main test builds an installation the way people do (users, Zoho connected with its lists,
Qonto synced, documents uploaded, one published, one flagged as a duplicate of another),
moves it with the CLI into a new PostgreSQL database, starts Bookbridge there and checks
that people sign in and see the same documents and bank lines, that every table holds the
same rows, and that new rows get fresh ids.
"""

import datetime
import io
import re
import sqlite3

import clock
from app import create_app
from models import (
    MODELS,
    Document,
    DocumentStatus,
    Job,
    JobStatus,
    Role,
    ZohoAccount,
    db,
)
from tests import documents as samples
from tests.bank_flow import connect_qonto, sync_now
from tests.conftest import CALLBACK_PATH, AuthActions, csrf_token
from tests.factories import make_user
from tests.postgres_db import new_postgres_fixture, query  # noqa: F401 (the fixture)
from tests.zoho_flow import connect

TABLES = sorted(model._meta.table_name for model in MODELS)
_COUNT = 'SELECT count(*) FROM "{}"'  # our models' table names, not input


def app_settings(sandbox, data_dir, database_url=""):
    """The test app's settings; an empty DATABASE_URL means SQLite in the data directory,
    whatever the environment says."""
    return {
        "TESTING": True, "DATA_DIR": str(data_dir), "DATABASE_URL": database_url,
        "ZOHO_CLIENT_ID": sandbox.client_id, "ZOHO_CLIENT_SECRET": sandbox.client_secret,
        "ZOHO_REDIRECT_URI": "http://localhost" + CALLBACK_PATH,
        "ZOHO_ACCOUNTS_URL": sandbox.url, "QONTO_API_URL": sandbox.url,
        "ZOHO_MAX_QUOTA_WAIT": 0.2, "ZOHO_RETRY_DELAY": 0.05, "QONTO_RETRY_DELAY": 0.05,
        "ZOHO_CALLS_PER_MINUTE": 10_000, "BANK_SETTLE_AFTER": 0.0,
    }


def _upload(client, name, pdf):
    return client.post("/documents/upload", data={
        "csrf_token": csrf_token(client, "/documents/"), "files": [(io.BytesIO(pdf), name)]},
        content_type="multipart/form-data", follow_redirects=True)


def _sqlite_counts(path) -> dict:
    connection = sqlite3.connect(path)
    try:
        return {table: connection.execute(_COUNT.format(table)).fetchone()[0]
                for table in TABLES}
    finally:
        connection.close()


def _rows_shown(html: str) -> list[str]:
    """The table rows a list page shows, without what differs between two requests."""
    body = html[html.index("<main"):html.index("</main>")]
    body = re.sub(r'name="csrf_token"[^>]*>', "", body)
    return re.findall(r"<tr.*?</tr>", body, re.S)


def _build_installation(sandbox, data_dir):
    """An installation with something in every area people use, on SQLite."""
    org = sandbox.org_ids()[0]
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", per_minute=100_000, daily=1_000_000)
    source = create_app(app_settings(sandbox, data_dir))
    admin = make_user(email="admin@example.com", role=Role.ADMIN)
    make_user(email="books@example.com")
    client = source.test_client()
    AuthActions(client).login()
    connect(client, "Atelier Lumière SAS")
    connect_qonto(client, sandbox, history_start=clock.now().date() - datetime.timedelta(days=60))
    sync_now(client)

    _upload(client, "ovh.pdf", samples.text_pdf(supplier_name="ACME SARL"))
    _upload(client, "ovh-again.pdf", samples.text_pdf(
        supplier_name="ACME SARL", item=("Autre ligne", "1", "120,00", "120,00", "20 %")))
    _upload(client, "order.xml", samples.ubl_xml())
    first = Document.get(Document.filename == "ovh.pdf")  # Qonto's receipts came in first
    account = ZohoAccount.select().where(ZohoAccount.account_type == "expense").first()
    client.post(f"/documents/{first.id}", data={
        "account_id": account.zoho_id, "csrf_token": csrf_token(client, "/documents/")})
    published = client.post(f"/documents/{first.id}/publish", data={
        "csrf_token": csrf_token(client, "/documents/"), "confirm_new_supplier": "yes"},
        follow_redirects=True)
    assert "Published as Bill" in published.text
    return source, client, admin


def test_an_installation_moves_to_postgresql_and_runs_there_with_nothing_lost(
        fresh_sandbox, new_postgres, tmp_path):
    source, client, admin = _build_installation(fresh_sandbox, tmp_path / "data")
    assert Document.select().where(Document.duplicate_of.is_null(False)).count() == 1
    published = Document.get(Document.filename == "ovh.pdf")
    assert published.status is DocumentStatus.PUBLISHED
    documents_page = _rows_shown(client.get("/documents/").text)
    lines_page = _rows_shown(client.get("/bank/lines/").text)
    before = _sqlite_counts(tmp_path / "data" / "bookbridge.db")
    assert before["bank_transaction"] > 10 and before["zoho_contact"] > 0
    assert len(documents_page) >= 3 and len(lines_page) > 10

    url = new_postgres()
    result = source.test_cli_runner().invoke(args=["move-database", "--to", url])
    assert result.exit_code == 0, result.output
    for table in TABLES:
        assert re.search(rf"^{table}\s+{before[table]:,}\s+{before[table]:,}$",
                         result.output, re.M), table
    assert "every count verified" in result.output
    assert "Next: set BOOKBRIDGE_DATABASE_URL to this URL" in result.output
    assert _sqlite_counts(tmp_path / "data" / "bookbridge.db") == before  # left untouched

    # Bookbridge started on PostgreSQL, same data directory (the originals and the keys).
    moved = create_app(app_settings(fresh_sandbox, tmp_path / "data", database_url=url))
    assert type(db.obj).__name__ == "PostgresqlDatabase"
    after = {table: query(url, _COUNT.format(table))[0][0] for table in TABLES}
    assert after == before
    browser = moved.test_client()
    AuthActions(browser).login()
    assert _rows_shown(browser.get("/documents/").text) == documents_page
    assert _rows_shown(browser.get("/bank/lines/").text) == lines_page
    original = browser.get(f"/documents/{published.id}/file")
    assert original.status_code == 200 and original.data.startswith(b"%PDF")
    assert "Atelier Lumière SAS" in browser.get("/connections/").text

    # Sequences start past the copied ids: new rows are written, with fresh ids.
    highest = max(document.id for document in Document.select())
    assert "1 document added" in _upload(browser, "new.pdf", samples.text_pdf(
        supplier_name="Nouveau SARL", number="FA-NEW-1")).text
    assert Document.get(Document.filename == "new.pdf").id == highest + 1
    sync_now(browser)  # the bank feed runs on PostgreSQL: a run row, with a fresh id
    assert query(url, "SELECT count(*) FROM sync_run")[0][0] == before["sync_run"] + 1


def test_a_database_that_is_not_empty_is_refused_and_left_as_it_was(new_postgres, tmp_path):
    url = new_postgres()
    query(url, "CREATE TABLE notes (id serial PRIMARY KEY, text text)")
    query(url, "INSERT INTO notes (text) VALUES ('ours')")
    source = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"),
                         "DATABASE_URL": ""})
    make_user(email="admin@example.com")
    result = source.test_cli_runner().invoke(args=["move-database", "--to", url])
    assert result.exit_code == 1
    assert "is not empty (it holds the tables notes)" in result.output
    assert "Nothing was changed." in result.output
    assert query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") \
        == [("notes",)]
    assert query(url, "SELECT text FROM notes") == [("ours",)]


def test_a_running_worker_or_a_wrong_url_stops_the_move_before_anything_is_written(
        new_postgres, tmp_path):
    source = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"),
                         "DATABASE_URL": ""})
    Job.create(kind="sync_bank", status=JobStatus.RUNNING, heartbeat_at=Job.created_at.default())
    url = new_postgres()
    runner = source.test_cli_runner()
    result = runner.invoke(args=["move-database", "--to", url])
    assert result.exit_code == 1
    assert "A sync_bank job is under way (status running): Bookbridge seems to be running. " \
           "Stop the web app and the worker" in result.output
    assert query(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]

    # Rows in a table this version has no model for would be lost: refused, naming it.
    Job.update(status=JobStatus.SUCCEEDED).execute()
    db.execute_sql("CREATE TABLE legacy_notes (id INTEGER PRIMARY KEY, text TEXT)")
    db.execute_sql("INSERT INTO legacy_notes (text) VALUES ('kept')")
    result = runner.invoke(args=["move-database", "--to", url])
    assert result.exit_code == 1
    assert "holds rows in tables this version of Bookbridge does not know (legacy_notes)" \
        in result.output
    assert query(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]

    wrong = url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@") + "_none"
    result = runner.invoke(args=["move-database", "--to", wrong])
    assert result.exit_code == 1
    assert "Could not connect to postgresql://postgres:***@" in result.output
    assert "s3cret" not in result.output
    result = runner.invoke(args=["move-database", "--to", "mysql://root@localhost/books"])
    assert "is not a PostgreSQL URL" in result.output


def test_an_installation_already_on_postgresql_is_told_to_use_backup(new_postgres, tmp_path):
    on_server = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"),
                            "DATABASE_URL": new_postgres()})
    result = on_server.test_cli_runner().invoke(args=["move-database", "--to", new_postgres()])
    assert result.exit_code == 1
    assert "already runs on a database server" in result.output
    assert "use backup and restore" in result.output
