"""Locks that a dead process cannot hold for ever: leases in the queue's storage.

A lease has a holder (this_worker(): host, pid, start) and an expiry. The process that
holds one renews it every third of its TTL from a heartbeat thread, so a history import
can hold its run lock for an hour; a process killed with -9 stops renewing, and its lease
lapses within LOCK_TTL seconds (BOOKBRIDGE_LOCK_TTL, default 90). A holder on this machine
whose process is gone is known dead at once: its lease is taken over without waiting,
which is what the consumer's -f (flush every lock at start) used to do, but without
wiping the locks of another live worker.

The storage is the queue's: Redis (SET NX PX, compare-and-delete scripts) when the queue
is in Redis, a `lease` table in the SQLite queue file, or a dict in immediate mode (tests).
"""

import logging
import os
import socket
import threading
import time

from jobs.queue import huey, lock_ttl_seconds
from services.jobs import this_worker

log = logging.getLogger(__name__)


def holder_is_gone(holder: str) -> bool:
    """True when `holder` ("host:pid:start") is a process of this machine that has ended
    (or whose pid a new process reuses). Holders elsewhere are judged by the TTL alone."""
    host, _, rest = holder.partition(":")
    if host != socket.gethostname() or holder == this_worker():
        return False
    try:
        pid = int(rest.partition(":")[0])
    except ValueError:
        return False
    if pid == os.getpid():
        return True  # our pid, reused after a restart: the old process is gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _now() -> float:
    """Expiry times of the SQLite and in-memory leases: the real wall clock, never the
    shifted `clock` (a lease is a duration agreed between processes, which need not share
    an offset; Redis leases expire by Redis's own clock)."""
    return time.time()


# Storages ---------------------------------------------------------------------------------
# Each answers four questions atomically: take (if free, lapsed, or held by `dead_token`),
# renew (if still ours), give back (if still ours), holder (token and holder, if unlapsed).

class MemoryLeases:
    def __init__(self):
        self._rows: dict[str, tuple[str, str, float]] = {}
        self._guard = threading.Lock()

    def take(self, key, token, holder, ttl, dead_token=None) -> bool:
        with self._guard:
            row = self._rows.get(key)
            if row and row[2] > _now() and row[0] != dead_token:
                return False
            self._rows[key] = (token, holder, _now() + ttl)
            return True

    def renew(self, key, token, ttl) -> bool:
        with self._guard:
            row = self._rows.get(key)
            if not row or row[0] != token:
                return False
            self._rows[key] = (token, row[1], _now() + ttl)
            return True

    def give_back(self, key, token) -> None:
        with self._guard:
            if self._rows.get(key, ("",))[0] == token:
                del self._rows[key]

    def holder(self, key) -> tuple[str, str] | None:
        row = self._rows.get(key)
        return (row[0], row[1]) if row and row[2] > _now() else None


class SqliteLeases:
    """A table of its own in the queue file; huey's `begin exclusive` makes each statement
    group atomic across the web and worker processes."""

    def __init__(self, storage):
        self.storage = storage
        storage.sql("create table if not exists lease (key text primary key, token text not "
                    "null, holder text not null, expires real not null)", commit=True)

    def take(self, key, token, holder, ttl, dead_token=None) -> bool:
        now = _now()
        with self.storage.db(commit=True) as cursor:
            cursor.execute(
                "insert into lease (key, token, holder, expires) values (?, ?, ?, ?) "
                "on conflict (key) do update set token = excluded.token, holder = "
                "excluded.holder, expires = excluded.expires "
                "where lease.expires <= ? or lease.token = ?",
                (key, token, holder, now + ttl, now, dead_token or ""))
            return cursor.rowcount == 1

    def renew(self, key, token, ttl) -> bool:
        with self.storage.db(commit=True) as cursor:
            cursor.execute("update lease set expires = ? where key = ? and token = ?",
                           (_now() + ttl, key, token))
            return cursor.rowcount == 1

    def give_back(self, key, token) -> None:
        self.storage.sql("delete from lease where key = ? and token = ?", (key, token),
                         commit=True)

    def holder(self, key) -> tuple[str, str] | None:
        rows = self.storage.sql("select token, holder from lease where key = ? and "
                                "expires > ?", (key, _now()), results=True)
        return tuple(rows[0]) if rows else None


# KEYS[1] the lease; ARGV[1] the token it must still hold; ARGV[2] new TTL in ms (renew).
_RENEW_LUA = """
local value = redis.call('get', KEYS[1])
if value and string.sub(value, 1, string.len(ARGV[1])) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_GIVE_BACK_LUA = """
local value = redis.call('get', KEYS[1])
if value and string.sub(value, 1, string.len(ARGV[1])) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLeases:
    """One key per lease holding "token holder", expired by Redis itself."""

    def __init__(self, conn):
        self.conn = conn
        self._renew = conn.register_script(_RENEW_LUA)
        self._give_back = conn.register_script(_GIVE_BACK_LUA)

    def take(self, key, token, holder, ttl, dead_token=None) -> bool:
        if dead_token:
            self._give_back(keys=[key], args=[dead_token])
        return bool(self.conn.set(key, f"{token} {holder}", nx=True, px=int(ttl * 1000)))

    def renew(self, key, token, ttl) -> bool:
        return bool(self._renew(keys=[key], args=[token, int(ttl * 1000)]))

    def give_back(self, key, token) -> None:
        self._give_back(keys=[key], args=[token])

    def holder(self, key) -> tuple[str, str] | None:
        value = self.conn.get(key)
        if value is None:
            return None
        token, _, holder = value.decode().partition(" ")
        return token, holder


def _storage_leases():
    storage = huey.storage
    if hasattr(storage, "conn") and hasattr(storage.conn, "set") and hasattr(storage, "pool"):
        return RedisLeases(storage.conn)
    if hasattr(storage, "db") and hasattr(storage, "sql"):
        return SqliteLeases(storage)
    return MemoryLeases()


STORE = _storage_leases()


# Leases and their heartbeat ---------------------------------------------------------------

class Lease:
    """A named lock: `take(token)` without waiting, `give_back(token)`, `is_held()`."""

    def __init__(self, name: str, ttl: float | None = None, store=None):
        self.name = name
        self.key = f"{huey.name}.lease.{name}"
        self.ttl = ttl if ttl is not None else lock_ttl_seconds()
        self.store = store or STORE  # another storage only to look at it (tests)

    def take(self, token: str) -> bool:
        if not self.store.take(self.key, token, this_worker(), self.ttl):
            current = self.store.holder(self.key)
            if current is None or not holder_is_gone(current[1]):
                return False
            log.warning("lock %s was held by %s, which has stopped; taking it over",
                        self.name, current[1])
            if not self.store.take(self.key, token, this_worker(), self.ttl,
                                   dead_token=current[0]):
                return False
        HEARTBEAT.keep(self, token)
        return True

    def give_back(self, token: str) -> None:
        HEARTBEAT.drop(self, token)
        self.store.give_back(self.key, token)

    def renew(self, token: str) -> bool:
        return self.store.renew(self.key, token, self.ttl)

    def holder_token(self) -> str | None:
        current = self.store.holder(self.key)
        return current[0] if current else None

    def is_held(self) -> bool:
        return self.store.holder(self.key) is not None


class _Heartbeat:
    """Renews, every third of their TTL, the leases this process holds. The thread starts
    with the first lease taken in a process (after gunicorn's fork, not before it)."""

    def __init__(self):
        self._held: dict[tuple[str, str], Lease] = {}
        self._guard = threading.Lock()
        self._thread_pid = None

    def keep(self, lease: Lease, token: str) -> None:
        with self._guard:
            self._held[(lease.key, token)] = lease
            if self._thread_pid != os.getpid():
                self._thread_pid = os.getpid()
                threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True).start()

    def drop(self, lease: Lease, token: str) -> None:
        with self._guard:
            self._held.pop((lease.key, token), None)

    def _beat(self) -> None:
        while True:
            with self._guard:
                held = list(self._held.items())
            period = min([lease.ttl for _, lease in held] or [lock_ttl_seconds()]) / 3
            time.sleep(max(period, 0.2))
            for (key, token), lease in held:
                try:
                    if not lease.renew(token) and (key, token) in self._held:
                        log.warning("lock %s lapsed before it was renewed (the process was "
                                    "paused longer than %.0f s)", lease.name, lease.ttl)
                        self.drop(lease, token)
                except Exception:  # noqa: BLE001 — the queue is down: try again next beat
                    log.warning("could not renew lock %s; trying again", lease.name,
                                exc_info=True)


HEARTBEAT = _Heartbeat()
