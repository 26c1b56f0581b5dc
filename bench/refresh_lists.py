"""Benchmark: refreshing a large organisation's lists, and the Connections pages' server time.

    .venv/bin/python -m bench.refresh_lists [--contacts 5000 --accounts 1000 --items 500]

Runs the real app (temporary data directory, huey in immediate mode) against the sandbox
over real HTTP, and prints the figures quoted in README: Zoho calls per list (one per page
of 200 is the aim), SQL statements that write the lists (one batch per page), wall time of
a first and a second refresh, and p50/p95 server time of the pages with the lists cached.
"""

import argparse
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ["BOOKBRIDGE_HUEY_IMMEDIATE"] = "1"

from app import create_app  # noqa: E402
from models import Role, ZohoAccount, ZohoContact, ZohoItem, db  # noqa: E402
from services import jobs  # noqa: E402
from tests.factories import DEFAULT_PASSWORD, make_user  # noqa: E402
from tests.sandbox_server import start_sandbox  # noqa: E402
from tests.zoho_flow import connect  # noqa: E402

PAGES = ("/connections/", "/connections/settings/")


LIST_TABLES = ("zoho_account", "zoho_tax", "zoho_contact", "zoho_item", "zoho_currency",
               "zoho_bank_account")


class WriteCounter:
    """Counts the statements that write the cached lists (not job progress or budget)."""

    def __init__(self):
        self.writes = 0

    def __call__(self, sql: str):
        head = sql.lstrip()[:40].upper()
        if head.startswith(("INSERT", "UPDATE")) and any(
                f'"{table}"'.upper() in head for table in LIST_TABLES):
            self.writes += 1


def _instrument(database, counter: WriteCounter) -> None:
    original = database.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        counter(sql)
        return original(sql, params, *args, **kwargs)

    database.execute_sql = execute_sql


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200, help="page requests to time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir:
        sandbox = start_sandbox(Path(workdir) / "sandbox")
        try:
            run(args, sandbox, Path(workdir) / "data")
        finally:
            sandbox.stop()


def run(args, sandbox, data_dir: Path) -> None:
    app = create_app({
        "DATA_DIR": str(data_dir),
        "ZOHO_CLIENT_ID": sandbox.client_id, "ZOHO_CLIENT_SECRET": sandbox.client_secret,
        "ZOHO_REDIRECT_URI": "http://localhost/connections/zoho/callback",
        "ZOHO_ACCOUNTS_URL": sandbox.url,
        # Measure the work, not Zoho's per-minute pacing (which the README discusses).
        "ZOHO_CALLS_PER_MINUTE": 10_000,
    })
    client = app.test_client()
    make_user(email="bench@example.com", role=Role.ADMIN)
    org_id = sandbox.org_ids()[0]
    sandbox.admin("POST", f"/sandbox/orgs/{org_id}/limits", per_minute=10_000, daily=1_000_000)
    sandbox.admin("POST", f"/sandbox/orgs/{org_id}/seed", contacts=args.contacts,
                  accounts=args.accounts, items=args.items)
    _sign_in(client)
    counter = WriteCounter()
    _instrument(db.obj, counter)
    rows = {"contacts": ZohoContact, "accounts": ZohoAccount, "items": ZohoItem}
    for label in ("empty cache: the refresh that follows Connect", "lists already cached"):
        sandbox.admin("POST", "/sandbox/stats/reset")
        counter.writes = 0
        if label.startswith("empty"):
            connect(client)
        else:
            response = client.post("/connections/zoho/refresh",
                                   data={"csrf_token": _csrf(client)})
            assert response.status_code == 303, response.status_code
        job = jobs.latest("refresh_lists")
        elapsed = (job.finished_at - job.started_at).total_seconds()
        assert job.status.value == "succeeded", job.error
        calls = sandbox.admin("GET", f"/sandbox/stats?organization_id={org_id}")
        print(f"\nRefresh ({label}): {elapsed:.2f} s wall, {calls['total']} Zoho Books calls "
              f"to the organisation, {counter.writes} statements writing the cached lists "
              f"(one upsert per page, one 'gone from Zoho' mark per list)")
        print("| list | records | Zoho calls | pages of 200 |")
        print("|---|---|---|---|")
        for key, value in job.counts.items():
            path = _list_path(key)
            pages = max(1, math.ceil(value["fetched"] / 200))
            print(f"| {key} | {value['fetched']} | {calls['calls'].get(path, 0)} | {pages} |")
    for key, model in rows.items():
        print(f"cached {key}: {model.select().count()}")
    _time_pages(client, args.requests)


def _list_path(key: str) -> str:
    return {"accounts": "GET /chartofaccounts", "taxes": "GET /settings/taxes",
            "contacts": "GET /contacts", "items": "GET /items",
            "currencies": "GET /settings/currencies",
            "bank_accounts": "GET /bankaccounts"}[key]


def _time_pages(client, count: int) -> None:
    print("\n| page | p50 | p95 | requests |")
    print("|---|---|---|---|")
    for path in PAGES:
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        timings.sort()
        p95 = timings[int(0.95 * (len(timings) - 1))]
        print(f"| {path} | {statistics.median(timings):.1f} ms | {p95:.1f} ms | {count} |")


def _csrf(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client)


def _sign_in(client) -> None:
    response = client.post("/login", data={"email": "bench@example.com",
                                           "password": DEFAULT_PASSWORD,
                                           "csrf_token": _csrf_login(client)})
    assert response.status_code == 303


def _csrf_login(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, "/login")


if __name__ == "__main__":
    main()
