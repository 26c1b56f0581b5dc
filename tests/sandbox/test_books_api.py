"""Books v3 stand-in over real HTTP: envelopes, errors, limits, bodies, documents."""

import json
import threading

import requests


def _first(books, path, key, **params):
    return books.call("GET", path, params=params).json()[key][0]


def _vendor_and_expense_account(books):
    vendor = _first(books, "/contacts", "contacts", contact_type="vendor")
    account = _first(books, "/chartofaccounts", "chartofaccounts",
                     filter_by="AccountType.Expense")
    return vendor, account


def test_list_envelope_and_string_ids(books):
    body = books.call("GET", "/contacts").json()
    assert body["code"] == 0 and body["message"] == "success"
    context = body["page_context"]
    assert set(context) >= {"page", "per_page", "has_more_page", "report_name",
                            "applied_filter", "sort_column", "sort_order"}
    contact_id = body["contacts"][0]["contact_id"]
    assert isinstance(contact_id, str) and len(contact_id) == 18 and int(contact_id) > 2**53


def test_seed_data(books, org_ids):
    orgs = books.call("GET", "/organizations", org_id="").json()["organizations"]
    assert [org["name"] for org in orgs] == ["Atelier Lumière SAS", "Lumière Export Ltd"]
    assert orgs[0]["time_zone"] == "Europe/Paris" and orgs[0]["is_default_org"]
    taxes = books.call("GET", "/settings/taxes").json()["taxes"]
    assert {tax["tax_percentage"] for tax in taxes} == {20.0, 10.0, 5.5, 2.1, 0.0}
    assert sum(tax["is_default_tax"] for tax in taxes) == 1
    chart = books.call("GET", "/chartofaccounts", params={"filter_by": "AccountType.All"}).json()
    assert len(chart["chartofaccounts"]) > 130
    banks = books.call("GET", "/bankaccounts").json()["bankaccounts"]
    assert [(b["account_name"], b["bank_name"]) for b in banks] == [
        ("Compte courant BNP", "BNP Paribas")]
    currencies = books.call("GET", "/settings/currencies").json()["currencies"]
    assert {c["currency_code"] for c in currencies} == {"EUR", "USD", "GBP", "CHF"}


def test_pagination_and_per_page_clamp(books, sandbox, org_ids):
    sandbox.admin("POST", f"/sandbox/orgs/{org_ids[1]}/seed", contacts=450)
    first = books.call("GET", "/contacts", org_id=org_ids[1], params={"per_page": 1000}).json()
    assert first["page_context"]["per_page"] == 200 and len(first["contacts"]) == 200
    assert first["page_context"]["has_more_page"] is True
    third = books.call("GET", "/contacts", org_id=org_ids[1], params={"page": 3}).json()
    assert third["page_context"]["has_more_page"] is False and 0 < len(third["contacts"]) < 200


def test_auth_errors(books, sandbox):
    missing = requests.get(f"{books.base}/contacts", params={"organization_id": books.org_id},
                           timeout=10)
    assert (missing.status_code, missing.json()["code"]) == (401, 57)
    bearer = books.call("GET", "/contacts", headers={"Authorization": f"Bearer {books.token}"})
    assert bearer.status_code == 401
    narrow = sandbox.self_client_tokens(scope="ZohoBooks.contacts.READ")["access_token"]
    headers = {"Authorization": f"Zoho-oauthtoken {narrow}"}
    assert books.call("GET", "/contacts", headers=headers).status_code == 200
    assert books.call("GET", "/items", headers=headers).json()["code"] == 57  # settings scope


def test_organization_errors(books, sandbox):
    missing = books.call("GET", "/contacts", params={"organization_id": ""})
    assert (missing.status_code, missing.json()["code"]) == (400, 2)
    foreign = [o["organization_id"] for o in sandbox.admin("GET", "/sandbox/orgs")["organizations"]
               if o["user"] != "demo@bookbridge.test"][0]
    response = books.call("GET", "/contacts", org_id=foreign)
    assert (response.status_code, response.json()["code"]) == (401, 6041)


def test_unknown_path_and_unknown_record(books):
    unknown = books.call("GET", "/nothing-here")
    assert (unknown.status_code, unknown.json()["code"]) == (404, 5)
    missing = books.call("GET", "/contacts/460000000099999999")
    assert missing.status_code == 404
    assert missing.json() == {"code": 1002, "message": "Contact does not exist."}


def test_body_formats(books):
    payloads = {
        "json": {"json": {"contact_name": "Format JSON", "contact_type": "vendor"}},
        "form": {"data": {"JSONString": json.dumps({"contact_name": "Format form"})}},
        "raw": {"data": json.dumps({"contact_name": "Format raw"}).encode()},
        "multipart": {"files": {"JSONString": (None, json.dumps({"contact_name": "Format mp"}))}},
    }
    for name, kwargs in payloads.items():
        response = books.call("POST", "/contacts", **kwargs)
        assert response.status_code == 201, name
        assert response.json()["contact"]["contact_name"].startswith("Format")
    malformed = books.call("POST", "/contacts", data=b"{not json")
    assert (malformed.status_code, malformed.json()["code"]) == (400, 1038)
    empty = books.call("POST", "/contacts")
    assert (empty.status_code, empty.json()["code"]) == (400, 11)
    missing = books.call("POST", "/contacts", json={"contact_type": "vendor"})
    assert missing.json()["code"] == 4 and "contact_name" in missing.json()["message"]
    duplicate = books.call("POST", "/contacts", json={"contact_name": "Format JSON",
                                                      "contact_type": "vendor"})
    assert (duplicate.status_code, duplicate.json()["code"]) == (400, 3062)


def test_per_minute_limit(books, sandbox, org_ids):
    sandbox.admin("POST", "/sandbox/clock", advance_seconds=61)  # an empty window
    sandbox.admin("POST", f"/sandbox/orgs/{org_ids[0]}/limits", per_minute=3)
    statuses = [books.call("GET", "/settings/taxes") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[-1].json()["code"] == 44
    sandbox.admin("POST", "/sandbox/clock", advance_seconds=61)
    assert books.call("GET", "/settings/taxes").status_code == 200
    sandbox.admin("POST", f"/sandbox/orgs/{org_ids[0]}/limits", per_minute=100)


def test_daily_limit(books, sandbox, org_ids):
    sandbox.admin("POST", "/sandbox/clock", advance_seconds=86400)  # a fresh day
    books.token = sandbox.self_client_tokens()["access_token"]  # the old one expired
    sandbox.admin("POST", f"/sandbox/orgs/{org_ids[0]}/limits", daily=2)
    codes = [books.call("GET", "/settings/taxes").json()["code"] for _ in range(3)]
    assert codes == [0, 0, 45]
    sandbox.admin("POST", f"/sandbox/orgs/{org_ids[0]}/limits", daily=5000)


def test_concurrency_limit(books, sandbox, org_ids):
    sandbox.admin("POST", f"/sandbox/orgs/{org_ids[0]}/limits", concurrency=1)
    sandbox.admin("POST", "/sandbox/faults", latency_ms=400)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        books.call("GET", "/settings/taxes").json()["code"])) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")
        sandbox.admin("POST", f"/sandbox/orgs/{org_ids[0]}/limits", concurrency=10)
    assert sorted(results) == [0, 1070, 1070]


def test_fault_switches(books, sandbox):
    sandbox.admin("POST", "/sandbox/faults", force_429=1)
    assert books.call("GET", "/settings/taxes").json()["code"] == 44
    assert books.call("GET", "/settings/taxes").status_code == 200
    sandbox.admin("POST", "/sandbox/faults", error_rate=1.0, seed=7)
    failed = books.call("GET", "/settings/taxes")
    assert (failed.status_code, failed.json()["code"]) == (500, 1000)
    sandbox.admin("POST", "/sandbox/faults", error_rate=0.0, timeout_rate=1.0, timeout_sleep_s=1)
    try:
        books.call("GET", "/settings/taxes", timeout=0.3)
        raise AssertionError("expected a client timeout")
    except requests.Timeout:
        pass
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")


def test_stats_count_one_call_per_page(books, sandbox, org_ids):
    sandbox.admin("POST", "/sandbox/stats/reset")
    books.call("GET", "/contacts", params={"page": 1})
    books.call("GET", "/contacts", params={"page": 2})
    books.call("GET", f"/contacts/{_first(books, '/contacts', 'contacts')['contact_id']}")
    stats = sandbox.admin("GET", f"/sandbox/stats?organization_id={org_ids[0]}")
    assert stats["calls"] == {"GET /contacts": 3, "GET /contacts/{contact_id}": 1}


def test_bill_with_attachment_and_duplicate_number(books):
    vendor, account = _vendor_and_expense_account(books)
    tax = _first(books, "/settings/taxes", "taxes")
    body = {"vendor_id": vendor["contact_id"], "bill_number": "F-2024-001", "date": "2024-05-02",
            "line_items": [{"account_id": account["account_id"], "rate": 100.10,
                            "quantity": 3, "tax_id": tax["tax_id"]}]}
    created = books.call("POST", "/bills", json=body)
    assert created.status_code == 201
    bill = created.json()["bill"]
    assert (bill["sub_total"], bill["tax_total"], bill["total"]) == (300.3, 60.06, 360.36)
    duplicate = books.call("POST", "/bills", json=body)
    assert (duplicate.status_code, duplicate.json()["code"]) == (400, 13011)
    attached = books.call("POST", f"/bills/{bill['bill_id']}/attachment",
                          files={"attachment": ("facture.pdf", b"%PDF-1.4 demo",
                                                "application/pdf")})
    assert attached.status_code == 201
    assert attached.json()["message"] == "The document has been attached."
    download = books.call("GET", f"/bills/{bill['bill_id']}/attachment")
    assert download.content == b"%PDF-1.4 demo"
    found = books.call("GET", "/bills", params={"bill_number": "F-2024-001"}).json()["bills"]
    assert [b["has_attachment"] for b in found] == [True]


def test_expense_with_receipt(books):
    _, account = _vendor_and_expense_account(books)
    bank = _first(books, "/bankaccounts", "bankaccounts")
    created = books.call("POST", "/expenses", json={
        "account_id": account["account_id"], "date": "2024-05-03", "amount": "42.50",
        "paid_through_account_id": bank["account_id"], "reference_number": "QONTO-1"})
    assert created.status_code == 200  # not 201, as documented
    expense = created.json()["expense"]
    receipt = books.call("POST", f"/expenses/{expense['expense_id']}/receipt",
                         files={"receipt": ("ticket.png", b"\x89PNG", "image/png")})
    assert (receipt.status_code, receipt.json()["message"]) == (
        200, "The expense receipt has been attached.")
    assert books.call("GET", f"/expenses/{expense['expense_id']}/receipt").content == b"\x89PNG"
    listed = books.call("GET", "/expenses", params={"reference_number": "QONTO-1"}).json()
    assert [e["expense_id"] for e in listed["expenses"]] == [expense["expense_id"]]


def test_bank_statement_import_does_not_deduplicate(books):
    bank = _first(books, "/bankaccounts", "bankaccounts")
    statement = {"account_id": bank["account_id"], "transactions": [
        {"transaction_id": "qonto-tx-1", "date": "2024-05-04", "debit_or_credit": "debit",
         "amount": 19.99, "payee": "OVHcloud", "reference_number": "REF-1"}]}
    for _ in range(2):
        response = books.call("POST", "/bankstatements", json=statement)
        assert response.status_code == 201
        assert response.json() == {"code": 0, "message": "Your bank statement has been imported."}
    listed = books.call("GET", "/banktransactions", params={
        "account_id": bank["account_id"], "filter_by": "Status.Uncategorized"}).json()
    lines = [t for t in listed["banktransactions"] if t["statement_transaction_id"] == "qonto-tx-1"]
    assert len(lines) == 2 and lines[0]["transaction_id"] != lines[1]["transaction_id"]
    assert lines[0]["reference_number"] == "REF-1" and lines[0]["payee"] == "OVHcloud"
    last = books.call("GET", f"/bankaccounts/{bank['account_id']}/statement/lastimported")
    assert last.json()["statement"]["transactions"][0]["amount"] == 19.99
    bad = books.call("POST", "/bankstatements", json={"account_id": bank["account_id"],
                     "transactions": [{"date": "2024-05-04", "debit_or_credit": "debit"}]})
    assert bad.json()["code"] == 4 and "amount" in bad.json()["message"]


def test_categorize_as_expense_and_uncategorize(books):
    bank = _first(books, "/bankaccounts", "bankaccounts")
    books.call("POST", "/bankstatements", json={"account_id": bank["account_id"],
               "transactions": [{"date": "2024-06-01", "debit_or_credit": "debit",
                                 "amount": 12, "reference_number": "CAT-1"}]})
    line = books.call("GET", "/banktransactions", params={
        "account_id": bank["account_id"], "reference_number": "CAT-1"}).json()
    transaction_id = line["banktransactions"][0]["transaction_id"]
    _, account = _vendor_and_expense_account(books)
    categorized = books.call(
        "POST", f"/banktransactions/uncategorized/{transaction_id}/categorize/expenses",
        json={"account_id": account["account_id"]})
    assert categorized.status_code == 201
    detail = books.call("GET", f"/banktransactions/{transaction_id}").json()["banktransaction"]
    assert detail["status"] == "categorized"
    attached = books.call("POST", f"/banktransactions/{transaction_id}/attachment",
                          files={"attachment": ("r.pdf", b"%PDF", "application/pdf")})
    assert attached.status_code == 201
    undone = books.call("POST", f"/banktransactions/{transaction_id}/uncategorize")
    assert undone.status_code == 201
    again = books.call("GET", f"/banktransactions/{transaction_id}").json()["banktransaction"]
    assert again["status"] == "uncategorized"


def test_invoice_requires_line_items(books):
    customer = _first(books, "/contacts", "contacts", contact_type="customer")
    missing = books.call("POST", "/invoices", json={"customer_id": customer["contact_id"]})
    assert missing.json()["code"] == 4 and "line_items" in missing.json()["message"]
    created = books.call("POST", "/invoices", json={
        "customer_id": customer["contact_id"], "line_items": [{"name": "Étude", "rate": 500}]})
    assert created.status_code == 201 and created.json()["invoice"]["total"] == 500.0
