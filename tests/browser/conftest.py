"""Browser tests: `make run`'s own launcher (web, worker, sandbox) driven by headless Chromium."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

import clock

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "screenshots"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "browser test admin pw"


def _chromium_path() -> str | None:
    configured = os.environ.get("BOOKBRIDGE_CHROMIUM")
    if configured and Path(configured).exists():
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path():
    path = _chromium_path()
    if path is None:
        if os.environ.get("BOOKBRIDGE_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (BOOKBRIDGE_REQUIRE_BROWSER=1) but not installed: "
                        "apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(autouse=True)
def _kept_together(request):
    """The browser tests share one app in file order, so xdist must keep them on one worker.
    Some pytest/xdist pairs silently stop grouping (pytest-xdist issue 1386: the group is
    written into the node id, which pytest 9.2 ignores); say so rather than fail oddly."""
    if getattr(request.config.option, "loadgroup", False) and "@" not in request.node.nodeid:
        pytest.fail("--dist loadgroup does not keep the browser tests together with this "
                    "pytest/pytest-xdist pair: install the versions in requirements-dev.txt")


@pytest.fixture(scope="session")
def running_app(tmp_path_factory, postgres_databases):
    """Start scripts/run.py exactly as `make run` does, on free ports and a fresh data dir
    (and, on the PostgreSQL pass, an empty database the launcher migrates)."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    port, sandbox_port = _free_port(), _free_port()
    # The launcher's processes run on the suite's pinned clock, like everything else.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("BOOKBRIDGE_") or key == clock.OFFSET_VARIABLE}
    env.update(PORT=str(port), SANDBOX_PORT=str(sandbox_port), BOOKBRIDGE_DATA_DIR=str(data_dir),
               BOOKBRIDGE_ADMIN_EMAIL=ADMIN_EMAIL, BOOKBRIDGE_ADMIN_PASSWORD=ADMIN_PASSWORD)
    if postgres_databases is not None:
        env["BOOKBRIDGE_DATABASE_URL"] = postgres_databases.create(postgres_databases.new_name())
    log = open(data_dir / "run.log", "w")  # noqa: SIM115 — closed below
    process = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    _wait_until_up(base_url, process, data_dir / "run.log")
    yield {"url": base_url, "sandbox": f"http://127.0.0.1:{sandbox_port}", "data_dir": data_dir}
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


def _wait_until_up(base_url, process, log_path, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("make run's launcher exited:\n" + log_path.read_text()[-3000:])
        try:
            if requests.get(base_url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    pytest.fail("the app did not start:\n" + log_path.read_text()[-3000:])


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, running_app):
    context = browser.new_context(base_url=running_app["url"], viewport={"width": 1200,
                                                                          "height": 900})
    page = context.new_page()
    # Generous waits: the suite runs these beside other tests on two cores.
    page.set_default_timeout(15_000)
    expect.set_options(timeout=15_000)
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
