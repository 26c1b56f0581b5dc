"""Expenses and their receipts (POST answers 200, not 201: NOTES §3.11)."""

import io

from flask import g, request, send_file

from sandbox import store
from sandbox import zoho_records as records
from sandbox.zoho_books.amounts import (
    ZERO,
    account_name,
    find_tax,
    mark_used,
    parse_amount,
    split_tax,
)
from sandbox.zoho_books.common import (
    BooksError,
    bp,
    fetch,
    fetch_related,
    listing,
    org_currency,
    page_args,
    read_body,
    read_upload,
    require,
    success,
    timestamp,
)


def build_expense(body):
    """Validate an expense body and return the stored record (not yet inserted)."""
    inclusive = bool(body.get("is_inclusive_tax", False))
    if body.get("line_items"):  # an itemised expense: one account and tax per line
        require(body, "date", "paid_through_account_id")
        lines, amount, net, tax_amount, taxes = _expense_lines(body["line_items"], inclusive)
        body = {**body, "account_id": body.get("account_id") or lines[0]["account_id"]}
        tax = None
    else:
        require(body, "account_id", "date", "amount", "paid_through_account_id")
        amount = parse_amount(body["amount"], "amount", positive=True)
        tax = find_tax(body.get("tax_id"), "tax_id")
        net, tax_amount = split_tax(amount, tax, inclusive)
        lines = []
        taxes = ([{"tax_name": tax["tax_name"], "tax_amount": records.money(tax_amount)}]
                 if tax else [])
    total = net + tax_amount
    customer = (fetch_related("contact", body["customer_id"], "customer_id")
                if body.get("customer_id") else None)
    vendor = (fetch_related("contact", body["vendor_id"], "vendor_id")
              if body.get("vendor_id") else None)
    now_text = timestamp()
    expense_id = store.new_id(store.get_db())
    return {
        "expense_id": expense_id,
        "transaction_id": "",
        "transaction_type": "expense",
        "expense_type": "non-mileage",
        "account_id": str(body["account_id"]),
        "account_name": account_name(body["account_id"], "account_id"),
        "paid_through_account_id": str(body["paid_through_account_id"]),
        "paid_through_account_name": account_name(body["paid_through_account_id"],
                                                  "paid_through_account_id"),
        "date": str(body["date"]),
        "tax_id": tax["tax_id"] if tax else "",
        "tax_name": tax["tax_name"] if tax else "",
        "tax_percentage": tax["tax_percentage"] if tax else 0,
        "tax_amount": records.money(tax_amount),
        "taxes": taxes,
        "is_inclusive_tax": inclusive,
        "is_itemized_expense": bool(lines),
        "line_items": lines,
        **org_currency(),
        "exchange_rate": float(body.get("exchange_rate", 1.0)),
        "amount": records.money(amount),
        "sub_total": records.money(net),
        "total": records.money(total),
        "total_without_tax": records.money(net),
        "bcy_total": records.money(total),
        "bcy_total_without_tax": records.money(net),
        # Zoho's example sends null here, but the OAS says string: we follow the schema.
        "reference_number": str(body.get("reference_number") or ""),
        "description": str(body.get("description") or ""),
        "is_billable": bool(body.get("is_billable", False)),
        "is_personal": False,
        "customer_id": customer["contact_id"] if customer else "",
        "customer_name": customer["contact_name"] if customer else "",
        "vendor_id": vendor["contact_id"] if vendor else "",
        "vendor_name": vendor["contact_name"] if vendor else "",
        "expense_receipt_name": "",
        "expense_receipt_type": "",
        "status": "unbilled" if body.get("is_billable") else "nonbillable",
        "location_id": "",
        "location_name": "",
        "project_id": "",
        "project_name": "",
        "invoice_id": "",
        "invoice_number": "",
        "custom_fields": body.get("custom_fields", []),
        "created_time": now_text,
        "last_modified_time": now_text,
    }


def _expense_lines(items, inclusive):
    """(lines, amount, net, tax, taxes) of an itemised expense; each line's `amount` is
    gross when the tax is inclusive, as on the expense itself."""
    if not isinstance(items, list):
        raise BooksError(400, 4, "Invalid value passed for line_items.")
    lines, amount, net, tax_total, per_tax = [], ZERO, ZERO, ZERO, {}
    for index, item in enumerate(items):
        field = f"line_items[{index}]"
        require(item, "account_id", "amount")
        line_amount = parse_amount(item["amount"], f"{field}.amount", positive=True)
        tax = find_tax(item.get("tax_id"), f"{field}.tax_id")
        line_net, line_tax = split_tax(line_amount, tax, inclusive)
        lines.append({
            "line_item_id": store.new_id(store.get_db()),
            "account_id": str(item["account_id"]),
            "account_name": account_name(item["account_id"], f"{field}.account_id"),
            "description": str(item.get("description") or ""),
            "amount": records.money(line_amount),
            "tax_id": tax["tax_id"] if tax else "",
            "tax_name": tax["tax_name"] if tax else "",
            "tax_percentage": tax["tax_percentage"] if tax else 0,
            "tax_amount": records.money(line_tax),
            "item_total": records.money(line_net),
            "item_order": index + 1,
            "product_type": "service",
        })
        amount, net, tax_total = amount + line_amount, net + line_net, tax_total + line_tax
        if tax is not None:
            per_tax[tax["tax_id"]] = per_tax.get(tax["tax_id"], ZERO) + line_tax
    if not lines:
        raise BooksError(400, 4, "Invalid value passed for line_items.")
    taxes = [{"tax_id": tax_id, "tax_amount": records.money(value)}
             for tax_id, value in per_tax.items()]
    return lines, amount, net, tax_total, taxes


def insert_expense(record):
    store.insert_record(store.get_db(), "expense", g.org_id, record["expense_id"], record,
                        parent_id=record["account_id"], ref=record["reference_number"],
                        date=record["date"])
    for field in ("account_id", "paid_through_account_id"):
        mark_used("account", record[field], "is_involved_in_transaction")


@bp.post("/expenses")
def expenses_create():
    record = build_expense(read_body())
    insert_expense(record)
    return success("The expense has been recorded.", 200, expense=record)


@bp.get("/expenses")
def expenses_list():
    filters = []
    if request.args.get("reference_number"):
        filters.append(("ref", "=", request.args["reference_number"]))
    for param, operator in (("date_start", ">="), ("date_end", "<=")):
        if request.args.get(param):
            filters.append(("date", operator, request.args[param]))
    page, per_page = page_args()
    rows, has_more = store.find_records(store.get_db(), "expense", g.org_id, filters,
                                        order=("date", True), page=page, per_page=per_page)
    rows = [records.project(row, records.EXPENSE_LIST_FIELDS) for row in rows]
    return listing("expenses", rows, has_more, page=page, per_page=per_page,
                   report_name="Expenses", applied_filter="Status.All", sort_column="date",
                   sort_order="D")


@bp.get("/expenses/<expense_id>")
def expenses_detail(expense_id):
    return success(expense=fetch("expense", expense_id, "Expense"))


@bp.post("/expenses/<expense_id>/receipt")
def expenses_receipt_attach(expense_id):
    record = fetch("expense", expense_id, "Expense")
    file_name, content_type, content = read_upload("receipt")
    db = store.get_db()
    # One receipt per expense: a new upload replaces the old one.
    store.save_document(db, expense_id, "receipt", file_name, content_type, content)
    record.update(expense_receipt_name=file_name,
                  expense_receipt_type=file_name.rsplit(".", 1)[-1].lower(),
                  last_modified_time=timestamp())
    store.update_record(db, expense_id, record)
    return success("The expense receipt has been attached.")


@bp.get("/expenses/<expense_id>/receipt")
def expenses_receipt_download(expense_id):
    fetch("expense", expense_id, "Expense")
    return send_document(expense_id, "receipt", "Receipt")


def send_document(owner_id, slot, entity):
    row = store.load_document(store.get_db(), owner_id, slot)
    if row is None:
        raise BooksError(404, 1002, f"{entity} does not exist.")
    return send_file(io.BytesIO(row["content"]), mimetype=row["content_type"],
                     download_name=row["file_name"], as_attachment=True)
