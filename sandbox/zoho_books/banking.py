"""Bank accounts, statement import and bank transactions (NOTES §3.7-§3.9)."""

from flask import g, request

from sandbox import store
from sandbox import zoho_records as records
from sandbox.zoho_books.amounts import parse_amount
from sandbox.zoho_books.common import (
    BooksError,
    bp,
    choice_filter,
    fetch,
    fetch_related,
    listing,
    org_currency,
    page_args,
    read_body,
    require,
    success,
    timestamp,
)
from sandbox.zoho_books.settings import STATUS_FILTERS, delete_unused, set_active

BANK_TYPES = ("bank", "credit_card")
BANK_FIELDS = ("account_name", "account_code", "account_number", "bank_name", "routing_number",
               "description", "is_primary_account", "is_paypal_account")


# --- bank accounts -----------------------------------------------------------------------

def _bank_account(account_id):
    record = fetch("account", account_id, "Bank account")
    if record["account_type"] not in BANK_TYPES:
        raise BooksError(404, 1002, "Bank account does not exist.")
    return record


def _bank_view(record, fields):
    view = records.project(record, fields)
    view["uncategorized_transactions"] = store.count_records(
        store.get_db(), "banktransaction", g.org_id,
        [("parent_id", "=", record["account_id"]), ("status", "=", "uncategorized")])
    return view


def _currency_for(body):
    """Currency by id or by code; the organisation's base currency when neither is sent."""
    db = store.get_db()
    if body.get("currency_id"):
        currency = store.get_record(db, "currency", g.org_id, str(body["currency_id"]))
    elif body.get("currency_code"):
        rows, _ = store.find_records(db, "currency", g.org_id,
                                     [("name", "=", body["currency_code"])])
        currency = rows[0] if rows else None
    else:
        return org_currency()
    if currency is None:
        raise BooksError(400, 4, "Invalid value passed for currency_id.")
    return {key: currency[key] for key in ("currency_id", "currency_code", "currency_symbol")}


def _validated_bank_body():
    body = read_body()
    require(body, "account_name", "account_type")
    if body["account_type"] not in BANK_TYPES:
        raise BooksError(400, 4, "Invalid value passed for account_type.")
    return body


@bp.get("/bankaccounts")
def bank_accounts_list():
    filter_name, filters = choice_filter(request.args.get("filter_by"), STATUS_FILTERS,
                                         "Status.All")
    page, per_page = page_args()
    rows, has_more = store.find_records(
        store.get_db(), "account", g.org_id, [*filters, ("subtype", "in", BANK_TYPES)],
        order=("name", False), page=page, per_page=per_page)
    rows = [_bank_view(row, records.BANK_ACCOUNT_LIST_FIELDS) for row in rows]
    return listing("bankaccounts", rows, has_more, page=page, per_page=per_page,
                   report_name="Bank Accounts", applied_filter=filter_name,
                   sort_column="account_name")


@bp.post("/bankaccounts")
def bank_accounts_create():
    body = _validated_bank_body()
    db = store.get_db()
    account_id = store.new_id(db)
    record = records.account(account_id, str(body["account_name"]),
                             str(body.get("account_code") or ""), body["account_type"],
                             is_active=True, created_time=timestamp(),
                             description=str(body.get("description") or ""))
    records.add_bank_details(record, _currency_for(body), body)
    store.insert_record(db, "account", g.org_id, account_id, record,
                        **records.account_columns(record))
    return success("The account has been created.", 201,
                   bankaccount=_bank_view(record, records.BANK_ACCOUNT_FIELDS))


@bp.get("/bankaccounts/<account_id>")
def bank_accounts_detail(account_id):
    record = _bank_account(account_id)
    return success(bankaccount=_bank_view(record, records.BANK_ACCOUNT_FIELDS))


@bp.put("/bankaccounts/<account_id>")
def bank_accounts_update(account_id):
    record = _bank_account(account_id)
    body = _validated_bank_body()
    record.update({key: body[key] for key in BANK_FIELDS if key in body})
    record.update(_currency_for(body) if ("currency_id" in body or "currency_code" in body)
                  else {})
    record["account_type"] = body["account_type"]
    record["last_modified_time"] = timestamp()
    store.update_record(store.get_db(), account_id, record, **records.account_columns(record))
    return success("The account details have been updated.",
                   bankaccount=_bank_view(record, records.BANK_ACCOUNT_FIELDS))


@bp.delete("/bankaccounts/<account_id>")
def bank_accounts_delete(account_id):
    _bank_account(account_id)
    if store.count_records(store.get_db(), "banktransaction", g.org_id,
                           [("parent_id", "=", account_id)]):
        raise BooksError(400, 1004, "The account has transactions and cannot be deleted. "
                                    "Mark it as inactive instead.")
    delete_unused("account", account_id, "Account", "is_involved_in_transaction")
    return success("The account has been deleted.")


@bp.post("/bankaccounts/<account_id>/<any(active, inactive):state>")
def bank_accounts_activate(account_id, state):
    _bank_account(account_id)
    set_active("account", account_id, "Account", state == "active", records.account_columns)
    return success(f"The account has been marked as {state}.", 201)


@bp.get("/bankaccounts/<account_id>/statement/lastimported")
def bank_accounts_last_statement(account_id):
    _bank_account(account_id)
    db = store.get_db()
    rows, _ = store.find_records(db, "statement", g.org_id, [("parent_id", "=", account_id)],
                                 order=("seq", True), per_page=1)
    if not rows:  # nothing imported yet: an empty object (Zoho's answer is UNCONFIRMED)
        return success(statement={})
    statement = rows[0]
    for line in statement["transactions"]:  # show each line's current status
        current = store.get_record(db, "banktransaction", g.org_id, line["transaction_id"])
        line["status"] = current["status"] if current else "deleted"
    # An object, as Zoho's own wrapper reads it; the OAS says array (see the contract test).
    return success(statement=statement)


# --- statement import --------------------------------------------------------------------

def _statement_line(line, index, account, statement_id):
    """One imported line becomes one uncategorized bank transaction (no de-duplication)."""
    field = f"transactions[{index}]"
    if not isinstance(line, dict):
        raise BooksError(400, 4, f"Invalid value passed for {field}.")
    for name in ("date", "debit_or_credit", "amount"):
        if line.get(name) in (None, ""):
            raise BooksError(400, 4, f"Invalid value passed for {field}.{name}: it is required.")
    if line["debit_or_credit"] not in ("debit", "credit"):
        raise BooksError(400, 4, f"Invalid value passed for {field}.debit_or_credit.")
    amount = parse_amount(line["amount"], f"{field}.amount", positive=True)
    db = store.get_db()
    transaction_id, imported_id = store.reserve_ids(db, 2)
    return {
        "transaction_id": transaction_id,
        "imported_transaction_id": imported_id,
        "statement_id": statement_id,
        "date": str(line["date"]),
        "amount": records.money(amount),
        "debit_or_credit": line["debit_or_credit"],
        "transaction_type": "deposit" if line["debit_or_credit"] == "credit" else "withdrawal",
        "status": "uncategorized",
        "source": "statement",
        "account_id": account["account_id"],
        "account_name": account["account_name"],
        "account_type": account["account_type"],
        **{key: account[key] for key in ("currency_id", "currency_code", "currency_symbol")},
        "price_precision": 2,
        "payee": str(line.get("payee") or ""),
        "description": str(line.get("description") or ""),
        "reference_number": str(line.get("reference_number") or ""),
        # The caller's own line id, echoed back under a sandbox-specific name: Zoho does not
        # document where (or whether) it shows it.
        "statement_transaction_id": str(line.get("transaction_id") or ""),
        "customer_id": "",
        "is_paid_via_print_check": False,
        "offset_account_name": "",
        "is_offsetaccount_matched": False,
        "is_rule_exist": False,
        "rule_details": [],
        "documents": [],
        "created_time": timestamp(),
    }


def _apply_to_balance(account, lines):
    delta = sum((records.to_decimal(line["amount"]) * (1 if line["debit_or_credit"] == "credit"
                                                       else -1) for line in lines), 0)
    balance = records.to_decimal(account["balance"]) + delta
    account["balance"] = account["bcy_balance"] = records.money(balance)
    store.update_record(store.get_db(), account["account_id"], account)


@bp.post("/bankstatements")
def bank_statements_import():
    body = read_body()
    require(body, "account_id", "transactions")
    account = fetch_related("account", body["account_id"], "account_id")
    if account["account_type"] not in BANK_TYPES or not isinstance(body["transactions"], list):
        raise BooksError(400, 4, "Invalid value passed for account_id.")
    db = store.get_db()
    with store.transaction(db):  # all lines or none
        statement_id = store.new_id(db)
        lines = [_statement_line(line, index, account, statement_id)
                 for index, line in enumerate(body["transactions"])]
        store.insert_records(db, [
            ("banktransaction", g.org_id, line["transaction_id"], line,
             {"parent_id": account["account_id"], "status": line["status"],
              "date": line["date"], "ref": line["reference_number"]}) for line in lines])
        store.insert_record(db, "statement", g.org_id, statement_id,
                            _statement(statement_id, body, lines), parent_id=account["account_id"])
        _apply_to_balance(account, lines)
    # Like Zoho: no statement id and no transaction ids in the answer.
    return success("Your bank statement has been imported.", 201)


def _statement(statement_id, body, lines):
    dates = sorted(line["date"] for line in lines)
    return {
        "statement_id": statement_id,
        "from_date": str(body.get("start_date") or (dates[0] if dates else "")),
        "to_date": str(body.get("end_date") or (dates[-1] if dates else "")),
        "source": "api",
        "transactions": [
            {key: line[key] for key in ("transaction_id", "debit_or_credit", "date",
                                        "customer_id", "payee", "reference_number",
                                        "transaction_type", "amount", "status")}
            for line in lines],
    }
