"""Bills (vendor invoices) and their single attachment."""

from datetime import date, timedelta

from flask import g, request

from sandbox import store
from sandbox import zoho_records as records
from sandbox.zoho_books.amounts import build_line_items, mark_used, parse_amount
from sandbox.zoho_books.common import (
    BooksError,
    attach_file,
    bp,
    fetch,
    fetch_related,
    listing,
    org_currency,
    page_args,
    read_body,
    require,
    success,
    timestamp,
    today,
)
from sandbox.zoho_books.expenses import send_document


def due_date(bill_date, terms):
    try:
        return (date.fromisoformat(bill_date) + timedelta(days=int(terms))).isoformat()
    except ValueError as error:
        raise BooksError(400, 4, "Invalid value passed for date.") from error


def _reject_duplicate(vendor_id, bill_number):
    db = store.get_db()
    if store.count_records(db, "bill", g.org_id,
                           [("name", "=", bill_number), ("parent_id", "=", vendor_id)]):
        raise BooksError(400, 13011, "Bill number already exists.")


def _build_bill(body, vendor):
    inclusive = bool(body.get("is_inclusive_tax", False))
    lines, sub_total, tax_total, taxes = build_line_items(
        body.get("line_items") or [], inclusive=inclusive, default_account_field="account_id")
    adjustment = parse_amount(body.get("adjustment", 0), "adjustment")
    total = sub_total + tax_total + adjustment
    bill_date = str(body.get("date") or today())
    terms = int(body.get("payment_terms", vendor.get("payment_terms", 0)) or 0)
    now_text = timestamp()
    return {
        "bill_id": store.new_id(store.get_db()),
        "vendor_id": vendor["contact_id"],
        "vendor_name": vendor["contact_name"],
        "status": "open",
        "bill_number": str(body["bill_number"]),
        "reference_number": str(body.get("reference_number") or ""),
        "date": bill_date,
        "due_date": str(body.get("due_date") or due_date(bill_date, terms)),
        "due_days": "",
        "payment_terms": terms,
        "payment_terms_label": body.get("payment_terms_label") or f"Net {terms}",
        **org_currency(),
        "price_precision": 2,
        "exchange_rate": float(body.get("exchange_rate", 1.0)),
        "adjustment": records.money(adjustment),
        "adjustment_description": str(body.get("adjustment_description") or ""),
        "is_inclusive_tax": inclusive,
        "is_item_level_tax_calc": False,
        "is_tds_applied": False,
        "is_reverse_charge_applied": False,
        "vat_treatment": str(body.get("vat_treatment") or ""),
        "line_items": lines,
        "sub_total": records.money(sub_total),
        "tax_total": records.money(tax_total),
        "total": records.money(total),
        "payment_made": 0.0,
        "vendor_credits_applied": 0.0,
        "balance": records.money(total),
        "taxes": taxes,
        "custom_fields": body.get("custom_fields", []),
        "documents": [],
        "purchaseorder_ids": [],
        "notes": str(body.get("notes") or ""),
        "terms": str(body.get("terms") or ""),
        "attachment_name": "",
        "has_attachment": False,
        "location_id": "",
        "location_name": "",
        "created_time": now_text,
        "last_modified_time": now_text,
    }


@bp.post("/bills")
def bills_create():
    body = read_body()
    require(body, "vendor_id", "bill_number")
    vendor = fetch_related("contact", body["vendor_id"], "vendor_id")
    _reject_duplicate(vendor["contact_id"], str(body["bill_number"]))
    record = _build_bill(body, vendor)
    store.insert_record(store.get_db(), "bill", g.org_id, record["bill_id"], record,
                        name=record["bill_number"], parent_id=record["vendor_id"],
                        ref=record["reference_number"], date=record["date"],
                        status=record["status"])
    mark_used("contact", vendor["contact_id"], "has_transaction")
    for line in record["line_items"]:
        if line["account_id"]:
            mark_used("account", line["account_id"], "is_involved_in_transaction")
    return success("The bill has been created.", 201, bill=record)


@bp.get("/bills")
def bills_list():
    filters = []
    for param, column in (("bill_number", "name"), ("reference_number", "ref"),
                          ("vendor_id", "parent_id")):
        if request.args.get(param):
            filters.append((column, "=", request.args[param]))
    if request.args.get("bill_number_startswith"):
        pattern = store.like_pattern(request.args["bill_number_startswith"], prefix_only=True)
        filters.append(("name", "like", pattern))
    page, per_page = page_args()
    rows, has_more = store.find_records(store.get_db(), "bill", g.org_id, filters,
                                        order=("date", True), page=page, per_page=per_page)
    rows = [records.project(row, records.BILL_LIST_FIELDS) for row in rows]
    return listing("bills", rows, has_more, page=page, per_page=per_page, report_name="Bills",
                   applied_filter="Status.All", sort_column="date", sort_order="D")


@bp.get("/bills/<bill_id>")
def bills_detail(bill_id):
    return success(bill=fetch("bill", bill_id, "Bill"))


@bp.post("/bills/<bill_id>/attachment")
def bills_attach(bill_id):
    attach_file("bill", bill_id, "Bill")
    return success("The document has been attached.", 201)


@bp.get("/bills/<bill_id>/attachment")
def bills_attachment_download(bill_id):
    fetch("bill", bill_id, "Bill")
    return send_document(bill_id, "attachment", "Attachment")
