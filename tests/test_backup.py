"""Backup and restore (issue 12, item 5) over real SQLite files, a real PostgreSQL server
and the sandbox.

The main tests take a backup while a history import writes and people upload documents,
restore it into a new data directory (and, on PostgreSQL, a new database) with the CLI, and
check that nothing the snapshot saw is lost: each table holds between what it held before
and after the import, every original is there with its hash, and the stored Qonto key and
Zoho token decrypt with the restored keys. The PostgreSQL tests make their own databases
(tests/postgres_db.py) and run on the SQLite pass of the suite.
"""

import datetime
import hashlib
import io
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from peewee import PostgresqlDatabase, SqliteDatabase
from playhouse.migrations import Runner

import clock
from app import create_app
from models import MODELS, QontoConnection, Role, ZohoConnection, db
from models.database import SQLITE_PRAGMAS
from services import backup
from services.migrations import MIGRATIONS_DIR
from services.secrets_box import SecretBox
from tests import documents
from tests.bank_flow import connect_qonto, qonto_info
from tests.conftest import AuthActions, csrf_token
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.postgres_db import new_postgres_fixture, query  # noqa: F401 (the fixture)
from tests.test_move_database import app_settings
from tests.test_writes_wait import Worker  # a signed-in person posting forms in a thread
from tests.zoho_flow import connect

TABLES = [model._meta.table_name for model in MODELS] + ["schema_migration"]
SQLITE_FILES = pytest.mark.sqlite_only(
    "SQLite's snapshot and files; the PostgreSQL backup has its own tests at the end")
MIGRATIONS = sorted(path.stem for path in MIGRATIONS_DIR.glob("[0-9]*.py"))


def _counts(database: Path) -> dict:
    connection = sqlite3.connect(database, timeout=20)
    query = 'SELECT count(*) FROM "{}"'  # our models' table names, not input
    try:
        return {table: connection.execute(query.format(table)).fetchone()[0]
                for table in TABLES}
    finally:
        connection.close()


def _upload(client, count, prefix):
    for index in range(count):
        pdf = documents.text_pdf(number=f"{prefix}-{index:04d}", item=(
            f"Serveur dédié {prefix} {index}", "1", "100,00", "100,00", "20 %"))
        yield "/documents/upload", {"files": (io.BytesIO(pdf), f"{prefix}-{index}.pdf")}


def _new_app(folder: Path):
    """An app on a new data directory (SQLite), as `flask --app app` starts one there."""
    return create_app({"TESTING": True, "DATA_DIR": str(folder), "DATABASE_URL": ""})


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@SQLITE_FILES
def test_a_backup_taken_during_an_import_restores_with_nothing_lost(app, client, connected,
                                                                  admin, sandbox, tmp_path):
    org = sandbox.org_ids()[0]
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", per_minute=100_000, daily=1_000_000)
    connect_qonto(client, sandbox)
    for path, data in _upload(client, 2, "BEFORE"):
        assert client.post(path, data={**data, "csrf_token": csrf_token(client)}).status_code < 400
    live = Path(app.config["DATABASE"])
    before = _counts(live)
    live_refresh_token = SecretBox(app.config["ENCRYPTION_KEY"]).open(
        ZohoConnection.current().refresh_token)

    since = clock.now().date() - datetime.timedelta(days=730)
    importer = Worker(app, admin.email, [("/bank/history", {"history_start": since.isoformat()})])
    uploader = Worker(app, admin.email, _upload(client, 4, "DURING"))
    importer.start()
    deadline = time.monotonic() + 120
    while _counts(live)["bank_transaction"] < before["bank_transaction"] + 100:
        assert importer.is_alive() and time.monotonic() < deadline, "the import never got going"
        time.sleep(0.05)
    uploader.start()
    time.sleep(0.3)
    outcome = backup.create(app.config, db.obj, tmp_path / "backup")
    taken_mid_way = importer.is_alive()
    for thread in (importer, uploader):
        thread.join(timeout=300)
        assert not thread.is_alive() and not thread.errors, thread.errors
    after = _counts(live)
    assert taken_mid_way, "the import ended before the backup: nothing was tested"

    restored_dir = tmp_path / "restored"
    result = _new_app(restored_dir).test_cli_runner().invoke(
        args=["restore", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    assert "every checksum verified" in result.output

    restored_db = restored_dir / "bookbridge.db"
    connection = sqlite3.connect(restored_db)
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()
    restored = _counts(restored_db)
    for table in TABLES:
        low, high = sorted((before[table], after[table]))
        assert low <= restored[table] <= high, (table, before[table], restored[table],
                                                after[table])
    # Taken mid-way: the import had written some lines but not all of them.
    assert before["bank_transaction"] < restored["bank_transaction"] < after["bank_transaction"]
    assert outcome.manifest["migration"] == MIGRATIONS[-1]

    connection = sqlite3.connect(restored_db)
    stored = connection.execute("SELECT sha256, size FROM stored_file").fetchall()
    qonto_sealed = connection.execute("SELECT secret_key FROM qonto_connection").fetchone()[0]
    zoho_sealed = connection.execute("SELECT refresh_token FROM zoho_connection").fetchone()[0]
    connection.close()
    assert len(stored) >= 2
    for digest, size in stored:
        original = restored_dir / "files" / digest[:2] / digest
        assert original.stat().st_size == size and _sha256(original) == digest

    box = SecretBox((restored_dir / "encryption.key").read_text())
    assert box.open(qonto_sealed) == qonto_info(sandbox)["secret_key"]
    assert box.open(zoho_sealed) == live_refresh_token

    # The app starts on the restored data, with the restored keys, and people sign in.
    restored_app = _new_app(restored_dir)
    assert restored_app.config["ENCRYPTION_KEY"] == app.config["ENCRYPTION_KEY"]
    assert restored_app.config["SECRET_KEY"] == app.config["SECRET_KEY"]
    with restored_app.app_context():
        assert QontoConnection.current().secret_key == qonto_sealed
    browser = restored_app.test_client()
    response = browser.post("/login", data={
        "email": admin.email, "password": DEFAULT_PASSWORD,
        "csrf_token": csrf_token(browser, "/login")})
    assert response.status_code == 303


@SQLITE_FILES
def test_a_tampered_backup_is_refused_naming_the_file_and_nothing_is_written(client, auth,
                                                                            admin, app,
                                                                            tmp_path):
    auth.login()
    for path, data in _upload(client, 1, "ONE"):
        client.post(path, data={**data, "csrf_token": csrf_token(client)})
    outcome = backup.create(app.config, db.obj, tmp_path / "backup")
    original = next(entry["path"] for entry in outcome.manifest["files"]
                    if entry["path"].startswith("files/"))
    damaged = tmp_path / "backup" / original
    content = bytearray(damaged.read_bytes())
    content[len(content) // 2] ^= 1
    damaged.write_bytes(bytes(content))

    target = _new_app(tmp_path / "new")
    with pytest.raises(backup.BackupError, match=original) as refused:
        backup.restore(target.config, db.obj, tmp_path / "backup")
    assert "does not match its checksum" in str(refused.value)
    assert backup.why_not_empty(target.config, db.obj) is None
    assert not (tmp_path / "new" / "files").exists()

    (tmp_path / "backup" / "encryption.key").unlink()
    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
    assert result.exit_code == 1
    assert "encryption.key is missing from the backup; nothing was restored" in result.output


@SQLITE_FILES
def test_restore_refuses_a_data_directory_that_is_not_empty(app, admin, tmp_path):
    backup.create(app.config, db.obj, tmp_path / "backup")
    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
    assert result.exit_code == 1
    assert f"The data directory {app.config['DATA_DIR']} is not empty (it holds 1 user row(s)" \
        in result.output
    assert "only goes into a new, empty data directory" in result.output


def test_backup_refuses_a_folder_that_is_not_empty(app, tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "notes.txt").write_text("mine")
    with pytest.raises(backup.BackupError, match="is not empty"):
        backup.create(app.config, db.obj, tmp_path / "backup")
    assert [path.name for path in (tmp_path / "backup").iterdir()] == ["notes.txt"]


def test_a_missing_pg_dump_is_explained_before_anything_is_written(app, tmp_path,
                                                                   monkeypatch):
    server = PostgresqlDatabase("bookbridge", host="127.0.0.1", user="postgres")
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    with pytest.raises(backup.BackupError, match="pg_dump is not installed.*apt-get install "
                                                 "postgresql-client"):
        backup.create(app.config, server, tmp_path / "backup")
    with pytest.raises(backup.BackupError, match="pg_restore is not installed"):
        backup.restore(app.config, server, tmp_path / "backup")
    assert not (tmp_path / "backup").exists()


@SQLITE_FILES
def test_the_commands_say_what_they_did_and_write_private_files(app, runner, admin, client,
                                                               auth, tmp_path):
    auth.login()
    for path, data in _upload(client, 1, "CLI"):
        client.post(path, data={**data, "csrf_token": csrf_token(client)})
    folder = tmp_path / "backup"
    result = runner.invoke(args=["backup", str(folder)])
    assert result.exit_code == 0, result.output
    assert f"Backup written to {folder}: the database (schema {MIGRATIONS[-1]}), " \
           "1 original(s), the keys and manifest.json." in result.output

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["created_at"].startswith(clock.utcnow().date().isoformat())
    listed = {entry["path"] for entry in manifest["files"]}
    on_disk = {path.relative_to(folder).as_posix() for path in folder.rglob("*")
               if path.is_file()} - {"manifest.json"}
    assert listed == on_disk and {"bookbridge.db", "secret_key", "encryption.key"} <= listed
    for path in [folder, *folder.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path

    again = runner.invoke(args=["backup", str(folder)])
    assert again.exit_code == 1 and "is not empty" in again.output

    result = _new_app(tmp_path / "new").test_cli_runner().invoke(args=["restore", str(folder)])
    assert result.exit_code == 0, result.output
    assert f"into {tmp_path / 'new'} (every checksum verified; 0 migration(s) applied). " \
           "Start Bookbridge: it runs on the restored data." in result.output


@SQLITE_FILES
def test_the_daily_backup_keeps_the_newest_and_is_off_without_a_folder(app, admin, tmp_path):
    from jobs.backup import daily_backup

    daily_backup.call_local()  # BACKUP_DIR empty: nothing is written anywhere
    assert not (tmp_path / "backups").exists()

    app.config.update(BACKUP_DIR=str(tmp_path / "backups"), BACKUP_KEEP=2)
    for day in (1, 2, 3):  # three earlier nights, written the way the task writes them
        backup.scheduled(app.config, db.obj, tmp_path / "backups", 10,
                         now=datetime.datetime(2026, 6, day, 3, 17))
    (tmp_path / "backups" / "bookbridge-20260101-0317").mkdir()  # unfinished: no manifest
    daily_backup.call_local()

    today = backup.folder_name(clock.utcnow())
    kept = sorted(path.name for path in (tmp_path / "backups").iterdir())
    assert kept == ["bookbridge-20260101-0317", "bookbridge-20260603-0317", today]
    restored = _new_app(tmp_path / "new")
    backup.restore(restored.config, db.obj, tmp_path / "backups" / today)
    assert _counts(restored.config["DATABASE"])["user"] == 1
    assert (tmp_path / "backups").stat().st_mode & 0o777 == 0o700


@SQLITE_FILES
def test_a_backup_from_a_newer_version_is_refused(app, tmp_path):
    backup.create(app.config, db.obj, tmp_path / "backup")
    manifest_path = tmp_path / "backup" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "migration": "0999_from_the_future"}))
    target = _new_app(tmp_path / "new")
    with pytest.raises(backup.BackupError, match="0999_from_the_future.* is newer than"):
        backup.restore(target.config, db.obj, tmp_path / "backup")
    assert backup.why_not_empty(target.config, db.obj) is None


@SQLITE_FILES
def test_a_backup_from_an_older_version_gets_the_newer_schema(app, tmp_path):
    older = SqliteDatabase(str(tmp_path / "older.db"), pragmas=SQLITE_PRAGMAS)
    Runner(older, str(MIGRATIONS_DIR)).up(MIGRATIONS[-2])
    older.close()
    outcome = backup.create(app.config, older, tmp_path / "backup")
    assert outcome.manifest["migration"] == MIGRATIONS[-2]

    result = _new_app(tmp_path / "new").test_cli_runner().invoke(
        args=["restore", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    assert "1 migration(s) applied" in result.output
    connection = sqlite3.connect(tmp_path / "new" / "bookbridge.db")
    assert connection.execute("SELECT max(name) FROM schema_migration").fetchone()[0] \
        == MIGRATIONS[-1]
    connection.close()


@SQLITE_FILES
def test_the_admin_a_first_start_creates_from_the_environment_does_not_block_a_restore(
        app, admin, tmp_path):
    backup.create(app.config, db.obj, tmp_path / "backup")
    target = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "new"),
                         "ADMIN_EMAIL": "First@Example.com", "ADMIN_PASSWORD": DEFAULT_PASSWORD})
    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    connection = sqlite3.connect(tmp_path / "new" / "bookbridge.db")
    assert connection.execute("SELECT email FROM user").fetchall() == [(admin.email,)]
    connection.close()


# PostgreSQL -----------------------------------------------------------------------------

def _pg_counts(url: str) -> dict:
    return {table: query(url, f'SELECT count(*) FROM "{table}"')[0][0]  # noqa: S608 (ours)
            for table in TABLES}


def _pg_app(sandbox, data_dir, url):
    return create_app(app_settings(sandbox, data_dir, database_url=url))


def test_a_postgresql_backup_taken_during_an_import_restores_with_nothing_lost(
        fresh_sandbox, new_postgres, tmp_path):
    sandbox = fresh_sandbox
    org = sandbox.org_ids()[0]
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", per_minute=100_000, daily=1_000_000)
    live_url = new_postgres()
    app = _pg_app(sandbox, tmp_path / "data", live_url)
    assert isinstance(db.obj, PostgresqlDatabase)
    admin = make_user(email="admin@example.com", role=Role.ADMIN)
    client = app.test_client()
    AuthActions(client).login()
    connect(client, "Atelier Lumière SAS")
    connect_qonto(client, sandbox)
    for path, data in _upload(client, 2, "BEFORE"):
        assert client.post(path, data={**data, "csrf_token": csrf_token(client)}).status_code < 400
    before = _pg_counts(live_url)
    live_refresh_token = SecretBox(app.config["ENCRYPTION_KEY"]).open(
        ZohoConnection.current().refresh_token)

    since = clock.now().date() - datetime.timedelta(days=365)
    importer = Worker(app, admin.email, [("/bank/history", {"history_start": since.isoformat()})])
    uploader = Worker(app, admin.email, _upload(client, 4, "DURING"))
    importer.start()
    deadline = time.monotonic() + 120
    while _pg_counts(live_url)["bank_transaction"] < before["bank_transaction"] + 100:
        assert importer.is_alive() and time.monotonic() < deadline, "the import never got going"
        time.sleep(0.05)
    uploader.start()
    time.sleep(0.3)
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
    taken_mid_way = importer.is_alive()
    for thread in (importer, uploader):
        thread.join(timeout=300)
        assert not thread.is_alive() and not thread.errors, thread.errors
    after = _pg_counts(live_url)
    assert result.exit_code == 0, result.output
    assert taken_mid_way, "the import ended before the backup: nothing was tested"
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["engine"] == "postgresql" and manifest["database"] == "bookbridge.pgdump"
    assert manifest["migration"] == MIGRATIONS[-1]

    # A new database and data directory, migrated by a first start, as a self-hoster has.
    restored_url = new_postgres()
    restored_dir = tmp_path / "restored"
    result = _pg_app(sandbox, restored_dir, restored_url).test_cli_runner().invoke(
        args=["restore", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    assert "every checksum verified" in result.output
    restored = _pg_counts(restored_url)
    for table in TABLES:
        low, high = sorted((before[table], after[table]))
        assert low <= restored[table] <= high, (table, before[table], restored[table],
                                                after[table])
    assert before["bank_transaction"] < restored["bank_transaction"] < after["bank_transaction"]
    stored = query(restored_url, "SELECT sha256, size FROM stored_file")
    assert len(stored) >= 2
    for digest, size in stored:
        original = restored_dir / "files" / digest[:2] / digest
        assert original.stat().st_size == size and _sha256(original) == digest
    box = SecretBox((restored_dir / "encryption.key").read_text())
    zoho_sealed, = query(restored_url, "SELECT refresh_token FROM zoho_connection")[0]
    qonto_sealed, = query(restored_url, "SELECT secret_key FROM qonto_connection")[0]
    assert box.open(zoho_sealed) == live_refresh_token
    assert box.open(qonto_sealed) == qonto_info(sandbox)["secret_key"]

    # Bookbridge starts on the restored database: people sign in, new rows get new ids.
    restored_app = _pg_app(sandbox, restored_dir, restored_url)
    browser = restored_app.test_client()
    AuthActions(browser).login()
    highest = query(restored_url, "SELECT max(id) FROM document")[0][0]
    for path, data in _upload(browser, 1, "AFTER"):
        assert browser.post(path, data={**data, "csrf_token": csrf_token(browser)}
                            ).status_code < 400
    # Past the highest restored id (pg_dump saves sequences as they were when it read them,
    # which may be past ids a transaction had taken but not committed yet).
    assert query(restored_url, "SELECT max(id) FROM document")[0][0] > highest

    # Into a database that now holds data, restore refuses and changes nothing.
    again = restored_app.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
    assert again.exit_code == 1
    assert f"The database {restored_url.rsplit('/', 1)[1]} or the data directory" in again.output
    assert "is not empty" in again.output
    assert _pg_counts(restored_url)["document"] == restored["document"] + 1


def test_pg_dump_gets_the_password_from_the_environment_never_the_command_line(
        new_postgres, tmp_path, monkeypatch):
    url = new_postgres().replace("postgresql://postgres@", "postgresql://postgres:pw-s3cret@")
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": url})
    make_user(email="admin@example.com", role=Role.ADMIN)
    # A pg_dump in front of the real one, writing down what it was given.
    shims = tmp_path / "shims"
    shims.mkdir()
    real = shutil.which("pg_dump")
    (shims / "pg_dump").write_text(
        f'#!/bin/sh\necho "$0 $*" >> {tmp_path}/argv\necho "$PGPASSWORD" >> {tmp_path}/env\n'
        f'exec {real} "$@"\n')
    (shims / "pg_dump").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}:{os.environ['PATH']}")

    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    assert "pw-s3cret" not in (tmp_path / "argv").read_text()
    assert "--format=custom --no-owner" in (tmp_path / "argv").read_text()
    assert (tmp_path / "env").read_text().strip() == "pw-s3cret"
    assert "pw-s3cret" not in result.output

    # The backup of a server does not go into a SQLite installation: said, nothing written.
    sqlite_side = _new_app(tmp_path / "new")
    refused = sqlite_side.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
    assert refused.exit_code == 1
    assert "This backup is of a PostgreSQL database and Bookbridge is configured for SQLite" \
        in refused.output
    assert backup.why_not_empty(sqlite_side.config, db.obj) is None
