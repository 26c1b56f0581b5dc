"""Scoring a document against a bank line: each signal, the window's edges, the reasons.

Pure: documents and lines are built in memory, never saved (no app, no database). The
reasons are stored messages, read here as an English (or French) reader reads them."""

import datetime

import pytest
from flask import Flask
from flask_babel import Babel

from models import BankTransaction, Document, MatchSettings, SupplierRule
from services import i18n, matching

pytestmark = pytest.mark.no_database

# A bare app, only to read the reasons in a language (no database).
_READER = Flask(__name__)
_READER.config["BABEL_TRANSLATION_DIRECTORIES"] = str(i18n.TRANSLATIONS_DIR)
Babel(_READER, locale_selector=lambda: i18n.BABEL_LOCALES[_READER.config["READER_LANGUAGE"]])


def read(found, language="en") -> list[str]:
    """A score's reasons as a reader of `language` reads them on a page."""
    _READER.config["READER_LANGUAGE"] = language
    with _READER.test_request_context():
        return [i18n.in_words(reason) for reason in found.reasons]

ISSUED = datetime.date(2026, 6, 10)
SETTINGS = MatchSettings(days_before=3, days_after=10, auto_accept_score=None)


def receipt(**fields) -> Document:
    values = {"kind": "cost", "document_type": "receipt", "supplier_name": "Café du Coin",
              "issue_date": ISSUED, "currency": "EUR", "total_cents": 3650, "number": "",
              "text": "", "recognition": {}, **fields}
    return Document(**values)


def card_line(days_after=1, **fields) -> BankTransaction:
    values = {"id": 1, "side": "debit", "amount_cents": 3650, "currency": "EUR",
              "local_amount_cents": None, "local_currency": "", "label": "CAFE DU COIN PARIS",
              "counterparty": "Café du Coin", "reference": "", "card_last_digits": "",
              "booking_date": ISSUED + datetime.timedelta(days=days_after), **fields}
    return BankTransaction(**values)


def score(document, line, **keywords):
    return matching.score(document, line, SETTINGS, **keywords)


def test_the_cafe_receipt_and_its_card_payment_score_high_with_plain_reasons():
    result = score(receipt(text="VISA **** 4242\nTOTAL 36,50 EUR"),
                   card_line(days_after=2, card_last_digits="4242"))
    assert result.points >= 90
    assert read(result) == ["same amount €36.50", "paid 2 days after the receipt",
                            "supplier Café du Coin ~ Café du Coin", "card •••• 4242"]


def test_a_french_reader_reads_the_reasons_in_french_with_french_amounts():
    result = score(receipt(text="VISA **** 4242\nTOTAL 36,50 EUR"),
                   card_line(days_after=2, card_last_digits="4242"))
    assert read(result, "fr") == ["même montant 36,50\u00a0€", "payé 2 jours après le ticket",
                                  "fournisseur Café du Coin ~ Café du Coin", "carte •••• 4242"]
    bill = receipt(document_type="invoice", due_date=ISSUED + datetime.timedelta(days=30))
    assert "payé 1 jour après la facture" in read(score(bill, card_line(days_after=1)), "fr")
    # The stored reasons hold no language: the same score reads in English again.
    assert read(result)[1] == "paid 2 days after the receipt"


def test_no_proposal_without_the_same_amount():
    assert score(receipt(total_cents=3651), card_line()).points == 0
    assert score(receipt(currency="USD"), card_line()).points == 0


def test_a_document_without_a_currency_is_taken_in_the_lines_currency():
    assert score(receipt(currency=""), card_line()).points > 0


def test_a_foreign_card_payment_matches_on_its_local_amount():
    line = card_line(amount_cents=4910, local_amount_cents=4200, local_currency="GBP",
                     counterparty="Pret A Manger", label="PRET A MANGER LONDON")
    result = score(receipt(supplier_name="Pret A Manger", currency="GBP", total_cents=4200),
                   line)
    assert read(result)[0] == "same amount £42.00 (charged €49.10)"
    assert result.points >= 80
    # The same number of euros is not the same amount.
    assert score(receipt(currency="EUR", total_cents=4200), line).points == 0


@pytest.mark.parametrize("days, inside", [(-4, False), (-3, True), (0, True), (10, True),
                                          (11, False)])
def test_the_date_window_edges(days, inside):
    assert (score(receipt(), card_line(days_after=days)).points > 0) is inside


def test_closer_dates_score_more():
    points = [score(receipt(), card_line(days_after=days)).points
              for days in (1, 4, 7, 10)]
    assert points == sorted(points, reverse=True) and points[0] > points[-1]
    assert score(receipt(), card_line(days_after=-3)).points < \
        score(receipt(), card_line(days_after=0)).points


def test_the_window_follows_the_settings():
    narrow = MatchSettings(days_before=0, days_after=2)
    assert matching.score(receipt(), card_line(days_after=3), narrow).points == 0
    assert matching.score(receipt(), card_line(days_after=-1), narrow).points == 0
    assert matching.score(receipt(), card_line(days_after=2), narrow).points > 0


def test_date_reasons_say_before_on_or_after():
    assert read(score(receipt(), card_line(days_after=0)))[1] == "paid on the receipt's date"
    assert read(score(receipt(), card_line(days_after=-1)))[1] == \
        "paid 1 day before the receipt's date"
    assert read(score(receipt(document_type="invoice"), card_line(days_after=6)))[1] == \
        "paid 6 days after the invoice"


def test_a_bill_on_terms_is_reached_until_its_due_date():
    bill = receipt(document_type="invoice", due_date=ISSUED + datetime.timedelta(days=30))
    result = score(bill, card_line(days_after=29))
    assert result.points > 0
    assert "paid 29 days after the invoice, by its due date" in read(result)
    assert score(bill, card_line(days_after=41)).points == 0


def test_supplier_name_folded_and_its_variants():
    plain = score(receipt(supplier_name="Unknown Shop"), card_line()).points
    for name in ("CAFE DU COIN SARL", "Café du Coin", "cafe-du-coin", "Cafe du Coim"):
        result = score(receipt(supplier_name=name), card_line())
        assert result.points >= plain + 20, name
    assert not any("supplier" in reason for reason in
                   read(score(receipt(supplier_name="Unknown Shop"), card_line())))


def test_the_zoho_contact_and_the_supplier_rule_aliases_count():
    line = card_line(counterparty="", label="SQ *COIN CAFE 75011")
    document = receipt(supplier_name="Le Petit Coin")
    assert not any("~" in reason for reason in read(score(document, line)))
    rule = SupplierRule(id=1, name="Le Petit Coin", aliases=["SQ COIN CAFE"])
    names = matching.document_names(document, [rule])
    result = score(document, line, names=names)
    assert "supplier rule SQ COIN CAFE ~ SQ *COIN CAFE 75011" in read(result)
    recognised = receipt(supplier_name="LPC", recognition={"contact_name": "Café du Coin"})
    assert "Zoho contact Café du Coin ~ Café du Coin" in read(score(recognised, card_line()))


def test_card_digits_after_a_masked_run():
    assert matching.card_digits("CB **** 4242") == {"4242"}
    assert matching.card_digits("XXXX XXXX XXXX 4242\n") == {"4242"}
    assert matching.card_digits("Carte ...4242 sans contact") == {"4242"}
    assert matching.card_digits("•••• 0456") == {"0456"}
    assert matching.card_digits("Total 4242 EUR, tel 01 42 42 42 42") == set()


def test_other_card_digits_cost_points():
    line = card_line(card_last_digits="7391")
    mine = score(receipt(text="CB XXXX7391"), line)
    nothing = score(receipt(text="merci"), line)
    other = score(receipt(text="CB **** 0456"), line)
    assert mine.points > nothing.points > other.points
    assert "the receipt shows card •••• 0456, the line was paid with •••• 7391" in \
        read(other)


def test_the_invoice_number_in_the_transfer_reference():
    bill = receipt(document_type="invoice", supplier_name="Imprimerie Moderne",
                   number="FACT-2026-0042", total_cents=120000)
    transfer = card_line(days_after=6, amount_cents=120000, counterparty="Imprimerie Moderne",
                         label="Imprimerie Moderne", reference="fact 2026 0042")
    result = score(bill, transfer)
    assert "invoice FACT-2026-0042 in the transfer reference" in read(result)
    assert result.points == 100  # amount, date, supplier and number: capped
    # A longer number that merely contains it is another invoice.
    assert "in the transfer" not in " ".join(read(
        score(bill, card_line(days_after=6, amount_cents=120000,
                              reference="FACT-2026-00421"))))


def test_a_bill_whose_number_is_in_the_reference_matches_part_of_a_transfer():
    bill = receipt(document_type="invoice", number="HON-2026-0007", total_cents=40000,
                   supplier_name="Cabinet Comptable Martin")
    paying_three = card_line(days_after=4, amount_cents=110000, reference=(
        "HON-2026-0007 HON-2026-0008 HON-2026-0009"), counterparty="Cabinet Comptable Martin")
    result = score(bill, paying_three)
    assert read(result)[0] == "the €1,100.00 payment covers this €400.00 invoice and more"
    full = score(bill, card_line(days_after=4, amount_cents=40000, reference="HON-2026-0007",
                                 counterparty="Cabinet Comptable Martin"))
    assert 0 < result.points < full.points
    # Without the number, another amount is no match; a receipt never matches in part.
    assert score(bill, card_line(days_after=4, amount_cents=110000)).points == 0
    assert score(receipt(number="HON-2026-0007"), paying_three).points == 0


def test_what_is_left_to_pay_of_a_split_bill():
    bill = receipt(document_type="invoice", total_cents=50000)
    second = card_line(amount_cents=20000)
    assert score(bill, second).points == 0
    result = score(bill, second, paid_cents=30000)
    assert read(result)[0] == "same amount €200.00 (left to pay of €500.00)"
