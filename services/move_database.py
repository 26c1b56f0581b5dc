"""Moving an installation from its SQLite file to an empty PostgreSQL database.

The target gets its schema from the project's own migrations (so its migration history is
the one a fresh PostgreSQL installation would have), then every model's rows in foreign-key
order, in batches, read from one consistent snapshot of the SQLite file. Each PostgreSQL
sequence is then set past the highest id, and every table's rows are counted on both sides.
All of it happens in one PostgreSQL transaction: a failure leaves the target as empty as it
was. What SQLite alone holds is not copied: its full-text search tables (virtual tables and
their shadow tables, kept by triggers; PostgreSQL searches with ILIKE) and its own
bookkeeping (sqlite_sequence, sqlite_stat1).
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlparse

from peewee import (
    DatabaseError,
    ForeignKeyField,
    PostgresqlDatabase,
    SqliteDatabase,
    sort_models,
)
from playhouse.db_url import connect
from playhouse.migrations import Runner
from psycopg2.extras import execute_values

from services.migrations import MIGRATIONS_DIR

BATCH_ROWS = 1000
HISTORY_TABLE = "schema_migration"
# A job that wrote this recently is taken as running (services.jobs marks one older than
# five minutes as dead).
RUNNING_WITHIN = datetime.timedelta(minutes=5)


class MoveError(Exception):
    """A move that cannot be done; the message says why and what to do."""


@dataclass
class TableCount:
    table: str
    sqlite: int
    postgresql: int


@dataclass
class Outcome:
    target: str  # the URL without its password
    counts: list[TableCount]
    migrations: list[str]
    skipped: list[str] = field(default_factory=list)  # SQLite-only tables, not copied


def safe_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages."""
    parts = urlparse(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def open_target(url: str) -> PostgresqlDatabase:
    """The PostgreSQL database at `url`, connected; MoveError when it is not one or does
    not answer."""
    if not urlparse(url).scheme.startswith("postgres"):
        raise MoveError(f"{safe_url(url)} is not a PostgreSQL URL: give one like "
                        "postgresql://user:password@host:5432/bookbridge.")
    target = connect(url)
    try:
        target.connect()
    except DatabaseError as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error)
        raise MoveError(f"Could not connect to {safe_url(url)}: {reason}. Check the URL, and "
                        "create the database first (createdb, or CREATE DATABASE).") from None
    return target


def move(source, url: str, models, now: datetime.datetime) -> Outcome:
    """Copy the SQLite database `source` into the empty PostgreSQL database at `url`."""
    if not isinstance(source, SqliteDatabase):
        raise MoveError("Bookbridge already runs on a database server (BOOKBRIDGE_DATABASE_URL "
                        "is set): move-database copies a SQLite installation. To move between "
                        "servers, use backup and restore.")
    target = open_target(url)
    try:
        return _move(source, target, url, models, now)
    finally:
        target.close()


def _move(source, target, url, models, now) -> Outcome:
    _refuse_a_target_with_tables(target, url)
    ordered = sort_models(models)
    with source.connection_context(), source.atomic(lock_type="DEFERRED"):
        # One read transaction: every table is read from the same snapshot (WAL).
        _refuse_while_running(source, now)
        skipped, unknown = _sqlite_only_tables(source, {m._meta.table_name for m in ordered})
        if unknown:
            raise MoveError(
                "The SQLite database holds rows in tables this version of Bookbridge does not "
                f"know ({', '.join(unknown)}): they would be lost. Run move-database with the "
                "version that wrote them. Nothing was changed.")
        with target.atomic():  # PostgreSQL's DDL is transactional: all or nothing
            applied = _migrate_like_the_source(source, target)
            for model in ordered:
                _copy_rows(model, source, target)
            _reset_sequences(target)
            counts = _verified_counts(ordered, source, target)
    return Outcome(safe_url(url), counts, applied, skipped)


def _refuse_a_target_with_tables(target, url) -> None:
    tables = sorted(target.get_tables())
    if tables:
        held = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        raise MoveError(
            f"The database {safe_url(url)} is not empty (it holds the tables {held}): "
            "move-database only fills an empty database, so nothing there is overwritten. "
            "Create a new database, or drop this one's tables, then run it again. Nothing "
            "was changed.")


def _migrate_like_the_source(source, target) -> list[str]:
    """The project's migrations on the target; MoveError if the source has one they lack."""
    applied = Runner(target, str(MIGRATIONS_DIR)).up()
    missing = sorted(set(_history(source)) - set(_history(target)))
    if missing:
        raise MoveError(f"The SQLite database has migrations this version does not know "
                        f"({', '.join(missing)}): use the version that wrote it. Nothing was "
                        "changed.")
    return applied


def _verified_counts(ordered, source, target) -> list[TableCount]:
    counts = [TableCount(m._meta.table_name, m.select().bind(source).count(),
                         m.select().bind(target).count())
              for m in sorted(ordered, key=lambda m: m._meta.table_name)]
    wrong = [c.table for c in counts if c.sqlite != c.postgresql]
    if wrong:
        raise MoveError(f"The row counts differ for {', '.join(wrong)} after the copy; the "
                        "transaction was rolled back and nothing was changed.")
    return counts


def _refuse_while_running(source, now) -> None:
    """Refuse when a job wrote lately: the worker runs, and would write after the copy."""
    from models import Job, JobStatus

    active = [status for status in JobStatus if status.is_active]
    recent = now - RUNNING_WITHIN
    job = (Job.select().bind(source)
           .where(Job.status.in_(active),
                  (Job.heartbeat_at > recent) | (Job.created_at > recent))
           .order_by(Job.id.desc()).first())
    if job is not None:
        raise MoveError(
            f"A {job.kind} job is under way (status {job.status.value}): Bookbridge seems to "
            "be running. Stop the web app and the worker (or let the job finish and stop "
            "them), then run move-database again. Nothing was changed.")


def _sqlite_only_tables(source, model_tables: set) -> tuple[list[str], list[str]]:
    """(SQLite-only tables left behind, unknown tables holding rows)."""
    rows = source.execute_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    virtual = [name for name, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL")]
    skipped, unknown = [], []
    for name, _ in rows:
        if name in model_tables or name == HISTORY_TABLE:
            continue
        if name.startswith("sqlite_") or any(name == v or name.startswith(f"{v}_")
                                             for v in virtual):
            skipped.append(name)
        elif source.execute_sql(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone():  # noqa: S608
            unknown.append(name)
        else:
            skipped.append(name)
    return skipped, unknown


def _history(database) -> list[str]:
    if HISTORY_TABLE not in database.get_tables():
        return []
    return [name for (name,) in database.execute_sql(
        f"SELECT name FROM {HISTORY_TABLE}").fetchall()]  # noqa: S608 (a constant)


def _copy_rows(model, source, target) -> None:
    """Every row of `model`, by id, in batches. A reference to the same table (a document
    marked as the duplicate of another) is set after all rows are in, so its order does
    not matter."""
    fields = list(model._meta.sorted_fields)
    # Positions found by identity: a peewee field's == builds an SQL expression.
    key = next(i for i, f in enumerate(fields) if f is model._meta.primary_key)
    later = [(i, f) for i, f in enumerate(fields)
             if isinstance(f, ForeignKeyField) and f.rel_model is model]
    pending = []
    batch = []
    query = model.select(*fields).order_by(model._meta.primary_key).bind(source).tuples()
    for row in query.iterator():
        row = list(row)
        for position, ref in later:
            if row[position] is not None:
                pending.append((row[key], ref, row[position]))
                row[position] = None
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            _insert(model, fields, batch, target)
            batch = []
    if batch:
        _insert(model, fields, batch, target)
    for row_id, ref, value in pending:
        model.update({ref: value}).where(model._meta.primary_key == row_id).bind(
            target).execute()


def _insert(model, fields, rows, target) -> None:
    """One multi-row INSERT, the values converted by each field as peewee would; psycopg2
    builds the statement (peewee's own insert_many spent most of a move building SQL)."""
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    statement = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES %s'  # noqa: S608
    values = [[field.db_value(value) for field, value in zip(fields, row, strict=True)]
              for row in rows]
    execute_values(target.cursor(), statement, values, page_size=len(values))


def _reset_sequences(target) -> None:
    """Set every sequence past its table's highest id, so the next row gets a fresh one."""
    serials = target.execute_sql(
        "SELECT table_name, column_name, pg_get_serial_sequence("
        "quote_ident(table_name), column_name) FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%%'"
    ).fetchall()
    for table, column, sequence in serials:
        # Names from the catalogue, not input.
        statement = (f'SELECT setval(%s, COALESCE(MAX("{column}"), 1), '  # noqa: S608
                     f'MAX("{column}") IS NOT NULL) FROM "{table}"')
        target.execute_sql(statement, (sequence,))
