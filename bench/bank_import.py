"""Benchmark: importing Qonto history into Zoho Books through the sandbox.

    .venv/bin/python -m bench.bank_import [--transactions 100000] [--also 10000]

The sandbox runs as its own process (so its memory is not ours) with Zoho's limits lifted:
the figures are the work Bookbridge does, not Zoho's pacing. Each size runs in a fresh
process of its own. Prints wall time, the worker's CPU per imported line (the whole run, and
storing alone), its real peak RSS during the import (VmHWM from /proc/self/status, reset
just before the import so the set-up's higher peak does not hide it), Zoho calls (by
endpoint; one POST /bankstatements per batch of BATCH_SIZE lines) and Qonto calls, then
checks that a second sync with nothing new makes no Zoho write call. The load average is
printed beside the figures.
"""

import argparse
import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

os.environ["BOOKBRIDGE_HUEY_IMMEDIATE"] = "1"

import clock  # noqa: E402
from app import create_app  # noqa: E402
from jobs.writer import zoho_write  # noqa: E402
from models import BankTransaction, Role  # noqa: E402
from services import bank_sync  # noqa: E402
from tests.bank_flow import connect_qonto  # noqa: E402
from tests.conftest import csrf_token  # noqa: E402
from tests.factories import DEFAULT_PASSWORD, make_user  # noqa: E402
from tests.zoho_flow import connect  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH_USER = "bench@example.com"


class Sandbox:
    """`python -m sandbox` in a child process, with the admin calls the benchmark needs."""

    def __init__(self, data_dir: Path):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.client_id, self.client_secret = "bookbridge-sandbox", "sandbox-secret"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", str(port), "--data-dir", str(data_dir)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                requests.get(self.url + "/", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise SystemExit("the sandbox did not start")

    def admin(self, method, path, **json):
        response = requests.request(method, self.url + path, json=json or None, timeout=300)
        response.raise_for_status()
        return response.json()

    def org_ids(self):
        orgs = self.admin("GET", "/sandbox/orgs")["organizations"]
        return [org["organization_id"] for org in orgs if org["user"] == "demo@bookbridge.test"]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def measure(total: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        sandbox = Sandbox(Path(workdir) / "sandbox")
        try:
            return _measure(total, sandbox, Path(workdir) / "data")
        finally:
            sandbox.stop()


def connected_app(sandbox: Sandbox, data_dir: Path, transactions: int, **settings):
    """Qonto history of `transactions` lines over two years in the sandbox, Zoho's limits
    lifted, an app on `data_dir` (plus `settings`) with an admin signed in and Zoho and
    Qonto connected (the first sync takes today's lines only). Returns (app, client, since):
    the history starts at `since`."""
    since = clock.now().date() - datetime.timedelta(days=730)
    sandbox.admin("POST", "/sandbox/qonto/generate", transactions_per_account=transactions // 3,
                  start=since.isoformat())
    app = create_app({
        "DATA_DIR": str(data_dir), "ZOHO_CLIENT_ID": sandbox.client_id,
        "ZOHO_CLIENT_SECRET": sandbox.client_secret, "ZOHO_ACCOUNTS_URL": sandbox.url,
        "ZOHO_REDIRECT_URI": "http://localhost/connections/zoho/callback",
        "QONTO_API_URL": sandbox.url, "ZOHO_CALLS_PER_MINUTE": 1_000_000, **settings,
    })
    org = sandbox.org_ids()[0]
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", per_minute=1_000_000,
                  daily=10_000_000, concurrency=100)
    client = app.test_client()
    make_user(email=BENCH_USER, role=Role.ADMIN)
    client.post("/login", data={"email": BENCH_USER, "password": DEFAULT_PASSWORD,
                                "csrf_token": csrf_token(client, "/login")})
    connect(client)
    connect_qonto(client, sandbox)
    return app, client, since


def _measure(total: int, sandbox: Sandbox, data_dir: Path) -> dict:
    app, client, since = connected_app(sandbox, data_dir, total)
    org = sandbox.org_ids()[0]

    sandbox.admin("POST", "/sandbox/stats/reset")
    sandbox.admin("POST", "/sandbox/qonto/stats/reset")
    job, _ = bank_sync.request("history", history_start=since)
    storing = _time_storing()
    rss_before = _vm_hwm_kib()  # the set-up's peak (app, migrations, sign-in)
    _reset_vm_hwm()  # so what follows is the import's own peak
    started, cpu_started = time.perf_counter(), time.process_time()
    bank_sync.run(app.config, job.id, zoho_write=zoho_write)
    cpu = time.process_time() - cpu_started
    elapsed = time.perf_counter() - started
    rss_peak = _vm_hwm_kib()
    zoho_calls = sandbox.admin("GET", f"/sandbox/stats?organization_id={org}")["calls"]
    qonto_calls = sandbox.admin("GET", "/sandbox/qonto/stats")

    sandbox.admin("POST", "/sandbox/stats/reset")
    client.post("/bank/sync", data={"csrf_token": csrf_token(client)})
    again = sandbox.admin("GET", f"/sandbox/stats?organization_id={org}")["calls"]
    lines = BankTransaction.select().count()
    return {
        "transactions": lines,
        "pushed": BankTransaction.select().where(BankTransaction.pushed_at.is_null(False))
        .count(),
        "seconds": elapsed,
        "cpu_ms_per_line": cpu * 1000 / max(lines, 1),
        "store_cpu_ms_per_line": storing["cpu"] * 1000 / max(lines, 1),
        "zoho": zoho_calls,
        "qonto_total": qonto_calls["total"],
        "rss_before_mib": rss_before / 1024,
        "rss_peak_mib": rss_peak / 1024,
        "writes_when_nothing_new": sum(n for path, n in again.items()
                                       if not path.startswith("GET")),
    }


def _time_storing() -> dict:
    """Add up the CPU spent storing Qonto pages (a timing wrapper, for this benchmark only)."""
    spent = {"cpu": 0.0}
    store_page = bank_sync.BankSync.store_page

    def timed(self, *args, **kwargs):
        started = time.process_time()
        try:
            return store_page(self, *args, **kwargs)
        finally:
            spent["cpu"] += time.process_time() - started

    bank_sync.BankSync.store_page = timed
    return spent


def _vm_hwm_kib() -> int:
    """This process's peak resident memory so far (VmHWM), in KiB: real RSS, C included."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc/self/status (Linux only)")


def _reset_vm_hwm() -> None:
    """Start VmHWM again from the current RSS (Linux: "5" to /proc/self/clear_refs)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _load() -> str:
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def _measure_in_own_process(size: int) -> dict:
    """One size in a fresh interpreter, so its VmHWM is its own."""
    done = subprocess.run([sys.executable, "-m", "bench.bank_import", "--one", str(size)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--also", type=int, default=10_000,
                        help="a smaller import, to show memory does not grow with size")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)), flush=True)
        return
    print(f"batch size: {bank_sync.BATCH_SIZE} lines per POST /bankstatements")
    print("| transactions | pushed | wall time | CPU per line (run / storing) | "
          "peak RSS of the import (VmHWM) | Zoho calls | POST /bankstatements | Qonto calls | "
          "Zoho writes on a sync with nothing new | load average (before, after) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in (args.also, args.transactions):
        load_before = _load()
        result = _measure_in_own_process(size)
        zoho = result["zoho"]
        print(f"| {result['transactions']:,} | {result['pushed']:,} | {result['seconds']:.0f} s"
              f" | {result['cpu_ms_per_line']:.2f} ms / {result['store_cpu_ms_per_line']:.2f} ms"
              f" | {result['rss_peak_mib']:.0f} MiB (set-up's peak: "
              f"{result['rss_before_mib']:.0f} MiB) | {sum(zoho.values()):,}"
              f" | {zoho.get('POST /bankstatements', 0):,} | {result['qonto_total']:,} | "
              f"{result['writes_when_nothing_new']} | {load_before}, {_load()} |", flush=True)
        print("  Zoho calls by endpoint:", dict(sorted(zoho.items())), flush=True)


if __name__ == "__main__":
    main()
