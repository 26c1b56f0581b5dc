"""Qonto v2 stand-in over real HTTP: auth, organization, filters, pagination, quirks,
attachment downloads, faults, time passing and the generator."""

import re
import uuid

import pytest
import requests

import clock
from clock import offset_seconds
from sandbox.qonto import catalog, generator

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
YEAR_MESSAGE = ("The datetime in settled_at_to param isn't well formatted (ISO 8601) or year "
                "is out of range")


class Qonto:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.headers = sandbox.qonto_headers()
        self.accounts = self.get("/v2/organization").json()["organization"]["bank_accounts"]
        self.main = self.accounts[0]["id"]

    def get(self, path, headers=None, **params):
        return requests.get(self.sandbox.url + path, params=params,
                            headers=self.headers if headers is None else headers, timeout=30)

    def transactions(self, **params):
        params.setdefault("bank_account_id", self.main)
        response = self.get("/v2/transactions", **params)
        assert response.status_code == 200, response.text
        return response.json()

    def add(self, **fields):
        return self.sandbox.admin("POST", "/sandbox/qonto/transactions", **fields)["transaction"]


@pytest.fixture
def qonto(sandbox):
    sandbox.admin("POST", "/sandbox/reset")
    return Qonto(sandbox)


def test_auth_header_and_key_rotation(qonto, sandbox):
    url = sandbox.url + "/v2/organization"
    expected = {"errors": [{"code": "unauthorized", "detail": "Invalid credentials"}]}
    login, secret = sandbox.qonto_credentials()
    assert (login, secret) == ("atelier-lumiere-4821", "sandbox-qonto-secret")
    for headers in ({}, {"Authorization": f"{login}:wrong"}, {"Authorization": f"Bearer {secret}"},
                    {"Authorization": f"other-org-1234:{secret}"}):
        refused = requests.get(url, headers=headers, timeout=10)
        assert (refused.status_code, refused.json()) == (401, expected)
    assert requests.get(url, headers=qonto.headers, timeout=10).status_code == 200
    new = sandbox.admin("POST", "/sandbox/qonto/rotate-key")["secret_key"]
    assert new != secret
    assert requests.get(url, headers=qonto.headers, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": f"{login}:{new}"},
                        timeout=10).status_code == 200
    sandbox.admin("POST", "/sandbox/reset")
    assert requests.get(url, headers=qonto.headers, timeout=10).status_code == 200


def test_organization_and_accounts(qonto):
    org = qonto.get("/v2/organization").json()["organization"]
    assert org["name"] == "Atelier Lumière SAS" and org["slug"] == "atelier-lumiere-4821"
    assert uuid.UUID(org["id"]) and TIMESTAMP.match(org["contract_signed_at"])
    accounts = org["bank_accounts"]
    assert [a["name"] for a in accounts] == ["Compte principal", "Compte projets", "Réserve TVA"]
    assert [a["main"] for a in accounts] == [True, False, False]
    assert len({a["iban"][-4:] for a in accounts}) == 3
    for account in accounts:
        assert uuid.UUID(account["id"]) and account["currency"] == "EUR"
        assert account["iban"].startswith("FR76") and catalog.iban_is_valid(account["iban"])
        assert account["bic"] == "QNTOFRP1XXX" and account["account_number"] == ""
        assert account["balance"] == account["balance_cents"] / 100
        assert account["authorized_balance_cents"] <= account["balance_cents"]
        assert account["status"] == "active" and account["is_external_account"] is False


def test_account_selector_required_and_iban_alternative(qonto):
    missing = qonto.get("/v2/transactions")
    assert missing.status_code == 422
    assert missing.json() == {"errors": [{"code": "missing",
                                          "detail": "bank_account_id or iban is missing"}]}
    by_id = qonto.transactions(per_page=5)
    by_iban = qonto.transactions(bank_account_id=None, iban=qonto.accounts[0]["iban"],
                                 per_page=5)
    assert by_id == by_iban
    unknown = qonto.get("/v2/transactions", bank_account_id=str(uuid.uuid4()))
    assert unknown.status_code == 404


@pytest.mark.calendar  # reads history generated up to today
def test_default_status_is_completed_and_transaction_shape(qonto):
    # Generated history may hold no pending line at all (a Monday morning after a quiet
    # weekend): the card payment made just now is one, whatever the day.
    qonto.add(status="pending", amount_cents=3650, label="Café de la Gare")
    body = qonto.transactions(per_page=100)
    assert {t["status"] for t in body["transactions"]} == {"completed"}
    pending = qonto.transactions(**{"status[]": "pending"})["transactions"]
    assert pending and all(t["settled_at"] is None and t["settled_balance"] is None
                           for t in pending)
    both = qonto.transactions(**{"status[]": ["pending", "declined"], "per_page": 100})
    assert {t["status"] for t in both["transactions"]} == {"pending", "declined"}
    for tx in body["transactions"]:
        assert tx["amount"] > 0 and tx["amount_cents"] == round(tx["amount"] * 100)
        assert tx["side"] in ("credit", "debit") and tx["currency"] == "EUR"
        for key in ("settled_at", "emitted_at", "updated_at"):
            assert TIMESTAMP.match(tx[key]), tx[key]
        assert re.match(r"^atelier-lumiere-4821-1-transaction-\d+$", tx["transaction_id"])
        assert len(tx["attachment_ids"]) <= 5 and tx["bank_account_id"] == qonto.main
    card = next(t for t in body["transactions"] if t["operation_type"] == "card")
    assert card["subject_type"] == "Card" and len(card["card_last_digits"]) == 4
    transfer = next(t for t in qonto.transactions(**{"operation_type[]": "transfer"})[
        "transactions"])
    assert transfer["transfer"]["counterparty_account_number_format"] == "IBAN"
    assert transfer["transfer"]["counterparty_bank_identifier_format"] == "SWIFT_BIC"


@pytest.mark.calendar  # reads history generated up to today
def test_filters(qonto):
    credits = qonto.transactions(side="credit", per_page=100)["transactions"]
    assert credits and {t["side"] for t in credits} == {"credit"}
    types = qonto.transactions(**{"operation_type[]": ["income", "direct_debit"]})
    assert {t["operation_type"] for t in types["transactions"]} == {"income", "direct_debit"}
    with_files = qonto.transactions(with_attachments="true")["transactions"]
    assert with_files and all(t["attachment_ids"] for t in with_files)
    assert all(not t["attachment_ids"]
               for t in qonto.transactions(with_attachments="false")["transactions"])
    year = clock.now().year - 1
    for start, end in ((f"{year}-03-01", f"{year}-03-31"),
                       (f"{year}-03-01T00:00:00Z", f"{year}-03-31T23:59:59.999Z"),
                       (f"{year}-03-01T00:00:00.000Z", f"{year}-03-31T23:59:59Z")):
        window = qonto.transactions(settled_at_from=start, settled_at_to=end, per_page=100)
        dates = {t["settled_at"][:7] for t in window["transactions"]}
        assert dates == {f"{year}-03"}, (start, end)
    one = qonto.transactions(per_page=1)["transactions"][0]
    for field in ("updated_at", "settled_at", "emitted_at"):  # both bounds inclusive
        same = qonto.transactions(**{f"{field}_from": one[field], f"{field}_to": one[field]})
        assert one["id"] in [t["id"] for t in same["transactions"]]


def test_sorting(qonto):
    default = qonto.transactions(per_page=50)["transactions"]
    settled = [t["settled_at"] for t in default]
    assert settled == sorted(settled, reverse=True)
    ascending = qonto.transactions(sort_by="updated_at:asc", per_page=50)["transactions"]
    assert [t["updated_at"] for t in ascending] == sorted(t["updated_at"] for t in ascending)
    bad = qonto.get("/v2/transactions", bank_account_id=qonto.main, sort_by="amount:desc")
    assert bad.status_code == 400
    assert bad.json() == {"errors": [{"code": "sort_invalid", "message": "Sort field is invalid"}]}


def test_pagination_meta_and_both_page_params(qonto):
    first = qonto.transactions(per_page=7)
    meta = first["meta"]
    assert meta["current_page"] == 1 and meta["prev_page"] is None and meta["next_page"] == 2
    assert meta["per_page"] == 7 and meta["total_pages"] == -(-meta["total_count"] // 7)
    page2 = qonto.transactions(per_page=7, page=2)
    assert page2 == qonto.transactions(per_page=7, current_page=2)
    assert page2["meta"]["prev_page"] == 1
    assert not {t["id"] for t in page2["transactions"]} & {t["id"] for t in first["transactions"]}
    last = qonto.transactions(per_page=7, page=meta["total_pages"])
    assert last["meta"]["next_page"] is None and last["transactions"]
    assert qonto.transactions(per_page=500)["meta"]["per_page"] == 100


@pytest.mark.calendar  # reads history generated up to today
def test_year_boundary_quirk_and_switch(qonto, sandbox):
    params = {"bank_account_id": qonto.main, "settled_at_from": "2024-12-01T00:00:00.000Z",
              "settled_at_to": "2025-01-31T23:59:59.999Z"}
    refused = qonto.get("/v2/transactions", **params)
    assert refused.status_code == 400
    assert refused.json() == {"errors": [{"code": "date_invalid", "message": YEAR_MESSAGE}]}
    assert qonto.get("/v2/transactions", **dict(params, settled_at_to="2024-12-31")
                     ).status_code == 200
    sandbox.admin("POST", "/sandbox/faults", qonto_year_quirk=False)
    assert qonto.get("/v2/transactions", **params).status_code == 200
    assert qonto.get("/v2/transactions", bank_account_id=qonto.main,
                     settled_at_from="yesterday").status_code == 400


def test_not_found_quirks(qonto):
    missing = qonto.get(f"/v2/transactions/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.text == ""
    assert missing.headers["Content-Type"].startswith("text/plain")
    listing = qonto.get(f"/v2/transactions/{uuid.uuid4()}/attachments")
    assert listing.status_code == 404 and listing.json() == {"errors": [{
        "code": "not_found", "detail": "Transaction not found", "source": {"parameter": "id"}}]}


def test_attachments_download_expiry_and_auth(qonto, sandbox):
    tx = qonto.transactions(with_attachments="true", **{"includes[]": "attachments"})[
        "transactions"][0]
    assert [a["id"] for a in tx["attachments"]] == tx["attachment_ids"]
    shown = qonto.get(f"/v2/transactions/{tx['id']}", **{"includes[]": "attachments"})
    assert shown.json()["transaction"]["attachment_ids"] == tx["attachment_ids"]
    listed = qonto.get(f"/v2/transactions/{tx['id']}/attachments").json()["attachments"]
    attachment = qonto.get(f"/v2/attachments/{listed[0]['id']}").json()["attachment"]
    assert attachment["probative_attachment"] == {"status": "unavailable"}
    assert isinstance(attachment["file_size"], str) and "X-Amz-Expires=1800" in attachment["url"]
    download = requests.get(attachment["url"], timeout=10)
    assert download.status_code == 200 and len(download.content) == int(attachment["file_size"])
    magic = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n"}
    assert download.content.startswith(magic[attachment["file_content_type"]])
    assert requests.get(attachment["url"], timeout=10).content == download.content
    both = requests.get(attachment["url"], headers=qonto.headers, timeout=10)
    assert both.status_code == 400 and "<Code>InvalidArgument</Code>" in both.text
    sandbox.admin("POST", "/sandbox/clock", advance_seconds=1801)
    expired = requests.get(attachment["url"], timeout=10)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.text
    fresh = qonto.get(f"/v2/attachments/{listed[0]['id']}").json()["attachment"]["url"]
    assert requests.get(fresh, timeout=10).content == download.content
    forged = fresh.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert requests.get(forged, timeout=10).status_code == 403


def test_receipt_pdf_and_png_are_well_formed():
    from sandbox.qonto import files
    pdf = files.receipt_pdf("Le Petit Cler", "2024-05-02", "42,50 EUR", "FACT-2024-0193")
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[xref:xref + 4] == b"xref" and "Reçu".encode("cp1252") in pdf
    png = files.receipt_png("some-attachment")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")


def test_forced_429_error_rate_and_stats(qonto, sandbox):
    sandbox.admin("POST", "/sandbox/qonto/stats/reset")
    sandbox.admin("POST", "/sandbox/faults", qonto_force_429=2)
    for _ in range(2):
        limited = qonto.get("/v2/organization")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        assert limited.json() == {"errors": [{"code": "too_many_requests",
                                              "detail": "Rate limit exceeded"}]}
    assert qonto.get("/v2/organization").status_code == 200
    qonto.transactions()
    sandbox.admin("POST", "/sandbox/faults", qonto_error_rate=1.0)
    assert qonto.get("/v2/organization").status_code == 500
    stats = sandbox.admin("GET", "/sandbox/qonto/stats")
    assert stats["calls"] == {"GET /v2/organization": 4, "GET /v2/transactions": 1}
    assert stats["total"] == 5
    assert sandbox.admin("POST", "/sandbox/qonto/stats/reset")["total"] == 0


@pytest.mark.calendar  # reads history generated up to today
def test_advance_completes_pending_and_bumps_updated_at(qonto, sandbox):
    pending = qonto.add(status="pending", amount=42.5, label="CAFE TEST", operation_type="card")
    assert pending["status"] == "pending" and pending["settled_at"] is None
    before = qonto.transactions(**{"status[]": "pending"})["transactions"]
    assert pending["id"] in [t["id"] for t in before]
    # A week, so that new card payments appear whatever the day (Sundays are quiet).
    summary = sandbox.admin("POST", "/sandbox/qonto/advance", days=7)
    assert set(summary) >= {"created", "completed", "declined", "attachments_added"}
    assert summary["completed"] >= 1 and summary["created"] > 0
    after = qonto.get(f"/v2/transactions/{pending['id']}").json()["transaction"]
    assert after["status"] == "completed" and TIMESTAMP.match(after["settled_at"])
    assert after["updated_at"] > pending["updated_at"]
    assert after["settled_balance_cents"] is not None
    changed = qonto.transactions(updated_at_from=pending["updated_at"], per_page=100,
                                 sort_by="updated_at:asc")["transactions"]
    assert pending["id"] in [t["id"] for t in changed]
    clock = sandbox.admin("GET", "/sandbox/clock")
    assert clock["offset_seconds"] == pytest.approx(7 * 86400 + offset_seconds())


def test_complete_and_attach_endpoints(qonto, sandbox):
    tx = qonto.add(status="pending", amount_cents=1999, label="OVH SAS")
    done = sandbox.admin("POST", f"/sandbox/qonto/transactions/{tx['id']}/complete")
    assert done["transaction"]["status"] == "completed"
    attached = sandbox.admin("POST", f"/sandbox/qonto/transactions/{tx['id']}/attachments",
                             kind="png")["transaction"]
    assert len(attached["attachment_ids"]) == 1
    assert attached["updated_at"] > done["transaction"]["updated_at"]
    assert attached["attachments"][0]["file_content_type"] == "image/png"


@pytest.mark.calendar  # reads history generated up to today
def test_generator_is_deterministic(qonto, sandbox):
    moment = 1_730_000_000.0
    first, second = generator.history(123, moment), generator.history(123, moment)
    assert first == second and 2800 < len(first) < 5200
    assert generator.history(124, moment) != first
    year = clock.now().year - 1
    window = {"settled_at_from": f"{year}-02-01", "settled_at_to": f"{year}-02-28",
              "per_page": 100}
    ids = [t["id"] for t in qonto.transactions(**window)["transactions"]]
    sandbox.admin("POST", "/sandbox/reset")
    assert ids and [t["id"] for t in Qonto(sandbox).transactions(**window)["transactions"]] == ids


def test_bulk_generate(qonto, sandbox):
    result = sandbox.admin("POST", "/sandbox/qonto/generate", transactions_per_account=2000,
                           start="2024-01-01")
    assert result["created"] == 6000
    meta = qonto.transactions(per_page=100)["meta"]
    assert meta["total_count"] == 2000 and meta["total_pages"] == 20
