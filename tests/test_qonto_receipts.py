"""Receipts snapped in the Qonto app become documents (issue 8, item 3): fetched once, read
like an upload, linked to their line, and published with it as the line's expense."""

from models import (
    BankTransaction,
    Document,
    ReceiptUpload,
    Settlement,
    SettlementState,
    ZohoAccount,
)
from services.bank_lines import money
from tests.bank_flow import sync_now
from tests.conftest import csrf_token
from tests.test_settlement import (  # noqa: F401  (fixtures, helpers)
    account,
    calls,
    connected,
    connected_org,
    zoho_connected,
    zoho_line,
)
from tests.zoho_flow import zoho_as_user


def _paid_with_receipt(sandbox, qonto_account, cents: int, label: str) -> dict:
    added = sandbox.admin("POST", "/sandbox/qonto/transactions",
                          bank_account_id=qonto_account.qonto_id, side="debit",
                          amount_cents=cents, label=label, status="completed",
                          operation_type="card")["transaction"]
    sandbox.admin("POST", f"/sandbox/qonto/transactions/{added['id']}/attachments", kind="pdf")
    return added


def test_a_qonto_receipt_becomes_a_document_published_with_its_line(  # noqa: F811
        client, account, sandbox, connected_org):  # noqa: F811
    added = _paid_with_receipt(sandbox, account, 1890, "LIBRAIRIE GALLIMARD")
    sync_now(client)

    line = BankTransaction.get(BankTransaction.qonto_id == added["id"])
    document = Document.get(Document.qonto_attachment_id == line.attachment_ids[0])
    assert document.source == "qonto" and document.source_detail.endswith(".pdf")
    assert document.status.value != "processing"  # read like an upload
    receipt = Settlement.get(Settlement.line == line)
    assert receipt.origin == "qonto_receipt" and receipt.state is SettlementState.WAITING
    assert [part.document_id for part in receipt.parts] == [document.id]
    assert zoho_line(sandbox, line)["status"] == "uncategorized"  # nothing sent yet

    sync_now(client)  # fetched and stored once
    assert Document.select().where(
        Document.qonto_attachment_id == line.attachment_ids[0]).count() == 1

    category = ZohoAccount.usable(connected_org).where(
        ZohoAccount.account_type == "expense").first()
    token = csrf_token(client, "/documents/")
    sandbox.admin("POST", "/sandbox/stats/reset")
    # Saved ready, the receipt settles its line at once: no "Publish" needed.
    page = client.post(f"/documents/{document.id}", data={
        "account_id": category.zoho_id, "total_cents": money(line.amount_cents),
        "issue_date": line.booking_date.isoformat(), "acknowledge_warnings": "yes",
        "csrf_token": token}, follow_redirects=True).text

    assert 'id="published"' in page  # the document reads published, as the expense
    assert Settlement.get_by_id(receipt.id).state is SettlementState.SETTLED
    document = Document.get_by_id(document.id)
    in_zoho = zoho_line(sandbox, line)
    assert in_zoho["status"] == "categorized" and in_zoho["expense_id"] == document.zoho_id
    expense = zoho_as_user(sandbox).get(f"/expenses/{document.zoho_id}")["expense"]
    assert expense["expense_receipt_name"] == document.filename
    assert calls(sandbox, "POST /expenses") == 0

    sync_now(client)  # the file went with the expense: never uploaded to the line too
    assert not ReceiptUpload.select().where(ReceiptUpload.transaction == line).exists()
    assert "documents" not in zoho_line(sandbox, line) or not zoho_line(sandbox, line)[
        "documents"]
