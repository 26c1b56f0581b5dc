"""Configuration shared by the web app and the worker.

Three layers, as in Flask's tutorial: working defaults for a laptop, then the environment
(`BOOKBRIDGE_*`), then the mapping a test passes. The worker has no Flask app, so the layers
live here rather than in `create_app`, and both processes read the same result.
"""

import os
import secrets
import stat
from pathlib import Path

ENV_PREFIX = "BOOKBRIDGE_"

# Environment values that are not strings.
_BOOLEAN_KEYS = {"HTTPS", "HUEY_IMMEDIATE", "TRUST_PROXY", "COUNT_QUERIES"}
_INTEGER_KEYS = {"PORT", "ZOHO_CALLS_PER_MINUTE", "LIST_REFRESH_HOURS", "IMAP_PORT",
                 "READ_CONCURRENCY", "BACKUP_KEEP", "ZOHO_DAILY_RESERVE", "SMTP_PORT"}
_FLOAT_KEYS = {"ZOHO_MAX_QUOTA_WAIT", "ZOHO_TIMEOUT", "ZOHO_RETRY_DELAY", "QONTO_RETRY_DELAY",
               "BANK_SETTLE_AFTER", "LOCK_TTL"}


def _defaults(data_dir: Path) -> dict:
    return {
        "DATA_DIR": str(data_dir),
        "DATABASE": str(data_dir / "bookbridge.db"),
        "HTTPS": False,
        "HUEY_IMMEDIATE": False,
        # X-Query-Count / X-Query-Time-Ms on every response (bench.scale reads them).
        "COUNT_QUERIES": False,
        "PORT": 8000,
        # Zoho OAuth client; without an id the demo uses the sandbox.
        "ZOHO_CLIENT_ID": "",
        "ZOHO_CLIENT_SECRET": "",
        "ZOHO_REDIRECT_URI": "",
        # Set to a sandbox URL to replace every Zoho data centre by it.
        "ZOHO_ACCOUNTS_URL": "",
        # Zoho allows 100 calls a minute per organisation; keep a little headroom.
        "ZOHO_CALLS_PER_MINUTE": 90,
        # Longest single pause when the quota is spent (tests shorten it).
        "ZOHO_MAX_QUOTA_WAIT": 61.0,
        # Percent of Zoho's daily call cap that long imports (bank sync, history import,
        # scheduled list refresh) leave for people publishing; they pause until the reset.
        "ZOHO_DAILY_RESERVE": 20,
        # Seconds to wait for Zoho to answer one call.
        "ZOHO_TIMEOUT": 30.0,
        # A push whose outcome is unknown is looked up in Zoho only after this many seconds,
        # so an import Zoho is still working on is not taken for a lost one.
        "BANK_SETTLE_AFTER": 180.0,
        "LIST_REFRESH_HOURS": 48,
        # Documents read at once (OCR runs in Tesseract processes, so threads overlap).
        "READ_CONCURRENCY": 2,
        # Qonto's API; the sandbox replaces it in the demo.
        "QONTO_API_URL": "https://thirdparty.qonto.com",
        # Default time zone of bank dates and of the daily sync, when Zoho gives none.
        "TIME_ZONE": "Europe/Paris",
        # "en" or "fr": the language of a browser that asks for neither, and of the alert
        # e-mails to a user who has not chosen one in the menu.
        "DEFAULT_LANGUAGE": "en",
        "ADMIN_EMAIL": "",
        "ADMIN_PASSWORD": "",
        # The watched folder for scanners; empty means DATA_DIR/inbox.
        "INBOX_DIR": "",
        # A daily backup (at 03:17 UTC) into BACKUP_DIR/bookbridge-YYYYMMDD-HHMM/, keeping the
        # BACKUP_KEEP newest; empty means no scheduled backup.
        "BACKUP_DIR": "",
        "BACKUP_KEEP": 7,
        # The mailbox whose unread mail's attachments become documents; no host, no mail.
        "IMAP_HOST": "",
        "IMAP_PORT": 993,
        "IMAP_SSL": "ssl",  # ssl, starttls or none (none only for a local test server)
        "IMAP_USER": "",
        "IMAP_PASSWORD": "",
        "IMAP_FOLDER": "INBOX",
        # E-mail alerts to admins go through this SMTP server; no host, no alerts.
        "SMTP_HOST": "",
        "SMTP_PORT": 587,
        "SMTP_SECURITY": "starttls",  # starttls, ssl or none (none only for a local server)
        "SMTP_USERNAME": "",
        "SMTP_PASSWORD": "",  # never logged, never shown
        "SMTP_FROM": "",  # empty: the username, else bookbridge@localhost
        # Bookbridge's address as people reach it (https://books.example.com), for the
        # links in alert e-mails; empty: taken from ZOHO_REDIRECT_URI when it is set.
        "PUBLIC_URL": "",
        # Bearer token of GET /metrics (Prometheus); empty: the endpoint is off (404).
        "METRICS_TOKEN": "",
        # "text" (one line per event) or "json" (one JSON object a line), web and worker.
        "LOG_FORMAT": "text",
        # A Redis URL (redis://host:6379/0) puts the queue and its locks in Redis, for several
        # worker processes; empty: a SQLite queue file in DATA_DIR, for one worker. Read by
        # jobs/queue.py from the environment (the worker has no app).
        "QUEUE_URL": "",
        # Seconds a lock outlives a holder killed with -9 (on another machine; on this one
        # it is taken over at once). Holders renew it every third of this while they live.
        "LOCK_TTL": 90.0,
    }


def _from_environment(environ) -> dict:
    values = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX):]
        if key in _BOOLEAN_KEYS:
            values[key] = raw.strip().lower() in {"1", "true", "yes", "on"}
        elif key in _INTEGER_KEYS:
            values[key] = int(raw)
        elif key in _FLOAT_KEYS:
            values[key] = float(raw)
        else:
            values[key] = raw
    return values


def load(test_config=None, environ=None) -> dict:
    """Return the merged configuration; creates the data directory and its secrets."""
    environ = os.environ if environ is None else environ
    overrides = {**_from_environment(environ), **(test_config or {})}
    data_dir = Path(overrides.get("DATA_DIR") or "data").resolve()
    config = {**_defaults(data_dir), **overrides}
    config["DATA_DIR"] = str(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if environ.get("PORT") and "PORT" not in overrides:
        config["PORT"] = int(environ["PORT"])
    config.setdefault("SECRET_KEY", _secret_file(data_dir / "secret_key", secrets.token_hex(32)))
    config.setdefault("ENCRYPTION_KEY", _secret_file(data_dir / "encryption.key", _fernet_key()))
    return config


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _secret_file(path: Path, new_value: str) -> str:
    """Read a generated secret, creating it (mode 0600) on first start."""
    if not path.exists():
        # Web and worker may start together: write aside, then link into place, which
        # fails if the other process won; either way both read the same value.
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_value)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


def keep_new_files_private() -> None:
    """Files and folders this process creates are its user's alone (0600 / 0700): the
    database and its WAL, the queue, secrets, stored originals. Set where web and worker
    start, before anything is created."""
    os.umask(0o077)


def make_data_private(data_dir) -> None:
    """Take group and other permissions off what an earlier version left in the data folder
    (it created files 0644); symlinks are left alone."""
    root = Path(data_dir)
    _drop_shared_bits(root)
    for folder, subfolders, files in os.walk(root):
        for name in subfolders + files:
            _drop_shared_bits(Path(folder) / name)


def _drop_shared_bits(path: Path) -> None:
    try:
        status = path.lstat()
    except FileNotFoundError:
        return  # removed meanwhile (a WAL file, a spooled upload)
    if stat.S_ISLNK(status.st_mode) or not stat.S_IMODE(status.st_mode) & 0o077:
        return
    try:
        os.chmod(path, stat.S_IMODE(status.st_mode) & 0o700)
    except OSError:
        pass  # not ours (e.g. a scanner's file in the inbox): leave it
