"""Vendor payments (vendor-payments.yml): made by categorising a bank line, read back here.

A payment applies its amount to bills of one vendor; each bill's balance goes down and its
status becomes "partially_paid" or "paid" (the values bills.yml names). Deleting the payment
(uncategorising its bank line) puts the balances and statuses back.
"""

from decimal import Decimal

from flask import g, request

from sandbox import store
from sandbox import zoho_records as records
from sandbox.zoho_books.amounts import ZERO, mark_used, parse_amount
from sandbox.zoho_books.common import (
    BooksError,
    bp,
    fetch,
    fetch_related,
    listing,
    org_currency,
    page_args,
    success,
    timestamp,
)

LIST_FIELDS = (
    "payment_id", "vendor_id", "vendor_name", "bill_numbers", "payment_mode", "payment_number",
    "description", "date", "reference_number", "exchange_rate", "amount", "bcy_amount",
    "paid_through_account_id", "paid_through_account_name", "balance", "bcy_balance",
    "created_time", "last_modified_time", "is_paid_via_print_check", "has_attachment",
    "is_ach_payment", "ach_payment_status",
)


def cents(value):
    """A Decimal amount rounded to the cent, for comparing amounts exactly."""
    return Decimal(value).quantize(Decimal("0.01"))


# --- applying a payment to bills ---------------------------------------------------------

def _bill_status(bill):
    """paid / partially_paid / open from the balance (bills.yml's status values)."""
    balance, total = cents(records.to_decimal(bill["balance"])), cents(
        records.to_decimal(bill["total"]))
    if balance <= ZERO:
        return "paid"
    return "partially_paid" if balance < total else "open"


def _change_bill_balance(bill, paid):
    """Apply ``paid`` (negative to give it back) to the bill and store it."""
    bill["balance"] = records.money(records.to_decimal(bill["balance"]) - paid)
    bill["payment_made"] = records.money(records.to_decimal(bill.get("payment_made", 0)) + paid)
    bill["status"] = _bill_status(bill)
    bill["last_modified_time"] = timestamp()
    store.update_record(store.get_db(), bill["bill_id"], bill, status=bill["status"])


def _applications(body, vendor_id):
    """The validated ``bills`` of a payment body: [(bill record, amount_applied)]."""
    items = body.get("bills") or []
    if not isinstance(items, list):
        raise BooksError(400, 4, "Invalid value passed for bills.")
    applied, seen = [], set()
    for index, item in enumerate(items):
        field = f"bills[{index}]"
        if not isinstance(item, dict):
            raise BooksError(400, 4, f"Invalid value passed for {field}.")
        bill = fetch_related("bill", item.get("bill_id"), f"{field}.bill_id")
        if bill["bill_id"] in seen:
            raise BooksError(400, 4, f"Invalid value passed for {field}.bill_id: the bill is "
                                     "listed twice.")
        seen.add(bill["bill_id"])
        # The messages below are in Zoho's "Invalid value passed for" style; the exact
        # wording and codes Zoho uses for these cases are UNCONFIRMED.
        if bill["vendor_id"] != vendor_id:
            raise BooksError(400, 4, f"Invalid value passed for {field}.bill_id: the bill "
                                     "belongs to another vendor.")
        amount = cents(parse_amount(item.get("amount_applied"), f"{field}.amount_applied",
                                    positive=True))
        if amount > cents(records.to_decimal(bill["balance"])):
            raise BooksError(400, 4, f"Invalid value passed for {field}.amount_applied: it "
                                     f"exceeds the bill's balance due ({bill['balance']:.2f}).")
        applied.append((bill, amount))
    return applied


# --- create and delete (called by the bank-transaction endpoints) -------------------------

def create_payment(body, vendor, amount, paid_through_id, bank_transaction_id):
    """Validate the bills, store the payment, apply it. ``amount`` is a cent-exact Decimal."""
    applied = _applications(body, vendor["contact_id"])
    total_applied = sum((value for _, value in applied), ZERO)
    if total_applied != amount:
        # Zoho would keep an excess as a vendor advance; categorising a line with an
        # unapplied part is refused here so a settlement is all-or-nothing (UNCONFIRMED).
        raise BooksError(400, 4, f"Invalid value passed for bills: the amounts applied "
                                 f"({total_applied}) must add up to the payment amount "
                                 f"({amount}).")
    db = store.get_db()
    payment_id = store.new_id(db)
    now_text = timestamp()
    paid_through = fetch_related("account", paid_through_id, "paid_through_account_id")
    record = {
        "payment_id": payment_id,
        "vendor_id": vendor["contact_id"],
        "vendor_name": vendor["contact_name"],
        "payment_mode": str(body.get("payment_mode") or "Bank Transfer"),
        "payment_number": store.next_number(db, "vendorpayment"),
        "description": str(body.get("description") or ""),
        "date": str(body["date"]),
        "reference_number": str(body.get("reference_number") or ""),
        "exchange_rate": float(body.get("exchange_rate", 1.0)),
        "amount": records.money(amount),
        "bcy_amount": records.money(amount),
        "balance": 0.0,
        "bcy_balance": 0.0,
        **org_currency(),
        "paid_through_account_id": paid_through["account_id"],
        "paid_through_account_name": paid_through["account_name"],
        "paid_through_account_type": paid_through["account_type"],
        "is_paid_via_print_check": False,
        "is_ach_payment": False,
        "ach_payment_status": "",
        "has_attachment": False,
        "documents": [],
        "custom_fields": body.get("custom_fields", []),
        "location_id": "",
        "location_name": "",
        "bills": [{"bill_payment_id": store.new_id(db), "bill_id": bill["bill_id"],
                   "bill_number": bill["bill_number"], "amount_applied": records.money(value)}
                  for bill, value in applied],
        "bill_numbers": ",".join(bill["bill_number"] for bill, _ in applied),
        # The bank line this payment categorises. Not in the OAS: UNCONFIRMED name.
        "bank_transaction_id": bank_transaction_id,
        "created_time": now_text,
        "last_modified_time": now_text,
    }
    store.insert_record(db, "vendorpayment", g.org_id, payment_id, record,
                        name=str(record["payment_number"]), parent_id=record["vendor_id"],
                        ref=record["reference_number"], date=record["date"])
    for bill, value in applied:
        _change_bill_balance(bill, value)
    mark_used("account", paid_through_id, "is_involved_in_transaction")
    return record


def delete_payment(payment_id):
    """Remove a payment and give its amounts back to the bills it paid."""
    db = store.get_db()
    payment = store.get_record(db, "vendorpayment", g.org_id, payment_id)
    if payment is None:
        return
    for application in payment["bills"]:
        bill = store.get_record(db, "bill", g.org_id, application["bill_id"])
        if bill is not None:
            _change_bill_balance(bill, -records.to_decimal(application["amount_applied"]))
    store.delete_record(db, payment_id)


def vendor_for(body):
    if not body.get("vendor_id"):
        raise BooksError(400, 4, "Invalid value passed for vendor_id: it is required.")
    return fetch_related("contact", body["vendor_id"], "vendor_id")


# --- read endpoints ----------------------------------------------------------------------

@bp.get("/vendorpayments")
def vendor_payments_list():
    filters = []
    for param, column in (("vendor_id", "parent_id"), ("reference_number", "ref"),
                          ("payment_number", "name"), ("date", "date")):
        if request.args.get(param):
            filters.append((column, "=", request.args[param]))
    for param, operator in (("date_start", ">="), ("date_end", "<=")):
        if request.args.get(param):
            filters.append(("date", operator, request.args[param]))
    page, per_page = page_args()
    rows, has_more = store.find_records(store.get_db(), "vendorpayment", g.org_id, filters,
                                        order=("date", True), page=page, per_page=per_page)
    rows = [records.project(row, LIST_FIELDS) for row in rows]
    return listing("vendorpayments", rows, has_more, page=page, per_page=per_page,
                   report_name="Vendor Payments", applied_filter="PaymentMode.All",
                   sort_column="date", sort_order="D")


@bp.get("/vendorpayments/<payment_id>")
def vendor_payments_detail(payment_id):
    return success(vendorpayment=fetch("vendorpayment", payment_id, "Vendor payment"))
