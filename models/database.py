"""Opening the database from configuration (SQLite in WAL mode by default)."""

from peewee import SqliteDatabase
from playhouse.db_url import connect

from models.base import db

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": 1,  # NORMAL: the usual pairing with WAL
    "cache_size": -16 * 1024,  # 16 MiB
}


def open_database(config) -> None:
    """Bind the deferred database to the configured file or URL (once per process)."""
    url = config.get("DATABASE_URL")
    if url:
        database = connect(url)
    else:
        database = SqliteDatabase(config["DATABASE"], pragmas=SQLITE_PRAGMAS, timeout=15)
    db.initialize(database)
