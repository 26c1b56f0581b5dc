"""Backups a running installation can take, and restoring one into an empty data directory.

A backup folder mirrors the data directory: the database (`bookbridge.db`, a snapshot taken
through SQLite's online backup API, or `bookbridge.pgdump`, pg_dump's custom format, each
consistent while web and worker keep writing), `queue.db` (the huey queue, by SQLite's API,
when it is a file), `files/<xx>/<sha256>` (the originals the snapshot refers to),
`secret_key` and `encryption.key` (without which the stored Zoho and Qonto tokens cannot be
read), and `manifest.json` (each file's path, size and SHA-256, the database engine, the
schema's migration level, the time). The manifest is written last: a folder without one is
an unfinished backup, and restore refuses it.

pg_dump and pg_restore get the connection through PG* environment variables, so the
password is never on a command line (where `ps` shows it) nor in a message.
"""

import datetime
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from peewee import PostgresqlDatabase, SqliteDatabase

import clock
from services.migrations import MIGRATIONS_DIR

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_NAME = "bookbridge.db"
PG_DUMP_NAME = "bookbridge.pgdump"
QUEUE_NAME = "queue.db"
KEY_FILES = {"SECRET_KEY": "secret_key", "ENCRYPTION_KEY": "encryption.key"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass
class Outcome:
    folder: Path
    manifest: dict
    warnings: list[str] = field(default_factory=list)


def engine_of(database) -> str:
    """"sqlite" or "postgresql"; BackupError for any other database."""
    if isinstance(database, SqliteDatabase):
        return "sqlite"
    if isinstance(database, PostgresqlDatabase):
        return "postgresql"
    raise BackupError(f"Bookbridge backs up SQLite and PostgreSQL, not "
                      f"{type(database).__name__}.")


def sqlite_path(database) -> Path:
    return Path(database.database).resolve()


def queue_path() -> Path | None:
    """huey's queue file, or None when the queue is not a separate SQLite file (immediate
    mode in tests, or another storage)."""
    from jobs.queue import huey

    filename = getattr(huey.storage, "filename", None)
    return Path(filename).resolve() if filename and not huey.immediate else None


# Taking a backup ------------------------------------------------------------------------

def create(config, database, target) -> Outcome:
    """Write a backup of the running installation into `target`, a new or empty folder."""
    engine = engine_of(database)
    if engine == "postgresql":
        pg_program("pg_dump")  # before anything is written
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not empty: a backup goes into a new or empty folder, "
                          "so it never mixes with or overwrites another.")
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    warnings = []

    # The database first: every original a row of the snapshot names was stored before its
    # row was written, and originals are never changed or removed, so they are all there.
    database_name, migration, digests = _database_snapshot(engine, database, target)
    queue = queue_path()
    if queue is not None and queue.exists():
        _snapshot(queue, target / QUEUE_NAME)
    for key, name in KEY_FILES.items():
        _write_private(target / name, config[key].encode())
    files_root = Path(config["DATA_DIR"]) / "files"
    for digest in digests:
        relative = Path("files") / digest[:2] / digest
        if not (files_root / relative.relative_to("files")).is_file():
            warnings.append(f"The original {relative} is missing from the data directory; "
                            "the backup goes on without it.")
            continue
        _copy_private(files_root / relative.relative_to("files"), target / relative)

    manifest = {
        "format": FORMAT,
        "created_at": clock.now().replace(microsecond=0).isoformat(),
        "bookbridge_version": _version(),
        "migration": migration,
        "engine": engine,
        "database": database_name,
        "queue": QUEUE_NAME if (target / QUEUE_NAME).exists() else None,
        "files": [_describe(target, path) for path in _files_in(target)],
    }
    _write_private(target / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())
    return Outcome(target, manifest, warnings)


def _database_snapshot(engine, database, target: Path) -> tuple[str, str | None, list[str]]:
    """Write the database's snapshot into `target`: (its file name, the schema's migration
    level, the SHA-256 of every original its rows name)."""
    if engine == "postgresql":
        migration = _pg_migration_level(database)
        pg_dump(database, target / PG_DUMP_NAME)
        # Read after the dump: a superset of what the dump's rows name (rows written since
        # add originals the restored database does not need, which is harmless).
        return PG_DUMP_NAME, migration, _pg_stored_digests(database)
    _snapshot(sqlite_path(database), target / DATABASE_NAME)
    return (DATABASE_NAME, _migration_level(target / DATABASE_NAME),
            _stored_digests(target / DATABASE_NAME))


def _snapshot(source: Path, destination: Path) -> None:
    """Copy a live SQLite database with the online backup API: one step, so it reads one
    consistent state while other connections go on writing (WAL readers do not block)."""
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    live = sqlite3.connect(source, timeout=20)
    copy = sqlite3.connect(destination)
    try:
        live.backup(copy)
        # A self-contained file (no -wal beside it); the app sets WAL again when it opens.
        copy.execute("PRAGMA journal_mode=DELETE")
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        copy.close()
        live.close()
    if verdict != "ok":
        raise BackupError(f"The snapshot of {source.name} fails SQLite's integrity check "
                          f"({verdict}); the live database may be damaged.")


def _stored_digests(snapshot: Path) -> list[str]:
    connection = sqlite3.connect(snapshot)
    try:
        rows = connection.execute("SELECT sha256 FROM stored_file ORDER BY sha256").fetchall()
    finally:
        connection.close()
    return [digest for (digest,) in rows if _SHA256.fullmatch(digest)]


def _migration_level(snapshot: Path) -> str | None:
    connection = sqlite3.connect(snapshot)
    try:
        row = connection.execute("SELECT max(name) FROM schema_migration").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        connection.close()
    return row[0]


# PostgreSQL ------------------------------------------------------------------------------

_PG_ENVIRONMENT = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER",
                   "password": "PGPASSWORD", "sslmode": "PGSSLMODE",
                   "sslrootcert": "PGSSLROOTCERT", "connect_timeout": "PGCONNECT_TIMEOUT"}


def _pg_environment(database) -> dict:
    """The environment that points pg_dump/pg_restore at `database`: the password goes
    there, never on the command line."""
    environment = dict(os.environ)
    for name, variable in _PG_ENVIRONMENT.items():
        value = database.connect_params.get(name)
        if value not in (None, ""):
            environment[variable] = str(value)
    environment["PGDATABASE"] = database.database
    return environment


def pg_program(name: str) -> str:
    """The path of pg_dump or pg_restore; BackupError saying how to install it."""
    program = shutil.which(name)
    if program is None:
        raise BackupError(
            f"{name} is not installed, and Bookbridge needs it to back up or restore "
            "PostgreSQL. Install the PostgreSQL client of the server's major version or "
            "newer (Debian and Ubuntu: apt-get install postgresql-client; the Docker image "
            "has it), then run the command again. Nothing was written.")
    return program


def _pg_tool(name: str, database, arguments: list[str]) -> None:
    program = pg_program(name)
    result = subprocess.run([program, *arguments], env=_pg_environment(database),  # noqa: S603
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        said = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise BackupError(f"{name} failed ({'; '.join(said[-3:]) or 'no message'}).")


def pg_dump(database, destination: Path) -> None:
    """pg_dump's custom format (compressed, restorable table by table), one consistent
    snapshot of the live database, in a private file."""
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    _pg_tool("pg_dump", database, ["--format=custom", "--no-owner", "--no-acl",
                                   f"--file={destination}"])


def _pg_query(database, sql: str) -> list[tuple]:
    return list(database.execute_sql(sql).fetchall())


def _pg_migration_level(database) -> str | None:
    if "schema_migration" not in database.get_tables():
        return None
    return _pg_query(database, "SELECT max(name) FROM schema_migration")[0][0]


def _pg_stored_digests(database) -> list[str]:
    if "stored_file" not in database.get_tables():
        return []
    rows = _pg_query(database, "SELECT sha256 FROM stored_file ORDER BY sha256")
    return [digest for (digest,) in rows if _SHA256.fullmatch(digest)]


def _pg_restore(database, dump: Path) -> None:
    """Replace the empty schema a first start migrated by the dump's, in one transaction
    (a failed restore leaves no half-filled table)."""
    tables = database.get_tables()
    if tables:
        with database.atomic():
            names = ", ".join(f'"{name}"' for name in tables)
            database.execute_sql(f"DROP TABLE IF EXISTS {names} CASCADE")
    database.close()
    _pg_tool("pg_restore", database, ["--no-owner", "--no-acl", "--exit-on-error",
                                      "--single-transaction", "--dbname", database.database,
                                      str(dump)])


def _version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("bookbridge")
    except metadata.PackageNotFoundError:
        return None  # not installed as a package: Bookbridge has no version number yet


def _files_in(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file() and path.name != MANIFEST)


def _describe(root: Path, path: Path) -> dict:
    return {"path": path.relative_to(root).as_posix(), "size": path.stat().st_size,
            "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _private_folder(folder: Path, root: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    while folder != root and root in folder.parents:
        os.chmod(folder, 0o700)
        folder = folder.parent


def _write_private(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _copy_private(source: Path, destination: Path) -> None:
    _private_folder(destination.parent, destination.parent.parent.parent)
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(source, "rb") as reading, os.fdopen(fd, "wb") as writing:
        shutil.copyfileobj(reading, writing, _CHUNK)


# Restoring ------------------------------------------------------------------------------

def read_manifest(folder) -> dict:
    """The manifest, after checking every file it names against its size and SHA-256."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{folder} has no {MANIFEST}: it is not a Bookbridge backup, or "
                          "the backup did not finish.") from None
    except ValueError:
        raise BackupError(f"{folder / MANIFEST} is not readable JSON: the backup is damaged."
                          ) from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder} was written in backup format {manifest.get('format')}, "
                          f"which this version does not read (it reads {FORMAT}).")
    for entry in manifest["files"]:
        relative = Path(entry["path"])
        if relative.is_absolute() or ".." in relative.parts:
            raise BackupError(f"The manifest names {entry['path']}, outside the backup.")
        path = folder / relative
        if not path.is_file():
            raise BackupError(f"{entry['path']} is missing from the backup; nothing was "
                              "restored.")
        if path.stat().st_size != entry["size"] or _sha256(path) != entry["sha256"]:
            raise BackupError(f"{entry['path']} does not match its checksum in the manifest "
                              "(changed or damaged); nothing was restored.")
    named = {entry["path"] for entry in manifest["files"]}
    for required in [manifest["database"], *KEY_FILES.values()]:
        if required not in named:
            raise BackupError(f"The manifest does not list {required}; nothing was restored.")
    return manifest


def why_not_empty(config, database) -> str | None:
    """None when the data directory holds nothing but what a first start creates (keys, a
    migrated database, an empty queue, and the admin BOOKBRIDGE_ADMIN_EMAIL creates with its
    activity row); otherwise what it does hold."""
    from models import MODELS

    held = []
    with database.connection_context():
        tables = set(database.get_tables())
        expected = _first_start_rows(config) if "user" in tables else {}
        for model in MODELS:
            name = model._meta.table_name
            if name in tables:
                count = model.select().count() - expected.get(name, 0)
                if count:
                    held.append(f"{count} {name} row(s)")
    files = Path(config["DATA_DIR"]) / "files"
    if files.is_dir() and any(path.is_file() for path in files.rglob("*")):
        held.append("stored originals in files/")
    return ", ".join(held) or None


def _first_start_rows(config) -> dict:
    from models import AuditEvent, User
    from services.accounts import normalise_email

    email = normalise_email(config.get("ADMIN_EMAIL"))
    users = list(User.select().limit(2)) if email else []
    if len(users) != 1 or users[0].email != email:
        return {}
    created = AuditEvent.select().where(AuditEvent.action == "user.create",
                                        AuditEvent.subject == email).count()
    return {"user": 1, "audit_event": min(created, 1)}


def restore(config, database, folder) -> Outcome:
    """Restore the backup in `folder` into the configured data directory and database, which
    must be empty. Everything is checked before anything is written. The caller applies any
    migrations the backup lacks (create_app does at the next start)."""
    engine = engine_of(database)
    if engine == "postgresql":
        pg_program("pg_restore")  # before anything is written
    folder = Path(folder)
    manifest = read_manifest(folder)
    _refuse_another_engine(manifest, engine)
    newest = max((path.stem for path in MIGRATIONS_DIR.glob("[0-9]*.py")), default="")
    if (manifest.get("migration") or "") > newest:
        raise BackupError(f"This backup's schema ({manifest['migration']}) is newer than this "
                          f"version of Bookbridge knows ({newest}): restore it with the "
                          "version that wrote it, or a later one.")
    held = why_not_empty(config, database)
    if held and engine == "postgresql":
        raise BackupError(
            f"The database {database.database} or the data directory {config['DATA_DIR']} is "
            f"not empty (they hold {held}): restore only goes into a new, empty database and "
            "data directory, so nothing is overwritten. Create a new database (createdb), "
            "point BOOKBRIDGE_DATABASE_URL and BOOKBRIDGE_DATA_DIR at new ones, then run "
            "restore again.")
    if held:
        raise BackupError(
            f"The data directory {config['DATA_DIR']} is not empty (it holds {held}): restore "
            "only goes into a new, empty data directory, so nothing is overwritten. Point "
            "BOOKBRIDGE_DATA_DIR at a new folder, then run restore again.")
    data_dir = Path(config["DATA_DIR"])
    database.close()
    warnings = []

    for entry in manifest["files"]:
        relative = Path(entry["path"])
        if relative.parts[0] == "files":
            destination = data_dir / relative
            _private_folder(destination.parent, data_dir)
            _replace_with_copy(folder / relative, destination)
    for key, name in KEY_FILES.items():
        _replace_with_copy(folder / name, data_dir / name)
        restored = (folder / name).read_text().strip()
        if os.environ.get(f"BOOKBRIDGE_{key}", restored) != restored:
            warnings.append(f"BOOKBRIDGE_{key} is set in the environment and differs from the "
                            f"backup's {name}: unset it, or the restored secrets stay "
                            "unreadable.")
    queue = queue_path()
    if manifest.get("queue") and queue is not None:
        from jobs.queue import huey

        huey.storage.close()  # this process's connection to the queue it replaces
        _replace_sqlite(folder / manifest["queue"], queue)
    elif manifest.get("queue"):
        warnings.append("The queue was not restored: this process runs tasks immediately; "
                        "scheduled work starts again from the database.")
    # The database last: until it is in place the data directory still counts as empty.
    if engine == "postgresql":
        _pg_restore(database, folder / manifest["database"])
    else:
        _replace_sqlite(folder / manifest["database"], sqlite_path(database))
    return Outcome(folder, manifest, warnings)


_ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _refuse_another_engine(manifest: dict, engine: str) -> None:
    taken_on = manifest.get("engine", "sqlite")  # the first backups were all SQLite
    if taken_on != engine:
        raise BackupError(
            f"This backup is of a {_ENGINE_NAMES.get(taken_on, taken_on)} database and "
            f"Bookbridge is configured for {_ENGINE_NAMES[engine]}: restore it with the same "
            "setting of BOOKBRIDGE_DATABASE_URL as when it was taken (to move a SQLite "
            "installation to PostgreSQL, restore it on SQLite, then use move-database).")


def _replace_sqlite(source: Path, destination: Path) -> None:
    """Put a database file in place of another, dropping the old one's WAL and shared
    memory, which would otherwise be replayed into the restored file."""
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{destination}{suffix}").unlink(missing_ok=True)
    _replace_with_copy(source, destination)


def _replace_with_copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=destination.parent, prefix=".restoring-")
    try:
        with open(source, "rb") as reading, os.fdopen(fd, "wb") as writing:
            shutil.copyfileobj(reading, writing, _CHUNK)
            writing.flush()
            os.fsync(writing.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# Scheduled backups ----------------------------------------------------------------------

_SCHEDULED = re.compile(r"bookbridge-\d{8}-\d{4}")


def folder_name(moment: datetime.datetime) -> str:
    return moment.strftime("bookbridge-%Y%m%d-%H%M")


def scheduled(config, database, root, keep: int, now: datetime.datetime | None = None
              ) -> tuple[Outcome | None, list[Path]]:
    """Write ROOT/bookbridge-YYYYMMDD-HHMM/ and delete the oldest finished backups beyond
    `keep` (at least 1). Returns the new backup (None if one of this minute exists) and the
    folders deleted. A failed backup's folder is removed, so it never counts as one."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    target = root / folder_name(now or clock.utcnow())
    outcome = None
    if not target.exists():
        try:
            outcome = create(config, database, target)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    finished = sorted(path for path in root.iterdir()
                      if path.is_dir() and _SCHEDULED.fullmatch(path.name)
                      and (path / MANIFEST).is_file())
    deleted = finished[:-max(1, keep)]
    for path in deleted:
        shutil.rmtree(path)
    return outcome, deleted
