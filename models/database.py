"""Opening the database from configuration (SQLite in WAL mode by default)."""

from urllib.parse import urlparse

from peewee import SqliteDatabase
from playhouse.db_url import connect, parseresult_to_dict

from models.base import db

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": 1,  # NORMAL: the usual pairing with WAL
    "cache_size": -16 * 1024,  # 16 MiB
}
# Seconds a write waits for another writer (a job, another request) before giving up; under
# gunicorn's 30 s worker timeout, so a waiting request is answered rather than killed.
SQLITE_BUSY_TIMEOUT = 20
# Every `db.atomic()` on SQLite takes the write lock when it begins. A deferred transaction
# that reads and then writes fails at once with "database is locked" in WAL mode when
# another connection wrote in between (SQLite cannot wait without breaking its snapshot);
# an immediate one waits for the lock (up to the busy timeout) and then cannot fail so.
SQLITE_LOCK_TYPE = "IMMEDIATE"


def _text_without_nul(value: str):
    """PostgreSQL text cannot hold NUL (SQLite could): a NUL typed into a form or a query
    string is dropped rather than failing the request; no real text carries one."""
    from psycopg2.extensions import QuotedString

    return QuotedString(value.replace("\x00", ""))


def _connect_server(url: str):
    from psycopg2.extensions import register_adapter

    register_adapter(str, _text_without_nul)
    return connect(url)  # PostgreSQL: its transactions already wait for row locks


def open_database(config) -> None:
    """Bind the deferred database to the configured file or URL (once per process)."""
    url = config.get("DATABASE_URL")
    if url and not urlparse(url).scheme.startswith("sqlite"):
        database = _connect_server(url)
    elif url:
        # What the URL's query string says (e.g. ?timeout=60) wins over these defaults.
        given = parseresult_to_dict(urlparse(url))
        defaults = {"pragmas": SQLITE_PRAGMAS, "timeout": SQLITE_BUSY_TIMEOUT,
                    "lock_type": SQLITE_LOCK_TYPE}
        database = connect(url, **{k: v for k, v in defaults.items() if k not in given})
    else:
        database = SqliteDatabase(config["DATABASE"], pragmas=SQLITE_PRAGMAS,
                                  timeout=SQLITE_BUSY_TIMEOUT, lock_type=SQLITE_LOCK_TYPE)
    db.initialize(database)
