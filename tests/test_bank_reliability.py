"""Crashes and faults: a worker killed at random points of an import still ends exactly."""

import datetime
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import clock
from models import BankTransaction, Job, PushBatch, PushState, QontoAccount, SyncRun
from services import bank_sync, i18n
from tests.bank_flow import connect_qonto
from tests.test_bank_sync import assert_zoho_holds_exactly_qonto, zoho_connected  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


def _worker_env(app) -> dict:
    env = {key: value for key, value in os.environ.items()  # the pinned clock is kept
           if not key.startswith("BOOKBRIDGE_") or key == clock.OFFSET_VARIABLE}
    for key in ("DATA_DIR", "ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REDIRECT_URI",
                "ZOHO_ACCOUNTS_URL", "QONTO_API_URL", "ZOHO_CALLS_PER_MINUTE",
                "ZOHO_MAX_QUOTA_WAIT", "ZOHO_RETRY_DELAY", "QONTO_RETRY_DELAY",
                "BANK_SETTLE_AFTER"):
        env[f"BOOKBRIDGE_{key}"] = str(app.config[key])
    if app.config.get("DATABASE_URL"):  # the PostgreSQL pass: the test's own database
        env["BOOKBRIDGE_DATABASE_URL"] = app.config["DATABASE_URL"]
    return env


def _step_of_running_job() -> str:
    job = Job.select().where(Job.kind == "bank_sync").order_by(Job.id.desc()).first()
    return job.step if job and job.is_active else ""


def _stored(message: str) -> tuple[str, dict]:
    """A stored message's English id (a plural's singular) and values."""
    english, values = json.loads(message[len(i18n.STORED_PREFIX):])
    return (english[0] if isinstance(english, list) else english), values


def _phase(step: str) -> tuple[str, str] | None:
    """("Compte courant", "pushing") from the stored "%(account)s: %(step)s" whose step is
    "pushing %(num)s lines to Zoho Books"; None for any other step ("Resuming: the worker
    stopped…": no phase yet)."""
    if not i18n.is_stored(step):
        return None
    english, values = _stored(step)
    if english != "%(account)s: %(step)s":
        return None
    return values["account"], _stored(values["step"])[0].split(" ")[0]


def _start_worker(env):
    return subprocess.Popen([sys.executable, "-m", "tests.bank_worker"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _kill_at_next_new_phase(worker, killed: set, rng) -> bool:
    """Kill the worker shortly after the sync reaches a phase not killed in before."""
    deadline = time.monotonic() + 60
    while worker.poll() is None and time.monotonic() < deadline:
        phase = _phase(_step_of_running_job())
        if phase and phase not in killed:
            time.sleep(rng.uniform(0, 0.15))  # somewhere inside that phase
            if worker.poll() is not None:
                return False
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            killed.add(phase)
            return True
        time.sleep(0.01)
    return False


def test_history_asked_once_survives_a_kill_at_every_step(app, client, zoho_connected,  # noqa: F811
                                                          sandbox):
    """The import is asked for once; the worker is killed in every phase of every account
    (linking, history, fetching, pushing, checking), and only "Sync now" follows."""
    connect_qonto(client, sandbox)  # no history yet: the first sync starts on today's date
    since = clock.now().date() - datetime.timedelta(days=730)
    bank_sync.request("history", history_start=since)  # what "Import history" stores
    # Slow Zoho and Qonto down a little so that each phase lasts long enough to be hit
    # (a small account's import is a few Qonto pages).
    sandbox.admin("POST", "/sandbox/faults", latency_ms=60, qonto_latency_ms=40)
    rng = random.Random(20261130)
    env, killed, outputs = _worker_env(app), set(), []
    try:
        for _ in range(40):
            worker = _start_worker(env)
            if _kill_at_next_new_phase(worker, killed, rng):
                continue
            output, _ = worker.communicate(timeout=300)
            outputs.append(output)
            assert worker.returncode == 0, output
            if "finished succeeded" in output and not QontoAccount.select().where(
                    QontoAccount.history_wanted_from.is_null(False)).exists():
                break
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")
    names = {account.name for account in QontoAccount.select()}
    assert {name for name, _ in killed} >= names, killed  # every account was hit...
    for phase in ("importing", "fetching", "pushing"):  # ...in each phase of its import
        assert sum(p[1] == phase for p in killed) == 3, killed
    assert not BankTransaction.select().where(
        BankTransaction.push_state.in_([PushState.READY, PushState.SENDING])).exists()
    assert not PushBatch.select().where(PushBatch.state == "prepared").exists()
    assert assert_zoho_holds_exactly_qonto(sandbox, since) > 2000
    assert all(account.history_start == since for account in QontoAccount.select())
    # Nothing is left "running": the killed runs say they were interrupted.
    assert not Job.select().where(Job.kind == "bank_sync",
                                  Job.status.in_(["running", "queued", "waiting"])).exists()
    assert not SyncRun.select().where(SyncRun.status == "running").exists()
    assert {run.status for run in SyncRun.select()} == {"interrupted", "succeeded"}
    assert SyncRun.select().where(SyncRun.status == "interrupted").count() >= 10
