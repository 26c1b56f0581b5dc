"""How long moving to PostgreSQL, and backing up and restoring there, take at two years of
history (bench.scale_state's LARGE: 100,000 bank lines, 10,000 documents, 91,000 activity
rows, 5,060 contacts), against the local PostgreSQL server:

    .venv/bin/python -m bench.move_database [--admin-url postgresql://postgres@127.0.0.1/postgres]

Prints one line per step: SQLite backup, move-database, PostgreSQL backup (pg_dump) and
restore (pg_restore) into a new database, each with its wall time and what it holds.
The databases it creates are dropped at the end.
"""

import argparse
import os
import secrets
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

os.environ.setdefault("BOOKBRIDGE_HUEY_IMMEDIATE", "1")  # no queue file: nothing to run

import psycopg2  # noqa: E402

from bench import scale_state  # noqa: E402
from models import MODELS, db, utcnow  # noqa: E402
from services import backup, move_database  # noqa: E402


def _admin(url: str, statement: str) -> None:
    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def _timed(label: str, action):
    started = time.perf_counter()
    result = action()
    print(f"{label:<40} {time.perf_counter() - started:7.1f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    arguments = parser.parse_args()
    names = [f"bbbench_{secrets.token_hex(4)}" for _ in range(2)]
    urls = [urlunparse(urlparse(arguments.admin_url)._replace(path="/" + name))
            for name in names]
    for name in names:
        _admin(arguments.admin_url, f'CREATE DATABASE "{name}"')
    from app import create_app

    try:
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            app, _ = _timed("build the LARGE state (SQLite)", lambda: scale_state.build(
                folder / "sqlite", scale_state.LARGE, {"DATABASE_URL": ""}))
            size = (folder / "sqlite" / "bookbridge.db").stat().st_size
            print(f"  SQLite file: {size / 2**20:.0f} MiB")
            _timed("backup on SQLite (online backup API)",
                   lambda: backup.create(app.config, db.obj, folder / "backup-sqlite"))
            outcome = _timed("move-database to PostgreSQL",
                             lambda: move_database.move(db.obj, urls[0], MODELS, utcnow()))
            rows = sum(count.postgresql for count in outcome.counts)
            print(f"  {rows:,} rows in {len(outcome.counts)} tables, every count verified")

            moved = create_app({"DATA_DIR": str(folder / "sqlite"), "DATABASE_URL": urls[0]})
            _timed("backup on PostgreSQL (pg_dump)",
                   lambda: backup.create(moved.config, db.obj, folder / "backup-pg"))
            dump = (folder / "backup-pg" / backup.PG_DUMP_NAME).stat().st_size
            print(f"  pg_dump custom format: {dump / 2**20:.0f} MiB")
            db.close()
            target = create_app({"DATA_DIR": str(folder / "restored"), "DATABASE_URL": urls[1]})
            _timed("restore on PostgreSQL (pg_restore)",
                   lambda: backup.restore(target.config, db.obj, folder / "backup-pg"))
            db.close()
    finally:
        for name in names:
            _admin(arguments.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
