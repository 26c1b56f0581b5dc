"""`make run`: the web app, the worker and, without Zoho credentials, the sandbox.

Starts each as a child process, prints where to go and how to sign in, and stops them all
on Ctrl-C. Configuration comes from the environment (see README).
"""

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main() -> int:
    env = dict(os.environ)
    host = env.get("HOST", "127.0.0.1")
    port = int(env.get("PORT", "8000"))
    data_dir = Path(env.get("BOOKBRIDGE_DATA_DIR") or ROOT / "data").resolve()
    env["BOOKBRIDGE_DATA_DIR"] = str(data_dir)
    # A server bound to every interface is still reached through loopback from here.
    browser_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    base_url = f"http://{browser_host}:{port}"
    children = []
    if not env.get("BOOKBRIDGE_ZOHO_CLIENT_ID"):
        children.append(_start_sandbox(env, data_dir, base_url))
    login_hint = _first_admin(env, data_dir)
    children.append(_spawn("web", [str(BIN / "gunicorn"), "--preload", "--workers", "2",
                                    "--threads", "4", "--bind", f"{host}:{port}",
                                    "app:create_app()"], env))
    _wait_for(f"{base_url}/healthz", "web")
    # No -f: a killed worker's locks lapse on their own (jobs/leases.py).
    children.append(_spawn("worker", [str(BIN / "huey_consumer"), "jobs.huey", "-w", "2",
                                       "-k", "thread"], env))
    print(f"\n  Bookbridge is running at {base_url}\n  {login_hint}\n  Stop with Ctrl-C.\n",
          flush=True)
    return _supervise(children)


def _start_sandbox(env: dict, data_dir: Path, base_url: str):
    sandbox_port = int(env.get("SANDBOX_PORT", "8100"))
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env.update(
        BOOKBRIDGE_ZOHO_CLIENT_ID=env.get("SANDBOX_CLIENT_ID", "bookbridge-sandbox"),
        BOOKBRIDGE_ZOHO_CLIENT_SECRET=env.get("SANDBOX_CLIENT_SECRET", "sandbox-secret"),
        BOOKBRIDGE_ZOHO_REDIRECT_URI=f"{base_url}/connections/zoho/callback",
        BOOKBRIDGE_ZOHO_ACCOUNTS_URL=sandbox_url,
    )
    env.setdefault("BOOKBRIDGE_QONTO_API_URL", sandbox_url)
    child = _spawn("sandbox", [sys.executable, "-m", "sandbox", "--port", str(sandbox_port),
                               "--data-dir", str(data_dir / "sandbox")], env)
    _wait_for(sandbox_url + "/", "sandbox")
    print(f"  No Zoho credentials configured: using the sandbox at {sandbox_url}\n"
          "  Qonto sandbox: login atelier-lumiere-4821, secret key sandbox-qonto-secret",
          flush=True)
    return child


def _first_admin(env: dict, data_dir: Path) -> str:
    """Say how to sign in; on a first demo start, make up an admin password and show it."""
    if env.get("BOOKBRIDGE_ADMIN_EMAIL") and env.get("BOOKBRIDGE_ADMIN_PASSWORD"):
        return f"Sign in as {env['BOOKBRIDGE_ADMIN_EMAIL']} with BOOKBRIDGE_ADMIN_PASSWORD."
    # Left by an earlier start: the SQLite file, or (database on a server) the secret key.
    marker = data_dir / ("secret_key" if env.get("BOOKBRIDGE_DATABASE_URL") else "bookbridge.db")
    if marker.exists():
        return ("Sign in with your account (add one with "
                "`.venv/bin/flask --app app users create --email you@example.com`).")
    password = secrets.token_urlsafe(12)
    env["BOOKBRIDGE_ADMIN_EMAIL"] = "admin@bookbridge.local"
    env["BOOKBRIDGE_ADMIN_PASSWORD"] = password
    return f"Sign in as admin@bookbridge.local with password {password} (shown once)."


def _spawn(name: str, command: list[str], env: dict):
    print(f"  starting {name}", flush=True)
    return subprocess.Popen(command, cwd=ROOT, env=env)


def _wait_for(url: str, name: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 — our own loopback URL
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{name} did not start within {seconds:.0f} s; see the log above.")


def _supervise(children) -> int:
    def stop(*_):
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stop()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
