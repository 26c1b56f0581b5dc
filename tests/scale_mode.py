"""The several-workers mode for tests: a PostgreSQL database and a Redis database of the
test's own, real `huey_consumer` processes and real gunicorn replicas on them.

Each test gets a new PostgreSQL database (migrated by create_app, dropped at the end) and a
Redis database number nobody else uses (claimed with a key, flushed at the end). Without a
PostgreSQL or Redis server the tests are skipped, saying which is missing, unless
BOOKBRIDGE_REQUIRE_POSTGRES=1 (CI), which makes that a failure.
"""

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import create_app
from tests.conftest import sandbox_config

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REDIS_SERVER = os.environ.get("BOOKBRIDGE_TEST_REDIS", "redis://127.0.0.1:6379")
# A killed worker's locks lapse after this many seconds in these tests (90 in production).
LOCK_TTL = 3
_CLAIM = "bookbridge-test-claim"


def _unavailable(reason: str):
    if os.environ.get("BOOKBRIDGE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (BOOKBRIDGE_REQUIRE_POSTGRES=1 requires it)")
    pytest.skip(f"{reason}: the several-workers tests need PostgreSQL and Redis")


@pytest.fixture
def postgres_url(new_postgres):
    """A new, empty PostgreSQL database of the test's own (create_app migrates it). A test
    module using it imports `tests.postgres_db.new_postgres_fixture` too."""
    return new_postgres()


@pytest.fixture
def redis_url():
    import redis

    numbers = list(range(1, 16))
    random.shuffle(numbers)
    try:
        redis.Redis.from_url(REDIS_SERVER, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        _unavailable(f"no Redis server at {REDIS_SERVER} ({error})")
    for number in numbers:
        conn = redis.Redis.from_url(f"{REDIS_SERVER}/{number}")
        if conn.set(_CLAIM, "1", nx=True, ex=3600) and conn.dbsize() == 1:
            break
        conn.close()
    else:
        _unavailable("every Redis database number (1-15) is in use")
    try:
        yield f"{REDIS_SERVER}/{number}"
    finally:
        conn.flushdb()
        conn.close()


@pytest.fixture
def scale_app(tmp_path, fresh_sandbox, postgres_url, redis_url):
    """The app of the test process on the test's PostgreSQL database (tasks it enqueues run
    in-process, as in every test; the workers are separate processes on Redis)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    app = create_app({
        "TESTING": True,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": postgres_url,
        "QUEUE_URL": redis_url,
        **sandbox_config(fresh_sandbox),
    })
    yield app


def process_env(app) -> dict:
    """The environment of a worker or web replica: the app's database, queue and sandbox,
    the pinned clock, short lock TTLs."""
    import clock

    env = {key: value for key, value in os.environ.items()
           if not key.startswith("BOOKBRIDGE_") or key == clock.OFFSET_VARIABLE}
    for key in ("DATA_DIR", "DATABASE_URL", "QUEUE_URL", "ZOHO_CLIENT_ID",
                "ZOHO_CLIENT_SECRET", "ZOHO_REDIRECT_URI", "ZOHO_ACCOUNTS_URL",
                "QONTO_API_URL", "ZOHO_CALLS_PER_MINUTE", "ZOHO_MAX_QUOTA_WAIT",
                "ZOHO_RETRY_DELAY", "QONTO_RETRY_DELAY", "BANK_SETTLE_AFTER"):
        env[f"BOOKBRIDGE_{key}"] = str(app.config[key])
    env["BOOKBRIDGE_LOCK_TTL"] = str(LOCK_TTL)
    return env


class Processes:
    """Worker and web processes of one test, each logging into its own file; all are
    stopped (SIGKILL if they linger) at the end of the test."""

    def __init__(self, env: dict, log_dir: Path):
        self.env, self.log_dir = env, log_dir
        self.running: list[subprocess.Popen] = []
        self.started = 0

    def _start(self, command: list[str], label: str) -> subprocess.Popen:
        self.started += 1
        log = open(self.log_dir / f"{label}-{self.started}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT)
        process.log_path = log.name
        log.close()
        self.running.append(process)
        return process

    def worker(self) -> subprocess.Popen:
        """`huey_consumer jobs.huey -w 2 -k thread`, as in production (no -f)."""
        return self._start([str(BIN / "huey_consumer"), "jobs.huey", "-w", "2", "-k",
                            "thread"], "worker")

    def web(self, port: int) -> subprocess.Popen:
        """A gunicorn replica of its own (one process, two threads) on `port`."""
        return self._start([str(BIN / "gunicorn"), "--workers", "1", "--threads", "2",
                            "--bind", f"127.0.0.1:{port}", "app:create_app()"], "web")

    def kill(self, process: subprocess.Popen) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.running.remove(process)

    def logs(self) -> str:
        return "\n".join(Path(p.log_path).read_text(errors="replace")[-3000:]
                         for p in self.running)

    def stop_all(self) -> None:
        for process in self.running:
            process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def processes(scale_app, tmp_path):
    started = Processes(process_env(scale_app), tmp_path)
    yield started
    started.stop_all()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, seconds: float, what: str, poll: float = 0.05, state=None):
    """`condition()`'s first true value within `seconds`; else fails, with `state()`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, (
            f"timed out waiting for {what}" + (f"\n{state()}" if state else ""))
        time.sleep(poll)


def enqueue(redis_url: str, task, *args) -> None:
    """Put a task on the workers' Redis queue, as a web replica does."""
    from huey.storage import RedisStorage

    from jobs.queue import huey

    RedisStorage(huey.name, url=redis_url).enqueue(huey.serialize_task(task.s(*args)))
