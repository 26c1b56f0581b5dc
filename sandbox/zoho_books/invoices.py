"""Invoices (sales) and their attachment."""

from flask import g, request

from sandbox import store
from sandbox import zoho_records as records
from sandbox.zoho_books.amounts import build_line_items, mark_used, parse_amount
from sandbox.zoho_books.bills import due_date
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


def _invoice_number(body):
    """Auto-numbered unless the caller asks to supply its own (NOTES §3.12)."""
    if request.args.get("ignore_auto_number_generation", "").lower() == "true":
        require(body, "invoice_number")
        number = str(body["invoice_number"])
        if store.count_records(store.get_db(), "invoice", g.org_id, [("name", "=", number)]):
            # The real code for a duplicate number is UNCONFIRMED (NOTES §2.3).
            raise BooksError(400, 1001, f"Invoice \"{number}\" already exists.")
        return number
    return f"INV-{store.next_number(store.get_db(), f'invoice:{g.org_id}'):06d}"


def _build_invoice(body, customer):
    inclusive = bool(body.get("is_inclusive_tax", False))
    lines, sub_total, tax_total, taxes = build_line_items(body["line_items"],
                                                          inclusive=inclusive)
    shipping = parse_amount(body.get("shipping_charge", 0), "shipping_charge")
    adjustment = parse_amount(body.get("adjustment", 0), "adjustment")
    total = sub_total + tax_total + shipping + adjustment
    invoice_date = str(body.get("date") or today())
    terms = int(body.get("payment_terms", customer.get("payment_terms", 0)) or 0)
    now_text = timestamp()
    return {
        "invoice_id": store.new_id(store.get_db()),
        "invoice_number": _invoice_number(body),
        "status": "draft",
        "date": invoice_date,
        "due_date": str(body.get("due_date") or due_date(invoice_date, terms)),
        "due_days": "",
        "payment_terms": terms,
        "payment_terms_label": body.get("payment_terms_label") or f"Net {terms}",
        "reference_number": str(body.get("reference_number") or ""),
        "customer_id": customer["contact_id"],
        "customer_name": customer["contact_name"],
        **org_currency(),
        "exchange_rate": float(body.get("exchange_rate", 1.0)),
        "discount": 0.0,
        "is_discount_before_tax": True,
        "discount_type": "entity_level",
        "is_inclusive_tax": inclusive,
        "line_items": lines,
        # Amounts are numbers: the OAS types total/balance/shipping_charge as strings, which
        # SPEC-DEFECTS.md lists as a schema defect.
        "shipping_charge": records.money(shipping),
        "adjustment": records.money(adjustment),
        "adjustment_description": str(body.get("adjustment_description") or ""),
        "sub_total": records.money(sub_total),
        "tax_total": records.money(tax_total),
        "total": records.money(total),
        "balance": records.money(total),
        "taxes": taxes,
        "payment_made": 0.0,
        "credits_applied": 0.0,
        "write_off_amount": 0.0,
        "allow_partial_payments": bool(body.get("allow_partial_payments", False)),
        "price_precision": 2,
        "is_emailed": False,
        "is_viewed_by_client": False,
        "client_viewed_time": "",
        "reminders_sent": 0,
        "has_attachment": False,
        "attachment_name": "",
        "documents": [],
        "ach_payment_initiated": False,
        "notes": str(body.get("notes") or ""),
        "terms": str(body.get("terms") or ""),
        "custom_fields": body.get("custom_fields", []),
        "location_id": "",
        "location_name": "",
        "salesperson_id": "",
        "salesperson_name": "",
        "created_time": now_text,
        "last_modified_time": now_text,
    }


@bp.post("/invoices")
def invoices_create():
    body = read_body()
    require(body, "customer_id", "line_items")
    customer = fetch_related("contact", body["customer_id"], "customer_id")
    record = _build_invoice(body, customer)
    store.insert_record(store.get_db(), "invoice", g.org_id, record["invoice_id"], record,
                        name=record["invoice_number"], parent_id=record["customer_id"],
                        ref=record["reference_number"], date=record["date"],
                        status=record["status"])
    mark_used("contact", customer["contact_id"], "has_transaction")
    return success("The invoice has been created.", 201, invoice=record)


@bp.get("/invoices")
def invoices_list():
    filters = []
    for param, column in (("invoice_number", "name"), ("reference_number", "ref"),
                          ("customer_id", "parent_id")):
        if request.args.get(param):
            filters.append((column, "=", request.args[param]))
    page, per_page = page_args()
    rows, has_more = store.find_records(store.get_db(), "invoice", g.org_id, filters,
                                        order=("date", True), page=page, per_page=per_page)
    rows = [records.project(row, records.INVOICE_LIST_FIELDS) for row in rows]
    return listing("invoices", rows, has_more, page=page, per_page=per_page,
                   report_name="Invoices", applied_filter="Status.All", sort_column="date",
                   sort_order="D")


@bp.get("/invoices/<invoice_id>")
def invoices_detail(invoice_id):
    return success(invoice=fetch("invoice", invoice_id, "Invoice"))


@bp.post("/invoices/<invoice_id>/attachment")
def invoices_attach(invoice_id):
    attach_file("invoice", invoice_id, "Invoice")
    # The OAS documents 200 here (unlike bills' 201).
    return success("Your file has been successfully attached to the invoice.")
