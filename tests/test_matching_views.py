"""What a bookkeeper sees and clicks for matching receipts to bank lines (issue 8): the
"Receipt missing", "Not paid yet" and "Paid from elsewhere" lists, their filters, CSV and
marks; accepting and undoing a match from the document page and the line page; the alias
offer; the admins' match settings."""

import csv
import datetime
import io
import re
import uuid

import pytest

from models import (
    AuditEvent,
    BankTransaction,
    Document,
    DocumentStatus,
    PushState,
    QontoAccount,
    StoredFile,
    SupplierRule,
    utcnow,
)
from models.matching import MatchSettings, Settlement, SettlementPart, SettlementState
from services import bank_schedule, i18n, matching
from services.i18n import stored_message
from tests.conftest import csrf_token
from tests.test_translations import FRENCH
from tests.translation_checks import english_in, own_text

BOOKED = datetime.date(2026, 6, 10)  # a week before the pinned "today" (2026-06-17)


def without_tags(html: str) -> str:
    """The page's text as read: a sentence whose names are marked up reads whole."""
    return re.sub(r"<[^>]+>", "", html)


@pytest.fixture
def account(app):
    return QontoAccount.create(qonto_id="main", name="Compte principal", iban="FR7612345")


@pytest.fixture
def signed_in(client, auth, bookkeeper):
    auth.login("books@example.com")
    return client


def make_line(account, label="CB CAFE DU COIN PARIS", amount_cents=3650, **columns):
    values = {"account": account, "qonto_id": uuid.uuid4().hex, "transaction_id": label,
              "status": "completed", "side": "debit", "amount_cents": amount_cents,
              "label": label, "counterparty": label, "qonto_updated_at": utcnow(),
              "booking_date": BOOKED, "push_state": PushState.PUSHED,
              "zoho_status": "uncategorized", **columns}
    return BankTransaction.create(**values)


def make_document(**fields) -> Document:
    stored = StoredFile.create(sha256=uuid.uuid4().hex, media_type="application/pdf", size=1)
    values = {"status": DocumentStatus.TO_REVIEW, "filename": "receipt.pdf",
              "supplier_name": "Café du Coin", "issue_date": BOOKED, "total_cents": 3650,
              "currency": "EUR", "document_type": "receipt", **fields}
    return Document.create(file=stored, **values)


def post(client, path, page, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data},
                       follow_redirects=True)


def days_since(client, day: datetime.date) -> int:
    """A line's age as the lists count it: from today in the organisation's time zone,
    whatever day the suite runs (7 on its pinned 17 June 2026)."""
    zone = bank_schedule.time_zone(client.application.config)
    return (bank_schedule.local_date(utcnow(), zone) - day).days


def listed_labels(client, **query) -> list[str]:
    page = client.get("/matching/lines/", query_string=query)
    assert page.status_code == 200
    return [line.label for line in BankTransaction.select() if f'id="line-{line.id}"' in
            page.text]


# -- receipt missing ------------------------------------------------------------------------

def test_receipt_missing_lists_open_payments_with_their_age_and_filters(signed_in, account):
    savings = QontoAccount.create(qonto_id="savings", name="Épargne", iban="FR7698765")
    make_line(account)
    make_line(account, "PRLV OVHCLOUD", 11999, booking_date=datetime.date(2026, 5, 2))
    make_line(savings, "CB BOULANGERIE", 420)
    make_line(account, "VIR CLIENT DUPONT", 50000, side="credit")  # money in: not a cost
    make_line(account, "CB RULED", 990, zoho_status="categorized")  # done in Zoho already
    make_line(account, "CB PENDING", 100, status="pending", push_state=PushState.WAITING)

    page = signed_in.get("/matching/lines/").text
    assert f"{days_since(signed_in, datetime.date(2026, 6, 10))} days" in page
    assert "-€36.50" in page and "Compte principal" in page
    assert sorted(listed_labels(signed_in)) == ["CB BOULANGERIE", "CB CAFE DU COIN PARIS",
                                                "PRLV OVHCLOUD"]
    assert listed_labels(signed_in, account=savings.id) == ["CB BOULANGERIE"]
    assert listed_labels(signed_in, amount="119,99") == ["PRLV OVHCLOUD"]
    assert listed_labels(signed_in, q="cafe") == ["CB CAFE DU COIN PARIS"]
    assert sorted(listed_labels(signed_in, **{"from": "2026-06-01"})) == [
        "CB BOULANGERIE", "CB CAFE DU COIN PARIS"]
    assert listed_labels(signed_in, to="2026-05-31") == ["PRLV OVHCLOUD"]
    assert "No line matches these filters" in signed_in.get(
        "/matching/lines/", query_string={"q": "nothing like it"}).text


def test_a_bad_filter_says_what_is_wrong_instead_of_failing(signed_in, account):
    response = signed_in.get("/matching/lines/", query_string={"amount": "lots"})
    assert response.status_code == 400 and "36.50" in response.text
    response = signed_in.get("/matching/lines/", query_string={"from": "2026-13-01"})
    assert response.status_code == 400 and "is not a date" in response.text


def test_receipt_missing_exports_the_same_filter_as_csv(signed_in, account):
    make_line(account)
    make_line(account, "=HYPERLINK(evil)", 1200)
    make_line(account, "PRLV OVHCLOUD", 11999)
    response = signed_in.get("/matching/lines.csv", query_string={"q": "cafe"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    age = str(days_since(signed_in, datetime.date(2026, 6, 10)))
    assert [(row["date"], row["amount"], row["label"], row["account"], row["age_days"])
            for row in rows] == [("2026-06-10", "-36.50", "CB CAFE DU COIN PARIS",
                                  "Compte principal", age)]
    everything = signed_in.get("/matching/lines.csv").text
    assert "'=HYPERLINK(evil)" in everything  # a spreadsheet shows it, never runs it


def test_no_receipt_needed_is_remembered_and_can_be_undone(signed_in, account):
    fee = make_line(account, "FRAIS BANCAIRES", 900)
    page = signed_in.post(f"/matching/lines/{fee.id}/no-receipt",
                          data={"csrf_token": csrf_token(signed_in, "/matching/lines/")},
                          follow_redirects=True)
    assert "no receipt needed" in page.text
    assert BankTransaction.get_by_id(fee.id).no_receipt_needed
    assert listed_labels(signed_in) == []
    assert listed_labels(signed_in, view="no_receipt") == ["FRAIS BANCAIRES"]
    assert AuditEvent.get_or_none(AuditEvent.action == "match.no_receipt_needed")

    post(signed_in, f"/matching/lines/{fee.id}/no-receipt", "/matching/lines/", needed="yes")
    assert listed_labels(signed_in) == ["FRAIS BANCAIRES"]
    assert AuditEvent.get_or_none(AuditEvent.action == "match.receipt_needed")


def test_a_mark_without_the_form_token_changes_nothing(signed_in, account):
    fee = make_line(account, "FRAIS BANCAIRES", 900)
    response = signed_in.post(f"/matching/lines/{fee.id}/no-receipt")
    assert response.status_code == 400 and "This form has expired" in response.text
    assert not BankTransaction.get_by_id(fee.id).no_receipt_needed


# -- not paid yet / paid from elsewhere ------------------------------------------------------

def test_not_paid_yet_and_paid_from_elsewhere_with_mark_undo_and_csv(signed_in, account):
    receipt = make_document()
    cash = make_document(supplier_name="Marché Bio", total_cents=1280, filename="cash.jpg")
    make_document(supplier_name="Client SA", kind="sale", filename="sale.pdf")
    make_document(supplier_name="Old", status=DocumentStatus.ARCHIVED, filename="old.pdf")

    def listed(**query):
        page = signed_in.get("/matching/documents/", query_string=query).text
        return sorted(document.filename for document in Document.select()
                      if f'id="document-{document.id}"' in page)

    assert listed() == ["cash.jpg", "receipt.pdf"]
    assert listed(q="marche") == ["cash.jpg"]
    page = post(signed_in, f"/matching/documents/{cash.id}/not-bank-payment",
                "/matching/documents/")
    assert "not a bank payment" in page.text
    assert listed() == ["receipt.pdf"]
    assert listed(view="paid_elsewhere") == ["cash.jpg"]
    rows = list(csv.DictReader(io.StringIO(signed_in.get(
        "/matching/documents.csv", query_string={"view": "paid_elsewhere"}).text)))
    assert [(row["supplier"], row["total"]) for row in rows] == [("Marché Bio", "12.80")]

    post(signed_in, f"/matching/documents/{cash.id}/not-bank-payment",
         "/matching/documents/", value="no")
    assert listed() == ["cash.jpg", "receipt.pdf"]
    assert [event.action for event in AuditEvent.select().where(
        AuditEvent.action.startswith("match.")).order_by(AuditEvent.id)] == [
        "match.not_bank_payment", "match.bank_payment"]
    assert "Not paid yet" in signed_in.get("/documents/").text  # the inbox links to it
    assert receipt.id  # still listed throughout


# -- accepting and undoing ------------------------------------------------------------------

def test_accepting_a_proposal_on_the_document_page_then_undoing_it(signed_in, account):
    line = make_line(account)
    receipt = make_document()  # no category yet: it waits before anything goes to Zoho
    matching.propose()
    page = signed_in.get(f"/documents/{receipt.id}").text
    assert 'id="proposals"' in page and "same amount" in page  # the reasons, as a list
    page = post(signed_in, f"/matching/documents/{receipt.id}/accept",
                f"/documents/{receipt.id}", line_id=line.id).text
    assert "Matched. It is settled in Zoho Books once the document is ready" in page
    assert 'data-state="waiting"' in page and "Undo match" in page
    assert listed_labels(signed_in) == []  # the line left "Receipt missing"

    settlement = Settlement.get(Settlement.line == line)
    page = post(signed_in, f"/matching/settlements/{settlement.id}/undo",
                f"/documents/{receipt.id}", document_id=receipt.id).text
    assert "Undoing the match" in page
    assert Settlement.get_by_id(settlement.id).state is SettlementState.UNDONE
    assert listed_labels(signed_in) == ["CB CAFE DU COIN PARIS"]


def test_a_refused_match_shows_why_in_the_page(signed_in, account):
    line = make_line(account, no_receipt_needed=True)
    receipt = make_document()
    response = post(signed_in, f"/matching/documents/{receipt.id}/accept",
                    f"/documents/{receipt.id}", line_id=line.id)
    assert response.status_code == 200
    assert "marked “no receipt needed”; undo that mark first" in response.text
    assert Settlement.select().count() == 0


def test_several_documents_must_add_up_to_the_line(signed_in, account):
    transfer = make_line(account, "VIR SEPA ATELIER", 30000)
    bills = [make_document(supplier_name="Atelier", total_cents=cents, filename=f"{n}.pdf",
                           status=DocumentStatus.PUBLISHED, zoho_type="bill",
                           zoho_id=f"b{n}", contact_id="c1")
             for n, cents in enumerate((10000, 12000))]
    response = post(signed_in, f"/matching/lines/{transfer.id}/accept",
                    f"/matching/lines/{transfer.id}",
                    document_ids=[str(bill.id) for bill in bills])
    assert "The documents add up to €220.00 but the line is €300.00" in response.text
    assert Settlement.select().count() == 0
    page = signed_in.get(f"/matching/lines/{transfer.id}", query_string={"q": "atelier"})
    assert page.text.count('name="document_ids"') == 2  # both found by the search


def test_the_line_page_shows_a_settled_match_its_zoho_links_and_the_alias_offer(
        signed_in, account):
    line = make_line(account, zoho_transaction_id="zt-1")
    receipt = make_document(status=DocumentStatus.PUBLISHED, zoho_type="expense",
                            zoho_id="e-1", zoho_number="EXP-1")
    settlement = Settlement.create(line=line, open_line=line.id, kind="expense",
                                   state=SettlementState.SETTLED, settled_at=utcnow(),
                                   zoho_record_type="expense", zoho_record_id="e-1",
                                   alias_offer="CB CAFE DU COIN PARIS")
    SettlementPart.create(settlement=settlement, document=receipt, amount_cents=3650)

    for path in (f"/matching/lines/{line.id}", f"/documents/{receipt.id}"):
        page = signed_in.get(path).text
        assert "Settled" in page and 'id="zoho-line-link"' in page
        assert "Add “CB CAFE DU COIN PARIS” as a name of supplier Café du Coin?" in \
            without_tags(page)
        # The bank label and the supplier are data: a browser's translation leaves them.
        assert '<span translate="no">CB CAFE DU COIN PARIS</span>' in page
    assert "EXP-1" in signed_in.get(f"/matching/lines/{line.id}").text

    page = post(signed_in, f"/matching/settlements/{settlement.id}/alias",
                f"/matching/lines/{line.id}", accept="").text
    assert "is now a name of supplier Café du Coin" in page
    assert SupplierRule.get(SupplierRule.name == "Café du Coin").aliases == [
        "CB CAFE DU COIN PARIS"]
    assert Settlement.get_by_id(settlement.id).alias_offer == ""
    assert 'id="alias-offer"' not in page
    assert AuditEvent.get_or_none(AuditEvent.action == "match.alias_added")


def test_saying_no_to_the_alias_offer_clears_it_and_adds_nothing(signed_in, account):
    line = make_line(account)
    receipt = make_document()
    settlement = Settlement.create(line=line, open_line=line.id, kind="expense",
                                   state=SettlementState.SETTLED, alias_offer="CB CAFE")
    SettlementPart.create(settlement=settlement, document=receipt, amount_cents=3650)
    page = post(signed_in, f"/matching/settlements/{settlement.id}/alias",
                f"/documents/{receipt.id}", decline="", document_id=receipt.id).text
    assert "was not added" in page and SupplierRule.select().count() == 0
    assert Settlement.get_by_id(settlement.id).alias_offer == ""
    assert AuditEvent.get_or_none(AuditEvent.action == "match.alias_declined")


# -- settings -------------------------------------------------------------------------------

def test_only_admins_change_the_match_settings(client, auth, admin, bookkeeper):
    auth.login("books@example.com")
    page = client.get("/connections/settings/").text
    assert "Matching receipts and bank lines" in page and "Save match settings" not in page
    response = client.post("/matching/settings", data={
        "csrf_token": csrf_token(client, "/connections/settings/"), "days_before": "5",
        "days_after": "5"})
    assert response.status_code == 403
    assert MatchSettings.current().days_before == 3
    auth.logout()

    auth.login()
    page = post(client, "/matching/settings", "/connections/settings/", days_before="5",
                days_after="15", auto_accept="yes", auto_accept_score="97").text
    assert "Match settings saved" in page
    settings = MatchSettings.current()
    assert (settings.days_before, settings.days_after, settings.auto_accept_score) == (5, 15,
                                                                                       97)
    page = post(client, "/matching/settings", "/connections/settings/", days_before="5",
                days_after="999").text
    assert "nothing was saved" in page and MatchSettings.current().days_after == 15
    post(client, "/matching/settings", "/connections/settings/", days_before="5",
         days_after="15")  # auto-accept unticked: off again
    assert MatchSettings.current().auto_accept_score is None


def test_another_line_can_be_picked_by_amount_or_label(signed_in, account):
    make_line(account)
    make_line(account, "PRLV OVHCLOUD", 11999)
    receipt = make_document()
    page = signed_in.get(f"/matching/documents/{receipt.id}/pick", query_string={"q": "36.50"})
    assert "CB CAFE DU COIN PARIS" in page.text and "OVHCLOUD" not in page.text
    assert "<html" in page.text  # without JavaScript: a page of its own
    fragment = signed_in.get(f"/matching/documents/{receipt.id}/pick",
                             query_string={"q": "ovhcloud"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "PRLV OVHCLOUD" in fragment.text
    assert "Accept this line" in fragment.text


def test_the_state_of_a_match_polls_only_while_zoho_is_being_written(signed_in, account):
    line = make_line(account)
    settlement = Settlement.create(line=line, open_line=line.id, kind="expense",
                                   state=SettlementState.QUEUED)
    fragment = signed_in.get(f"/matching/settlements/{settlement.id}/state",
                             headers={"HX-Request": "true"}).text
    assert "hx-trigger" in fragment and "Queued" in fragment
    Settlement.update(state=SettlementState.FAILED, error="Zoho said no").execute()
    fragment = signed_in.get(f"/matching/settlements/{settlement.id}/state").text
    assert "hx-trigger" not in fragment
    assert "Zoho said no" in fragment and "Retry" in fragment


# -- read in French ---------------------------------------------------------------------------

def test_receipt_missing_reads_in_french_with_french_amounts_dates_and_ages(signed_in, account):
    make_line(account)
    make_line(account, "PRLV OVHCLOUD", 119999)
    page = signed_in.get("/matching/lines/", headers=FRENCH).text
    assert '<html lang="fr">' in page and "<h1>Justificatif manquant</h1>" in page
    assert "-36,50\u00a0€" in page and "-1\u202f199,99\u00a0€" in page
    assert "10 juin 2026" in page
    assert f"{days_since(signed_in, BOOKED)} jours" in page
    assert "Aucun justificatif requis" in page  # the other list's tab
    assert i18n.STORED_PREFIX not in page and not english_in(own_text(page))
    # An amount typed the French way finds its line.
    assert listed_labels(signed_in, amount="1\u202f199,99") == ["PRLV OVHCLOUD"]
    # The English page is still English.
    assert "<h1>Receipt missing</h1>" in signed_in.get("/matching/lines/").text


def test_a_line_page_in_french_gives_the_match_reasons_in_french(signed_in, account):
    line = make_line(account)
    make_document()
    matching.propose()
    page = signed_in.get(f"/matching/lines/{line.id}", headers=FRENCH).text
    assert "De quel document s’agit-il\u00a0?" in page
    assert "même montant 36,50\u00a0€" in page and "payé le jour du ticket" in page
    assert "Passée le 10 juin 2026 sur" in without_tags(page)
    assert i18n.STORED_PREFIX not in page and not english_in(own_text(page))


def test_matching_from_the_document_page_answers_in_french(signed_in, account):
    line = make_line(account)
    refused = make_line(account, "FRAIS BANCAIRES", 3650, no_receipt_needed=True)
    receipt = make_document()
    token = csrf_token(signed_in, f"/documents/{receipt.id}")

    page = signed_in.post(f"/matching/documents/{receipt.id}/accept", headers=FRENCH,
                          data={"csrf_token": token, "line_id": refused.id},
                          follow_redirects=True).text
    # A refusal (a stored message) read at once in French, its quotes French too.
    assert ("Cette opération bancaire est marquée «\u00a0aucun justificatif requis\u00a0»"
            "\u00a0; annulez d’abord cette marque.") in page

    page = signed_in.post(f"/matching/documents/{receipt.id}/accept", headers=FRENCH,
                          data={"csrf_token": token, "line_id": line.id},
                          follow_redirects=True).text
    assert "Rapproché. L’enregistrement dans Zoho Books se fera dès que le document" in page
    panel = page[page.index('id="bank-line"'):]
    assert "Payé par 10 juin 2026 · -36,50\u00a0€ · CB CAFE DU COIN PARIS" in \
        without_tags(panel)
    assert ">En attente</span>" in panel and "Annuler le rapprochement" in panel
    assert i18n.STORED_PREFIX not in page


def test_marking_a_line_says_so_in_french(signed_in, account):
    fee = make_line(account, "FRAIS BANCAIRES", 900)
    page = signed_in.post(f"/matching/lines/{fee.id}/no-receipt", headers=FRENCH, data={
        "csrf_token": csrf_token(signed_in, "/matching/lines/")}, follow_redirects=True).text
    assert ("FRAIS BANCAIRES (9,00\u00a0€)\u00a0: aucun justificatif requis. Annulez-le "
            "depuis la liste «\u00a0Aucun justificatif requis\u00a0».") in page


def test_a_failed_match_reads_in_french_and_the_csv_stays_machine_readable(signed_in, account):
    line = make_line(account)
    make_document()
    found = Settlement.create(line=line, open_line=line.id, kind="expense",
                              state=SettlementState.FAILED,
                              error=stored_message("Zoho Books refused to record this match: "
                                                   "%(reason)s. Correct what it says (in "
                                                   "Bookbridge or in Zoho Books), then settle "
                                                   "it again, or undo the match.",
                                                   reason="Compte 4600 inconnu"))
    fragment = signed_in.get(f"/matching/settlements/{found.id}/state", headers=FRENCH).text
    assert ">En échec</span>" in fragment and "Réessayer" in fragment
    assert ("Zoho Books a refusé d’enregistrer ce rapprochement\u00a0: Compte 4600 inconnu. "
            "Corrigez ce qui est indiqué") in fragment
    # A machine reads the CSV: the same columns and values whatever the reader's language.
    Settlement.delete().execute()
    rows = list(csv.DictReader(io.StringIO(
        signed_in.get("/matching/documents.csv", headers=FRENCH).text)))
    assert [(row["date"], row["total"], row["status"]) for row in rows] == [
        ("2026-06-10", "36.50", "To review")]
