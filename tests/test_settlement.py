"""Settling a match in Zoho Books (issue 8, items 2 and 5): each kind of settlement records
the bank line in Zoho once, a timeout never records it twice, and undo reverses it once."""

import datetime
import re
from decimal import Decimal

import pytest

from models import (
    AuditEvent,
    BankTransaction,
    ConnectionStatus,
    Document,
    DocumentStatus,
    QontoAccount,
    Settlement,
    SettlementState,
    SupplierRule,
    ZohoAccount,
    ZohoConnection,
    ZohoQuota,
    ZohoTax,
    utcnow,
)
from services import document_store, i18n, settlement
from services.bank_lines import marker_of
from tests import documents as samples
from tests.bank_flow import connect_qonto, sync_now, zoho_lines
from tests.conftest import csrf_token
from tests.test_bank_sync import zoho_connected  # noqa: F401
from tests.test_documents import upload
from tests.zoho_flow import known_vendor, zoho_as_user, zoho_write_times_out

CAFE_TOTAL = 3648  # CAFÉ RICHARD's receipt: 36.48 EUR


@pytest.fixture
def account(client, zoho_connected, sandbox):  # noqa: F811
    """Qonto connected and synced once: its first account, linked to a Zoho bank account."""
    connect_qonto(client, sandbox)
    return QontoAccount.select().order_by(QontoAccount.id).first()


def paid(client, sandbox, account, cents: int, label: str) -> BankTransaction:
    """A card payment completed in Qonto, then synced: a pushed, uncategorised line."""
    added = sandbox.admin("POST", "/sandbox/qonto/transactions", bank_account_id=account.qonto_id,
                          side="debit", amount_cents=cents, label=label, status="completed",
                          operation_type="card")["transaction"]
    sync_now(client)
    return BankTransaction.get(BankTransaction.qonto_id == added["id"])


def cafe_rule(org_id: str) -> SupplierRule:
    """Café Richard's category and 10 % VAT, so its receipt reads ready."""
    category = ZohoAccount.usable(org_id).where(ZohoAccount.account_type == "expense").first()
    tax = next(t for t in ZohoTax.usable(org_id) if Decimal(t.percentage) == 10)
    return SupplierRule.create(name="Café Richard", account_id=category.zoho_id,
                               tax_id=tax.zoho_id, payment="expense")


def cafe_receipt(client) -> Document:
    upload(client, ("cafe.pdf", samples.cafe_receipt_pdf(date="15/06/2026 12:40")))
    return Document.select().order_by(Document.id.desc()).first()


def zoho_line(sandbox, line: BankTransaction) -> dict:
    """The line as Zoho Books shows it (found by the Qonto id in its description)."""
    listed = next(z for z in zoho_lines(sandbox, line.account)
                  if marker_of(z["description"]) == line.transaction_id)
    return zoho_as_user(sandbox).get(f"/banktransactions/{listed['transaction_id']}")[
        "banktransaction"]


def calls(sandbox, name: str) -> int:
    return sandbox.admin("GET", "/sandbox/stats")["calls"].get(name, 0)


def books_calls(sandbox) -> int:
    """Every Zoho Books call since the last reset (what a settlement spends of the quota)."""
    return sum(sandbox.admin("GET", "/sandbox/stats")["calls"].values())


def published_in_zoho(app, kind: str, zoho_id: str, contact_id: str, cents: int) -> Document:
    """A document Bookbridge published earlier as `kind` (bill or expense)."""
    stored = document_store.store(app.config, samples.cafe_receipt_pdf(), "application/pdf")
    return Document.create(file=stored, filename=f"{kind}-{zoho_id}.pdf", kind="cost",
                           status=DocumentStatus.PUBLISHED, zoho_type=kind, zoho_id=zoho_id,
                           contact_id=contact_id, supplier_name="Supplier",
                           total_cents=cents, publish_state="published")


# -- each kind ----------------------------------------------------------------------------------


def test_a_ready_receipt_becomes_the_lines_expense_with_its_file(client, account, sandbox,
                                                                 connected_org, admin):
    cafe_rule(connected_org)
    document = cafe_receipt(client)
    assert settlement.ready_to_settle(document)  # the line's account is its "paid from"
    line = paid(client, sandbox, account, CAFE_TOTAL, "CAFE RICHARD PARIS")
    sandbox.admin("POST", "/sandbox/stats/reset")

    accepted = settlement.accept(line, [document], admin)

    accepted = Settlement.get_by_id(accepted.id)
    assert accepted.state is SettlementState.SETTLED, accepted.error
    # Finding the line's Zoho id, categorising, reading the expense id, attaching the file.
    assert books_calls(sandbox) == 4
    in_zoho = zoho_line(sandbox, line)
    document = Document.get_by_id(document.id)
    assert in_zoho["status"] == "categorized"
    assert in_zoho["expense_id"] == document.zoho_id == accepted.zoho_record_id
    assert document.status is DocumentStatus.PUBLISHED and document.zoho_type == "expense"
    expense = zoho_as_user(sandbox).get(f"/expenses/{document.zoho_id}")["expense"]
    assert expense["expense_receipt_name"] == document.filename
    assert Decimal(str(expense["total"])) == Decimal("36.48")
    assert calls(sandbox, "POST /expenses") == 0  # the line's expense, not a second one
    assert accepted.alias_offer == "CAFE RICHARD PARIS"  # a new name for the supplier
    actions = [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]
    assert "match.accepted" in actions and "match.settled" in actions


def test_a_receipt_missing_its_category_waits_and_settles_once_saved_ready(
        client, account, sandbox, connected_org, admin):
    document = cafe_receipt(client)
    line = paid(client, sandbox, account, CAFE_TOTAL, "CAFE RICHARD")
    accepted = settlement.accept(line, [document], admin)
    assert accepted.state is SettlementState.WAITING
    assert zoho_line(sandbox, line)["status"] == "uncategorized"

    category = ZohoAccount.usable(connected_org).where(
        ZohoAccount.account_type == "expense").first()
    # Saved ready, the matched receipt settles its line at once (no "Publish" needed).
    page = client.post(f"/documents/{document.id}", data={
        "account_id": category.zoho_id, "csrf_token": csrf_token(client, "/documents/")},
        follow_redirects=True).text

    assert 'id="published"' in page and re.search(r"2026-0457(</span>)?</a>", page)
    assert Settlement.get_by_id(accepted.id).state is SettlementState.SETTLED
    assert zoho_line(sandbox, line)["expense_id"] == Document.get_by_id(document.id).zoho_id
    assert calls(sandbox, "POST /expenses") == 0


def test_one_line_pays_two_bills_of_a_supplier(app, client, account, sandbox, connected, admin):
    vendor = known_vendor(connected)
    category = ZohoAccount.usable(connected.organization_id).where(
        ZohoAccount.account_type == "expense").first()
    zoho = zoho_as_user(sandbox)
    bills = [zoho.post("/bills", json={
        "vendor_id": vendor.zoho_id, "bill_number": f"FA-{n}", "date": "2026-06-01",
        "line_items": [{"account_id": category.zoho_id, "rate": rate, "quantity": 1}]})["bill"]
        for n, rate in ((1, 100), (2, 50))]
    documents = [published_in_zoho(app, "bill", bill["bill_id"], vendor.zoho_id,
                                   int(Decimal(str(bill["total"])) * 100)) for bill in bills]
    total = sum(document.total_cents for document in documents)
    line = paid(client, sandbox, account, total, "VIREMENT FA-1 FA-2")
    sandbox.admin("POST", "/sandbox/stats/reset")

    accepted = settlement.accept(line, documents, admin)

    accepted = Settlement.get_by_id(accepted.id)
    assert accepted.state is SettlementState.SETTLED, accepted.error
    # Finding the line's Zoho id, the vendor payment, then reading the payment's id.
    assert books_calls(sandbox) == 3
    in_zoho = zoho_line(sandbox, line)
    assert in_zoho["status"] == "categorized"
    assert in_zoho["transaction_type"] == "vendor_payment"
    assert accepted.zoho_record_id == in_zoho["payment_id"]
    for bill in bills:
        assert zoho.get(f"/bills/{bill['bill_id']}")["bill"]["status"] == "paid"

    settlement.undo(accepted, admin)  # the payment goes, the bills are to pay again
    assert Settlement.get_by_id(accepted.id).state is SettlementState.UNDONE
    assert zoho_line(sandbox, line)["status"] == "uncategorized"
    for bill in bills:
        assert zoho.get(f"/bills/{bill['bill_id']}")["bill"]["status"] != "paid"


def test_a_published_expense_is_matched_then_unmatched(app, client, account, sandbox,
                                                       connected, admin):
    line = paid(client, sandbox, account, 2500, "TAXI G7")
    category = ZohoAccount.usable(connected.organization_id).where(
        ZohoAccount.account_type == "expense").first()
    expense = zoho_as_user(sandbox).post("/expenses", json={
        "account_id": category.zoho_id, "date": str(line.booking_date), "amount": 25,
        "paid_through_account_id": account.zoho_account_id,
        "reference_number": "TAXI-1"})["expense"]
    document = published_in_zoho(app, "expense", expense["expense_id"], "", 2500)
    sandbox.admin("POST", "/sandbox/stats/reset")

    accepted = settlement.accept(line, [document], admin)

    assert Settlement.get_by_id(accepted.id).state is SettlementState.SETTLED
    # Finding the line's Zoho id (a statement import returns none), then the match itself.
    assert books_calls(sandbox) == 2
    in_zoho = zoho_line(sandbox, line)
    assert in_zoho["status"] == "matched"
    assert [m["transaction_id"] for m in in_zoho["matched_transactions"]] == \
        [expense["expense_id"]]

    settlement.undo(accepted, admin)
    settlement.undo(accepted, admin)  # a second click does nothing more
    assert zoho_line(sandbox, line)["status"] == "uncategorized"
    assert calls(sandbox, "POST /banktransactions/{transaction_id}/unmatch") == 1
    # The expense stays in Zoho, and both sides are open again here.
    assert zoho_as_user(sandbox).get(f"/expenses/{expense['expense_id']}")["expense"]
    assert settlement.left_to_explain(document) == 2500
    assert settlement.live_settlement(line) is None


# -- exactly once -------------------------------------------------------------------------------


def test_a_timeout_after_the_ledger_commit_then_a_retry_records_one_expense(
        app, client, account, sandbox, connected_org, admin):
    cafe_rule(connected_org)
    document = cafe_receipt(client)
    line = paid(client, sandbox, account, CAFE_TOTAL, "CAFE RICHARD")
    sandbox.admin("POST", "/sandbox/stats/reset")
    categorize = "POST /banktransactions/uncategorized/{transaction_id}/categorize/expenses"
    with zoho_write_times_out(app, sandbox, categorize):
        accepted = settlement.accept(line, [document], admin)
        assert Settlement.get_by_id(accepted.id).state is SettlementState.SETTLING
    # Not tried again at once: a minute later, then longer each time (Zoho may be down).
    waiting = Settlement.get_by_id(accepted.id)
    assert waiting.attempts == 1 and waiting.next_try_at > utcnow()
    assert list(settlement.due(settlement.to_settle())) == []
    # The retry, a minute later: looked up first, found, never sent again.
    from jobs.matching import settle_match

    settle_match(accepted.id)

    accepted = Settlement.get_by_id(accepted.id)
    assert accepted.state is SettlementState.SETTLED
    assert calls(sandbox, categorize) == 1
    expenses = zoho_as_user(sandbox).get("/expenses", params={
        "reference_number": "2026-0457"})["expenses"]
    assert len(expenses) == 1
    assert Document.get_by_id(document.id).zoho_id == expenses[0]["expense_id"]
    settled = AuditEvent.get(AuditEvent.action == "match.settled")
    assert settled.after["found_again"] is True


def test_a_match_accepted_while_zoho_is_disconnected_settles_once_it_is_back(
        client, auth, account, sandbox, connected_org, admin):
    from jobs.matching import settle_waiting_matches

    cafe_rule(connected_org)
    document = cafe_receipt(client)
    line = paid(client, sandbox, account, CAFE_TOTAL, "CAFE RICHARD PARIS")
    ZohoConnection.update(status=ConnectionStatus.NEEDS_RECONNECT).execute()

    accepted = settlement.accept(line, [document], admin)  # its job finds Zoho away

    waiting = Settlement.get_by_id(accepted.id)
    assert waiting.state is SettlementState.QUEUED
    assert "not connected" in i18n.in_words(waiting.error)
    page = client.get(f"/matching/lines/{line.id}").text
    assert "Not confirmed by Zoho Books yet: Zoho Books is not connected" in page
    ZohoConnection.update(status=ConnectionStatus.CONNECTED).execute()
    settle_waiting_matches()  # before its next try: nothing
    assert Settlement.get_by_id(accepted.id).state is SettlementState.QUEUED
    Settlement.update(next_try_at=utcnow()).execute()  # a minute later
    settle_waiting_matches()
    assert Settlement.get_by_id(accepted.id).state is SettlementState.SETTLED
    assert zoho_line(sandbox, line)["status"] == "categorized"


def test_zoho_refusing_the_expense_fails_the_match_in_words(client, account, sandbox,
                                                            connected_org, admin):
    rule = cafe_rule(connected_org)
    rule.account_id = "460000000999999"  # a category deleted in Zoho since
    rule.save()
    document = cafe_receipt(client)
    line = paid(client, sandbox, account, CAFE_TOTAL, "CAFE RICHARD")

    accepted = settlement.accept(line, [document], admin)

    accepted = Settlement.get_by_id(accepted.id)
    assert accepted.state is SettlementState.FAILED
    error = i18n.in_words(accepted.error)  # stored: read in the reader's language
    assert error.startswith("Zoho Books refused to record this match:")
    assert "undo the match" in error
    assert zoho_line(sandbox, line)["status"] == "uncategorized"
    assert Document.get_by_id(document.id).status is not DocumentStatus.PUBLISHED


def test_undo_of_an_expense_deletes_it_in_zoho_once_and_the_receipt_is_ready_again(
        client, account, sandbox, connected_org, admin):
    cafe_rule(connected_org)
    document = cafe_receipt(client)
    line = paid(client, sandbox, account, CAFE_TOTAL, "CAFE RICHARD")
    accepted = settlement.accept(line, [document], admin)
    expense_id = Document.get_by_id(document.id).zoho_id

    settlement.undo(accepted, admin)
    settlement.undo(Settlement.get_by_id(accepted.id), admin)

    assert Settlement.get_by_id(accepted.id).state is SettlementState.UNDONE
    assert zoho_line(sandbox, line)["status"] == "uncategorized"
    assert calls(sandbox, "POST /banktransactions/{transaction_id}/uncategorize") == 1
    expenses = zoho_as_user(sandbox).get("/expenses", params={
        "reference_number": "2026-0457"})["expenses"]
    assert expense_id not in [e["expense_id"] for e in expenses]
    document = Document.get_by_id(document.id)
    assert document.status is DocumentStatus.READY and document.zoho_id is None
    assert AuditEvent.select().where(AuditEvent.action == "match.undone").count() == 1
    # Both are open again: the receipt can be matched anew.
    again = settlement.accept(BankTransaction.get_by_id(line.id), [document], admin)
    assert Settlement.get_by_id(again.id).state is SettlementState.SETTLED


def test_a_line_already_matched_is_refused_in_words(client, account, sandbox, connected_org,
                                                    admin):
    document = cafe_receipt(client)
    line = paid(client, sandbox, account, CAFE_TOTAL, "CAFE RICHARD")
    settlement.accept(line, [document], admin)
    other = cafe_receipt(client)
    with pytest.raises(settlement.SettlementProblem) as refused:
        settlement.accept(line, [other], admin)
    assert "already matched" in i18n.in_words(refused.value.user_message)


@pytest.fixture
def connected(account):
    return ZohoConnection.current()


@pytest.fixture
def connected_org(connected):
    return connected.organization_id


def test_a_match_met_by_a_spent_zoho_day_waits_for_the_reset_and_settles_once(
        client, account, sandbox, connected_org, admin, monkeypatch):
    from jobs.matching import settle_waiting_matches
    from tests.test_daily_quota import advance, past_the_reset, spent_today

    cafe_rule(connected_org)
    document = cafe_receipt(client)
    line = paid(client, sandbox, account, CAFE_TOTAL, "CAFE RICHARD PARIS")
    sandbox.admin("POST", f"/sandbox/orgs/{connected_org}/limits",
                  daily=spent_today(sandbox, connected_org))  # another app spent the day

    waiting = Settlement.get_by_id(settlement.accept(line, [document], admin).id)
    assert waiting.state in (SettlementState.QUEUED, SettlementState.SETTLING)
    assert "daily API calls" in i18n.in_words(waiting.error)
    assert waiting.next_try_at > utcnow() + datetime.timedelta(hours=past_the_reset() - 0.5)
    def refusals() -> int:
        return ZohoQuota.get(ZohoQuota.organization_id == connected_org).refused_45

    assert refusals() == 1
    settle_waiting_matches.call_local()  # the minute tick: no new call before the reset
    assert refusals() == 1

    advance(monkeypatch, sandbox, past_the_reset())
    sandbox.admin("POST", f"/sandbox/orgs/{connected_org}/limits", plan="ultimate")
    settle_waiting_matches.call_local()
    settled = Settlement.get_by_id(waiting.id)
    assert settled.state is SettlementState.SETTLED, settled.error
    assert zoho_line(sandbox, line)["status"] == "categorized"
    assert calls(sandbox, "POST /expenses") == 0
