"""Application factory of the Zoho-compatible sandbox (accounts server + Books v3)."""

import logging
import os
import time
from pathlib import Path

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from sandbox import admin, qonto, seed, store, zoho_accounts, zoho_books
from sandbox.runtime import SandboxRuntime

log = logging.getLogger("sandbox")

DEFAULTS = {
    "CLIENT_ID": "bookbridge-sandbox",
    "CLIENT_SECRET": "sandbox-secret",
    "REDIRECT_URIS": [],
    "PUBLIC_URL": "http://127.0.0.1:8100",
}
BOOKS_PREFIX = "/books/v3"


def _redirect_uris(value):
    if isinstance(value, str):
        return [uri.strip() for uri in value.split(",") if uri.strip()]
    return list(value or [])


def _init_database(path):
    db = store.connect(path)
    try:
        store.create_schema(db)
        if not seed.is_seeded(db):
            seed.seed_database(db)
    finally:
        db.close()


def _log_request(response):
    # Path only: query strings can carry tokens and secrets (revoke, token endpoint).
    elapsed_ms = (time.perf_counter() - g.pop("started", time.perf_counter())) * 1000
    log.info("%s %s %s %.0fms", request.method, request.path, response.status_code, elapsed_ms)
    return response


def _http_error(error):
    """Books paths answer errors in Zoho's envelope; everything else gets a small JSON body."""
    if request.path.startswith(BOOKS_PREFIX):
        if error.code == 404:
            return jsonify(code=5, message="Invalid URL Passed"), 404
        if error.code == 405:
            return jsonify(code=37, message="The HTTP method is not allowed."), 405
        return jsonify(code=1000, message="Internal error"), error.code
    return jsonify(error=error.name, description=error.description), error.code


def _internal_error(error):
    log.exception("unhandled error", exc_info=error)
    if request.path.startswith(BOOKS_PREFIX):
        return jsonify(code=1000, message="Internal error"), 500
    return jsonify(error="internal error"), 500


def create_app(config=None):
    """Build the sandbox app; ``config`` keys: DATA_DIR, PUBLIC_URL, CLIENT_ID,
    CLIENT_SECRET, REDIRECT_URIS (list or comma-separated string)."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    data_dir = Path(app.config.get("DATA_DIR") or os.getcwd())
    data_dir.mkdir(parents=True, exist_ok=True)
    app.config["DATABASE"] = str(data_dir / "sandbox.db")
    app.config["REDIRECT_URIS"] = _redirect_uris(app.config["REDIRECT_URIS"])
    app.config["PUBLIC_URL"] = app.config["PUBLIC_URL"].rstrip("/")
    app.url_map.strict_slashes = False  # old Zoho wrappers call ".../contacts/"
    app.json.sort_keys = False  # keep "code" and "message" first, as Zoho does
    app.extensions["sandbox_runtime"] = SandboxRuntime()
    _init_database(app.config["DATABASE"])

    app.before_request(lambda: setattr(g, "started", time.perf_counter()))
    app.after_request(_log_request)
    app.teardown_appcontext(store.close_db)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)
    app.register_blueprint(zoho_accounts.bp)
    app.register_blueprint(zoho_books.bp)
    app.register_blueprint(admin.bp)
    qonto.init_app(app)
    return app
