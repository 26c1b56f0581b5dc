"""The bank feed as tabs (issue 11, item 6): transactions with their state in words and
links, the "waiting for a category" list complete and paged, failures and sync runs apart."""

import datetime
import html
import re
import uuid

import pytest

from integrations.qonto import QontoNotFound, QontoUnavailable
from models import (
    BankTransaction,
    Document,
    DocumentStatus,
    PushState,
    QontoAccount,
    ReceiptUpload,
    Settlement,
    SettlementKind,
    SettlementPart,
    StoredFile,
    SyncFailure,
    SyncRun,
    utcnow,
)
from services import i18n, qonto
from services.i18n import stored_message
from tests.translation_checks import english_in, own_text

DAY = datetime.date(2026, 3, 1)
TABS = {"/bank/lines/": "Transactions", "/matching/lines/": "Receipt missing",
        "/bank/waiting/": "Waiting for a category", "/bank/failures/": "Failures",
        "/bank/": "Sync runs"}


@pytest.fixture
def signed_in(client, auth, bookkeeper):
    auth.login("books@example.com")
    return client


@pytest.fixture
def account(app):
    return QontoAccount.create(qonto_id="main", name="Compte principal", iban="FR7612345")


def _line(account, label, **columns) -> BankTransaction:
    values = {"status": "completed", "side": "debit", "amount_cents": 1000,
              "booking_date": DAY, "push_state": PushState.PUSHED,
              "zoho_status": "uncategorized", **columns}
    return BankTransaction.create(account=account, qonto_id=str(uuid.uuid4()), label=label,
                                  qonto_updated_at=utcnow(), **values)


def _current_tab(page: str) -> list[str]:
    nav = page[page.index('aria-label="Bank feed"'):]
    nav = nav[:nav.index("</nav>")]
    return re.findall(r'aria-current="page"><strong>([^<]+)</strong></a>', nav)


def _labels(page: str, table: str = "bank-lines") -> list[str]:
    if f'id="{table}"' not in page:
        return []
    body = page[page.index(f'id="{table}"'):]
    body = body[body.index("<tbody>"):body.index("</tbody>")]
    return [html.unescape(label) for label in re.findall(
        r"<tr>\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>(?:<span[^>]*>)?([^<]*)",
        body)]


def _row(page: str, label: str) -> str:
    body = page[page.index('id="bank-lines"'):page.index("</tbody>")]
    return next(row for row in body.split("</tr>") if f'<span translate="no">{label}</span>' in row)


def test_every_bank_page_shows_the_tabs_with_its_own_marked(signed_in, account):
    for path, tab in TABS.items():
        page = signed_in.get(path).text
        assert _current_tab(page) == [tab], path
        assert f"<h1>{tab}</h1>" in page and f"<title>{tab} · Bookbridge" in page
        main_menu = page[page.index('aria-label="Main"'):page.index("</nav>")]
        # The menu's "Bank feed" opens the transactions and stays marked on every tab.
        assert re.search(r'<a href="/bank/lines/" aria-current="page">Bank feed</a>',
                         main_menu), path
        assert "Receipt missing" not in main_menu  # a tab now, not a menu entry
    assert "Bank sync history</h1>" not in signed_in.get("/bank/lines/").text
    rules = signed_in.get("/bank/rules/").text
    assert re.search(r'aria-current="page">Bank feed</a>', rules)
    tabs = signed_in.get("/bank/").text
    assert 'href="/bank/rules/" id="tab-rules"' in tabs


def test_the_waiting_list_is_complete_paged_and_counted(signed_in, account):
    savings = QontoAccount.create(qonto_id="savings", name="Épargne")
    for n in range(120):  # receipts waiting for a category, on 7 dates
        _line(account if n % 3 else savings, f"Ticket {n:03d}", attachment_ids=["r"],
              booking_date=DAY + datetime.timedelta(days=n % 7))
    _line(account, "Categorised", attachment_ids=["r"], zoho_status="categorized")
    _line(account, "No receipt")
    _line(account, "Not pushed yet", attachment_ids=["r"], push_state=PushState.READY)
    expected = [line.label for line in BankTransaction.select().where(
        BankTransaction.label.startswith("Ticket")).order_by(
        BankTransaction.booking_date.desc(), BankTransaction.id.desc())]

    first = signed_in.get("/bank/waiting/").text
    assert "120 lines with receipts wait for a category." in first
    pages, url = [], "/bank/waiting/"
    while url:
        page = signed_in.get(url).text
        assert "120 lines with receipts wait for a category." in page  # on every page
        pages.append(_labels(page, "waiting-lines"))
        match = re.search(r'<a href="([^"]+)" rel="next">', page)
        url = html.unescape(match.group(1)) if match else None
    assert [len(labels) for labels in pages] == [50, 50, 20]
    assert [label for labels in pages for label in labels] == expected

    per_account = signed_in.get("/bank/waiting/", query_string={"account": savings.id}).text
    assert ('40 lines with receipts wait for a category in <span translate="no">Épargne</span>.'
            in per_account)
    assert signed_in.get("/bank/waiting/?account=x").status_code == 400


def test_transactions_filter_by_state_and_amount(signed_in, account):
    _line(account, "Sent only", amount_cents=9480)
    _line(account, "Categorised", zoho_status="categorized", amount_cents=9480,
          side="credit")
    with_receipt = _line(account, "Receipt attached", zoho_status="categorized",
                         attachment_ids=["a"])
    ReceiptUpload.create(transaction=with_receipt, attachment_id="a", state="done")
    _line(account, "Receipt waits", attachment_ids=["b"])
    matched = _line(account, "Matched")
    document = Document.create(
        file=StoredFile.create(sha256=uuid.uuid4().hex, media_type="application/pdf", size=1),
        status=DocumentStatus.PUBLISHED, supplier_name="Papeterie Dupont", number="PD-88412",
        total_cents=1000)
    settlement = Settlement.create(line=matched, open_line=matched.id,
                                   kind=SettlementKind.EXPENSE)
    SettlementPart.create(settlement=settlement, document=document, amount_cents=1000)
    _line(account, "Failed", push_state=PushState.FAILED, last_error="Zoho refused the date")

    def listed(**args):
        response = signed_in.get("/bank/lines/", query_string=args)
        assert response.status_code == 200, response.text
        return sorted(_labels(response.text))

    assert listed(state="categorised") == ["Categorised", "Receipt attached"]
    assert listed(state="receipt_attached") == ["Receipt attached"]
    assert listed(state="waiting_category") == ["Receipt waits"]
    assert listed(state="matched") == ["Matched"]
    assert listed(state="failed") == ["Failed"]
    assert listed(amount="94.80") == ["Categorised", "Sent only"]  # either side
    assert listed(amount="94,80", state="categorised") == ["Categorised"]
    assert listed(amount="-94.80") == ["Categorised", "Sent only"]
    page = signed_in.get("/bank/lines/", query_string={"amount": "12.34"}).text
    assert "No lines match: amount 12.34." in page
    refused = signed_in.get("/bank/lines/", query_string={"amount": "twelve"})
    assert refused.status_code == 400 and "is not an amount like 36.50" in refused.text

    # Each line says where it stands, in words.
    page = signed_in.get("/bank/lines/").text
    assert "receipt attached" in _row(page, "Receipt attached")
    assert "receipts waiting for a category" in _row(page, "Receipt waits")
    assert "Zoho refused the date" in _row(page, "Failed")
    row = _row(page, "Matched")
    assert (f'matched to <a translate="no" href="/documents/{document.id}">Papeterie Dupont '
            'PD-88412</a>') in row


def test_each_line_links_to_its_page_and_to_zoho_books(signed_in, account):
    sent = _line(account, "In Zoho", zoho_transaction_id="460000000012345")
    waiting = _line(account, "Still in Bookbridge", push_state=PushState.READY)
    page = signed_in.get("/bank/lines/").text
    row = _row(page, "In Zoho")
    assert f'href="/matching/lines/{sent.id}"' in row
    zoho_link = re.search(r'<a href="([^"]+)" class="zoho-link"', row).group(1)
    assert "460000000012345" in zoho_link
    assert signed_in.get(f"/matching/lines/{sent.id}").status_code == 200
    other = _row(page, "Still in Bookbridge")
    assert f'href="/matching/lines/{waiting.id}"' in other and "zoho-link" not in other


def test_failures_have_their_own_tab_and_retry_comes_back_to_it(client, auth, admin,
                                                                  account):
    auth.login()
    line = _line(account, "Refused line", push_state=PushState.FAILED)
    run = SyncRun.create(trigger="button", status="partial")
    SyncFailure.create(run=run, transaction=line, account=account, stage="push",
                       reason="Zoho Books refused the line: the date is locked.")
    page = client.get("/bank/failures/").text
    assert "Zoho Books refused the line: the date is locked." in page
    assert f'href="/matching/lines/{line.id}"' in page
    assert "the date is locked" not in client.get("/bank/").text  # runs only
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/bank/failures/retry", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/bank/failures/")
    assert "No failures." in client.get("/bank/failures/").text
    assert BankTransaction.get_by_id(line.id).push_state is PushState.READY


# -- read in French -------------------------------------------------------------------------

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


def test_the_bank_feed_reads_in_french_with_french_amounts_and_dates(signed_in, account):
    _line(account, "CB OVHcloud Roubaix", amount_cents=129480, counterparty="OVH SAS")
    _line(account, "Virement client", side="credit", amount_cents=250000,
          push_state=PushState.FAILED,
          last_error=qonto.reason(QontoNotFound(404, None, "")))  # a stored message
    for path in ("/bank/lines/", "/bank/waiting/", "/bank/failures/", "/bank/"):
        page = signed_in.get(path, headers=FRENCH).text
        assert '<html lang="fr">' in page, path
        assert not english_in(own_text(page)), (path, english_in(own_text(page)))
    page = signed_in.get("/bank/lines/", headers=FRENCH).text
    assert "<h1>Opérations</h1>" in page and "Tous les états" in page
    # Amounts and dates as a French bookkeeper writes them; the labels stay as Qonto has them.
    assert "-1\u202f294,80\u00a0€" in page and "2\u202f500,00\u00a0€" in page
    assert "1 mars 2026" in page and "2026-03-01</td>" not in page
    assert '<span translate="no">CB OVHcloud Roubaix</span>' in page
    assert ">En échec<" in page and "Qonto indique que cet élément n’existe pas" in page
    assert _current_tab(page.replace('aria-label="Flux bancaire"', 'aria-label="Bank feed"')) \
        == ["Opérations"]
    # What the filters asked for is said in French too; what was typed stays as typed.
    page = signed_in.get("/bank/lines/", headers=FRENCH,
                         query_string={"state": "failed", "from": "2026-04-01",
                                       "q": "loyer"}).text
    assert ("Aucune opération ne correspond\u00a0: état «\u00a0En échec\u00a0», "
            "comptabilisées à partir du 1 avr. 2026, recherche "
            "«\u00a0<span translate=\"no\">loyer</span>\u00a0».") in page
    refused = signed_in.get("/bank/lines/", headers=FRENCH, query_string={"amount": "douze"})
    assert refused.status_code == 400 and "n’est pas un montant comme 36,50" in refused.text


def test_a_sync_outcome_and_its_failures_are_read_in_the_readers_language(client, auth, admin,
                                                                            account):
    """What the sync stored in English is read in French by a French reader, and in English
    by an English one: the same row."""
    auth.login()
    line = _line(account, "Refused line", push_state=PushState.FAILED)
    run = SyncRun.create(trigger="schedule", status="failed", finished_at=utcnow(), error=(
        stored_message("%(reason)s Nothing was lost: the sync resumes where it stopped.",
                       reason=qonto.reason(QontoUnavailable(503, None, "down")))),
        stats={"main": {"name": "Compte principal", "fetched": 1200, "new": 3, "updated": 0,
                        "pushed": 3, "duplicates": 0, "categorised": 1, "receipts": 0,
                        "failed": 1}})
    SyncFailure.create(run=run, transaction=line, account=account, stage="receipt",
                       reason=stored_message("Receipt %(file)s: %(reason)s", file="facture.pdf",
                                             reason=qonto.reason(QontoNotFound(404, None, ""))))
    french = client.get("/bank/", headers=FRENCH).text
    assert ("Qonto ne répond pas correctement pour le moment (service indisponible ou en "
            "maintenance)\u00a0; la synchronisation réessaiera plus tard. Rien n’a été perdu") \
        in french
    assert "planification quotidienne" in french and ">en échec<" in french
    assert ('<strong translate="no">Compte principal</strong>\u00a0: 1\u202f200 récupérées, '
            '3 nouvelles') in french
    assert i18n.STORED_PREFIX not in french
    failures = client.get("/bank/failures/", headers=FRENCH).text
    assert "Justificatif facture.pdf\u00a0: Qonto indique que cet élément n’existe pas" in failures
    assert ">justificatif<" in failures
    english = client.get("/bank/").text
    assert "Qonto is not answering properly right now" in english
    assert "Compte principal</strong>: 1,200 fetched, 3 new" in english
    assert "Receipt facture.pdf: Qonto says this item does not exist" in \
        client.get("/bank/failures/").text
