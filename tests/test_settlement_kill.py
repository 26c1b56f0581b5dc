"""A worker killed with -9 while Zoho categorises the line: the retry finds the expense and
records nothing twice (issue 8, item 9).

Run as a module (`python -m tests.test_settlement_kill SETTLEMENT_ID`) this file is the
worker the test kills: it starts as the real worker does and settles one match.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# As a worker process, tasks run in-process (set before anything imports the queue; the
# test session sets the same).
os.environ["BOOKBRIDGE_HUEY_IMMEDIATE"] = "1"

from jobs.matching import settle_match  # noqa: E402
from models import Document, DocumentStatus, Settlement, SettlementState, db  # noqa: E402
from services import settlement  # noqa: E402
from tests.test_bank_reliability import _worker_env  # noqa: E402
from tests.test_settlement import (  # noqa: E402, F401  (fixtures, helpers)
    CAFE_TOTAL,
    account,
    cafe_receipt,
    cafe_rule,
    calls,
    connected,
    connected_org,
    paid,
    zoho_connected,
    zoho_line,
)
from tests.zoho_flow import zoho_as_user  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CATEGORIZE = "POST /banktransactions/uncategorized/{transaction_id}/categorize/expenses"


def _worker(settlement_id: int) -> None:
    from jobs import runtime

    runtime.current()
    settle_match(settlement_id)
    print("finished", flush=True)


def _state(settlement_id: int) -> SettlementState:
    with db.connection_context():
        return Settlement.get_by_id(settlement_id).state


def test_a_kill_during_the_zoho_call_then_the_retry_records_one_expense(  # noqa: F811
        app, client, account, sandbox, connected_org, admin):  # noqa: F811
    cafe_rule(connected_org)
    document = cafe_receipt(client)
    line = paid(client, sandbox, account, CAFE_TOTAL, "CAFE RICHARD")
    with db.atomic():  # accepted, not yet queued: the killed worker takes it up
        accepted = settlement.accept(line, [document], admin)
    sandbox.admin("POST", "/sandbox/stats/reset")
    # Zoho takes its time to categorise: the worker is killed while the call is in flight.
    sandbox.admin("POST", "/sandbox/faults", latency_ms=1500, fault_path=CATEGORIZE)
    try:
        worker = subprocess.Popen([sys.executable, "-m", "tests.test_settlement_kill",
                                   str(accepted.id)], cwd=ROOT, env=_worker_env(app),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while _state(accepted.id) is not SettlementState.SETTLING:
            assert worker.poll() is None, worker.stdout.read()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.3)  # the categorisation is on its way to Zoho
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        assert worker.returncode == -signal.SIGKILL
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")
    while sandbox.admin("GET", "/sandbox/in-flight")["calls"]:  # Zoho finishes the write
        time.sleep(0.05)
    assert _state(accepted.id) is SettlementState.SETTLING  # the ledger says: look it up

    settle_match(accepted.id)  # the restarted worker (or the minute's safety net)

    accepted = Settlement.get_by_id(accepted.id)
    assert accepted.state is SettlementState.SETTLED
    assert calls(sandbox, CATEGORIZE) == 1
    expenses = zoho_as_user(sandbox).get("/expenses", params={
        "reference_number": "2026-0457"})["expenses"]
    assert [e["expense_id"] for e in expenses] == [accepted.zoho_record_id]
    assert zoho_line(sandbox, line)["expense_id"] == accepted.zoho_record_id
    document = Document.get_by_id(document.id)
    assert document.status is DocumentStatus.PUBLISHED
    expense = zoho_as_user(sandbox).get(f"/expenses/{document.zoho_id}")["expense"]
    assert expense["expense_receipt_name"] == document.filename


if __name__ == "__main__":
    _worker(int(sys.argv[1]))
