"""Bank transactions: list, detail, categorize (generic, as expense, as vendor payment),
uncategorize, and match / unmatch with expenses and vendor payments already recorded.

How a line shows what it is linked to (GET /banktransactions/{id}); bank-transactions.yml
names none of these fields, so each name is UNCONFIRMED:
- categorized as an expense: transaction_type "expense", ``expense_id``;
- categorized as a vendor payment: transaction_type "vendor_payment", ``payment_id``,
  ``vendor_id``/``vendor_name`` (the last two are in the OAS detail schema);
- matched: status "matched", ``matched_transactions`` [{transaction_id, transaction_type,
  date, amount, reference_number, contact_name}].
"""

from datetime import date

from flask import g, request

from sandbox import store
from sandbox import zoho_records as records
from sandbox.zoho_books.amounts import account_name, mark_used, parse_amount
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
from sandbox.zoho_books.vendorpayments import cents, create_payment, delete_payment, vendor_for

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
    """The line becomes a new expense (categorize-as-expense-request). A receipt goes on
    afterwards with POST /expenses/{expense_id}/receipt, expense_id read from the line."""
    body = read_body()
    with store.transaction(store.get_db()):  # one expense per line, even when calls race
        _categorize_expense(_uncategorized(transaction_id), body)
    return success(CATEGORIZED, 201)


def _categorize_expense(record, sent):
    if record["debit_or_credit"] != "debit":
        raise BooksError(400, 4, "Only withdrawals can be categorized as expenses.")
    # Defaults come from the bank line, so a client may send just the expense account.
    body = {"paid_through_account_id": record["account_id"], "date": record["date"],
            "amount": record["amount"], "reference_number": record["reference_number"],
            "description": record["description"], **sent}
    expense = build_expense(body)
    expense["transaction_id"] = record["transaction_id"]
    insert_expense(expense)
    record.update({
        "status": "categorized", "transaction_type": "expense",
        "offset_account_name": expense["account_name"], "expense_id": expense["expense_id"],
        "to_account_id": expense["account_id"], "to_account_name": expense["account_name"],
    })
    _save(record)


def _withdrawal_or_deposit(record):
    return "deposit" if record["debit_or_credit"] == "credit" else "withdrawal"


@bp.post("/banktransactions/uncategorized/<transaction_id>/categorize/vendorpayments")
def bank_transactions_categorize_vendor_payment(transaction_id):
    """The line becomes a payment of bills of one vendor (categorize-a-vendor-payment-request)."""
    body = read_body()
    with store.transaction(store.get_db()):  # one payment per line, even when calls race
        _categorize_vendor_payment(_uncategorized(transaction_id), body)
    return success(CATEGORIZED, 201)


def _categorize_vendor_payment(record, body):
    if record["debit_or_credit"] != "debit":
        raise BooksError(400, 4, "Only withdrawals can be categorized as vendor payments.")
    vendor = vendor_for(body)
    line_amount = cents(records.to_decimal(record["amount"]))
    amount = cents(parse_amount(body.get("amount", record["amount"]), "amount", positive=True))
    if amount != line_amount:  # Zoho's wording for this refusal is UNCONFIRMED
        raise BooksError(400, 4, f"Invalid value passed for amount: it must equal the bank "
                                 f"transaction's amount ({line_amount}).")
    paid_through = str(body.get("paid_through_account_id") or record["account_id"])
    if paid_through != record["account_id"]:
        raise BooksError(400, 4, "Invalid value passed for paid_through_account_id: it must be "
                                 "the bank account of the transaction.")
    body = {"date": record["date"], "reference_number": record["reference_number"],
            "description": record["description"], **body}
    payment = create_payment(body, vendor, amount, paid_through, record["transaction_id"])
    record.update({
        "status": "categorized", "transaction_type": "vendor_payment",
        "payment_id": payment["payment_id"], "vendor_id": vendor["contact_id"],
        "vendor_name": vendor["contact_name"], "offset_account_name": "Accounts Payable",
    })
    _save(record)


@bp.post("/banktransactions/<transaction_id>/uncategorize")
def bank_transactions_uncategorize(transaction_id):
    """Undo a categorization; the expense or vendor payment it created is deleted."""
    db = store.get_db()
    with store.transaction(db):  # checked and reversed under one lock: undone once
        record = fetch("banktransaction", transaction_id, "Transaction")
        if record["status"] != "categorized":
            raise BooksError(400, 4, "Invalid value passed for transaction_id: the transaction "
                                     "is not categorized.")
        if record.get("expense_id"):
            store.delete_record(db, record.pop("expense_id"))
        if record.get("payment_id"):
            delete_payment(record.pop("payment_id"))
        for field in ("to_account_id", "to_account_name", "from_account_id", "from_account_name",
                      "vendor_id", "vendor_name"):
            record.pop(field, None)
        record.update(status="uncategorized", offset_account_name="", customer_id="",
                      transaction_type=_withdrawal_or_deposit(record))
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


# --- match / unmatch ---------------------------------------------------------------------
# A withdrawal can be matched with expenses and vendor payments recorded in the same bank
# account and not yet linked to a bank line. Expenses remember their line in
# ``transaction_id`` (as categorize/expenses does), vendor payments in ``bank_transaction_id``.

MATCHABLE = {"expense": ("expense", "transaction_id"),
             "vendor_payment": ("vendorpayment", "bank_transaction_id")}


def _candidate(kind, record):
    """A record in the matching_transactions shape (get-matching-transactions-response)."""
    if kind == "expense":
        return {"transaction_id": record["expense_id"], "transaction_type": "expense",
                "transaction_number": "", "contact_name": record.get("vendor_name", ""),
                "amount": record["total"], "date": record["date"],
                "reference_number": record["reference_number"]}
    return {"transaction_id": record["payment_id"], "transaction_type": "vendor_payment",
            "transaction_number": str(record["payment_number"]),
            "contact_name": record["vendor_name"], "amount": record["amount"],
            "date": record["date"], "reference_number": record["reference_number"]}


def _open_records(kind, line):
    """Expenses or vendor payments paid from the line's account, not linked to any line."""
    table, link_field = MATCHABLE[kind]
    paid_through = "paid_through_account_id"
    rows, _ = store.find_records(store.get_db(), table, g.org_id, per_page=1_000_000)
    return [row for row in rows
            if row[paid_through] == line["account_id"] and not row.get(link_field)]


def _wanted(candidate, line, args):
    """The cheap OAS query filters; without amount filters only the line's amount is shown."""
    amount = records.to_decimal(candidate["amount"])
    if args.get("amount_start") or args.get("amount_end"):
        low = parse_amount(args.get("amount_start") or 0, "amount_start")
        high = parse_amount(args.get("amount_end") or amount, "amount_end")
        if not low <= amount <= high:
            return False
    elif args.get("show_all_transactions", "").lower() != "true" and (
            cents(amount) != cents(records.to_decimal(line["amount"]))):
        return False
    checks = (
        ("date_after", lambda value: candidate["date"] > value),
        ("date_before", lambda value: candidate["date"] < value),
        ("reference_number", lambda value: candidate["reference_number"] == value),
        ("contact", lambda value: value.lower() in candidate["contact_name"].lower()),
        ("transaction_type", lambda value: candidate["transaction_type"] == value),
    )
    return all(check(args[name]) for name, check in checks if args.get(name))


def _day_distance(candidate, line):
    return abs((date.fromisoformat(candidate["date"]) - date.fromisoformat(line["date"])).days)


@bp.get("/banktransactions/uncategorized/<transaction_id>/match")
def bank_transactions_matching(transaction_id):
    """Candidates, best first: same amount, nearest date. Only withdrawals have candidates
    here (the sandbox records no customer payments)."""
    line = _uncategorized(transaction_id)
    candidates = []
    if line["debit_or_credit"] == "debit":
        candidates = [_candidate(kind, row) for kind in MATCHABLE
                      for row in _open_records(kind, line)]
    candidates = [c for c in candidates if _wanted(c, line, request.args)]
    candidates.sort(key=lambda c: (cents(records.to_decimal(c["amount"]))
                                   != cents(records.to_decimal(line["amount"])),
                                   _day_distance(c, line), c["transaction_id"]))
    for index, candidate in enumerate(candidates):
        candidate.update(debit_or_credit="debit", is_paid_via_print_check=False,
                         is_best_match=index == 0 and candidate["amount"] == line["amount"])
    page, per_page = page_args()
    shown = candidates[(page - 1) * per_page:page * per_page]
    return listing("matching_transactions", shown, len(candidates) > page * per_page,
                   page=page, per_page=per_page, report_name="Matching Transactions",
                   sort_column="date")


def _to_be_matched(body, line):
    """[(kind, record)] named by transactions_to_be_matched, validated against the line.
    Zoho's codes and wording for these refusals are UNCONFIRMED (the OAS lists none)."""
    items = body.get("transactions_to_be_matched")
    if not isinstance(items, list) or not items:
        raise BooksError(400, 4, "Invalid value passed for transactions_to_be_matched: it is "
                                 "required.")
    chosen, seen = [], set()
    for index, item in enumerate(items):
        field = f"transactions_to_be_matched[{index}]"
        kind = item.get("transaction_type") if isinstance(item, dict) else None
        if kind not in MATCHABLE:
            raise BooksError(400, 4, f"Invalid value passed for {field}.transaction_type.")
        table, link_field = MATCHABLE[kind]
        record = fetch_related(table, item.get("transaction_id"), f"{field}.transaction_id")
        record_id = str(item["transaction_id"])
        if record_id in seen:
            raise BooksError(400, 4, f"Invalid value passed for {field}.transaction_id: it is "
                                     "listed twice.")
        seen.add(record_id)
        if record.get(link_field):
            raise BooksError(400, 4, f"Invalid value passed for {field}.transaction_id: the "
                                     "transaction is already matched with a bank transaction.")
        if record["paid_through_account_id"] != line["account_id"]:
            raise BooksError(400, 4, f"Invalid value passed for {field}.transaction_id: the "
                                     "transaction was not paid through this bank account.")
        chosen.append((kind, record))
    total = sum((records.to_decimal(_candidate(kind, r)["amount"]) for kind, r in chosen), 0)
    if cents(total) != cents(records.to_decimal(line["amount"])):
        raise BooksError(400, 4, f"The total of the transactions to be matched ({cents(total)}) "
                                 f"must equal the amount of the bank transaction "
                                 f"({cents(records.to_decimal(line['amount']))}).")
    return chosen


def _link(kind, record, transaction_id):
    """Point an expense or vendor payment at a bank line ("" to unlink)."""
    table, link_field = MATCHABLE[kind]
    record[link_field] = transaction_id
    record["last_modified_time"] = timestamp()
    record_id = record["expense_id"] if table == "expense" else record["payment_id"]
    store.update_record(store.get_db(), record_id, record)


def _check_account(line):
    account_id = request.args.get("account_id")
    if account_id and account_id != line["account_id"]:
        raise BooksError(400, 4, "Invalid value passed for account_id.")


@bp.post("/banktransactions/uncategorized/<transaction_id>/match")
def bank_transactions_match(transaction_id):
    body = read_body()
    with store.transaction(store.get_db()):  # checked and linked under one lock: no double
        line = _uncategorized(transaction_id)
        _check_account(line)
        if line["debit_or_credit"] != "debit":
            raise BooksError(400, 4, "Only withdrawals can be matched with expenses or vendor "
                                     "payments.")
        chosen = _to_be_matched(body, line)
        for kind, record in chosen:
            _link(kind, record, transaction_id)
        line.update(status="matched", transaction_type=chosen[0][0],
                    matched_transactions=[_candidate(kind, r) for kind, r in chosen])
        _save(line)
    return success("The transaction has been matched.", 201)


@bp.post("/banktransactions/<transaction_id>/unmatch")
def bank_transactions_unmatch(transaction_id):
    db = store.get_db()
    with store.transaction(db):
        line = fetch("banktransaction", transaction_id, "Transaction")
        if line["status"] != "matched":
            raise BooksError(400, 4, "Invalid value passed for transaction_id: the transaction "
                                     "is not matched.")
        _check_account(line)
        for matched in line.pop("matched_transactions", []):
            table, _ = MATCHABLE[matched["transaction_type"]]
            record = store.get_record(db, table, g.org_id, matched["transaction_id"])
            if record is not None:
                _link(matched["transaction_type"], record, "")
        line.update(status="uncategorized", transaction_type=_withdrawal_or_deposit(line))
        _save(line)
    return success("The transaction has been unmatched.", 201)
