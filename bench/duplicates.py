"""Benchmark: the duplicate check, a document edit and the lists, in SQL time, at scale.

    .venv/bin/python -m bench.duplicates [--documents 10000] [--events 91000] [--repeat 30]

Builds the documents with bulk inserts (300 suppliers, 60 supplier rules with aliases,
numbers, dates and totals spread over two years), then times `duplicates.find` on documents
that have a duplicate and on ones that have none, and a person's edit of the number posted
to the review page (which saves, audits and re-checks duplicates and readiness), and the
documents and activity lists: filtered, searched, and a page deep in the list. SQL time is
the time spent running statements and fetching their rows, measured around the database's
`execute_sql`; wall time includes Python.
"""

import argparse
import datetime
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

os.environ["BOOKBRIDGE_HUEY_IMMEDIATE"] = "1"

from app import create_app  # noqa: E402
from models import (  # noqa: E402
    AuditEvent,
    Document,
    DocumentStatus,
    Role,
    StoredFile,
    SupplierRule,
    db,
    query_count,
)
from services import duplicates  # noqa: E402
from tests.conftest import csrf_token  # noqa: E402
from tests.factories import DEFAULT_PASSWORD, make_user  # noqa: E402
from views import helpers  # noqa: E402

SUPPLIERS = 300
RULES = 60
START = datetime.date(2024, 11, 1)


class SqlTimer:
    """Measures calls in SQL time and statements, with the tally the response headers use
    (models.query_count), opened around each call instead of around a request."""

    def __init__(self, database):
        query_count.install(database)

    def measure(self, action) -> tuple[float, float, int]:
        """(SQL ms, wall ms, statements) of one call of `action`."""
        tally = query_count.start()
        started = time.perf_counter()
        try:
            action()
        finally:
            query_count.stop()
        return tally.milliseconds, (time.perf_counter() - started) * 1000, tally.count


def supplier(n: int) -> str:
    return f"Supplier {n:03d} SAS"


def build(count: int) -> None:
    """`count` documents in bulk; every 25th repeats an earlier one's supplier and number."""
    rng = random.Random(9)
    keyed = hasattr(Document, "supplier_key")  # the stored keys exist from migration 0009
    with db.atomic():
        StoredFile.insert_many(
            [{"sha256": f"{n:064x}", "media_type": "application/pdf", "size": 1000}
             for n in range(count)]).execute()
        files = [row.id for row in StoredFile.select(StoredFile.id).order_by(StoredFile.id)]
        SupplierRule.insert_many(
            [{"name": supplier(n), "aliases": [f"SUPPLIER{n:03d}", f"Supplier {n:03d}"]}
             for n in range(RULES)]).execute()
        rows = []
        for n in range(count):
            original = n - 7 if n % 25 == 24 else n
            name, number = supplier(original % SUPPLIERS), f"FR-{original:06d}"
            row = {"file": files[n], "status": rng.choice(list(DocumentStatus)).value,
                   "filename": f"invoice-{n}.pdf", "supplier_name": name, "number": number,
                   "issue_date": START + datetime.timedelta(days=n % 730),
                   "total_cents": rng.randrange(100, 500_000), "currency": "EUR",
                   "created_at": datetime.datetime(2024, 11, 1) + datetime.timedelta(
                       minutes=100 * n)}
            if keyed:
                row["supplier_key"] = name.replace(" ", "").casefold()
                row["number_key"] = number.casefold()
            rows.append(row)
        for start in range(0, count, 500):
            Document.insert_many(rows[start:start + 500]).execute()


def add_events(count: int) -> None:
    """`count` activity rows over two years, in six areas, one in five by a person."""
    actions = ("document.extract", "bank.sync", "rule.fired", "zoho.refresh", "lists.refresh",
               "user.login")
    keyed = hasattr(AuditEvent, "area")
    rows = []
    for n in range(count):
        row = {"at": datetime.datetime(2024, 11, 1) + datetime.timedelta(minutes=11 * n),
               "actor": "worker" if n % 5 else "someone@example.com",
               "action": actions[n % 6], "subject": f"event {n}", "detail": ""}
        if keyed:
            row["area"] = actions[n % 6].split(".")[0]
        rows.append(row)
    with db.atomic():
        for start in range(0, count, 500):
            AuditEvent.insert_many(rows[start:start + 500]).execute()


def deep_page(listed, path: str, when) -> tuple[int, str]:
    """The page half way down a list (`listed`, newest first), by key where the list pages
    by key, else by number: the same rows either way."""
    depth = max(1, listed.count() // 50 // 2)
    if hasattr(helpers, "keyset_page"):
        row = listed.order_by(when.desc(), when.model.id.desc()).offset(depth * 50 - 1).first()
        return depth + 1, f"{path}&before={row.id}"
    return depth + 1, f"{path}&page={depth + 1}"


def summary(label: str, samples: list[tuple[float, float, int]]) -> None:
    sql = sorted(sample[0] for sample in samples)
    wall = sorted(sample[1] for sample in samples)
    p95 = sql[min(len(sql) - 1, int(len(sql) * 0.95))]
    print(f"| {label} | {statistics.median(sql):.1f} ms | {p95:.1f} ms | "
          f"{statistics.median(wall):.1f} ms | {samples[0][2]} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=91_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-duplicates-"))
    app = create_app({"DATA_DIR": str(workdir), "HTTPS": False})
    with app.app_context():
        started = time.perf_counter()
        build(args.documents)
        add_events(args.events)
        print(f"{args.documents:,} documents and {args.events:,} activity rows built in "
              f"{time.perf_counter() - started:.1f} s")
        open_documents = Document.select(Document.id).where(
            Document.status != DocumentStatus.ARCHIVED)
        document_depth, document_page = deep_page(open_documents, "/documents/?status=",
                                                  Document.created_at)
        event_depth, event_page = deep_page(AuditEvent.select(AuditEvent.id),
                                            "/activity/?area=", AuditEvent.at)
        pages = {
            "/documents/ (all open)": "/documents/?status=",
            "/documents/?status=published": "/documents/?status=published",
            "/documents/?q=supplier 01": "/documents/?q=supplier+01",
            "/documents/?q=FR-000123": "/documents/?q=FR-000123",
            f"/documents/, page {document_depth}": document_page,
            "/activity/": "/activity/?area=",
            "/activity/?area=zoho": "/activity/?area=zoho",
            f"/activity/, page {event_depth}": event_page,
        }
        timer = SqlTimer(db.obj)
        open_ids = [row.id for row in Document.select(Document.id).where(
            Document.status == DocumentStatus.TO_REVIEW).order_by(Document.id)]
        copies = [i for i in open_ids if i % 25 == 0][-args.repeat:]  # id n+1 = n-th row
        singles = [i for i in open_ids if i % 25 != 0][-args.repeat:]
        print(f"load before: {Path('/proc/loadavg').read_text().split()[:3]}")
        print("| action | SQL p50 | SQL p95 | wall p50 | statements |")
        print("|---|---|---|---|---|")
        for label, ids in (("duplicates.find, a copy", copies),
                           ("duplicates.find, no duplicate", singles)):
            summary(label, [timer.measure(lambda d=Document.get_by_id(i): duplicates.find(d))
                            for i in ids])
        make_user(email="bench@example.com", role=Role.ADMIN)

    # Requests outside the app context above: each request gets its own `g`, as in a server.
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.com", "password": DEFAULT_PASSWORD,
                                "csrf_token": csrf_token(client, "/login")})
    token = csrf_token(client, "/documents/")
    edits = []
    for n, document_id in enumerate(singles):
        def edit(document_id=document_id, n=n):
            response = client.post(f"/documents/{document_id}", data={
                "number": f"EDIT-{n}", "csrf_token": token})
            assert response.status_code == 303, response.status_code
        edits.append(timer.measure(edit))
    summary("edit the number (POST, 303)", edits)
    for label, path in pages.items():
        def get(path=path):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        summary(f"GET {label}", [timer.measure(get) for _ in range(max(5, args.repeat // 3))])
    started = time.perf_counter()
    exported = client.get("/activity/export.csv").get_data().count(b"\n") - 1
    print(f"| GET /activity/export.csv ({exported:,} rows) | | | "
          f"{(time.perf_counter() - started) * 1000:.0f} ms | |")
    print(f"load after: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
