"""Match proposals through a real database: best first, one-to-one marks, what is open,
recomputing after a change, and the auto-accept candidates."""

import datetime
import uuid

import pytest

from models import (
    BankTransaction,
    CategorisationRule,
    Document,
    DocumentStatus,
    MatchProposal,
    MatchSettings,
    PushState,
    QontoAccount,
    Settlement,
    SettlementKind,
    SettlementPart,
    SettlementState,
    StoredFile,
    utcnow,
)
from services import i18n, matching

DAY = datetime.date(2026, 6, 10)


@pytest.fixture
def account(app):
    return QontoAccount.create(qonto_id=str(uuid.uuid4()), name="Compte principal")


def read(app, reasons, headers=None) -> list[str]:
    """Stored reasons as a reader sees them (English unless `headers` ask for another)."""
    with app.test_request_context(headers=headers or {}):
        return [i18n.in_words(reason) for reason in reasons]


def make_line(account, amount_cents=3650, days_after=2, **fields) -> BankTransaction:
    values = {"status": "completed", "side": "debit", "label": "CAFE DU COIN PARIS",
              "counterparty": "Café du Coin", "push_state": PushState.PUSHED,
              "zoho_status": "uncategorized", **fields}
    return BankTransaction.create(
        account=account, qonto_id=str(uuid.uuid4()), amount_cents=amount_cents,
        qonto_updated_at=utcnow(), booking_date=DAY + datetime.timedelta(days=days_after),
        **values)


def make_document(total_cents=3650, **fields) -> Document:
    stored = StoredFile.create(sha256=uuid.uuid4().hex, media_type="application/pdf", size=1)
    values = {"status": DocumentStatus.READY, "document_type": "receipt",
              "supplier_name": "Café du Coin", "issue_date": DAY, "currency": "EUR", **fields}
    return Document.create(file=stored, total_cents=total_cents, **values)


def settle(line, *parts, state=SettlementState.SETTLED) -> Settlement:
    settlement = Settlement.create(line=line, open_line=line.id, kind=SettlementKind.EXPENSE,
                                   state=state)
    for document, amount_cents in parts:
        SettlementPart.create(settlement=settlement, document=document,
                              amount_cents=amount_cents)
    return settlement


def pairs(proposals) -> list[tuple[int, int]]:
    return [(proposal.document_id, proposal.line_id) for proposal in proposals]


def set_threshold(score):
    settings = MatchSettings.current()
    settings.auto_accept_score = score
    settings.save()


def test_the_right_line_comes_first_and_both_sides_know_their_best(app, account):
    receipt = make_document(text="CB **** 4242")
    paid = make_line(account, card_last_digits="4242")
    other_cafe = make_line(account, days_after=1, label="PAUL BASTILLE", counterparty="Paul")
    assert matching.propose() == 2
    proposals = matching.proposals_for_document(receipt)
    assert pairs(proposals) == [(receipt.id, paid.id), (receipt.id, other_cafe.id)]
    best, second = proposals
    assert best.score > second.score
    assert read(app, best.reasons) == [
        "same amount €36.50", "paid 2 days after the receipt",
        "supplier Café du Coin ~ Café du Coin", "card •••• 4242"]
    # Stored, not translated: a French reader reads the same reasons in French.
    assert read(app, best.reasons, {"Accept-Language": "fr"})[:2] == [
        "même montant 36,50\u00a0€", "payé 2 jours après le ticket"]
    assert (best.best_for_document, best.best_for_line) == (True, True)
    # The other café's line has no better document: this one is its best, not vice versa.
    assert (second.best_for_document, second.best_for_line) == (False, True)
    assert pairs(matching.proposals_for_line(paid)) == [(receipt.id, paid.id)]


def test_a_line_between_two_documents_marks_one_best(account):
    line = make_line(account)
    ours = make_document()
    stranger = make_document(supplier_name="Boulangerie Paul")
    matching.propose()
    assert pairs(matching.proposals_for_line(line)) == [(ours.id, line.id),
                                                        (stranger.id, line.id)]
    marks = {proposal.document_id: proposal.best_for_line
             for proposal in MatchProposal.select()}
    assert marks == {ours.id: True, stranger.id: False}


def test_only_open_lines_get_proposals(account):
    make_document()
    rule = CategorisationRule.create(name="Cafés", zoho_account_id="460000000001")
    settled = make_line(account)
    settle(settled)
    closed = [settled,
              make_line(account, no_receipt_needed=True),
              make_line(account, categorized_by=rule),
              make_line(account, zoho_status="categorized"),
              make_line(account, status="pending", push_state=PushState.WAITING),
              make_line(account, side="credit"),
              make_line(account, push_state=PushState.FAILED)]
    undone = make_line(account)  # its settlement was undone: open again
    Settlement.create(line=undone, open_line=None, kind=SettlementKind.EXPENSE,
                      state=SettlementState.UNDONE)
    ready = make_line(account, push_state=PushState.READY, zoho_status="")
    matching.propose()
    proposed = {proposal.line_id for proposal in MatchProposal.select()}
    assert proposed == {undone.id, ready.id}
    assert not proposed & {line.id for line in closed}
    assert {line.id for line in matching.open_lines()} == {undone.id, ready.id}


def test_only_open_documents_get_proposals(account):
    line = make_line(account)
    make_line(account, days_after=3)
    wanted = make_document()
    published = make_document(status=DocumentStatus.PUBLISHED, zoho_type="expense",
                              zoho_id="123")
    closed = [make_document(not_bank_payment=True),
              make_document(document_type="credit_note"),
              make_document(kind="sale"),
              make_document(status=DocumentStatus.ARCHIVED),
              make_document(duplicate_decision="same_document"),
              make_document(total_cents=None)]
    paid = make_document()
    settle(make_line(account, amount_cents=3650, days_after=1), (paid, 3650))
    matching.propose()
    proposed = {proposal.document_id for proposal in MatchProposal.select()}
    assert proposed == {wanted.id, published.id}
    assert not proposed & {document.id for document in [*closed, paid]}
    assert line.id in {proposal.line_id for proposal in MatchProposal.select()}


def test_a_split_bill_stays_open_for_what_is_left(app, account):
    bill = make_document(total_cents=50000, document_type="invoice",
                         supplier_name="Imprimerie Moderne")
    settle(make_line(account, amount_cents=30000, counterparty="Imprimerie Moderne"),
           (bill, 30000))
    second = make_line(account, amount_cents=20000, days_after=6,
                       counterparty="Imprimerie Moderne", label="VIR IMPRIMERIE MODERNE")
    matching.propose()
    assert bill.id in {document.id for document in matching.open_documents()}
    (proposal,) = matching.proposals_for_document(bill)
    assert proposal.line_id == second.id
    assert read(app, proposal.reasons)[0] == "same amount €200.00 (left to pay of €500.00)"
    # Once the parts cover the total, the bill is no longer open.
    settle(second, (bill, 20000))
    assert bill.id not in {document.id for document in matching.open_documents()}


def test_a_transfer_quoting_three_invoices_is_proposed_to_each(account):
    transfer = make_line(account, amount_cents=90000, days_after=5, label="Cabinet Martin",
                         counterparty="Cabinet Comptable Martin",
                         reference="HON-2026-0007 HON-2026-0008 HON-2026-0009")
    bills = [make_document(total_cents=30000, document_type="invoice", number=number,
                           supplier_name="Cabinet Comptable Martin")
             for number in ("HON-2026-0007", "HON 2026 0008", "hon20260009")]
    unquoted = make_document(total_cents=30000, document_type="invoice",
                             number="HON-2026-0010", supplier_name="Cabinet Comptable Martin")
    matching.propose()
    assert {proposal.document_id for proposal in matching.proposals_for_line(transfer)} == \
        {bill.id for bill in bills}
    assert matching.proposals_for_document(unquoted) == []


def test_recomputing_a_line_moves_the_best(account):
    receipt = make_document()
    first = make_line(account, days_after=1)
    later = make_line(account, days_after=4)
    matching.propose()
    assert matching.proposals_for_document(receipt)[0].line_id == first.id
    first.no_receipt_needed = True
    first.save()
    matching.propose(line_ids=[first.id])
    proposals = matching.proposals_for_document(receipt)
    assert pairs(proposals) == [(receipt.id, later.id)]
    assert proposals[0].best_for_document
    assert not MatchProposal.select().where(MatchProposal.line == first.id).exists()


def test_a_new_document_takes_the_line_from_a_weaker_one(account):
    make_line(account)
    stranger = make_document(supplier_name="Boulangerie Paul")
    matching.propose()
    assert MatchProposal.get(MatchProposal.document == stranger.id).best_for_line
    ours = make_document(text="Carte XXXX XXXX XXXX 4242")
    written = matching.propose(document_ids=[ours.id])
    assert written == 1
    marks = {proposal.document_id: proposal.best_for_line
             for proposal in MatchProposal.select()}
    assert marks == {ours.id: True, stranger.id: False}


def test_a_new_line_is_proposed_to_the_documents_waiting_for_it(account):
    receipt = make_document()
    matching.propose()
    assert matching.proposals_for_document(receipt) == []
    line = make_line(account)
    matching.propose(line_ids=[line.id])
    assert pairs(matching.proposals_for_document(receipt)) == [(receipt.id, line.id)]


def test_auto_accept_takes_only_clear_pairs_above_the_threshold(account):
    receipt = make_document(text="CB **** 4242")
    paid = make_line(account, card_last_digits="4242")
    matching.propose()
    assert matching.auto_accept_candidates() == []  # off by default
    set_threshold(80)
    assert pairs(matching.auto_accept_candidates()) == [(receipt.id, paid.id)]
    set_threshold(100)
    assert matching.auto_accept_candidates() == []


def test_auto_accept_leaves_close_calls_to_a_person(account):
    set_threshold(60)
    make_document()
    make_document(supplier_name="Café du Coin SARL")  # a second receipt, same café and amount
    make_line(account)
    matching.propose()
    assert matching.auto_accept_candidates() == []


def test_auto_accept_skips_a_line_settled_since_the_proposals(account):
    set_threshold(80)
    receipt = make_document()
    line = make_line(account)
    matching.propose()
    settle(line, (receipt, 3650))
    assert matching.auto_accept_candidates() == []
    assert matching.proposals_for_document(receipt) == []


def test_a_document_marked_not_a_bank_payment_gives_its_line_back(account):
    line = make_line(account)
    ours = make_document()
    stranger = make_document(supplier_name="Boulangerie Paul")
    matching.propose()
    ours.not_bank_payment = True
    ours.save()
    matching.propose(document_ids=[ours.id])
    assert not MatchProposal.select().where(MatchProposal.document == ours.id).exists()
    (left,) = matching.proposals_for_line(line)
    assert (left.document_id, left.best_for_line) == (stranger.id, True)
