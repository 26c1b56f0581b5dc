"""The Zoho writer lock is held per write, not per run: a person publishes while a history
import runs, and both end exactly (each Qonto line once in Zoho, each document once)."""

import datetime
import threading
import time

import pytest
from huey.exceptions import TaskLockedException

import clock
from jobs.bank import BANK_RUN_LOCK, sync_bank
from jobs.writer import WRITER_LOCK, zoho_write
from models import Document, DocumentStatus, Job, JobStatus, PushBatch, ZohoConnection, db
from services import bank_sync
from tests.bank_flow import connect_qonto
from tests.test_bank_sync import assert_zoho_holds_exactly_qonto, zoho_connected  # noqa: F401
from tests.test_documents import _publish
from tests.test_publish_requests import _ready_bills
from tests.zoho_flow import zoho_as_user


def _in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def _wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _batches_sent() -> int:
    with db.connection_context():
        return PushBatch.select().where(PushBatch.state == "confirmed").count()


def test_a_person_publishes_while_a_history_import_runs(client, zoho_connected, sandbox):  # noqa: F811
    bills = _ready_bills(client, ZohoConnection.current())
    connect_qonto(client, sandbox)  # the first sync: today's lines only
    since = clock.now().date() - datetime.timedelta(days=730)
    job, created = bank_sync.request("history", history_start=since)
    assert created
    # Each statement import takes Zoho 0.4 s, so the import lasts well beyond a publish.
    sandbox.admin("POST", "/sandbox/faults", latency_ms=400, fault_path="POST /bankstatements")
    try:
        importing = _in_thread(lambda: sync_bank(job.id))  # the worker's thread
        _wait_for(lambda: _batches_sent() >= 1, 60)  # the import is pushing to Zoho
        started = time.monotonic()
        pages = [_publish(client, bill).text for bill in bills]
        publishing_took = time.monotonic() - started
        sent_when_published = _batches_sent()
        assert importing.is_alive()  # published during the import, not after it
        importing.join(timeout=300)
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")
    assert all("Published as Bill" in page for page in pages), pages
    assert publishing_took < 10
    assert _batches_sent() > sent_when_published  # the import went on after the publish
    assert Job.get_by_id(job.id).status is JobStatus.SUCCEEDED
    assert assert_zoho_holds_exactly_qonto(sandbox, since) > 2000  # each line once
    zoho = zoho_as_user(sandbox)
    for bill in bills:
        bill = Document.get_by_id(bill.id)
        assert bill.status is DocumentStatus.PUBLISHED
        found = zoho.get("/bills", params={"bill_number": bill.number})["bills"]
        assert len(found) == 1  # each document once


def test_a_waiter_gets_the_next_turn_from_a_holder_that_takes_the_lock_again(app):
    """A sync takes the lock again milliseconds after each write: a waiter still gets in."""
    stop = threading.Event()

    def busy_writer():
        while not stop.is_set():
            with zoho_write():
                time.sleep(0.05)  # one write

    writer = _in_thread(busy_writer)
    try:
        _wait_for(WRITER_LOCK.is_locked, 5)
        started = time.monotonic()
        with WRITER_LOCK:  # what a publish does (waits up to WEB_WAIT_SECONDS)
            waited = time.monotonic() - started
    finally:
        stop.set()
        writer.join(timeout=10)
    # A turn is one write (50 ms) plus a poll; starved, it would wait its whole 15 s bound.
    assert waited < 5


def test_a_long_holder_makes_a_waiter_give_up_after_its_bound(app):
    with zoho_write():  # e.g. a list refresh, which holds the lock for its whole run
        started = time.monotonic()
        with pytest.raises(TaskLockedException):
            WRITER_LOCK.acquire(wait=0.3)
        assert 0.3 <= time.monotonic() - started < 2
    with WRITER_LOCK:  # free again, and no stale claim on the next turn blocks it
        pass


def test_a_second_bank_run_waits_for_the_one_under_way(client, zoho_connected, sandbox):  # noqa: F811
    """Only the writer lock is per write: bank runs still follow each other."""
    connect_qonto(client, sandbox)
    job, created = bank_sync.request("button")
    assert created
    with BANK_RUN_LOCK.held(wait=0):  # a run under way in another worker thread
        sync_bank(job.id)
    job = Job.get_by_id(job.id)
    assert job.status is JobStatus.WAITING and "starts when it ends" in job.message
    assert not WRITER_LOCK.is_locked()  # publishing was never held up by the waiting run


def test_the_same_job_queued_twice_leaves_the_running_one_saying_running(
        client, zoho_connected, sandbox):  # noqa: F811
    """With several workers a job's task can be taken twice (a resume and a retry): the
    second finds the run lock held and must not turn the banner of the run to "waiting"."""
    connect_qonto(client, sandbox)
    job, created = bank_sync.request("button")
    assert created
    Job.update(status=JobStatus.RUNNING, step="Compte principal: fetching").where(
        Job.id == job.id).execute()
    with BANK_RUN_LOCK.held(wait=0):  # the run under way in another worker
        with pytest.raises(TaskLockedException):
            sync_bank.call_local(job.id)
    job = Job.get_by_id(job.id)
    assert job.status is JobStatus.RUNNING and "starts when it ends" not in job.message
