"""Tax and line-item arithmetic in Decimal, rounded to cents per line as Zoho displays it."""

from decimal import Decimal

from flask import g

from sandbox import store
from sandbox.zoho_books.common import BooksError, fetch_related
from sandbox.zoho_records import money, to_decimal

ZERO = Decimal("0")


def parse_amount(value, field, *, positive=False):
    try:
        amount = to_decimal(value)
    except (ArithmeticError, ValueError) as error:
        raise BooksError(400, 4, f"Invalid value passed for {field}.") from error
    if not amount.is_finite() or (positive and amount <= 0):
        raise BooksError(400, 4, f"Invalid value passed for {field}.")
    return amount


def find_tax(tax_id, field):
    """The org tax record for ``tax_id``; an empty id means no tax."""
    if not tax_id:
        return None
    return fetch_related("tax", tax_id, field)


def split_tax(amount, tax, inclusive):
    """(net, tax) for a line amount; with inclusive tax the amount already holds the VAT."""
    if tax is None:
        return amount, ZERO
    rate = to_decimal(tax["tax_percentage"]) / 100
    if inclusive:
        net = (amount / (1 + rate)).quantize(Decimal("0.01"))
        return net, amount - net
    return amount, (amount * rate).quantize(Decimal("0.01"))


def account_name(account_id, field):
    return fetch_related("account", account_id, field)["account_name"]


def build_line_items(lines, *, inclusive, default_account_field=None):
    """Validated line items with computed totals.

    Returns (lines, sub_total, tax_total, taxes) where ``taxes`` is Zoho's per-tax summary.
    """
    built, sub_total, tax_total, per_tax = [], ZERO, ZERO, {}
    db = store.get_db()
    for index, line in enumerate(lines):
        field = f"line_items[{index}]"
        quantity = parse_amount(line.get("quantity", 1), f"{field}.quantity")
        rate = parse_amount(line.get("rate", 0), f"{field}.rate")
        tax = find_tax(line.get("tax_id"), f"{field}.tax_id")
        net, tax_amount = split_tax((quantity * rate).quantize(Decimal("0.01")), tax, inclusive)
        item = _line_item(db, line, field, default_account_field)
        item.update({
            "line_item_id": store.new_id(db),
            "rate": money(rate),
            "quantity": float(quantity),
            "item_total": money(net),
            "item_order": index + 1,
            "tax_id": tax["tax_id"] if tax else "",
            "tax_name": tax["tax_name"] if tax else "",
            "tax_percentage": tax["tax_percentage"] if tax else 0,
            "tax_type": "tax" if tax else "",
        })
        built.append(item)
        sub_total += net
        tax_total += tax_amount
        if tax is not None:
            per_tax[tax["tax_name"]] = per_tax.get(tax["tax_name"], ZERO) + tax_amount
    taxes = [{"tax_name": name, "tax_amount": money(amount)} for name, amount in per_tax.items()]
    return built, sub_total, tax_total, taxes


def _line_item(db, line, field, default_account_field):
    item_record = None
    if line.get("item_id"):
        item_record = fetch_related("item", line["item_id"], f"{field}.item_id")
    result = {
        "item_id": item_record["item_id"] if item_record else "",
        "name": line.get("name") or (item_record["name"] if item_record else ""),
        "description": line.get("description", ""),
        "unit": line.get("unit") or (item_record["unit"] if item_record else ""),
    }
    if default_account_field is not None:  # bills: each line books to an expense account
        account_id = line.get("account_id")
        result["account_id"] = str(account_id or "")
        result["account_name"] = (account_name(account_id, f"{field}.account_id")
                                  if account_id else "")
    return result


def mark_used(kind, record_id, flag):
    """Flag an account or contact as used, so deleting it is refused like in Zoho."""
    db = store.get_db()
    record = store.get_record(db, kind, g.org_id, record_id)
    if record is not None and not record.get(flag):
        record[flag] = True
        store.update_record(db, record_id, record)
