"""Bank transactions: list, detail, categorize (generic and as expense), uncategorize."""

from flask import g, request

from sandbox import store
from sandbox import zoho_records as records
from sandbox.zoho_books.amounts import account_name, mark_used
from sandbox.zoho_books.common import (
    BooksError,
    bp,
    choice_filter,
    fetch,
    fetch_related,
    listing,
    page_args,
    read_body,
    read_upload,
    require,
    success,
    timestamp,
)
from sandbox.zoho_books.expenses import build_expense, insert_expense

FILTERS = {
    "Status.All": None, "Status.Uncategorized": "uncategorized",
    "Status.Categorized": "categorized", "Status.ManuallyAdded": "manually_added",
    "Status.Excluded": "excluded", "Status.Matched": "matched",
}
STATUSES = {"All": None, "all": None, **{v: v for v in FILTERS.values() if v}}
CATEGORIZED = "The transaction(s) have been categorized."


def _status_filter():
    """``filter_by`` (Status.X) or ``status`` / ``transaction_status`` (lowercase values)."""
    if request.args.get("filter_by"):
        return choice_filter(request.args["filter_by"], FILTERS, None)
    status = request.args.get("status") or request.args.get("transaction_status")
    if status:
        _, value = choice_filter(status, STATUSES, None, name="status")
        return status, value
    return "Status.All", None


def _filters():
    filters = []
    applied, status = _status_filter()
    if status:
        filters.append(("status", "=", status))
    if request.args.get("account_id"):
        filters.append(("parent_id", "=", request.args["account_id"]))
    if request.args.get("reference_number"):
        filters.append(("ref", "=", request.args["reference_number"]))
    for param, operator in (("date", "="), ("date_start", ">="), ("date_end", "<=")):
        if request.args.get(param):
            filters.append(("date", operator, request.args[param]))
    return applied, filters


@bp.get("/banktransactions")
def bank_transactions_list():
    applied, filters = _filters()
    page, per_page = page_args()
    rows, has_more = store.find_records(store.get_db(), "banktransaction", g.org_id, filters,
                                        order=("date", True), page=page, per_page=per_page)
    rows = [records.project(row, records.BANK_TRANSACTION_LIST_FIELDS) for row in rows]
    return listing("banktransactions", rows, has_more, page=page, per_page=per_page,
                   report_name="Bank Transactions", applied_filter=applied,
                   sort_column="date", sort_order="D")


def _detail(record):
    """The single-transaction shape: list fields plus the imported line it came from."""
    detail = dict(record)
    detail.setdefault("from_account_id", record["account_id"])
    detail.setdefault("from_account_name", record["account_name"])
    detail.setdefault("to_account_id", "")
    detail.setdefault("to_account_name", "")
    detail.update({
        "exchange_rate": 1, "bank_charges": 0.0, "is_inclusive_tax": False,
        "sub_total": record["amount"], "total": record["amount"], "bcy_total": record["amount"],
        "tags": [], "line_items": [],
        "imported_transactions": [{
            key: record[key] for key in ("imported_transaction_id", "date", "amount", "payee",
                                         "description", "reference_number", "status",
                                         "account_id")
        }],
    })
    return detail


@bp.get("/banktransactions/<transaction_id>")
def bank_transactions_detail(transaction_id):
    record = fetch("banktransaction", transaction_id, "Transaction")
    return success(banktransaction=_detail(record))


def _uncategorized(transaction_id):
    record = fetch("banktransaction", transaction_id, "Transaction")
    if record["status"] != "uncategorized":
        raise BooksError(400, 4, "Invalid value passed for transaction_id: the transaction is "
                                 "not uncategorized.")
    return record


def _save(record):
    record["last_modified_time"] = timestamp()
    store.update_record(store.get_db(), record["transaction_id"], record,
                        status=record["status"], ref=record["reference_number"])


@bp.post("/banktransactions/uncategorized/<transaction_id>/categorize")
def bank_transactions_categorize(transaction_id):
    record = _uncategorized(transaction_id)
    body = read_body()
    require(body, "transaction_type")
    other_field = "to_account_id" if record["debit_or_credit"] == "debit" else "from_account_id"
    other_id = str(body.get(other_field) or "")
    if other_id:
        record["offset_account_name"] = account_name(other_id, other_field)
        mark_used("account", other_id, "is_involved_in_transaction")
    if body.get("customer_id"):
        fetch_related("contact", body["customer_id"], "customer_id")
    record.update({
        "status": "categorized", "transaction_type": str(body["transaction_type"]),
        other_field: other_id, "customer_id": str(body.get("customer_id") or ""),
        "reference_number": str(body.get("reference_number") or record["reference_number"]),
        "description": str(body.get("description") or record["description"]),
    })
    _save(record)
    return success(CATEGORIZED, 201)


@bp.post("/banktransactions/uncategorized/<transaction_id>/categorize/expenses")
def bank_transactions_categorize_expense(transaction_id):
    record = _uncategorized(transaction_id)
    if record["debit_or_credit"] != "debit":
        raise BooksError(400, 4, "Only withdrawals can be categorized as expenses.")
    # Defaults come from the bank line, so a client may send just the expense account.
    body = {"paid_through_account_id": record["account_id"], "date": record["date"],
            "amount": record["amount"], "reference_number": record["reference_number"],
            "description": record["description"], **read_body()}
    expense = build_expense(body)
    expense["transaction_id"] = record["transaction_id"]
    insert_expense(expense)
    record.update({
        "status": "categorized", "transaction_type": "expense",
        "offset_account_name": expense["account_name"], "expense_id": expense["expense_id"],
        "to_account_id": expense["account_id"], "to_account_name": expense["account_name"],
    })
    _save(record)
    return success(CATEGORIZED, 201)


@bp.post("/banktransactions/<transaction_id>/uncategorize")
def bank_transactions_uncategorize(transaction_id):
    record = fetch("banktransaction", transaction_id, "Transaction")
    if record["status"] != "categorized":
        raise BooksError(400, 4, "Invalid value passed for transaction_id: the transaction is "
                                 "not categorized.")
    if record.get("expense_id"):
        store.delete_record(store.get_db(), record.pop("expense_id"))
    for field in ("to_account_id", "to_account_name", "from_account_id", "from_account_name"):
        record.pop(field, None)
    record.update(status="uncategorized", offset_account_name="", customer_id="",
                  transaction_type="deposit" if record["debit_or_credit"] == "credit"
                  else "withdrawal")
    _save(record)
    return success("The transaction has been uncategorized.", 201)


@bp.post("/banktransactions/<transaction_id>/attachment")
def bank_transactions_attach(transaction_id):
    """UNCONFIRMED endpoint: a document on a categorized transaction (not in the OAS)."""
    record = fetch("banktransaction", transaction_id, "Transaction")
    if record["status"] != "categorized":
        raise BooksError(400, 4, "Only categorized transactions can have attachments.")
    file_name, content_type, content = read_upload("attachment")
    db = store.get_db()
    document_id = store.new_id(db)
    store.save_document(db, transaction_id, f"attachment:{document_id}", file_name,
                        content_type, content)
    record["documents"] = [*record.get("documents", []),
                           {"document_id": document_id, "file_name": file_name}]
    _save(record)
    return success("The document has been attached.", 201)
