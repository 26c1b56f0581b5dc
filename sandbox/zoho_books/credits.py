"""Vendor credits (a supplier's credit note) and credit notes (ours, to a customer).

Shaped as vendor-credits.yml and credit-notes.yml: POST answers 201 with `vendor_credit` or
`creditnote`; lists carry `page_context`.

UNCONFIRMED: neither OAS lists an attachment endpoint, but Zoho Books API clients in the
wild post the file to `/vendorcredits/{id}/attachment` and `/creditnotes/{id}/attachment`
(multipart field `attachment`), shaped as the bills' one; served here the same way, as
the bank transactions' attachment is.
"""

from flask import g, request

from sandbox import store
from sandbox import zoho_records as records
from sandbox.zoho_books.amounts import build_line_items, mark_used
from sandbox.zoho_books.common import (
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

VENDOR_CREDIT_LIST_FIELDS = (
    "vendor_credit_id", "vendor_credit_number", "status", "reference_number", "date", "total",
    "balance", "vendor_id", "vendor_name", "currency_id", "currency_code", "created_time",
    "last_modified_time", "has_attachment", "exchange_rate",
)
CREDIT_NOTE_LIST_FIELDS = (
    "creditnote_id", "creditnote_number", "status", "reference_number", "date", "total",
    "balance", "location_id", "location_name", "customer_id", "customer_name", "currency_id",
    "currency_code", "created_time", "last_modified_time", "is_emailed",
)


def _next_number(kind, prefix):
    count = store.count_records(store.get_db(), kind, g.org_id)
    return f"{prefix}-{count + 1:05d}"


def _amounts(body, *, account_field):
    inclusive = bool(body.get("is_inclusive_tax", False))
    lines, sub_total, tax_total, taxes = build_line_items(
        body.get("line_items") or [], inclusive=inclusive, default_account_field=account_field)
    total = sub_total + tax_total
    return inclusive, lines, {
        "sub_total": records.money(sub_total), "tax_total": records.money(tax_total),
        "total": records.money(total), "balance": records.money(total), "taxes": taxes}


def _common(body, inclusive, lines, amounts):
    now_text = timestamp()
    return {
        "date": str(body.get("date") or today()),
        "status": "open",
        "reference_number": str(body.get("reference_number") or ""),
        **org_currency(),
        "exchange_rate": float(body.get("exchange_rate", 1.0)),
        "price_precision": 2,
        "is_inclusive_tax": inclusive,
        "line_items": lines,
        **amounts,
        "notes": str(body.get("notes") or ""),
        "documents": [],
        "custom_fields": body.get("custom_fields", []),
        "created_time": now_text,
        "last_modified_time": now_text,
    }


def _list(kind, key, fields, filters_by, report_name):
    filters = [(column, "=", request.args[param]) for param, column in filters_by
               if request.args.get(param)]
    page, per_page = page_args()
    rows, has_more = store.find_records(store.get_db(), kind, g.org_id, filters,
                                        order=("date", True), page=page, per_page=per_page)
    rows = [records.project(row, fields) for row in rows]
    return listing(key, rows, has_more, page=page, per_page=per_page,
                   report_name=report_name, applied_filter="Status.All", sort_column="date",
                   sort_order="D")


@bp.post("/vendorcredits")
def vendor_credits_create():
    body = read_body()
    require(body, "vendor_id", "line_items")
    vendor = fetch_related("contact", body["vendor_id"], "vendor_id")
    inclusive, lines, amounts = _amounts(body, account_field="account_id")
    record = {
        "vendor_credit_id": store.new_id(store.get_db()),
        "vendor_credit_number": str(body.get("vendor_credit_number")
                                    or _next_number("vendor_credit", "DN")),
        "vendor_id": vendor["contact_id"], "vendor_name": vendor["contact_name"],
        **_common(body, inclusive, lines, amounts),
        "total_credits_used": 0.0, "total_refunded_amount": 0.0,
        "has_attachment": False,
    }
    store.insert_record(store.get_db(), "vendor_credit", g.org_id, record["vendor_credit_id"],
                        record, name=record["vendor_credit_number"],
                        parent_id=record["vendor_id"], ref=record["reference_number"],
                        date=record["date"], status=record["status"])
    mark_used("contact", vendor["contact_id"], "has_transaction")
    return success("Vendor credit has been created.", 201, vendor_credit=record)


@bp.get("/vendorcredits")
def vendor_credits_list():
    # The OAS filters vendor credits by `customer_id` (the vendor's contact id).
    return _list("vendor_credit", "vendorcredits", VENDOR_CREDIT_LIST_FIELDS,
                 (("vendor_credit_number", "name"), ("reference_number", "ref"),
                  ("customer_id", "parent_id"), ("date", "date")), "Vendor Credits")


@bp.get("/vendorcredits/<vendor_credit_id>")
def vendor_credits_detail(vendor_credit_id):
    return success(vendor_credit=fetch("vendor_credit", vendor_credit_id, "Vendor credit"))


@bp.post("/creditnotes")
def credit_notes_create():
    body = read_body()
    require(body, "customer_id", "date", "line_items")
    customer = fetch_related("contact", body["customer_id"], "customer_id")
    inclusive, lines, amounts = _amounts(body, account_field=None)
    record = {
        "creditnote_id": store.new_id(store.get_db()),
        "creditnote_number": str(body.get("creditnote_number")
                                 or _next_number("creditnote", "CN")),
        "customer_id": customer["contact_id"], "customer_name": customer["contact_name"],
        **_common(body, inclusive, lines, amounts),
        "location_id": "", "location_name": "", "is_emailed": False,
    }
    store.insert_record(store.get_db(), "creditnote", g.org_id, record["creditnote_id"],
                        record, name=record["creditnote_number"],
                        parent_id=record["customer_id"], ref=record["reference_number"],
                        date=record["date"], status=record["status"])
    mark_used("contact", customer["contact_id"], "has_transaction")
    return success("Credit Note has been created.", 201, creditnote=record)


@bp.get("/creditnotes")
def credit_notes_list():
    return _list("creditnote", "creditnotes", CREDIT_NOTE_LIST_FIELDS,
                 (("creditnote_number", "name"), ("reference_number", "ref"),
                  ("customer_id", "parent_id"), ("date", "date")), "Credit Notes")


@bp.get("/creditnotes/<creditnote_id>")
def credit_notes_detail(creditnote_id):
    return success(creditnote=fetch("creditnote", creditnote_id, "Credit note"))



@bp.post("/vendorcredits/<vendor_credit_id>/attachment")
def vendor_credits_attach(vendor_credit_id):
    """UNCONFIRMED endpoint (not in the OAS), shaped as the bills' attachment."""
    attach_file("vendor_credit", vendor_credit_id, "Vendor credit")
    return success("The document has been attached.", 201)


@bp.post("/creditnotes/<creditnote_id>/attachment")
def credit_notes_attach(creditnote_id):
    """UNCONFIRMED endpoint (not in the OAS), shaped as the invoices' attachment."""
    attach_file("creditnote", creditnote_id, "Credit note")
    return success("The document has been attached.", 201)
