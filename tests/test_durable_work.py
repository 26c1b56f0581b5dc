"""Requested work is durable: a history import asked for once is done to the end whatever
fails or dies in between, held-back lines book their own follow-up, a restarted worker
takes over a dead one's job at once, and workers start without racing for the database."""

import datetime
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import clock
from jobs.bank import sync_bank, sync_bank_when_due
from jobs.recovery import resume_interrupted_jobs
from models import (
    BankTransaction,
    Job,
    JobStatus,
    PushBatch,
    PushState,
    QontoAccount,
    QontoConnection,
    SyncRun,
    utcnow,
)
from services import bank_sync, i18n, jobs
from tests.bank_flow import connect_qonto, sync_now, zoho_lines
from tests.conftest import csrf_token
from tests.factories import shown_day
from tests.test_bank_sync import assert_zoho_holds_exactly_qonto, zoho_connected  # noqa: F401
from tests.zoho_flow import zoho_write_times_out

ROOT = Path(__file__).resolve().parent.parent


def _wanted() -> list[QontoAccount]:
    return list(QontoAccount.select().where(QontoAccount.history_wanted_from.is_null(False)))


@pytest.mark.calendar
def test_history_asked_once_is_finished_by_a_plain_sync_after_a_failed_run(
        client, zoho_connected, sandbox):  # noqa: F811
    connect_qonto(client, sandbox)
    since = clock.now().date() - datetime.timedelta(days=200)
    # Zoho Books is down for the statement import: the run fails after storing the history.
    sandbox.admin("POST", "/sandbox/faults", error_rate=1.0, fault_path="POST /bankstatements")
    try:
        client.post("/bank/history", data={"history_start": since.isoformat(),
                                           "csrf_token": csrf_token(client)})
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")
    assert jobs.latest("bank_sync").status in (JobStatus.WAITING, JobStatus.FAILED)
    assert len(_wanted()) == 3  # the request outlives the run that failed
    card = client.get("/connections/").text
    main = QontoAccount.select().order_by(QontoAccount.id).first()
    total = main.history_total
    assert total > 50
    assert f"History from {shown_day(since)}: {total:,} of {total:,} imported" in card

    sync_bank.call_local(jobs.latest("bank_sync").id)  # Huey's retry, a minute later
    sync_now(client)  # and a plain sync: no date given anywhere
    assert jobs.latest("bank_sync").status is JobStatus.SUCCEEDED
    assert not _wanted() and "imported</div>" not in client.get("/connections/").text
    assert all(account.history_start == since for account in QontoAccount.select())
    assert assert_zoho_holds_exactly_qonto(sandbox, since) > 150


def test_history_asked_during_a_sync_is_saved_and_run_after_it(client, zoho_connected,  # noqa: F811
                                                                sandbox):
    connect_qonto(client, sandbox)
    running = Job.create(kind="bank_sync", status=JobStatus.RUNNING, started_at=utcnow(),
                         heartbeat_at=utcnow(), worker=jobs.this_worker())
    since = clock.now().date() - datetime.timedelta(days=40)
    page = client.post("/bank/history", data={"history_start": since.isoformat(),
                                              "csrf_token": csrf_token(client)},
                       follow_redirects=True).text
    assert "is saved and runs right after it" in page
    assert f"History from {shown_day(since)}: waiting to start" in page
    assert {account.history_wanted_from for account in _wanted()} == {since}
    sync_bank.call_local(running.id)  # the run under way takes the request up
    assert not _wanted()
    assert assert_zoho_holds_exactly_qonto(sandbox, since) > 20


def test_history_start_before_2000_is_refused_with_a_message(client, zoho_connected, sandbox):  # noqa: F811
    connect_qonto(client, sandbox)
    page = client.post("/bank/history", data={"history_start": "1901-01-01",
                                              "csrf_token": csrf_token(client)},
                       follow_redirects=True)
    assert page.status_code == 200
    assert "Pick a start date from 1 Jan 2000 on" in page.text
    assert not _wanted()


@pytest.mark.calendar
def test_held_back_lines_book_their_own_follow_up(app, client, zoho_connected, sandbox):  # noqa: F811
    connect_qonto(client, sandbox)
    account = QontoAccount.select().order_by(QontoAccount.id).first()
    sandbox.admin("POST", "/sandbox/qonto/transactions", bank_account_id=account.qonto_id,
                  side="debit", amount_cents=3650, label="Café de la Gare", status="completed")
    app.config["BANK_SETTLE_AFTER"] = 180  # production: an unknown outcome waits 3 minutes
    with zoho_write_times_out(app, sandbox, "POST /bankstatements"):
        sync_now(client)
    sync_bank.call_local(jobs.latest("bank_sync").id)  # Huey's retry, straight away
    job = jobs.latest("bank_sync")
    assert job.status is JobStatus.SUCCEEDED
    with app.test_request_context():  # the outcome is a stored message: read it in English
        message = i18n.in_words(job.message)
    assert "1 line waits for Zoho Books to finish an earlier import" in message
    assert "A follow-up sync runs at" in message
    batch = PushBatch.get(PushBatch.state == "prepared")
    follow_up = QontoConnection.current().follow_up_at
    assert batch.created_at + datetime.timedelta(seconds=180) <= follow_up
    assert follow_up <= batch.created_at + datetime.timedelta(seconds=200)

    sync_bank_when_due.call_local()  # not due yet: nothing starts
    assert jobs.latest("bank_sync").id == job.id
    assert _cafe_lines(sandbox, account) == 1  # Zoho finished the late import meanwhile
    three_minutes = datetime.timedelta(seconds=190)  # ...and three minutes pass
    PushBatch.update(created_at=batch.created_at - three_minutes).execute()
    QontoConnection.update(follow_up_at=follow_up - three_minutes).execute()
    sync_bank_when_due.call_local()
    follow = jobs.latest("bank_sync")
    assert follow.trigger == "follow-up" and follow.status is JobStatus.SUCCEEDED
    assert QontoConnection.current().follow_up_at is None
    assert _cafe_lines(sandbox, account) == 1
    assert not PushBatch.select().where(PushBatch.state == "prepared").exists()


def _cafe_lines(sandbox, account) -> int:
    return sum("Café de la Gare" in line["description"] for line in zoho_lines(sandbox, account))


def _dead_pid() -> int:
    finished = subprocess.run(["true"], check=True)
    del finished
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_restarted_worker_takes_over_a_dead_workers_job_at_once(client, zoho_connected,  # noqa: F811
                                                                sandbox):
    connect_qonto(client, sandbox)
    since = clock.now().date() - datetime.timedelta(days=20)
    job, created = bank_sync.request("history", history_start=since)
    assert created
    host = jobs.this_worker().split(":")[0]
    dead = f"{host}:{_dead_pid()}:1"
    Job.update(status=JobStatus.RUNNING, started_at=utcnow(), heartbeat_at=utcnow(),
               worker=dead).where(Job.id == job.id).execute()
    left_running = SyncRun.create(job=job, trigger="history")
    # Seconds after the kill, "Sync now" is refused: the job looks alive...
    assert bank_sync.request("button") == (Job.get_by_id(job.id), False)
    resume_interrupted_jobs()  # ...until the restarted worker takes it over and runs it
    job = Job.get_by_id(job.id)
    assert job.status is JobStatus.SUCCEEDED and job.worker == jobs.this_worker()
    assert SyncRun.get_by_id(left_running.id).status == "interrupted"
    assert not _wanted()
    assert assert_zoho_holds_exactly_qonto(sandbox, since) > 5
    assert not BankTransaction.select().where(
        BankTransaction.push_state.in_([PushState.READY, PushState.SENDING])).exists()


def test_a_live_workers_job_is_left_alone(app):
    job = Job.create(kind="bank_sync", status=JobStatus.RUNNING, heartbeat_at=utcnow(),
                     worker=f"{jobs.this_worker().split(':')[0]}:1:1")  # pid 1 is alive
    assert job.id not in [found.id for found in jobs.interrupted_jobs()]


ENQUEUE_PERIODIC_TASKS = """
from app import create_app
create_app()  # applies the migrations, as the web process does before the worker starts
from jobs import bank, documents, intake, lists
for task in (documents.extract_documents_left_waiting, bank.sync_bank_when_due,
             intake.take_in_folder, lists.refresh_lists_when_due):
    task()  # queued now: the worker runs them the moment its threads start
"""


def test_worker_starts_repeatedly_without_racing_for_the_database(tmp_path,
                                                                   postgres_databases):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("BOOKBRIDGE_HUEY")}
    consumer = Path(sys.executable).parent / "huey_consumer"
    for attempt in range(3):
        env["BOOKBRIDGE_DATA_DIR"] = str(tmp_path / f"data{attempt}")
        if postgres_databases is not None:  # a new, empty database each time, as on SQLite
            env["BOOKBRIDGE_DATABASE_URL"] = postgres_databases.create(
                postgres_databases.new_name())
        subprocess.run([sys.executable, "-c", ENQUEUE_PERIODIC_TASKS], cwd=ROOT, env=env,
                       check=True, capture_output=True, timeout=60)
        worker = subprocess.Popen([str(consumer), "jobs.huey", "-w", "2", "-k", "thread", "-n"],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        output = _read_until(worker, lambda text: text.count("executed in") >= 4, seconds=60)
        assert "Traceback" not in output and "uninitialized" not in output, output
        assert output.count("executed in") >= 4, output


def _read_until(process, done, seconds: float) -> str:
    """The process's output until `done(output)` or the time is up; then it is stopped."""
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not done("".join(lines)):
        time.sleep(0.1)
    process.terminate()
    process.wait(timeout=30)
    reader.join(timeout=10)
    return "".join(lines)
