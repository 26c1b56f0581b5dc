"""Benchmark: every page at two years of history against the same pages at 1/100 of it.

    .venv/bin/python -m bench.scale [--requests 30] [--factor 1.0] [--keep DIR]

Builds a large state (100,000 bank lines on 3 Qonto accounts, 10,000 documents, 91,000
activity rows, 5,060 contacts, 1,153 accounts...; see bench/scale_state.py) and a small one
(1/100 of the history and the Zoho lists, the same configuration: rules, taxes, users),
each in a temporary data directory through the models and the real migrations.
Then, per state, starts gunicorn as docker/web does with BOOKBRIDGE_COUNT_QUERIES=1, signs
in over real HTTP with the login form's CSRF token, and requests each page (warm-up, then
`--requests` times): wall time seen by the client over loopback (server time, for all
practical purposes), SQL time and statements from the X-Query-Time-Ms and X-Query-Count
headers, and the response size. Prints a Markdown table of both states side by side,
with what misses issue 9's targets, and /proc/loadavg beside the times: the machine is
shared, so read the ratios.
"""

import argparse
import dataclasses
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench import scale_state
from bench.scale_state import LARGE, PAGES

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WARM_UP = 2
# Issue 9's targets at the large state.
MAX_P95_MS = 50
MAX_P95_RATIO = 2
MAX_KB = 150
MAX_EDIT_SQL_MS = 20


@dataclasses.dataclass
class Result:
    """One page in one state."""

    wall_ms: list[float]
    sql_ms: list[float]
    queries: list[int]
    size: int
    error: str = ""

    @property
    def p50(self) -> float:
        return statistics.median(self.wall_ms)

    @property
    def p95(self) -> float:
        return _p95(self.wall_ms)

    @property
    def sql_p95(self) -> float:
        return _p95(self.sql_ms)

    @property
    def queries_text(self) -> str:
        low, high = min(self.queries), max(self.queries)
        return str(low) if low == high else f"{low}–{high}"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[round(0.95 * (len(ordered) - 1))]


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with the options of docker/web, on one state's data directory."""

    def __init__(self, data_dir: Path):
        self.url = f"http://127.0.0.1:{_free_port()}"
        nowhere = f"http://127.0.0.1:{_free_port()}"  # a page calling Zoho or Qonto fails fast
        env = {**os.environ, "BOOKBRIDGE_DATA_DIR": str(data_dir),
               "BOOKBRIDGE_COUNT_QUERIES": "1", "BOOKBRIDGE_ZOHO_CLIENT_ID": "bench",
               "BOOKBRIDGE_ZOHO_CLIENT_SECRET": "bench", "BOOKBRIDGE_ZOHO_ACCOUNTS_URL": nowhere,
               "BOOKBRIDGE_QONTO_API_URL": nowhere}
        # Errors go to the state's folder (a failing page names it); the access log nowhere.
        self.log = data_dir / "gunicorn.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "--preload", "--bind", self.url.removeprefix("http://"),
                 "--workers", "2", "--threads", "4", "--no-control-socket",
                 "app:create_app()"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/healthz", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.3)
        self.stop()
        raise SystemExit("gunicorn did not start within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    if not match:
        raise SystemExit("no CSRF token on the page")
    return match.group(1)


def _sign_in(session: requests.Session, url: str) -> None:
    form = {"email": scale_state.EMAIL, "password": scale_state.PASSWORD,
            "csrf_token": _csrf(session.get(url + "/login", timeout=30).text)}
    response = session.post(url + "/login", data=form, allow_redirects=False, timeout=30)
    if response.status_code != 303:
        raise SystemExit(f"sign-in failed: {response.status_code}")


def _request(session, base_url: str, page, state, round_number: int, edit_form: dict):
    """One request; returns the response, the wall time in ms, and whether it went as a
    browser expects (200, or 303 after the edit)."""
    url = base_url + page.url(state)
    started = time.perf_counter()
    if page.method == "POST":
        form = {**edit_form, "description": f"Checked by the scale bench, round {round_number}"}
        response = session.post(url, data=form, allow_redirects=False, timeout=60)
    else:
        response = session.get(url, timeout=60)
    wall_ms = (time.perf_counter() - started) * 1000
    return response, wall_ms, response.status_code == (303 if page.method == "POST" else 200)


def measure_state(state, requests_per_page: int) -> tuple[dict[str, Result], str]:
    """Each page's results against gunicorn on this state, and the load while measuring."""
    server = Server(state.data_dir)
    load_before = _loadavg()
    try:
        session = requests.Session()
        _sign_in(session, server.url)
        # The edit posts the review page's form back, as read once from that page.
        edit_url = next(page for page in PAGES if page.method == "POST").url(state)
        edit_form = scale_state.edit_form(session.get(server.url + edit_url).text,
                                          edit_url, 0)
        results = {}
        for page in PAGES:
            result = Result([], [], [], 0)
            for round_number in range(WARM_UP + requests_per_page):
                response, wall_ms, ok = _request(session, server.url, page, state,
                                                 round_number, edit_form)
                if not ok:  # measured pages must work; the table says which did not
                    result.error = f"HTTP {response.status_code}, see {server.log}"
                    break
                if round_number < WARM_UP:
                    continue
                result.wall_ms.append(wall_ms)
                result.sql_ms.append(float(response.headers["X-Query-Time-Ms"]))
                result.queries.append(int(response.headers["X-Query-Count"]))
                result.size = len(response.content)
            results[page.name] = result
    finally:
        server.stop()
    return results, f"{load_before} → {_loadavg()}"


def misses(name: str, small: Result, large: Result) -> list[str]:
    """What the large state's figures miss of issue 9's targets."""
    found = []
    if large.p95 > MAX_P95_MS:
        found.append(f"p95 > {MAX_P95_MS} ms")
    if large.p95 > MAX_P95_RATIO * small.p95:
        found.append(f"p95 > {MAX_P95_RATIO}x small")
    if large.size > MAX_KB * 1024:
        found.append(f"> {MAX_KB} KB")
    if set(large.queries) != set(small.queries):
        found.append("queries not constant")
    if name.startswith("Document edit") and large.sql_p95 > MAX_EDIT_SQL_MS:
        found.append(f"SQL > {MAX_EDIT_SQL_MS} ms")
    return found


def table(small: dict[str, Result], large: dict[str, Result]) -> str:
    lines = ["| page | small p50 / p95 | large p50 / p95 | p95 large/small | SQL p95 small → "
             "large | size small → large | queries small → large | misses |",
             "|---|---|---|---|---|---|---|---|"]
    for page in PAGES:
        s, big = small[page.name], large[page.name]
        if s.error or big.error:
            lines.append(f"| {page.name} | {s.error or 'ok'} | {big.error or 'ok'} |"
                         " | | | | failed |")
            continue
        verdict = ", ".join(misses(page.name, s, big)) or "ok"
        lines.append(
            f"| {page.name} | {s.p50:.0f} / {s.p95:.0f} ms | {big.p50:.0f} / {big.p95:.0f} ms"
            f" | {big.p95 / s.p95:.1f}x | {s.sql_p95:.1f} → {big.sql_p95:.1f} ms"
            f" | {s.size / 1024:.0f} → {big.size / 1024:.0f} KB"
            f" | {s.queries_text} → {big.queries_text} | {verdict} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--factor", type=float, default=1.0,
                        help="size of the large state (1.0: the sizes above); "
                             "small is 1/100 of its history")
    parser.add_argument("--keep", type=Path,
                        help="build the states in this folder and keep them")
    args = parser.parse_args()
    large_sizes = LARGE.scaled(args.factor)
    sizes = {"small": large_sizes.scaled(0.01, keep=scale_state.CONFIGURATION),
             "large": large_sizes}
    with tempfile.TemporaryDirectory() as workdir:
        root = args.keep or Path(workdir)
        results, loads = {}, {}
        for label, size in sizes.items():
            if (root / label).exists():
                raise SystemExit(f"{root / label} exists; --keep wants an empty folder")
            load = _loadavg()
            started = time.perf_counter()
            _, state = scale_state.build(root / label, size)
            print(f"built the {label} state in {time.perf_counter() - started:.0f} s "
                  f"(load {load}): {dataclasses.asdict(size)}", flush=True)
            results[label], loads[label] = measure_state(state, args.requests)
    print(f"\n`python -m bench.scale --requests {args.requests}`: wall time per request over "
          f"loopback against gunicorn (2 workers x 4 threads), {args.requests} requests per "
          "page after a warm-up; SQL time and statements from X-Query-Time-Ms and "
          "X-Query-Count.\n")
    print(table(results["small"], results["large"]))
    print(f"\nLoad average (/proc/loadavg, 1/5/15 min) while measuring: small {loads['small']};"
          f" large {loads['large']}. {os.cpu_count()} cores.")


if __name__ == "__main__":
    main()
