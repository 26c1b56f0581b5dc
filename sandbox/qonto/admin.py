"""Qonto part of the sandbox control plane (not part of Qonto), plus the file downloads that
stand in for Qonto's pre-signed S3 URLs. No authentication: loopback only, like /sandbox/."""

import json
import secrets
from datetime import UTC, datetime
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from sandbox import store
from sandbox.qonto import catalog as cat
from sandbox.qonto import changes, data, files
from sandbox.qonto.api import transaction_json
from sandbox.qonto.state import configured_secret, count_call, ensure_ready, secret_key, stats
from sandbox.runtime import now, runtime

bp = Blueprint("qonto_admin", __name__, url_prefix="/sandbox/qonto")


def _body():
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.before_request
def _ready():
    if request.endpoint != "qonto_admin.download":
        ensure_ready(store.get_db())


@bp.errorhandler(changes.ChangeError)
def _change_error(error):
    return jsonify(error=error.message), error.status


def _transaction(db, transaction_id):
    row = db.execute("SELECT * FROM qonto_transaction WHERE id = ?",
                     (transaction_id,)).fetchone()
    attachments = data.attachments_of(db, [transaction_id])[transaction_id]
    return transaction_json(row, attachments, ("attachments",))


@bp.get("")
def overview():
    """Credentials and what the demo organisation holds."""
    db = store.get_db()
    key = secret_key(db)
    counts = {row["status"]: row["n"] for row in db.execute(
        "SELECT status, COUNT(*) AS n FROM qonto_transaction GROUP BY status")}
    accounts = []
    for account in data.accounts(db):
        booked, authorized, _ = data.balances(db, account["id"])
        per_status = {row["status"]: row["n"] for row in db.execute(
            "SELECT status, COUNT(*) AS n FROM qonto_transaction WHERE account_id = ?"
            " GROUP BY status", (account["id"],))}
        accounts.append({"id": account["id"], "name": account["name"],
                         "iban": account["iban"], "main": bool(account["main"]),
                         "balance_cents": booked, "authorized_balance_cents": authorized,
                         "transactions": per_status})
    return jsonify(
        organization={"id": cat.ORG_ID, "name": cat.ORGANIZATION["name"]},
        login=cat.LOGIN, secret_key=key, authorization=f"{cat.LOGIN}:{key}",
        api_base="/v2", bank_accounts=accounts,
        counts={"transactions": sum(counts.values()), "by_status": counts,
                "attachments": db.execute("SELECT COUNT(*) FROM qonto_attachment").fetchone()[0]},
        generated_until=data.get_state(db, "generated_until"), now=data.iso(now()))


@bp.post("/rotate-key")
def rotate_key():
    """Replace the secret key (the old one answers 401 from now on)."""
    db = store.get_db()
    key = _body().get("secret_key") or f"sandbox-qonto-{secrets.token_hex(8)}"
    data.set_state(db, "secret_key", key)
    return jsonify(login=cat.LOGIN, secret_key=key, authorization=f"{cat.LOGIN}:{key}")


@bp.get("/stats")
def stats_get():
    return jsonify(stats().snapshot())


@bp.post("/stats/reset")
def stats_reset():
    stats().reset()
    return jsonify(stats().snapshot())


@bp.post("/advance")
def advance():
    """Move the shared sandbox clock by ``days`` and let that time pass on Qonto's side."""
    days = float(_body().get("days", 1))
    state = runtime()
    old_now = now()
    with state.lock:
        state.clock_offset += days * 86400
    return jsonify(changes.advance(store.get_db(), old_now, now()))


@bp.post("/generate")
def generate():
    """Replace the history: ``transactions_per_account`` completed ones per account, spread
    evenly from ``start`` (a date) to now. For benchmarks."""
    body = _body()
    per_account = int(body.get("transactions_per_account", 1000))
    start = body.get("start", "2024-01-01")
    start_epoch = datetime.fromisoformat(start).replace(tzinfo=UTC).timestamp()
    db = store.get_db()
    count = changes.bulk_generate(db, per_account, start_epoch, now(), body.get("seed"))
    return jsonify(created=count, transactions_per_account=per_account, start=start)


@bp.post("/transactions")
def add_transaction():
    db = store.get_db()
    transaction_id = changes.add_transaction(db, _body(), now())
    return jsonify(transaction=_transaction(db, transaction_id)), 201


@bp.post("/transactions/<transaction_id>/complete")
def complete(transaction_id):
    db = store.get_db()
    changes.finish(db, transaction_id, "completed", now())
    return jsonify(transaction=_transaction(db, transaction_id))


@bp.post("/transactions/<transaction_id>/decline")
def decline(transaction_id):
    db = store.get_db()
    changes.finish(db, transaction_id, "declined", now())
    return jsonify(transaction=_transaction(db, transaction_id))


@bp.post("/transactions/<transaction_id>/attachments")
def attach(transaction_id):
    """Add a generated receipt (``{"kind": "pdf"|"png"}``); bumps updated_at."""
    db = store.get_db()
    changes.add_attachment(db, transaction_id, now(), kind=_body().get("kind"))
    return jsonify(transaction=_transaction(db, transaction_id)), 201


@bp.get("/files/<attachment_id>")
def download(attachment_id):
    """The pre-signed URL target: S3-like XML errors, no Qonto auth."""
    count_call("GET /sandbox/qonto/files/{id}")
    refused = files.check_url(attachment_id, request.args, "Authorization" in request.headers,
                              now())
    db = store.get_db()
    att = db.execute("SELECT * FROM qonto_attachment WHERE id = ?", (attachment_id,)).fetchone()
    if refused is None and att is None:
        refused = (404, "NoSuchKey", "The specified key does not exist.")
    if refused:
        status, code, message = refused
        return Response(files.s3_error_xml(code, message), status=status,
                        content_type="application/xml")
    transaction = json.loads(db.execute("SELECT data FROM qonto_transaction WHERE id = ?",
                                        (att["transaction_id"],)).fetchone()["data"])
    content = files.render_for(att, transaction)
    response = Response(content, content_type=data.CONTENT_TYPES[att["kind"]])
    response.headers["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{quote(att['file_name'])}")
    return response


def reset(db, app):
    """Part of ``POST /sandbox/reset``: forget everything; history is regenerated lazily."""
    data.wipe(db)
    app.extensions["qonto_stats"].reset()
    return {"login": cat.LOGIN, "secret_key": configured_secret(app)}
