"""State changes driven by the control plane: time passing, one-off transactions, bulk data."""

import hashlib
import json
import math
import uuid

from sandbox import store
from sandbox.qonto import catalog as cat
from sandbox.qonto import data
from sandbox.qonto import generator as gen
from sandbox.qonto.data import epoch_of, iso

MANUAL_SEQ_BASE = 90_000_000
RECEIPT_WINDOW_DAYS = 10


class ChangeError(Exception):
    """A control-plane request that cannot be applied (answered 404 or 409)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _bump(updated_at, at):
    """A new updated_at: ``at``, but always strictly after the previous value."""
    return iso(max(at, epoch_of(updated_at) + 0.001))


def _seed(db):
    return int(data.get_state(db, "seed", gen.SEED))


def _row(db, transaction_id):
    row = db.execute("SELECT * FROM qonto_transaction WHERE id = ?",
                     (transaction_id,)).fetchone()
    if row is None:
        raise ChangeError(404, f"unknown transaction {transaction_id}")
    return row


def _settle(db, row, status, at, settled_at=None):
    settled = iso(settled_at if settled_at is not None else at) if status == "completed" \
        else None
    db.execute("UPDATE qonto_transaction SET status = ?, settled_at = ?, planned_at = NULL,"
               " updated_at = ? WHERE id = ?",
               (status, settled, _bump(row["updated_at"], settled_at or at), row["id"]))
    return settled


def finish(db, transaction_id, status, at):
    """Complete or decline one pending transaction now (``/complete``, ``/decline``)."""
    with store.transaction(db):
        row = _row(db, transaction_id)
        if row["status"] != "pending":
            raise ChangeError(409, f"transaction is {row['status']}, not pending")
        settled = _settle(db, row, status, at)
        if settled:
            data.rebalance(db, row["account_id"], settled)
    return _row(db, transaction_id)


def add_attachment(db, transaction_id, at, kind=None, created_at=None):
    row = _row(db, transaction_id)
    if row["attachment_count"] >= 5:
        raise ChangeError(409, "a transaction has at most 5 attachments")
    kind = kind if kind in data.CONTENT_TYPES else ("png" if row["operation_type"] == "card"
                                                   and row["attachment_count"] else "pdf")
    static = json.loads(row["data"])
    static_event = {"id": transaction_id, "emitted": epoch_of(row["emitted_at"]),
                    "operation_type": row["operation_type"], "reference": static["reference"],
                    "clean_name": static["clean_counterparty_name"]}
    created = created_at if created_at is not None else at
    # Deterministic, so that advancing the same seed the same way gives the same ids.
    att_id = str(uuid.uuid5(uuid.NAMESPACE_URL,
                            f"qonto:{transaction_id}:{row['attachment_count']}:{iso(created)}"))
    with store.transaction(db):
        db.execute("INSERT INTO qonto_attachment (id, transaction_id, created_at, file_name,"
                   " kind) VALUES (?, ?, ?, ?, ?)",
                   (att_id, transaction_id, iso(created),
                    data.file_name(static_event, kind, row["attachment_count"]), kind))
        db.execute("UPDATE qonto_transaction SET attachment_count = attachment_count + 1,"
                   " updated_at = ? WHERE id = ?", (_bump(row["updated_at"], created),
                                                    transaction_id))
    return att_id


def advance(db, old_now, new_now):
    """What ``days`` of real life would do: settle or decline pending items, new
    transactions, receipts uploaded late. The caller has already moved the shared clock.
    New transactions are those emitted since the history was last extended, so time moved
    with ``POST /sandbox/clock`` alone is filled in too."""
    summary = {"created": 0, "completed": 0, "declined": 0, "attachments_added": 0}
    since = float(epoch_of(data.get_state(db, "generated_until", iso(old_now))))
    touched = {}
    with store.transaction(db):
        for row in db.execute("SELECT * FROM qonto_transaction WHERE status = 'pending'"
                              " ORDER BY emitted_at, id").fetchall():
            planned = epoch_of(row["planned_at"]) if row["planned_at"] else new_now
            if planned > new_now:
                continue
            status = row["final_status"] if row["planned_at"] else "completed"
            settled = _settle(db, row, status, new_now, settled_at=planned)
            summary["completed" if status == "completed" else "declined"] += 1
            if settled:
                touched[row["account_id"]] = min(touched.get(row["account_id"], settled),
                                                 settled)
        for account_id, first in touched.items():
            data.rebalance(db, account_id, first)
        events = gen.events_between(_seed(db), since, new_now) if new_now > since else []
        summary["created"] = data.insert_events(db, events, new_now)
        data.set_state(db, "generated_until", iso(new_now))
        summary["attachments_added"] = _late_receipts(db, old_now, new_now)
    summary["now"] = iso(new_now)
    return summary


def _late_receipts(db, old_now, new_now):
    """Receipts uploaded days after payment, on about a third of the recent debits that
    still have none (their updated_at moves)."""
    window = iso(new_now - RECEIPT_WINDOW_DAYS * gen.DAY)
    added = 0
    rows = db.execute(
        "SELECT id, settled_at FROM qonto_transaction WHERE status = 'completed'"
        " AND needs_receipt = 1 AND attachment_count = 0 AND settled_at >= ?"
        " ORDER BY settled_at, id", (window,)).fetchall()
    for row in rows:
        digest = hashlib.sha256(f"{row['id']}:{iso(new_now)[:10]}".encode()).digest()
        if digest[0] >= 90:  # ~35 %
            continue
        start = max(epoch_of(row["settled_at"]), old_now)
        created = start + (new_now - start) * digest[1] / 256
        add_attachment(db, row["id"], new_now, created_at=created)
        added += 1
    return added


def _account_position(db, body):
    wanted = body.get("bank_account_id") or body.get("iban")
    for row in data.accounts(db):
        if wanted in (row["id"], row["iban"]) or (not wanted and row["main"]):
            return row["position"]
    raise ChangeError(404, f"unknown bank account {wanted}")


def add_transaction(db, body, at):
    """One transaction from JSON fields (tests): amounts positive, side gives direction."""
    status = body.get("status", "completed")
    if status not in ("pending", "declined", "completed"):
        raise ChangeError(409, f"unknown status {status}")
    cents = int(body["amount_cents"]) if "amount_cents" in body else \
        int(round(float(body.get("amount", 10)) * 100))
    emitted = epoch_of(body["emitted_at"]) if body.get("emitted_at") else at
    settled = epoch_of(body["settled_at"]) if body.get("settled_at") else max(emitted, at)
    seq = int(data.get_state(db, "manual_seq", MANUAL_SEQ_BASE)) + 1
    data.set_state(db, "manual_seq", str(seq))
    side = body.get("side", "debit")
    operation_type = body.get("operation_type", "card")
    label = body.get("label", "Sandbox Test Merchant")
    counterparty = cat.counterparty_bank(label) if operation_type != "card" else None
    event = {
        "id": body.get("id") or str(uuid.uuid4()), "account": _account_position(db, body),
        "seq": seq, "side": side, "operation_type": operation_type, "label": label,
        "clean_name": body.get("clean_counterparty_name", label), "amount_cents": abs(cents),
        "local_amount_cents": int(body.get("local_amount_cents", abs(cents))),
        "local_currency": body.get("local_currency", "EUR"), "emitted": emitted,
        "final_at": {"pending": math.inf, "declined": emitted + 1}.get(status, settled),
        "final_status": "declined" if status == "declined" else "completed",
        "category": body.get("category", "other_expense"), "reference": body.get("reference"),
        "note": body.get("note"), "vat_rate": body.get("vat_rate"),
        "initiator_id": body.get("initiator_id"), "counterparty": counterparty,
        "card_last_digits": body.get("card_last_digits",
                                     "7391" if operation_type == "card" else None),
        "attachments": [], "label_ids": list(body.get("label_ids", [])),
        "attachment_required": bool(body.get("attachment_required", side == "debit")),
        "attachment_lost": bool(body.get("attachment_lost", False))}
    data.insert_events(db, [event], max(at, settled) if status == "completed" else at)
    for index in range(min(int(body.get("attachments", 0)), 5)):
        add_attachment(db, event["id"], at, kind=("pdf", "png")[index % 2],
                       created_at=min(emitted + 60 + index, at))
    return event["id"]


def bulk_generate(db, per_account, start, at, seed=None):
    """Replace the history with ``per_account`` completed transactions per account."""
    seed = _seed(db) if seed is None else int(seed)
    events = gen.bulk_events(seed, per_account, start, at)
    with store.transaction(db):
        data.wipe_history(db)
        count = data.insert_events(db, events, at)
        data.set_state(db, "generated_until", iso(at))
    return count
