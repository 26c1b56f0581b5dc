"""Benchmark: SQLite + 1 worker against PostgreSQL + Redis + 2 workers, side by side.

    .venv/bin/python -m bench.scale_path [--transactions 100000] [--documents 200]
    .venv/bin/python -m bench.scale_path --transactions 10000 --documents 50   # quick

Both modes run back to back in one invocation, on the same machine, with the same work:

- "SQLite, 1 worker": the default setup (database and queue in SQLite files, one
  `huey_consumer jobs.huey -w 2 -k thread`, one gunicorn web process);
- "PostgreSQL + Redis, 2 workers": a new PostgreSQL database, a free Redis database number,
  two `huey_consumer jobs.huey -w 2 -k thread` processes and two gunicorn replicas.

Per mode: a sandbox of its own (Zoho's limits lifted), the set-up done in this process
(sign-in, Zoho and Qonto connected, supplier rules), then, timed over real HTTP as a person
does it: (a) the bank history import asked on the web (`POST /bank/history`) and run by the
workers, from the request to the job's end; (b) a batch of documents (the generators
bench/documents.py uses) uploaded through the web replicas and read by the workers, then
published in bulk (`POST /documents/bulk`), each timed to its job's end. The workers' peak
RSS is their VmHWM from /proc/<pid>/status, read before they stop (reset between the two
parts). The load average is printed before and after each mode: the machine is shared.
"""

import argparse
import dataclasses
import datetime
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import requests

os.environ["BOOKBRIDGE_HUEY_IMMEDIATE"] = "1"  # this process's own set-up runs in-process

import clock  # noqa: E402
from bench.bank_import import BENCH_USER, Sandbox, connected_app  # noqa: E402
from models import (  # noqa: E402
    BankTransaction,
    Document,
    DocumentStatus,
    Job,
    QontoAccount,
    SupplierRule,
    ZohoAccount,
    ZohoConnection,
    ZohoContact,
    db,
)
from services import publishing  # noqa: E402
from tests import documents as samples  # noqa: E402
from tests.factories import DEFAULT_PASSWORD  # noqa: E402
from tests.scale_mode import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POSTGRES_SERVER = os.environ.get("BOOKBRIDGE_TEST_POSTGRES",
                                 "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_SERVER = os.environ.get("BOOKBRIDGE_TEST_REDIS", "redis://127.0.0.1:6379")
EMAIL = BENCH_USER
UPLOAD_CHUNK = 25  # files per upload request (the form takes at most 50)
# The batch of bench/documents.py: mostly text PDFs, some e-invoices, some receipt scans.
BATCH_MIX = (("text PDF", 0.5), ("Factur-X", 0.3), ("scan", 0.2))
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@dataclasses.dataclass
class Mode:
    label: str
    workers: int
    web_replicas: int
    scale: bool  # PostgreSQL + Redis


MODES = (Mode("SQLite, 1 worker", 1, 1, False),
         Mode("PostgreSQL + Redis, 2 workers", 2, 2, True))


# -- the servers of the scale mode ------------------------------------------------------------

def new_postgres_database() -> tuple[str, str]:
    """(URL, name) of a new, empty database on the local server."""
    import psycopg2

    name = f"bookbridge_bench_{uuid.uuid4().hex[:10]}"
    server = psycopg2.connect(POSTGRES_SERVER, connect_timeout=5)
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    server.close()
    return POSTGRES_SERVER.rsplit("/", 1)[0] + f"/{name}", name


def drop_postgres_database(name: str) -> None:
    import psycopg2

    db.close()
    server = psycopg2.connect(POSTGRES_SERVER, connect_timeout=5)
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    server.close()


def claim_redis_database() -> str:
    """A Redis database number nobody uses (claimed with a key, as tests/scale_mode does)."""
    import redis

    numbers = list(range(1, 16))
    random.shuffle(numbers)
    for number in numbers:
        conn = redis.Redis.from_url(f"{REDIS_SERVER}/{number}")
        if conn.set("bookbridge-test-claim", "1", nx=True, ex=3600) and conn.dbsize() == 1:
            return f"{REDIS_SERVER}/{number}"
    raise SystemExit("every Redis database number (1-15) is in use")


def flush_redis_database(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


# -- processes ---------------------------------------------------------------------------------

class Processes:
    """The mode's gunicorn replicas and huey consumers, each logging to its own file."""

    def __init__(self, env: dict, log_dir: Path):
        self.env, self.log_dir = env, log_dir
        self.workers: list[subprocess.Popen] = []
        self.webs: list[subprocess.Popen] = []
        self.bases: list[str] = []

    def _start(self, command: list[str], label: str) -> subprocess.Popen:
        with open(self.log_dir / f"{label}.log", "w") as log:
            return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT)

    def start(self, mode: Mode) -> None:
        for n in range(mode.web_replicas):
            port = free_port()
            self.webs.append(self._start(
                [str(BIN / "gunicorn"), "--workers", "1", "--threads", "4", "--bind",
                 f"127.0.0.1:{port}", "app:create_app()"], f"web-{n}"))
            self.bases.append(f"http://127.0.0.1:{port}")
        for n in range(mode.workers):
            self.workers.append(self._start(
                [str(BIN / "huey_consumer"), "jobs.huey", "-w", "2", "-k", "thread"],
                f"worker-{n}"))
        for base in self.bases:
            _wait(lambda b=base: _answers(f"{b}/healthz"), 60, f"{base} to start")

    def worker_peak_mib(self) -> list[float]:
        """Each worker's VmHWM so far, in MiB."""
        return [_status_kib(p.pid, "VmHWM") / 1024 for p in self.workers]

    def reset_worker_peaks(self) -> None:
        for process in self.workers:
            with open(f"/proc/{process.pid}/clear_refs", "w") as clear_refs:
                clear_refs.write("5")

    def check_alive(self) -> None:
        dead = [p for p in self.workers + self.webs if p.poll() is not None]
        if dead:
            raise SystemExit(f"a process died; see the logs in {self.log_dir}:\n"
                             + self.logs())

    def logs(self) -> str:
        return "\n".join(f"== {path.name}\n" + path.read_text(errors="replace")[-2000:]
                         for path in sorted(self.log_dir.glob("*.log")))

    def stop(self) -> None:
        for process in self.workers + self.webs:
            process.terminate()
        for process in self.workers + self.webs:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise SystemExit(f"no {field} in /proc/{pid}/status (Linux only)")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _wait(condition, seconds: float, what: str, poll: float = 0.2, processes=None):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        if processes:
            processes.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}"
                             + (f"\n{processes.logs()}" if processes else ""))
        time.sleep(poll)
    return value


def _load() -> str:
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


# -- one mode ----------------------------------------------------------------------------------

def run_mode(mode: Mode, transactions: int, documents: int, workdir: Path) -> dict:
    database_url = queue_url = pg_name = ""
    if mode.scale:
        database_url, pg_name = new_postgres_database()
        queue_url = claim_redis_database()
    sandbox = Sandbox(workdir / "sandbox")
    try:
        config = _set_up(sandbox, workdir / "data", database_url, queue_url, transactions)
        processes = Processes(_process_env(config), workdir)
        try:
            load_before = _load()
            processes.start(mode)
            result = {"load_before": load_before}
            result |= _bank_import(processes, sandbox)
            result["bank_rss"] = processes.worker_peak_mib()
            result["database_mib"] = _database_mib(config)
            processes.reset_worker_peaks()
            result |= _documents(processes, documents)
            result["documents_rss"] = processes.worker_peak_mib()
            result["load_after"] = _load()
            return result
        finally:
            processes.stop()
    finally:
        sandbox.stop()
        if pg_name:
            drop_postgres_database(pg_name)
        if queue_url:
            flush_redis_database(queue_url)


def _set_up(sandbox: Sandbox, data_dir: Path, database_url: str, queue_url: str,
            transactions: int) -> dict:
    """Sign-in, Zoho and Qonto connected (today's lines only), Zoho's limits lifted,
    supplier rules that make the batch ready to publish. Not timed."""
    app, _, _ = connected_app(sandbox, data_dir, transactions,
                              DATABASE_URL=database_url, QUEUE_URL=queue_url)
    _supplier_rules()
    return dict(app.config)


def _supplier_rules() -> None:
    """What a bookkeeper sets once: each supplier of the batch tied to a Zoho vendor and an
    expense account (receipts paid from a bank account), so the batch is ready."""
    org = ZohoConnection.current().organization_id
    vendors = list(ZohoContact.usable(org).where(ZohoContact.contact_type == "vendor")
                   .limit(3))
    expense = ZohoAccount.usable(org).where(ZohoAccount.account_type == "expense").first()
    paid_from = ZohoAccount.usable(org).where(
        ZohoAccount.account_type.in_(["bank", "cash"])).first()
    names = ("OVHcloud", samples.E_INVOICE["supplier_name"], "BOULANGERIE MARTIN")
    for n, name in enumerate(names):
        receipt = name == "BOULANGERIE MARTIN"
        SupplierRule.create(name=name, contact_id=vendors[n % len(vendors)].zoho_id,
                            account_id=expense.zoho_id,
                            payment="expense" if receipt else "bill",
                            paid_through_account_id=paid_from.zoho_id if receipt else None)


def _process_env(config: dict) -> dict:
    """The environment of the mode's web and worker processes: no in-process queue."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("BOOKBRIDGE_") or key == clock.OFFSET_VARIABLE}
    for key in ("DATA_DIR", "DATABASE_URL", "QUEUE_URL", "ZOHO_CLIENT_ID",
                "ZOHO_CLIENT_SECRET", "ZOHO_REDIRECT_URI", "ZOHO_ACCOUNTS_URL",
                "QONTO_API_URL", "ZOHO_CALLS_PER_MINUTE"):
        if config.get(key):
            env[f"BOOKBRIDGE_{key}"] = str(config[key])
    return env


def _signed_in(base: str) -> requests.Session:
    session = requests.Session()
    token = _CSRF.search(session.get(f"{base}/login", timeout=30).text).group(1)
    answer = session.post(f"{base}/login", data={
        "email": EMAIL, "password": DEFAULT_PASSWORD, "csrf_token": token},
        allow_redirects=False, timeout=30)
    if answer.status_code != 303:
        raise SystemExit(f"could not sign in at {base}: {answer.status_code}")
    return session


def _token(session: requests.Session, url: str) -> str:
    return _CSRF.search(session.get(url, timeout=60).text).group(1)


# -- (a) the bank history import ---------------------------------------------------------------

def _bank_import(processes: Processes, sandbox: Sandbox) -> dict:
    base = processes.bases[0]
    session = _signed_in(base)
    since = clock.now().date() - datetime.timedelta(days=730)
    lines_before = BankTransaction.select().count()
    started = time.perf_counter()
    answer = session.post(f"{base}/bank/history", data={
        "history_start": since.isoformat(),
        "csrf_token": _token(session, f"{base}/connections/")}, timeout=60)
    answer.raise_for_status()
    _wait(_history_done, 3600, "the history import", poll=0.5, processes=processes)
    seconds = time.perf_counter() - started
    lines = BankTransaction.select().count() - lines_before
    job = Job.select().where(Job.kind == "bank_sync").order_by(Job.id.desc()).get()
    org = ZohoConnection.current().organization_id
    calls = sandbox.admin("GET", f"/sandbox/stats?organization_id={org}")["calls"]
    return {"bank_seconds": seconds, "lines": lines, "bank_job": job.message,
            "bank_pickup": (job.started_at - job.created_at).total_seconds(),
            "bankstatements": calls.get("POST /bankstatements", 0)}


def _history_done() -> bool:
    with db.connection_context():
        job = Job.select().where(Job.kind == "bank_sync").order_by(Job.id.desc()).first()
        return (job.status.value in ("succeeded", "failed") and not QontoAccount.select()
                .where(QontoAccount.history_wanted_from.is_null(False)).exists())


def _database_mib(config: dict) -> float:
    if config.get("DATABASE_URL"):
        size = db.execute_sql("SELECT pg_database_size(current_database())").fetchone()[0]
        return size / 2**20
    path = Path(config["DATABASE"])
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20


# -- (b) documents -----------------------------------------------------------------------------

def batch_of(size: int) -> list[tuple[str, bytes]]:
    """`size` distinct documents in bench/documents.py's mix (each its own number and
    amount, so none is taken for a duplicate of another)."""
    files = []
    for label, share in BATCH_MIX:
        for n in range(int(size * share)):
            net = 100 + n
            if label == "text PDF":
                content = samples.text_pdf(
                    title=f"Facture N° FR-2026-{5000 + n}",
                    item=("Hébergement", "1", f"{net},00 €", f"{net},00 €", "20 %"),
                    net=f"{net},00 €", tax=f"{net // 5},{(net % 5) * 20:02d} €",
                    total=f"{net * 6 // 5},{(net * 6 % 5) * 20:02d} €")
                files.append((f"ovh-{n}.pdf", content))
            elif label == "Factur-X":
                files.append((f"fx-{n}.pdf", samples.factur_x_pdf(
                    number=f"FX-{n}", issue_date=datetime.date(2026, 1, 1)
                    + datetime.timedelta(days=n), lines=[
                        ("Conseil", Decimal("1"), Decimal(net), Decimal("20"))])))
            else:
                day = f"{n % 28 + 1:02d}/{n // 28 % 12 + 1:02d}/2026"
                files.append((f"receipt-{n}.png", samples.scanned_png(seed=n, lines=[
                    line.replace("004521", f"{10000 + n}").replace("14/03/2026", day)
                    for line in samples.RECEIPT["lines"]])))
    return files


def _documents(processes: Processes, size: int) -> dict:
    files = batch_of(size)
    sessions = [_signed_in(base) for base in processes.bases]
    started = time.perf_counter()
    for n, first in enumerate(range(0, len(files), UPLOAD_CHUNK)):
        # A person per replica, uploading in turn (two desks, two scanners).
        base, session = processes.bases[n % len(sessions)], sessions[n % len(sessions)]
        chunk = files[first:first + UPLOAD_CHUNK]
        answer = session.post(f"{base}/documents/upload", data={
            "csrf_token": _token(session, f"{base}/documents/")},
            files=[("files", (name, content)) for name, content in chunk], timeout=300)
        answer.raise_for_status()
    uploaded = time.perf_counter() - started
    _wait(_all_read(len(files)), 3600, "the documents to be read", poll=0.2,
          processes=processes)
    read_seconds = time.perf_counter() - started
    statuses = _statuses()
    readers = list(Job.select().where(Job.kind == "extract_documents"))

    publishable = [d.id for d in Document.select(Document.id).where(
        Document.status.in_(publishing.PUBLISHABLE))]
    base, session = processes.bases[0], sessions[0]
    started = time.perf_counter()
    answer = session.post(f"{base}/documents/bulk", data={
        "document_ids": [str(i) for i in publishable], "action": "publish",
        "csrf_token": _token(session, f"{base}/documents/")}, timeout=120)
    answer.raise_for_status()
    _wait(_publish_done, 3600, "the bulk publish", poll=0.2, processes=processes)
    publish_seconds = time.perf_counter() - started
    published = Document.select().where(Document.status == DocumentStatus.PUBLISHED).count()
    return {"documents": len(files), "upload_seconds": uploaded, "read_seconds": read_seconds,
            "statuses": statuses, "asked": len(publishable), "published": published,
            "read_jobs": len(readers),
            "read_by": len({job.worker.split(":")[1] for job in readers if ":" in job.worker}),
            "not_published": [(d.filename, d.status.value, d.publish_error or d.warnings)
                              for d in Document.select().where(
                                  Document.status != DocumentStatus.PUBLISHED).limit(3)],
            "publish_seconds": publish_seconds}


def _all_read(expected: int):
    def done() -> bool:
        with db.connection_context():
            total = Document.select().count()
            waiting = Document.select().where(
                Document.status == DocumentStatus.PROCESSING).count()
            return total >= expected and waiting == 0
    return done


def _publish_done() -> bool:
    with db.connection_context():
        return not Document.select().where(Document.publish_requested_at.is_null(False)).exists()


def _statuses() -> dict:
    with db.connection_context():
        counts = {}
        for document in Document.select(Document.status):
            counts[document.status.value] = counts.get(document.status.value, 0) + 1
        return counts


# -- the table ---------------------------------------------------------------------------------

def _rss(values: list[float]) -> str:
    return " + ".join(f"{v:.0f}" for v in values) + " MiB"


def print_table(results: dict[str, dict]) -> None:
    labels = list(results)
    rows = [
        ("bank history import: wall time (request → job's end)",
         lambda r: f"{r['bank_seconds']:.1f} s"),
        ("of which waiting for a worker to take the job", lambda r: f"{r['bank_pickup']:.1f} s"),
        ("lines imported / per second",
         lambda r: f"{r['lines']:,} / {r['lines'] / r['bank_seconds']:,.0f}"),
        ("`POST /bankstatements` calls", lambda r: f"{r['bankstatements']:,}"),
        ("database size after the import", lambda r: f"{r['database_mib']:.0f} MiB"),
        ("workers' peak RSS during the import (VmHWM)", lambda r: _rss(r["bank_rss"])),
        ("documents: uploaded and read (upload → last one read)",
         lambda r: f"{r['documents']} in {r['read_seconds']:.1f} s: "
                   f"**{r['documents'] / r['read_seconds'] * 60:.0f} a minute**"),
        ("reading jobs / worker processes that ran them",
         lambda r: f"{r['read_jobs']} / {r['read_by']}"),
        ("statuses after reading", lambda r: ", ".join(f"{k} {v}" for k, v in
                                                      sorted(r["statuses"].items()))),
        ("published in bulk (request → job's end)",
         lambda r: f"{r['published']} of {r['asked']} in {r['publish_seconds']:.1f} s: "
                   f"**{r['published'] / r['publish_seconds'] * 60:.0f} a minute**"),
        ("workers' peak RSS during documents (VmHWM)", lambda r: _rss(r["documents_rss"])),
        ("load average (1/5/15 min) before → after",
         lambda r: f"{r['load_before']} → {r['load_after']}"),
    ]
    print("| | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    for title, cell in rows:
        print(f"| {title} | " + " | ".join(cell(results[label]) for label in labels) + " |")
    sqlite, scale = (results[label] for label in labels)
    print(f"\nratios (PostgreSQL + Redis / SQLite): bank import time "
          f"{scale['bank_seconds'] / sqlite['bank_seconds']:.2f}x, reading time "
          f"{scale['read_seconds'] / sqlite['read_seconds']:.2f}x, publishing time "
          f"{scale['publish_seconds'] / sqlite['publish_seconds']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--only", choices=["sqlite", "scale"], help="one mode (debugging)")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the set-up's migrations and in-process jobs
    print(f"{os.cpu_count()} CPUs; {args.transactions:,} transactions, "
          f"{args.documents} documents", flush=True)
    results = {}
    for mode in MODES:
        if args.only and (args.only == "scale") != mode.scale:
            continue
        with tempfile.TemporaryDirectory(prefix="bench-scale-path-") as workdir:
            results[mode.label] = run_mode(mode, args.transactions, args.documents,
                                           Path(workdir))
        print(f"{mode.label}: {results[mode.label]}", flush=True)
    if len(results) == 2:
        print_table(results)


if __name__ == "__main__":
    main()
