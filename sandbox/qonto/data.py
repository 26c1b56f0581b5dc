"""Qonto tables in the sandbox's SQLite file, and the rows <-> API objects mapping.

Mutable parts of a transaction (status, dates, balance, attachments) live in columns; the
rest is one JSON blob written once. Timestamps are stored as Qonto prints them
(``2024-05-02T10:15:00.123Z``), which sort and compare correctly as text.
"""

import json
import math
import time
from datetime import UTC, datetime

from sandbox import store
from sandbox.qonto import catalog as cat
from sandbox.qonto import generator as gen

SCHEMA = """
CREATE TABLE IF NOT EXISTS qonto_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS qonto_account (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, name TEXT NOT NULL, iban TEXT NOT NULL,
    main INTEGER NOT NULL, opening_cents INTEGER NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS qonto_transaction (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, seq INTEGER NOT NULL, side TEXT NOT NULL,
    operation_type TEXT NOT NULL, amount_cents INTEGER NOT NULL, status TEXT NOT NULL,
    final_status TEXT NOT NULL, planned_at TEXT, emitted_at TEXT NOT NULL, settled_at TEXT,
    updated_at TEXT NOT NULL, settled_balance_cents INTEGER, needs_receipt INTEGER NOT NULL,
    attachment_count INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS qonto_tx_settled ON qonto_transaction (account_id, settled_at, id);
CREATE INDEX IF NOT EXISTS qonto_tx_updated ON qonto_transaction (account_id, updated_at, id);
CREATE INDEX IF NOT EXISTS qonto_tx_emitted ON qonto_transaction (account_id, emitted_at, id);
CREATE INDEX IF NOT EXISTS qonto_tx_status ON qonto_transaction (status, planned_at);
CREATE TABLE IF NOT EXISTS qonto_attachment (
    id TEXT PRIMARY KEY, transaction_id TEXT NOT NULL, created_at TEXT NOT NULL,
    file_name TEXT NOT NULL, kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS qonto_att_by_tx ON qonto_attachment (transaction_id, created_at);
"""
TABLES = ("qonto_state", "qonto_account", "qonto_transaction", "qonto_attachment")
CONTENT_TYPES = {"pdf": "application/pdf", "png": "image/png"}
# operation_type -> (subject_type, nested counterparty object)
SUBJECTS = {"card": ("Card", None), "transfer": ("Transfer", "transfer"),
            "income": ("Income", "income"), "direct_debit": ("DirectDebit", "direct_debit"),
            "qonto_fee": ("BillingTransfer", None), "recall": ("Income", "income")}


def create_schema(db):
    db.executescript(SCHEMA)


def iso(epoch):
    """Qonto's timestamp format: UTC, milliseconds, literal Z."""
    millis = int(round(epoch * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(millis // 1000)) \
        + f"{millis % 1000:03d}Z"


def epoch_of(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def get_state(db, key, default=None):
    row = db.execute("SELECT value FROM qonto_state WHERE key = ?", (key,)).fetchone()
    return row["value"] if row else default


def set_state(db, key, value):
    db.execute("INSERT OR REPLACE INTO qonto_state (key, value) VALUES (?, ?)", (key, value))


def wipe(db):
    with store.transaction(db):
        for table in TABLES:
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names


def wipe_history(db):
    db.execute("DELETE FROM qonto_transaction")
    db.execute("DELETE FROM qonto_attachment")


def ensure_generated(db, now, seed=gen.SEED):
    """First use after a start or a reset: the accounts and ~2 years of history up to now."""
    if get_state(db, "generated_at"):
        return False
    with store.transaction(db):
        if get_state(db, "generated_at"):  # another request got here first
            return False
        db.executemany(
            "INSERT OR REPLACE INTO qonto_account (id, position, name, iban, main,"
            " opening_cents, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(acc_id, position, name, cat.account_iban(number), int(main), opening,
              cat.ORGANIZATION["contract_signed_at"])
             for position, acc_id, name, number, main, opening in cat.ACCOUNTS])
        wipe_history(db)
        insert_events(db, gen.history(seed, now), now)
        set_state(db, "generated_at", iso(now))
        set_state(db, "generated_until", iso(now))
        set_state(db, "seed", str(seed))
    return True


def accounts(db):
    return db.execute("SELECT * FROM qonto_account ORDER BY position").fetchall()


def account_ids(db):
    return {row["position"]: row["id"] for row in accounts(db)}


def _vat(amount_cents, rate):
    if rate is None:
        return None
    return int(round(amount_cents * rate / (100 + rate)))


def file_name(event, kind, index):
    day = datetime.fromtimestamp(event["emitted"], UTC)
    if kind == "png":
        return f"IMG_{int(event['id'][:4], 16) % 9000 + 1000 + index}.png"
    if event["operation_type"] == "qonto_fee":
        return f"qonto-facture-{day:%Y-%m}.pdf"
    if event["reference"] and event["operation_type"] == "transfer":
        return f"{cat.slugify(event['reference']).upper()}.pdf"
    return f"recu-{cat.slugify(event['clean_name'])}-{day:%Y%m%d}.pdf"


def _static(event, account_id, position):
    subject_type, nested = SUBJECTS.get(event["operation_type"], ("Other", None))
    vat_cents = _vat(event["amount_cents"], event["vat_rate"])
    data = {
        "transaction_id": f"{cat.LOGIN}-{position}-transaction-{event['seq']}",
        "amount_cents": event["amount_cents"],
        "local_amount_cents": event["local_amount_cents"], "side": event["side"],
        "operation_type": event["operation_type"], "currency": "EUR",
        "local_currency": event["local_currency"], "label": event["label"],
        "clean_counterparty_name": event["clean_name"], "note": event["note"],
        "reference": event["reference"], "vat_amount_cents": vat_cents,
        "vat_rate": event["vat_rate"], "initiator_id": event["initiator_id"],
        "label_ids": event["label_ids"], "attachment_lost": event["attachment_lost"],
        "attachment_required": event["attachment_required"],
        "card_last_digits": event["card_last_digits"], "category": event["category"],
        "subject_type": subject_type,
        "is_external_transaction": False, "created_at": iso(event["emitted"])}
    if nested and event["counterparty"]:
        iban, bic = event["counterparty"]
        data[nested] = {"counterparty_account_number": iban,
                        "counterparty_account_number_format": "IBAN",
                        "counterparty_bank_identifier": bic,
                        "counterparty_bank_identifier_format": "SWIFT_BIC"}
    return data


def insert_events(db, events, now):
    """Store generated events as they stand at ``now``; balances are recomputed after."""
    ids = account_ids(db)
    tx_rows, att_rows, touched = [], [], {}
    for event in events:
        status, settled, updated, attachments = gen.state_at(event, now)
        account_id = ids[event["account"]]
        final_at = event["final_at"]
        planned = iso(final_at) if status == "pending" and final_at != math.inf else None
        if settled is not None:
            touched[account_id] = min(touched.get(account_id, settled), settled)
        tx_rows.append((
            event["id"], account_id, event["seq"], event["side"], event["operation_type"],
            event["amount_cents"], status, event["final_status"], planned,
            iso(event["emitted"]), iso(settled) if settled else None, iso(updated),
            int(event["side"] == "debit" and event["attachment_required"]),
            len(attachments), json.dumps(_static(event, account_id, event["account"]))))
        for index, (att_id, created, kind) in enumerate(attachments):
            att_rows.append((att_id, event["id"], iso(created), file_name(event, kind, index),
                             kind))
    with store.transaction(db):
        db.executemany(
            "INSERT INTO qonto_transaction (id, account_id, seq, side, operation_type,"
            " amount_cents, status, final_status, planned_at, emitted_at, settled_at,"
            " updated_at, needs_receipt, attachment_count, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", tx_rows)
        db.executemany("INSERT INTO qonto_attachment (id, transaction_id, created_at,"
                       " file_name, kind) VALUES (?, ?, ?, ?, ?)", att_rows)
        for account_id, since in touched.items():
            rebalance(db, account_id, iso(since))
    return len(tx_rows)


def rebalance(db, account_id, since):
    """Recompute settled_balance of the account's completed rows settled at/after ``since``."""
    opening = db.execute("SELECT opening_cents FROM qonto_account WHERE id = ?",
                         (account_id,)).fetchone()[0]
    before = db.execute(
        "SELECT COALESCE(SUM(CASE side WHEN 'credit' THEN amount_cents ELSE -amount_cents END),"
        " 0) FROM qonto_transaction WHERE account_id = ? AND status = 'completed'"
        " AND settled_at < ?", (account_id, since)).fetchone()[0]
    balance, updates = opening + before, []
    for row in db.execute(
            "SELECT id, side, amount_cents FROM qonto_transaction WHERE account_id = ?"
            " AND status = 'completed' AND settled_at >= ? ORDER BY settled_at, id",
            (account_id, since)):
        balance += row["amount_cents"] if row["side"] == "credit" else -row["amount_cents"]
        updates.append((balance, row["id"]))
    db.executemany("UPDATE qonto_transaction SET settled_balance_cents = ? WHERE id = ?",
                   updates)


def balances(db, account_id):
    """(booked balance, authorized balance, last update) of one account, in cents."""
    row = db.execute(
        "SELECT COALESCE(SUM(CASE WHEN status = 'completed' THEN (CASE side WHEN 'credit'"
        " THEN amount_cents ELSE -amount_cents END) END), 0) AS booked,"
        " COALESCE(SUM(CASE WHEN status = 'pending' AND side = 'debit' THEN amount_cents END),"
        " 0) AS held, MAX(updated_at) AS updated FROM qonto_transaction WHERE account_id = ?",
        (account_id,)).fetchone()
    opening = db.execute("SELECT opening_cents FROM qonto_account WHERE id = ?",
                         (account_id,)).fetchone()[0]
    booked = opening + row["booked"]
    return booked, booked - row["held"], row["updated"]


def attachments_of(db, transaction_ids):
    """Attachment rows of several transactions, grouped by transaction id."""
    grouped = {tx_id: [] for tx_id in transaction_ids}
    for start in range(0, len(transaction_ids), 500):
        chunk = transaction_ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT * FROM qonto_attachment WHERE transaction_id IN ({marks})"  # noqa: S608
        rows = db.execute(sql + " ORDER BY created_at, id", chunk)
        for row in rows:
            grouped[row["transaction_id"]].append(row)
    return grouped


def money(cents):
    return None if cents is None else cents / 100
