"""Qonto Business API v2 stand-in: organization, transactions, attachments (NOTES §3–§7).

Auth is ``Authorization: {login}:{secret_key}``; errors use Qonto's shapes, including the
spec's quirks (400 bodies with ``message``, a blank ``text/plain`` 404 on transactions).
"""

import hmac
import json
from datetime import UTC, datetime, time
from time import sleep

from flask import Blueprint, Response, jsonify, request

from sandbox import store
from sandbox.qonto import catalog as cat
from sandbox.qonto import data, files
from sandbox.qonto.state import count_call, ensure_ready, qonto_faults_before, secret_key
from sandbox.runtime import now, runtime

bp = Blueprint("qonto_api", __name__, url_prefix="/v2")

STATUSES = ("pending", "declined", "completed")
SORT_FIELDS = ("updated_at", "settled_at", "emitted_at")
DATE_FILTERS = ("updated_at", "settled_at", "emitted_at")
INCLUDES = ("attachments", "labels", "vat_details")
MAX_PER_PAGE = 100
YEAR_MESSAGE = ("The datetime in {param} param isn't well formatted (ISO 8601) or year is out"
                " of range")


class QontoError(Exception):
    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.body = body


def errors(status, code, text, key="detail", **extra):
    return QontoError(status, {"errors": [{"code": code, key: text, **extra}]})


@bp.errorhandler(QontoError)
def _qonto_error(error):
    if error.body is None:  # the spec's 404 on transactions: text/plain, blank body
        return Response("", status=error.status, content_type="text/plain")
    response = jsonify(error.body)
    if error.status == 429:
        response.headers["Retry-After"] = "1"
    return response, error.status


@bp.before_request
def _gate():
    count_call(f"{request.method} {_template()}")
    db = store.get_db()
    ensure_ready(db)
    state = runtime()
    if qonto_faults_before():
        raise errors(429, "too_many_requests", "Rate limit exceeded")
    login, _, secret = request.headers.get("Authorization", "").partition(":")
    if login.strip() != cat.LOGIN or not hmac.compare_digest(
            secret.strip().encode(), secret_key(db).encode()):
        raise errors(401, "unauthorized", "Invalid credentials")
    if state.roll(state.faults.get("qonto_error_rate", 0.0)):
        raise errors(500, "internal_server_error", "Internal server error")
    if state.faults.get("qonto_latency_ms"):
        sleep(state.faults["qonto_latency_ms"] / 1000)


def _template():
    rule = request.url_rule
    return rule.rule.replace("<transaction_id>", "{id}").replace(
        "<attachment_id>", "{id}") if rule else request.path


def _list_arg(name):
    return request.args.getlist(f"{name}[]") or request.args.getlist(name)


def attachment_json(row, transaction):
    content = files.render_for(row, transaction)
    content_type = data.CONTENT_TYPES[row["kind"]]
    return {"id": row["id"], "created_at": row["created_at"], "file_name": row["file_name"],
            "file_size": str(len(content)), "file_content_type": content_type,
            "url": files.signed_url(request.url_root, row["id"], row["file_name"],
                                    content_type, now()),
            "probative_attachment": {"status": "unavailable"}}


def transaction_json(row, attachments, includes=()):
    static = json.loads(row["data"])
    body = {"id": row["id"], "transaction_id": static["transaction_id"],
            "amount": data.money(row["amount_cents"]), "amount_cents": row["amount_cents"],
            "settled_balance": data.money(row["settled_balance_cents"]),
            "settled_balance_cents": row["settled_balance_cents"],
            "attachment_ids": [att["id"] for att in attachments], "logo": _logo(static),
            "local_amount": data.money(static["local_amount_cents"])}
    for key in ("local_amount_cents", "side", "operation_type", "currency", "local_currency",
                "label", "clean_counterparty_name"):
        body[key] = static[key]
    body.update(settled_at=row["settled_at"], emitted_at=row["emitted_at"],
                created_at=static["created_at"], updated_at=row["updated_at"],
                status=row["status"], note=static["note"], reference=static["reference"],
                vat_amount=data.money(static["vat_amount_cents"]))
    for key in ("vat_amount_cents", "vat_rate", "initiator_id", "label_ids",
                "attachment_lost", "attachment_required", "card_last_digits", "category",
                "subject_type"):
        body[key] = static[key]
    body["bank_account_id"] = row["account_id"]
    body["is_external_transaction"] = False
    if "attachments" in includes:
        body["attachments"] = [attachment_json(att, static) for att in attachments]
    if "labels" in includes:
        body["labels"] = [{"id": label_id, "name": cat.LABELS[label_id][0],
                           "parent_id": cat.LABELS[label_id][1]}
                          for label_id in static["label_ids"]]
    if "vat_details" in includes:
        body["vat_details"] = {"items": _vat_items(static)}
    for nested in ("transfer", "income", "direct_debit"):
        if nested in static:
            body[nested] = static[nested]
    return body


def _logo(static):
    base = "https://qonto.com/customized-qonto-brand-logos/"
    slug = cat.slugify(static["clean_counterparty_name"])
    return {"small": f"{base}{slug}/small.png", "medium": f"{base}{slug}/medium.png"}


def _vat_items(static):
    vat, rate = static["vat_amount_cents"], static["vat_rate"]
    if vat is None:
        return []
    excluding = static["amount_cents"] - vat
    return [{"amount": f"{vat / 100:.2f}", "amount_cents": str(vat),
             "amount_excluding_vat": f"{excluding / 100:.2f}",
             "amount_excluding_vat_cents": str(excluding), "rate": f"{rate:g}"}]


def _includes():
    return tuple(name for name in _list_arg("includes") if name in INCLUDES)


@bp.get("/organization")
def organization():
    db = store.get_db()
    body = dict(cat.ORGANIZATION)
    body["bank_accounts"] = []
    for account in data.accounts(db):
        booked, authorized, updated = data.balances(db, account["id"])
        body["bank_accounts"].append({
            "id": account["id"], "slug": f"{cat.LOGIN}-bank-account-{account['position']}",
            "iban": account["iban"], "bic": cat.QONTO_BIC, "currency": "EUR",
            "balance": booked / 100, "balance_cents": booked,
            "authorized_balance": authorized / 100, "authorized_balance_cents": authorized,
            "name": account["name"], "updated_at": updated or account["created_at"],
            "status": "active", "main": bool(account["main"]), "is_external_account": False,
            "account_number": ""})
    return jsonify(organization=body)


def _parse_time(param, value, end_of_day):
    """ISO 8601 with or without milliseconds/offset, or a date (its start, or its end for
    ``*_to``), as Qonto's stored text form."""
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            moment = datetime.combine(day, time.max if end_of_day else time.min, UTC)
        else:
            if "T" in value:  # an unencoded "+02:00" offset arrives as " 02:00"
                value = value.replace(" ", "+")
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            moment = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
    except ValueError:
        raise errors(400, "date_invalid", YEAR_MESSAGE.format(param=param),
                     key="message") from None
    return moment


def _filters(account_id):
    clauses, params = ["account_id = ?"], [account_id]
    statuses = _list_arg("status") or ["completed"]
    if any(status not in STATUSES for status in statuses):
        raise errors(400, "status_invalid", "At least one status isn't valid", key="message")
    clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
    params.extend(statuses)
    bounds = {}
    for field in DATE_FILTERS:
        for suffix, operator in (("from", ">="), ("to", "<=")):
            value = request.args.get(f"{field}_{suffix}")
            if value:
                moment = _parse_time(f"{field}_{suffix}", value, suffix == "to")
                bounds[f"{field}_{suffix}"] = moment
                clauses.append(f"{field} {operator} ?")
                params.append(data.iso(moment.timestamp()))
    settled = bounds.get("settled_at_from"), bounds.get("settled_at_to")
    if (all(settled) and settled[0].year != settled[1].year
            and runtime().faults.get("qonto_year_quirk", True)):
        raise errors(400, "date_invalid", YEAR_MESSAGE.format(param="settled_at_to"),
                     key="message")
    side = request.args.get("side")
    if side:
        if side not in ("credit", "debit"):
            raise errors(400, "side_invalid", "Side isn't valid", key="message")
        clauses.append("side = ?")
        params.append(side)
    operation_types = _list_arg("operation_type")
    if operation_types:
        clauses.append(f"operation_type IN ({', '.join('?' * len(operation_types))})")
        params.extend(operation_types)
    with_attachments = request.args.get("with_attachments", "").lower()
    if with_attachments in ("true", "1", "false", "0"):
        clauses.append("attachment_count > 0" if with_attachments in ("true", "1")
                       else "attachment_count = 0")
    return " AND ".join(clauses), params


def _sort():
    field, _, order = request.args.get("sort_by", "settled_at:desc").partition(":")
    order = order or "desc"
    if field not in SORT_FIELDS or order not in ("asc", "desc"):
        raise errors(400, "sort_invalid", "Sort field is invalid", key="message")
    return field, order.upper()


def _int_arg(names, default):
    for name in names:
        try:
            return int(request.args[name])
        except (KeyError, ValueError):
            continue
    return default


def _account():
    db = store.get_db()
    account_id, iban = request.args.get("bank_account_id"), request.args.get("iban")
    if not account_id and not iban:
        raise errors(422, "missing", "bank_account_id or iban is missing")
    if account_id:
        row = db.execute("SELECT id FROM qonto_account WHERE id = ?", (account_id,)).fetchone()
    else:
        row = db.execute("SELECT id FROM qonto_account WHERE iban = ?",
                         (iban.replace(" ", "").upper(),)).fetchone()
    if row is None:
        raise QontoError(404, None)
    return row["id"]


@bp.get("/transactions")
def transactions_list():
    db = store.get_db()
    where, params = _filters(_account())
    field, order = _sort()
    page = max(1, _int_arg(("page", "current_page"), 1))
    per_page = min(MAX_PER_PAGE, max(1, _int_arg(("per_page",), MAX_PER_PAGE)))
    total = db.execute(f"SELECT COUNT(*) FROM qonto_transaction WHERE {where}",  # noqa: S608
                       params).fetchone()[0]
    rows = db.execute(
        f"SELECT * FROM qonto_transaction WHERE {where} ORDER BY {field} {order},"  # noqa: S608
        f" id {order} LIMIT ? OFFSET ?", [*params, per_page, (page - 1) * per_page]).fetchall()
    attachments = data.attachments_of(db, [row["id"] for row in rows])
    includes = _includes()
    total_pages = -(-total // per_page)
    return jsonify(
        transactions=[transaction_json(row, attachments[row["id"]], includes) for row in rows],
        meta={"current_page": page, "next_page": page + 1 if page < total_pages else None,
              "prev_page": page - 1 if page > 1 else None, "total_pages": total_pages,
              "total_count": total, "per_page": per_page})


def _transaction_row(transaction_id):
    return store.get_db().execute("SELECT * FROM qonto_transaction WHERE id = ?",
                                  (transaction_id,)).fetchone()


@bp.get("/transactions/<transaction_id>")
def transaction_show(transaction_id):
    row = _transaction_row(transaction_id)
    if row is None:
        raise QontoError(404, None)
    attachments = data.attachments_of(store.get_db(), [row["id"]])[row["id"]]
    return jsonify(transaction=transaction_json(row, attachments, _includes()))


@bp.get("/transactions/<transaction_id>/attachments")
def transaction_attachments(transaction_id):
    row = _transaction_row(transaction_id)
    if row is None:
        raise errors(404, "not_found", "Transaction not found", source={"parameter": "id"})
    static = json.loads(row["data"])
    attachments = data.attachments_of(store.get_db(), [row["id"]])[row["id"]]
    return jsonify(attachments=[attachment_json(att, static) for att in attachments])


@bp.get("/attachments/<attachment_id>")
def attachment_show(attachment_id):
    db = store.get_db()
    att = db.execute("SELECT * FROM qonto_attachment WHERE id = ?", (attachment_id,)).fetchone()
    if att is None:
        raise errors(404, "not_found", "Attachment not found", source={"parameter": "id"})
    row = _transaction_row(att["transaction_id"])
    return jsonify(attachment=attachment_json(att, json.loads(row["data"])))
