"""Settling bank lines in the Books stand-in, over real HTTP: a line categorised as an expense
(receipt attached afterwards) or as a vendor payment of bills, matched to expenses already
recorded, and every one of them undone."""

import itertools

import pytest

_numbers = itertools.count(1)


def _first(books, path, key, **params):
    return books.call("GET", path, params=params).json()[key][0]


@pytest.fixture(scope="module", autouse=True)
def roomy_limits(sandbox, org_ids):
    """These tests make many small calls; Zoho's per-minute limit is tested elsewhere."""
    sandbox.admin("POST", f"/sandbox/orgs/{org_ids[0]}/limits", per_minute=100_000,
                  daily=100_000)


@pytest.fixture
def ids(books):
    """The French organisation's bank account, an expense account and two vendors."""
    vendors = books.call("GET", "/contacts", params={"contact_type": "vendor"}).json()["contacts"]
    return {
        "bank": _first(books, "/bankaccounts", "bankaccounts")["account_id"],
        "expense_account": _first(books, "/chartofaccounts", "chartofaccounts",
                                  filter_by="AccountType.Expense")["account_id"],
        "vendor": vendors[0]["contact_id"],
        "other_vendor": vendors[1]["contact_id"],
    }


def _bank_line(books, ids, amount, *, side="debit", date="2026-06-10"):
    """Import one statement line and return its transaction id."""
    reference = f"SETTLE-{next(_numbers)}"
    books.call("POST", "/bankstatements", json={"account_id": ids["bank"], "transactions": [
        {"date": date, "debit_or_credit": side, "amount": amount, "payee": "Café du Coin",
         "reference_number": reference}]})
    listed = books.call("GET", "/banktransactions", params={
        "account_id": ids["bank"], "reference_number": reference}).json()["banktransactions"]
    return listed[0]["transaction_id"]


def _bill(books, ids, total, *, vendor=None):
    """A bill of ``total`` (no tax) from the vendor; returns the bill record."""
    response = books.call("POST", "/bills", json={
        "vendor_id": vendor or ids["vendor"], "bill_number": f"FA-{next(_numbers)}",
        "date": "2026-06-01",
        "line_items": [{"account_id": ids["expense_account"], "rate": total, "quantity": 1}]})
    assert response.status_code == 201, response.text
    return response.json()["bill"]


def _expense(books, ids, amount, *, date="2026-06-09"):
    response = books.call("POST", "/expenses", json={
        "account_id": ids["expense_account"], "date": date, "amount": amount,
        "paid_through_account_id": ids["bank"], "reference_number": f"EXP-{next(_numbers)}"})
    assert response.status_code == 200, response.text
    return response.json()["expense"]


def _line(books, transaction_id):
    return books.call("GET", f"/banktransactions/{transaction_id}").json()["banktransaction"]


def _get_bill(books, bill_id):
    return books.call("GET", f"/bills/{bill_id}").json()["bill"]


def _pay(books, line_id, vendor, applications, **extra):
    return books.call(
        "POST", f"/banktransactions/uncategorized/{line_id}/categorize/vendorpayments",
        json={"vendor_id": vendor,
              "bills": [{"bill_id": bill_id, "amount_applied": amount}
                        for bill_id, amount in applications], **extra})


# --- categorise as a vendor payment, and undo it -----------------------------------------

def test_one_line_pays_two_bills_and_uncategorize_gives_the_balances_back(books, ids):
    first, second = _bill(books, ids, 100), _bill(books, ids, 50.5)
    line_id = _bank_line(books, ids, 150.5)
    paid = _pay(books, line_id, ids["vendor"],
                [(first["bill_id"], 100), (second["bill_id"], 50.5)])
    assert (paid.status_code, paid.json()) == (
        201, {"code": 0, "message": "The transaction(s) have been categorized."})

    line = _line(books, line_id)
    assert (line["status"], line["transaction_type"]) == ("categorized", "vendor_payment")
    assert line["vendor_id"] == ids["vendor"]
    payment = books.call("GET", f"/vendorpayments/{line['payment_id']}").json()["vendorpayment"]
    assert payment["amount"] == 150.5 and payment["paid_through_account_id"] == ids["bank"]
    assert [(b["bill_id"], b["amount_applied"]) for b in payment["bills"]] == [
        (first["bill_id"], 100.0), (second["bill_id"], 50.5)]
    assert [(b["status"], b["balance"]) for b in (_get_bill(books, first["bill_id"]),
                                                  _get_bill(books, second["bill_id"]))] == [
        ("paid", 0.0), ("paid", 0.0)]

    undone = books.call("POST", f"/banktransactions/{line_id}/uncategorize")
    assert undone.status_code == 201
    line = _line(books, line_id)
    assert (line["status"], line["transaction_type"]) == ("uncategorized", "withdrawal")
    assert "payment_id" not in line
    gone = books.call("GET", f"/vendorpayments/{payment['payment_id']}")
    assert (gone.status_code, gone.json()["code"]) == (404, 1002)
    restored = _get_bill(books, first["bill_id"])
    assert (restored["status"], restored["balance"], restored["payment_made"]) == (
        "open", 100.0, 0.0)


def test_split_payment_leaves_the_bill_partially_paid(books, ids):
    bill = _bill(books, ids, 300)
    first_line, second_line = _bank_line(books, ids, 120), _bank_line(books, ids, 180)
    assert _pay(books, first_line, ids["vendor"], [(bill["bill_id"], 120)]).status_code == 201
    assert (_get_bill(books, bill["bill_id"])["status"],
            _get_bill(books, bill["bill_id"])["balance"]) == ("partially_paid", 180.0)
    assert _pay(books, second_line, ids["vendor"], [(bill["bill_id"], 180)]).status_code == 201
    assert _get_bill(books, bill["bill_id"])["status"] == "paid"
    books.call("POST", f"/banktransactions/{first_line}/uncategorize")
    after = _get_bill(books, bill["bill_id"])
    assert (after["status"], after["balance"]) == ("partially_paid", 120.0)


@pytest.mark.parametrize("case", ["other_vendor", "above_balance", "sum_short", "bad_amount",
                                  "unknown_bill", "no_vendor"])
def test_vendor_payment_refusals_leave_everything_untouched(books, ids, case):
    bill = _bill(books, ids, 80)
    foreign = _bill(books, ids, 80, vendor=ids["other_vendor"])
    line_id = _bank_line(books, ids, 80)
    attempts = {
        "other_vendor": (ids["vendor"], [(foreign["bill_id"], 80)], {}, "another vendor"),
        "above_balance": (ids["vendor"], [(bill["bill_id"], 80.01)], {"amount": 80.01},
                          "amount"),
        "sum_short": (ids["vendor"], [(bill["bill_id"], 79)], {}, "add up"),
        "bad_amount": (ids["vendor"], [(bill["bill_id"], 80)], {"amount": 81}, "amount"),
        "unknown_bill": (ids["vendor"], [("460000000099999999", 80)], {}, "bill_id"),
        "no_vendor": ("", [(bill["bill_id"], 80)], {}, "vendor_id"),
    }
    vendor, applications, extra, words = attempts[case]
    refused = _pay(books, line_id, vendor, applications, **extra)
    assert refused.status_code == 400 and refused.json()["code"] == 4
    assert words in refused.json()["message"]
    assert _line(books, line_id)["status"] == "uncategorized"
    assert (_get_bill(books, bill["bill_id"])["balance"], _get_bill(
        books, bill["bill_id"])["status"]) == (80.0, "open")
    listed = books.call("GET", "/vendorpayments", params={"vendor_id": ids["vendor"]}).json()
    assert all(p["amount"] != 80 or p["bill_numbers"] != bill["bill_number"]
               for p in listed["vendorpayments"])


def test_a_credit_line_cannot_pay_bills(books, ids):
    bill = _bill(books, ids, 25)
    line_id = _bank_line(books, ids, 25, side="credit")
    refused = _pay(books, line_id, ids["vendor"], [(bill["bill_id"], 25)])
    assert (refused.status_code, refused.json()["code"]) == (400, 4)


# --- categorise as an expense, receipt attached in a second call ---------------------------

def test_categorized_expense_takes_the_receipt_and_says_what_it_is(books, ids):
    line_id = _bank_line(books, ids, 36.5)
    tax = _first(books, "/settings/taxes", "taxes")
    categorized = books.call(
        "POST", f"/banktransactions/uncategorized/{line_id}/categorize/expenses",
        json={"account_id": ids["expense_account"], "paid_through_account_id": ids["bank"],
              "date": "2026-06-10", "amount": 36.5, "tax_id": tax["tax_id"],
              "is_inclusive_tax": True, "reference_number": "TICKET-42",
              "description": "Déjeuner client", "vendor_id": ids["vendor"]})
    assert categorized.status_code == 201, categorized.text
    line = _line(books, line_id)
    assert (line["status"], line["transaction_type"]) == ("categorized", "expense")
    expense_id = line["expense_id"]
    receipt = books.call("POST", f"/expenses/{expense_id}/receipt",
                         files={"receipt": ("ticket.jpg", b"\xff\xd8receipt", "image/jpeg")})
    assert receipt.status_code == 200
    expense = books.call("GET", f"/expenses/{expense_id}").json()["expense"]
    assert (expense["total"], expense["expense_receipt_name"], expense["transaction_id"]) == (
        36.5, "ticket.jpg", line_id)
    assert books.call("GET", f"/expenses/{expense_id}/receipt").content == b"\xff\xd8receipt"
    books.call("POST", f"/banktransactions/{line_id}/uncategorize")
    assert books.call("GET", f"/expenses/{expense_id}").status_code == 404


# --- match with expenses already recorded, and unmatch -----------------------------------

def _match(books, line_id, items, **params):
    return books.call("POST", f"/banktransactions/uncategorized/{line_id}/match",
                      params=params, json={"transactions_to_be_matched": [
                          {"transaction_id": record_id, "transaction_type": kind}
                          for record_id, kind in items]})


def _candidates(books, line_id, **params):
    response = books.call("GET", f"/banktransactions/uncategorized/{line_id}/match",
                          params=params)
    assert response.status_code == 200, response.text
    return response.json()["matching_transactions"]


def test_match_suggestions_best_first_then_match_and_unmatch(books, ids):
    near = _expense(books, ids, 64.2, date="2026-06-09")
    far = _expense(books, ids, 64.2, date="2026-05-20")
    other_amount = _expense(books, ids, 64.3, date="2026-06-10")
    line_id = _bank_line(books, ids, 64.2, date="2026-06-10")

    found = _candidates(books, line_id)
    ours = [c for c in found if c["transaction_id"] in (near["expense_id"], far["expense_id"])]
    assert [c["transaction_id"] for c in ours] == [near["expense_id"], far["expense_id"]]
    assert found[0]["transaction_id"] == near["expense_id"] and found[0]["is_best_match"]
    assert (found[0]["transaction_type"], found[0]["amount"], found[0]["debit_or_credit"]) == (
        "expense", 64.2, "debit")
    assert other_amount["expense_id"] not in [c["transaction_id"] for c in found]
    widened = _candidates(books, line_id, amount_start=64.25, amount_end=64.35)
    assert [c["transaction_id"] for c in widened] == [other_amount["expense_id"]]
    recent = _candidates(books, line_id, date_after="2026-06-01")
    assert far["expense_id"] not in [c["transaction_id"] for c in recent]

    matched = _match(books, line_id, [(near["expense_id"], "expense")],
                     account_id=ids["bank"])
    assert (matched.status_code, matched.json()) == (
        201, {"code": 0, "message": "The transaction has been matched."})
    line = _line(books, line_id)
    assert line["status"] == "matched"
    assert [(m["transaction_id"], m["transaction_type"]) for m in
            line["matched_transactions"]] == [(near["expense_id"], "expense")]
    expense = books.call("GET", f"/expenses/{near['expense_id']}").json()["expense"]
    assert expense["transaction_id"] == line_id
    listed = books.call("GET", "/banktransactions", params={
        "account_id": ids["bank"], "filter_by": "Status.Matched"}).json()["banktransactions"]
    assert line_id in [t["transaction_id"] for t in listed]

    unmatched = books.call("POST", f"/banktransactions/{line_id}/unmatch",
                           params={"account_id": ids["bank"]})
    assert (unmatched.status_code, unmatched.json()["message"]) == (
        201, "The transaction has been unmatched.")
    line = _line(books, line_id)
    assert (line["status"], line["transaction_type"]) == ("uncategorized", "withdrawal")
    assert "matched_transactions" not in line
    assert books.call("GET", f"/expenses/{near['expense_id']}").json()["expense"][
        "transaction_id"] == ""
    again = books.call("POST", f"/banktransactions/{line_id}/unmatch")
    assert (again.status_code, again.json()["code"]) == (400, 4)


def test_one_line_matched_with_two_expenses(books, ids):
    first, second = _expense(books, ids, 10), _expense(books, ids, 15.55)
    line_id = _bank_line(books, ids, 25.55)
    matched = _match(books, line_id, [(first["expense_id"], "expense"),
                                      (second["expense_id"], "expense")])
    assert matched.status_code == 201, matched.text
    assert len(_line(books, line_id)["matched_transactions"]) == 2


def test_match_refusals(books, ids):
    expense = _expense(books, ids, 40)
    line_id, other_line = _bank_line(books, ids, 40), _bank_line(books, ids, 40)
    short = _match(books, line_id, [(_expense(books, ids, 39)["expense_id"], "expense")])
    assert (short.status_code, short.json()["code"]) == (400, 4)
    assert "must equal the amount" in short.json()["message"]
    unknown = _match(books, line_id, [("460000000099999999", "expense")])
    assert (unknown.status_code, unknown.json()["code"]) == (400, 4)
    assert _match(books, line_id, [(expense["expense_id"], "expense")]).status_code == 201
    twice = _match(books, other_line, [(expense["expense_id"], "expense")])
    assert (twice.status_code, twice.json()["code"]) == (400, 4)
    assert "already matched" in twice.json()["message"]
    assert _line(books, other_line)["status"] == "uncategorized"
    # A matched expense is no longer offered to other lines.
    assert expense["expense_id"] not in [c["transaction_id"]
                                         for c in _candidates(books, other_line)]
    matched_line_again = _match(books, line_id, [(expense["expense_id"], "expense")])
    assert (matched_line_again.status_code, matched_line_again.json()["code"]) == (400, 4)
    categorized = books.call("POST", f"/banktransactions/{line_id}/uncategorize")
    assert categorized.status_code == 400  # a matched line is unmatched, not uncategorized


def test_vendor_payment_list_and_detail(books, ids):
    bill = _bill(books, ids, 42)
    line_id = _bank_line(books, ids, 42)
    assert _pay(books, line_id, ids["vendor"], [(bill["bill_id"], 42)],
                reference_number="VIR-42").status_code == 201
    payment_id = _line(books, line_id)["payment_id"]
    listed = books.call("GET", "/vendorpayments", params={"reference_number": "VIR-42"}).json()
    assert [p["payment_id"] for p in listed["vendorpayments"]] == [payment_id]
    assert listed["vendorpayments"][0]["bill_numbers"] == bill["bill_number"]
    assert listed["page_context"]["has_more_page"] is False
    by_vendor = books.call("GET", "/vendorpayments", params={"vendor_id": ids["other_vendor"]})
    assert payment_id not in [p["payment_id"] for p in by_vendor.json()["vendorpayments"]]
    detail = books.call("GET", f"/vendorpayments/{payment_id}").json()["vendorpayment"]
    assert (detail["vendor_id"], detail["amount"], detail["reference_number"]) == (
        ids["vendor"], 42.0, "VIR-42")
    assert detail["bank_transaction_id"] == line_id


def test_vendor_payments_need_their_own_scope(books, sandbox):
    """vendor-payments.yml asks for ZohoBooks.vendorpayments.READ, not a banking scope."""
    def listing_with(scope):
        token = sandbox.self_client_tokens(scope=scope)["access_token"]
        return books.call("GET", "/vendorpayments",
                          headers={"Authorization": f"Zoho-oauthtoken {token}"})
    assert listing_with("ZohoBooks.vendorpayments.READ").status_code == 200
    refused = listing_with("ZohoBooks.banking.READ,ZohoBooks.bills.READ")
    assert (refused.status_code, refused.json()["code"]) == (401, 57)
