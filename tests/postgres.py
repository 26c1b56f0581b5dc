"""PostgreSQL databases for the suite's PostgreSQL pass (`BOOKBRIDGE_TEST_POSTGRES` set).

Every database of a run is named `bbt_<started>_<random>_<worker>_<what>`: <started> is the
run's start in hex seconds, so a later run can tell the leftovers of a killed run by their
age, and the run id (<started>_<random>) keeps parallel runs and xdist workers apart.
Each worker migrates one template database once; each test gets `CREATE DATABASE ...
TEMPLATE` (a file copy, far cheaper than migrating) and drops it at teardown.
"""

import os
import re
import secrets
import time
from urllib.parse import urlparse, urlunparse

import psycopg2

ADMIN_URL_VARIABLE = "BOOKBRIDGE_TEST_POSTGRES"
RUN_ID_VARIABLE = "BOOKBRIDGE_TEST_RUN_ID"
PREFIX = "bbt_"
# A database of another run is a leftover once older than this: CI stops a run at 90 minutes.
STALE_AFTER_SECONDS = 3 * 3600
_STARTED = re.compile(r"^bbt_([0-9a-f]{8})_")


def admin_url() -> str:
    """The URL of a database to connect to for CREATE/DROP DATABASE; "" on the SQLite pass."""
    return os.environ.get(ADMIN_URL_VARIABLE, "")


def shown(url: str) -> str:
    """The URL without its password, fit for a report."""
    parts = urlparse(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(":" + parts.password + "@", ":***@")).geturl()


def new_run() -> str:
    """A new run id, made by the process that runs the tests (pytest, or xdist's controller)
    and inherited by its xdist workers through the environment. A pytest a test starts (the
    calendar runs) makes its own, so it never drops the databases of the run around it."""
    os.environ[RUN_ID_VARIABLE] = f"{int(time.time()):08x}_{secrets.token_hex(3)}"
    return os.environ[RUN_ID_VARIABLE]


def run_id() -> str:
    return os.environ.get(RUN_ID_VARIABLE) or new_run()


class Databases:
    """Create and drop this worker's databases through one admin connection."""

    def __init__(self, url: str):
        self.admin = url
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.prefix = f"{PREFIX}{run_id()}_{worker}_"
        self._count = 0
        self._connection = None

    def url(self, name: str) -> str:
        return urlunparse(urlparse(self.admin)._replace(path="/" + name))

    def new_name(self, what: str = "") -> str:
        self._count += 1
        return f"{self.prefix}{what or self._count}"

    def create(self, name: str, template: str | None = None) -> str:
        """An empty (or template-copied) database; its URL."""
        self._execute(f'CREATE DATABASE "{name}"'
                      + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def drop(self, name: str) -> None:
        # FORCE ends the connections a test left open (the app's, a killed worker's).
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_mine(self) -> None:
        """Every database this worker made (the end of its session)."""
        for name in self._names():
            if name.startswith(self.prefix):
                self.drop(name)
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def drop_run(self) -> None:
        """Every database of this run, whichever worker made it (the end of the run)."""
        for name in self._names():
            if name.startswith(f"{PREFIX}{run_id()}_"):
                self.drop(name)

    def drop_stale(self) -> list[str]:
        """The databases runs that died left behind (older than STALE_AFTER_SECONDS)."""
        dropped = []
        for name in self._names():
            started = _STARTED.match(name)
            if started and time.time() - int(started.group(1), 16) > STALE_AFTER_SECONDS:
                self.drop(name)
                dropped.append(name)
        return dropped

    def _names(self) -> list[str]:
        rows = self._execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                             (PREFIX.replace("_", r"\_") + "%",))
        return [name for (name,) in rows]

    def _execute(self, sql: str, parameters=()) -> list[tuple]:
        if self._connection is None or self._connection.closed:
            self._connection = psycopg2.connect(self.admin)
            self._connection.autocommit = True  # CREATE/DROP DATABASE refuse a transaction
        with self._connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchall() if cursor.description else []


def server_answers(url: str) -> bool:
    try:
        psycopg2.connect(url, connect_timeout=3).close()
        return True
    except psycopg2.OperationalError:
        return False


def plan(database, query) -> str:
    """PostgreSQL's plan of a query when it may neither scan a whole table nor sort: a
    "Sort" left in it means no index can give the rows in the query's order."""
    sql, params = query.sql()
    with database.atomic():
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            database.execute_sql(f"SET LOCAL {setting} = off")
        rows = database.execute_sql("EXPLAIN " + sql, params).fetchall()
    return "\n".join(row for (row,) in rows)
