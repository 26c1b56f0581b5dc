"""Crashes and faults: a worker killed at random points of an import still ends exactly."""

import datetime
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from models import BankTransaction, Job, PushBatch, PushState
from tests.bank_flow import connect_qonto
from tests.test_bank_sync import assert_zoho_holds_exactly_qonto, zoho_connected  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
MIN_KILLS = 10


def _worker_env(app) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("BOOKBRIDGE_")}
    for key in ("DATA_DIR", "ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REDIRECT_URI",
                "ZOHO_ACCOUNTS_URL", "QONTO_API_URL", "ZOHO_CALLS_PER_MINUTE",
                "ZOHO_MAX_QUOTA_WAIT", "ZOHO_RETRY_DELAY", "QONTO_RETRY_DELAY",
                "BANK_SETTLE_AFTER"):
        env[f"BOOKBRIDGE_{key}"] = str(app.config[key])
    return env


def _progress() -> tuple[int, int, int]:
    """(stored, pushed, ledger batches): what the import has committed so far."""
    return (BankTransaction.select().count(),
            BankTransaction.select().where(BankTransaction.push_state == PushState.PUSHED)
            .count(),
            PushBatch.select().count())


def _wait_for_progress(worker, before, seconds=20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and worker.poll() is None:
        if _progress() != before:
            return
        time.sleep(0.02)


def test_worker_killed_ten_times_during_an_import_ends_exactly(app, client, zoho_connected,  # noqa: F811
                                                                sandbox):
    connect_qonto(client, sandbox)  # no history yet: the import is the killed worker's job
    since = datetime.date.today() - datetime.timedelta(days=730)
    # Slow Zoho down a little so that the kills land all along the import.
    sandbox.admin("POST", "/sandbox/faults", latency_ms=150)
    rng = random.Random(20261121)
    env = _worker_env(app)
    kills, finished = 0, False
    progress_at_kill = []  # (stored, pushed) after each kill: the kills spread over the import
    try:
        while not finished:
            worker = subprocess.Popen([sys.executable, "-m", "tests.bank_worker",
                                       since.isoformat()], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if kills < MIN_KILLS:
                # Kill a moment after the worker has made progress, so every kill lands
                # inside the import (storing pages, or between ledger and Zoho).
                _wait_for_progress(worker, _progress())
                time.sleep(rng.uniform(0, 0.3))
                if worker.poll() is None:
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
                    kills += 1
                    progress_at_kill.append(_progress())
                    continue
            output, _ = worker.communicate(timeout=300)
            assert worker.returncode == 0, output
            finished = "finished succeeded" in output
            assert finished or kills >= MIN_KILLS, output
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")
    assert kills >= MIN_KILLS
    assert len(set(progress_at_kill)) >= 4, progress_at_kill
    assert not BankTransaction.select().where(
        BankTransaction.push_state.in_([PushState.READY, PushState.SENDING])).exists()
    assert not PushBatch.select().where(PushBatch.state == "prepared").exists()
    assert assert_zoho_holds_exactly_qonto(sandbox, since) > 2000
    assert Job.select().where(Job.kind == "bank_sync", Job.status == "running").count() == 0
