"""The Huey instance. Its settings come from the environment at import time, because the
consumer (`huey_consumer jobs.huey`) imports this module without any Flask app.

`BOOKBRIDGE_QUEUE_URL=redis://host:6379/0` puts the queue (and the locks of jobs/leases.py)
in Redis, for several worker processes or machines; unset, the queue is a SQLite file in
the data directory, for one worker process.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

from huey import RedisHuey, SqliteHuey

import config
from services import i18n
from services.i18n import stored_message

NAME = "bookbridge"
ACCEPTED_SCHEMES = ("redis", "rediss", "unix")


class QueueConfigurationError(RuntimeError):
    """BOOKBRIDGE_QUEUE_URL cannot be used; the message says what is accepted."""

    def __str__(self) -> str:
        return i18n.in_words(self.args[0]) if self.args else ""


def _queue_url() -> str:
    url = os.environ.get("BOOKBRIDGE_QUEUE_URL", "").strip()
    scheme = urlsplit(url).scheme.lower() if url else ""
    if url and scheme not in ACCEPTED_SCHEMES:
        # Only the scheme is quoted: the rest of the URL may hold a password.
        raise QueueConfigurationError(stored_message(
            "BOOKBRIDGE_QUEUE_URL starts with %(scheme)s, which Bookbridge cannot use as a "
            "queue. Give a Redis URL (redis://host:6379/0, rediss:// for TLS, or "
            "unix:///path/redis.sock), or unset it to keep the queue in a SQLite file in the "
            "data directory.", scheme=scheme + "://" if scheme else "no scheme"))
    return url


def lock_ttl_seconds() -> float:
    """How long a lock outlives a holder that stopped renewing it (a killed process)."""
    return float(os.environ.get("BOOKBRIDGE_LOCK_TTL") or 90)


def _make_huey():
    if os.environ.get("BOOKBRIDGE_HUEY_IMMEDIATE", "").lower() in {"1", "true", "yes"}:
        # Tests run tasks in-process and create no queue file.
        return SqliteHuey(NAME, immediate=True)
    url = _queue_url()
    if url:
        return RedisHuey(NAME, url=url, utc=True)
    # The queue holds task arguments: only the service's user may read it (0700 / 0600).
    data_dir = Path(os.environ.get("BOOKBRIDGE_DATA_DIR") or "data").resolve()
    config.keep_new_files_private()
    data_dir.mkdir(parents=True, exist_ok=True)
    queue = SqliteHuey(NAME, filename=str(data_dir / "queue.db"), utc=True)
    config.make_data_private(data_dir)
    return queue


huey = _make_huey()
