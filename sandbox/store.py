"""SQLite storage for the sandbox: one file, one connection per request, WAL.

The sandbox deliberately uses the stdlib ``sqlite3`` driver instead of the app's
peewee models: it must not share code with the client it checks, and several
sandbox instances (one per test module) can live in one process, which a
module-level peewee database would not allow.
"""

import json
import sqlite3
from contextlib import contextmanager

from flask import current_app, g

# Zoho ids are 18-digit strings; starting here keeps every id above 2**53.
ID_BASE = 460_000_000_000_000_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS record (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    org_id TEXT NOT NULL,
    record_id TEXT NOT NULL UNIQUE,
    name TEXT, subtype TEXT, status TEXT, parent_id TEXT, ref TEXT, date TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS record_by_kind ON record (kind, org_id, seq);
CREATE INDEX IF NOT EXISTS record_by_name ON record (kind, org_id, name);
CREATE INDEX IF NOT EXISTS record_by_parent ON record (kind, org_id, parent_id, date);
CREATE TABLE IF NOT EXISTS org_member (
    org_id TEXT NOT NULL, user_email TEXT NOT NULL, PRIMARY KEY (org_id, user_email)
);
CREATE TABLE IF NOT EXISTS document (
    owner_id TEXT NOT NULL, slot TEXT NOT NULL, file_name TEXT NOT NULL,
    content_type TEXT NOT NULL, content BLOB NOT NULL, PRIMARY KEY (owner_id, slot)
);
CREATE TABLE IF NOT EXISTS grant_code (
    code TEXT PRIMARY KEY, client_id TEXT NOT NULL, redirect_uri TEXT, scope TEXT NOT NULL,
    access_type TEXT NOT NULL, prompt TEXT, user_email TEXT NOT NULL,
    created_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS refresh_token (
    token TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_email TEXT NOT NULL,
    scope TEXT NOT NULL, created_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS access_token (
    token TEXT PRIMARY KEY, refresh_token TEXT, client_id TEXT NOT NULL,
    user_email TEXT NOT NULL, scope TEXT NOT NULL, created_at REAL NOT NULL,
    expires_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS access_by_refresh ON access_token (refresh_token, created_at);
CREATE TABLE IF NOT EXISTS token_request (refresh_token TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS org_limit (
    org_id TEXT PRIMARY KEY, per_minute INTEGER NOT NULL, concurrency INTEGER NOT NULL,
    daily INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_call (org_id TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS api_call_by_org ON api_call (org_id, at);
CREATE TABLE IF NOT EXISTS call_stat (
    org_id TEXT NOT NULL, call TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (org_id, call)
);
"""

TABLES = (
    "counter", "record", "org_member", "document", "grant_code", "refresh_token",
    "access_token", "token_request", "org_limit", "api_call", "call_stat",
)

# Columns of ``record`` that list endpoints may filter or sort on.
INDEXED_COLUMNS = ("name", "subtype", "status", "parent_id", "ref", "date")
FILTER_OPERATORS = {"=": "= ?", "like": "LIKE ? ESCAPE '\\'", ">=": ">= ?", "<=": "<= ?"}


def connect(path):
    """Open a connection tuned for a threaded server (autocommit, WAL, busy wait)."""
    db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def get_db():
    """The connection of the current request, opened on first use."""
    if "sandbox_db" not in g:
        g.sandbox_db = connect(current_app.config["DATABASE"])
    return g.sandbox_db


def close_db(_exc=None):
    """Teardown hook: close the request's connection if one was opened."""
    db = g.pop("sandbox_db", None)
    if db is not None:
        db.close()


@contextmanager
def transaction(db):
    """Write transaction that takes the lock up front, so read-then-write cannot race."""
    if db.in_transaction:  # nested use joins the outer transaction
        yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def create_schema(db):
    db.executescript(SCHEMA)


def wipe(db):
    """Delete every row (used by the admin reset before reseeding)."""
    with transaction(db):
        for table in TABLES:
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        db.execute("DELETE FROM sqlite_sequence")


def reserve_ids(db, count=1):
    """Reserve ``count`` consecutive record ids and return them as 18-digit strings."""
    with transaction(db):
        db.execute("INSERT OR IGNORE INTO counter (name, value) VALUES ('id', 0)")
        last = db.execute(
            "UPDATE counter SET value = value + ? WHERE name = 'id' RETURNING value", (count,)
        ).fetchone()[0]
    return [str(ID_BASE + n) for n in range(last - count + 1, last + 1)]


def new_id(db):
    return reserve_ids(db, 1)[0]


def next_number(db, name):
    """Next value of a named counter (invoice numbers and the like)."""
    with transaction(db):
        db.execute("INSERT OR IGNORE INTO counter (name, value) VALUES (?, 0)", (name,))
        return db.execute(
            "UPDATE counter SET value = value + 1 WHERE name = ? RETURNING value", (name,)
        ).fetchone()[0]


def _record_row(kind, org_id, record_id, data, columns):
    unknown = set(columns) - set(INDEXED_COLUMNS)
    if unknown:
        raise ValueError(f"not an indexed column: {unknown}")
    values = [columns.get(name) for name in INDEXED_COLUMNS]
    return (kind, org_id, record_id, *values, json.dumps(data))


_INSERT_RECORD = (
    "INSERT INTO record (kind, org_id, record_id, name, subtype, status, parent_id, ref, date,"
    " data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def insert_record(db, kind, org_id, record_id, data, **columns):
    """Store one record; ``columns`` fills the indexed columns used by list filters."""
    db.execute(_INSERT_RECORD, _record_row(kind, org_id, record_id, data, columns))


def insert_records(db, rows):
    """Batch insert of (kind, org_id, record_id, data, columns) tuples."""
    with transaction(db):
        db.executemany(_INSERT_RECORD, [_record_row(*row) for row in rows])


def update_record(db, record_id, data, **columns):
    assignments = ", ".join(f"{name} = ?" for name in columns)
    params = [*columns.values(), json.dumps(data), record_id]
    prefix = f"{assignments}, " if assignments else ""
    db.execute(f"UPDATE record SET {prefix}data = ? WHERE record_id = ?", params)  # noqa: S608


def delete_record(db, record_id):
    db.execute("DELETE FROM record WHERE record_id = ?", (record_id,))
    db.execute("DELETE FROM document WHERE owner_id = ?", (record_id,))


def get_record(db, kind, org_id, record_id):
    """The record's data dict, or None when it does not exist in that organisation."""
    row = db.execute(
        "SELECT data FROM record WHERE kind = ? AND org_id = ? AND record_id = ?",
        (kind, org_id, record_id),
    ).fetchone()
    return json.loads(row["data"]) if row else None


def _where_clause(kind, org_id, filters):
    clauses, params = ["kind = ?", "org_id = ?"], [kind, org_id]
    for column, operator, value in filters:
        if column not in INDEXED_COLUMNS:
            raise ValueError(f"cannot filter on {column}")
        if operator == "in":
            clauses.append(f"{column} IN ({', '.join('?' * len(value))})")
            params.extend(value)
        else:
            clauses.append(f"{column} {FILTER_OPERATORS[operator]}")
            params.append(value)
    return " AND ".join(clauses), params


def find_records(db, kind, org_id, filters=(), *, order=("seq", False), page=1, per_page=200):
    """One page of records as (list of data dicts, has_more_page).

    ``filters`` is a sequence of (column, operator, value); ``order`` is (column, descending).
    """
    where, params = _where_clause(kind, org_id, filters)
    column, descending = order
    if column not in (*INDEXED_COLUMNS, "seq"):
        raise ValueError(f"cannot sort on {column}")
    direction = "DESC" if descending else "ASC"
    sql = (
        f"SELECT data FROM record WHERE {where} ORDER BY {column} {direction}, seq {direction}"  # noqa: S608
        " LIMIT ? OFFSET ?"
    )
    # Fetch one extra row: its presence is what has_more_page reports.
    rows = db.execute(sql, [*params, per_page + 1, (page - 1) * per_page]).fetchall()
    records = [json.loads(row["data"]) for row in rows[:per_page]]
    return records, len(rows) > per_page


def count_records(db, kind, org_id, filters=()):
    where, params = _where_clause(kind, org_id, filters)
    return db.execute(f"SELECT COUNT(*) FROM record WHERE {where}", params).fetchone()[0]  # noqa: S608


def like_pattern(text, *, prefix_only=False):
    """A LIKE pattern matching ``text`` literally (case-insensitive in SQLite for ASCII)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix_only else f"%{escaped}%"


def save_document(db, owner_id, slot, file_name, content_type, content):
    db.execute(
        "INSERT OR REPLACE INTO document (owner_id, slot, file_name, content_type, content)"
        " VALUES (?, ?, ?, ?, ?)",
        (owner_id, slot, file_name, content_type, content),
    )


def load_document(db, owner_id, slot):
    return db.execute(
        "SELECT file_name, content_type, content FROM document WHERE owner_id = ? AND slot = ?",
        (owner_id, slot),
    ).fetchone()
