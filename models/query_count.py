"""SQL statements per request, counted where peewee runs them (off unless COUNT_QUERIES).

`install(database)` wraps that database's `execute_sql`, which every query, save and
transaction statement of peewee goes through. While a `Tally` is open in the current thread
(`start()` at the beginning of a request, `stop()` at its end), each statement adds one to
it, with the time SQL took: running the statement and stepping through its rows as they
are fetched, since SQLite finds the rows of a long list while they are read, not when the
statement starts. With no tally open (the worker, CLI commands) a statement costs one
context-variable read more; with the setting off nothing is wrapped at all.

Used by `create_app` for the `X-Query-Count` and `X-Query-Time-Ms` response headers, which
`python -m bench.scale` and tests/test_query_counts.py read.
"""

import contextvars
import time

TRUE_WORDS = {"1", "true", "yes", "on"}

_tally = contextvars.ContextVar("query_tally", default=None)


class Tally:
    """Statements run and seconds of SQL, for one request."""

    __slots__ = ("count", "seconds")

    def __init__(self):
        self.count = 0
        self.seconds = 0.0

    @property
    def milliseconds(self) -> float:
        return self.seconds * 1000


def enabled(setting) -> bool:
    """The COUNT_QUERIES setting, given as a boolean or as environment text ("1", "yes")."""
    if isinstance(setting, str):
        return setting.strip().lower() in TRUE_WORDS
    return bool(setting)


def start() -> Tally:
    tally = Tally()
    _tally.set(tally)
    return tally


def current() -> Tally | None:
    return _tally.get()


def stop() -> None:
    _tally.set(None)


def install(database) -> None:
    """Count the statements `database` runs while a tally is open (once per database)."""
    if getattr(database, "_query_count_installed", False):
        return
    run = database.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        tally = _tally.get()
        if tally is None:
            return run(sql, params, *args, **kwargs)
        started = time.perf_counter()
        try:
            cursor = run(sql, params, *args, **kwargs)
        finally:
            tally.count += 1
            tally.seconds += time.perf_counter() - started
        return _TimedCursor(cursor, tally)

    database.execute_sql = execute_sql
    database._query_count_installed = True


class _TimedCursor:
    """A DB-API cursor whose row fetches add their time to the tally; the rest is the
    cursor's own (description, rowcount, lastrowid, close)."""

    __slots__ = ("_cursor", "_tally")

    def __init__(self, cursor, tally: Tally):
        self._cursor = cursor
        self._tally = tally

    def _timed(self, fetch, *args):
        started = time.perf_counter()
        try:
            return fetch(*args)
        finally:
            self._tally.seconds += time.perf_counter() - started

    def fetchone(self):
        return self._timed(self._cursor.fetchone)

    def fetchmany(self, *args):
        return self._timed(self._cursor.fetchmany, *args)

    def fetchall(self):
        return self._timed(self._cursor.fetchall)

    def __iter__(self):
        return self

    def __next__(self):
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def __getattr__(self, name):
        return getattr(self._cursor, name)
