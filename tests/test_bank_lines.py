"""The bank transactions list (/bank/lines/): filters, search by label and amount, key pages."""

import datetime
import html
import importlib
import re

import pytest
from playhouse.migrate import SchemaMigrator

from models import BankTransaction, PushState, QontoAccount, db, utcnow
from services import bank_line_search
from tests import postgres

DAY = datetime.date(2026, 3, 1)


@pytest.fixture
def accounts(app):
    return (QontoAccount.create(qonto_id="main", name="Compte principal", iban="FR7612345"),
            QontoAccount.create(qonto_id="savings", name="Épargne", iban="FR7698765"))


def _row(account, n, **columns) -> dict:
    row = {"account": account.id, "qonto_id": f"q-{account.id}-{n}",
           "transaction_id": f"t-{n}", "status": "completed", "side": "debit",
           "amount_cents": 1000 + n, "label": f"Line {n:03d}", "qonto_updated_at": utcnow(),
           "booking_date": DAY, "push_state": PushState.PUSHED}
    row.update(columns)
    return row


def _store(rows: list[dict]) -> None:
    """Write a page of lines as the sync does (services.bank_sync.BankSync.store_page): one
    multi-row upsert keyed on Qonto's id, a known line taking the page's columns."""
    (BankTransaction.insert_many(rows)
     .on_conflict(conflict_target=[BankTransaction.qonto_id],
                  preserve=[BankTransaction._meta.fields[name]
                            for name in rows[0] if name != "account"])
     .execute())


def _labels(page: str) -> list[str]:
    """The labels of the listed lines, top to bottom."""
    if 'id="bank-lines"' not in page:
        return []
    table = page[page.index('id="bank-lines"'):page.index("</table>")]
    return [html.unescape(label) for label in re.findall(r"<tr>\s*<td[^>]*>[^<]*</td>\s*"
                                                         r"<td[^>]*>[^<]*</td>\s*<td[^>]*>"
                                                         r"(?:<span[^>]*>)?([^<]*)", table)]


def _link(page: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return html.unescape(match.group(1)) if match else None


@pytest.fixture
def signed_in(client, auth, bookkeeper):
    auth.login("books@example.com")
    return client


def test_search_finds_a_line_by_label_word_prefix_and_amount(signed_in, accounts):
    main, _ = accounts
    _store([_row(main, 1, label="CB OVHcloud Roubaix", amount_cents=9480),
            _row(main, 2, label="Virement Boulangerie Dupont", amount_cents=1200,
                 side="credit", counterparty="Dupont SARL"),
            _row(main, 3, label="Prélèvement URSSAF", amount_cents=94800, note="cotisations")])

    def found(search):
        response = signed_in.get("/bank/lines/", query_string={"q": search})
        assert response.status_code == 200
        return _labels(response.text)

    assert found("ovhcloud") == ["CB OVHcloud Roubaix"]
    assert found("boul") == ["Virement Boulangerie Dupont"]  # what someone is still typing
    assert found("dupont sarl") == ["Virement Boulangerie Dupont"]  # the counterparty
    assert found("prelevement") == ["Prélèvement URSSAF"]  # accents folded
    assert found("cotisations") == ["Prélèvement URSSAF"]  # the note
    assert found("94.80") == ["CB OVHcloud Roubaix"]
    assert found("94,80") == ["CB OVHcloud Roubaix"]
    assert found("-94.80") == ["CB OVHcloud Roubaix"]  # a debit as the list shows it
    assert found("948.00") == ["Prélèvement URSSAF"]
    assert found("12.00") == ["Virement Boulangerie Dupont"]
    page = signed_in.get("/bank/lines/", query_string={"q": "ovh 12.00"}).text
    assert 'No lines match: search “<span translate="no">ovh 12.00</span>”.' in page


def test_the_list_shows_each_line_with_its_sign_currency_state_and_receipts(signed_in,
                                                                           accounts):
    main, savings = accounts
    _store([_row(main, 1, label="Achat", amount_cents=9480, attachment_ids=["a", "b"],
                 zoho_status="categorized"),
            _row(savings, 2, label="Intérêts", amount_cents=312, side="credit",
                 currency="EUR", push_state=PushState.FAILED, booking_date=DAY.replace(day=2),
                 last_error="Zoho refused the line: invalid date")])
    page = signed_in.get("/bank/lines/").text
    assert _labels(page) == ["Intérêts", "Achat"]
    rows = page[page.index("<tbody>"):page.index("</tbody>")].split("</tr>")
    assert "2 Mar 2026" in rows[0] and "Épargne" in rows[0] and "€312.00" not in rows[0]
    assert "€3.12" in rows[0] and "-€3.12" not in rows[0] and "Failed" in rows[0]
    assert "Zoho refused the line: invalid date" in rows[0]
    assert "-€94.80" in rows[1] and "Compte principal" in rows[1]
    assert "In Zoho Books" in rows[1] and "categorised in Zoho" in rows[1]
    assert re.search(r"<td>2</td>\s*</tr>|<td>2</td>\s*$", rows[1].strip() + "</tr>")


@pytest.mark.parametrize("search", [
    '"', '""', "'", 'ovh"', '"ovh', "AND", "OR", "NOT", "ovh OR", "a AND b", "NEAR(a b)",
    "NEAR", "(", ")", "((ovh", "label:ovh", "*", "ovh*", "^ovh", "-", "+", "\x00", "ovh\x00x",
    "a\x00\x00", "{label note}: x", "%", "_", "\\", "94.80)", "\u200b", "🙂", "x" * 500,
])
def test_hostile_search_input_never_errors(signed_in, accounts, search):
    _store([_row(accounts[0], 1, label="CB OVH AND NEAR (x)")])
    response = signed_in.get("/bank/lines/", query_string={"q": search})
    assert response.status_code == 200
    assert 'id="bank-lines"' in response.text or 'id="no-lines"' in response.text


def test_filters_by_account_state_and_dates(signed_in, accounts):
    main, savings = accounts
    _store([_row(main, 1, label="Main pushed", booking_date=DAY),
            _row(main, 2, label="Main waiting", push_state=PushState.WAITING,
                 booking_date=DAY.replace(day=5)),
            _row(savings, 3, label="Savings failed", push_state=PushState.FAILED,
                 booking_date=DAY.replace(day=10)),
            _row(savings, 4, label="Savings pushed", booking_date=DAY.replace(day=20))])

    def listed(**args):
        response = signed_in.get("/bank/lines/", query_string=args)
        assert response.status_code == 200, response.text
        return _labels(response.text)

    assert listed() == ["Savings pushed", "Savings failed", "Main waiting", "Main pushed"]
    assert listed(account=main.id) == ["Main waiting", "Main pushed"]
    assert listed(state="pushed") == ["Savings pushed", "Main pushed"]
    assert listed(account=savings.id, state="failed") == ["Savings failed"]
    assert listed(**{"from": "2026-03-05", "to": "2026-03-10"}) == ["Savings failed",
                                                                    "Main waiting"]
    assert listed(**{"from": "2026-03-06"}) == ["Savings pushed", "Savings failed"]
    assert listed(to="2026-03-01") == ["Main pushed"]
    assert listed(account=main.id, state="failed") == []
    page = signed_in.get("/bank/lines/", query_string={
        "account": main.id, "state": "failed", "from": "2026-03-01"}).text
    assert ('No lines match: account <span translate="no">Compte principal</span>, '
            "state “Failed”, booked from 1 Mar 2026.") in page


@pytest.mark.parametrize("args, said", [
    ({"from": "2026-02-30"}, "“From” is not a date"),
    ({"to": "yesterday"}, "“To” is not a date"),
    ({"from": "0001-01-01"}, "“From” is not a date"),
    ({"before": "abc"}, "This page link is not valid"),
    ({"after": "-3"}, "This page link is not valid"),
    ({"before": "9" * 40}, "This page link is not valid"),
    ({"account": "x"}, "The account filter is not valid"),
    ({"state": "lost"}, "The state filter is not valid"),
])
def test_bad_filters_and_page_keys_are_refused_plainly(signed_in, accounts, args, said):
    response = signed_in.get("/bank/lines/", query_string=args)
    assert response.status_code == 400
    assert said in response.text and "Traceback" not in response.text


def test_a_page_key_of_a_line_that_is_gone_is_not_found(signed_in, accounts):
    assert signed_in.get("/bank/lines/?before=123456").status_code == 404


def test_newer_and_older_walk_every_line_once_in_order_with_tied_dates(signed_in,
                                                                       accounts):
    main, savings = accounts
    # 130 lines on three dates, stored out of order: ties broken by id, newest first.
    rows = [_row((main, savings)[n % 2], n, booking_date=DAY + datetime.timedelta(days=n % 3))
            for n in range(130)]
    _store(rows)
    expected = [line.label for line in BankTransaction.select().order_by(
        BankTransaction.booking_date.desc(), BankTransaction.id.desc())]

    pages, url = [], "/bank/lines/"
    while url:
        response = signed_in.get(url)
        assert response.status_code == 200
        pages.append(_labels(response.text))
        last_page, url = response.text, _link(response.text, "next")
    assert [len(labels) for labels in pages] == [50, 50, 30]
    assert [label for labels in pages for label in labels] == expected

    # From the last page, Newer leads back up through the same pages.
    back, url = [], _link(last_page, "prev")
    while url:
        page = signed_in.get(url).text
        back.append(_labels(page))
        url = _link(page, "prev")
    assert back == pages[-2::-1]
    assert 'rel="next"' not in last_page and "Newest</a>" in last_page


def _id(label: str) -> int:
    return BankTransaction.get(BankTransaction.label == label).id


def test_filters_and_search_are_kept_across_pages(signed_in, accounts):
    main, savings = accounts
    _store([_row(main, n, label=f"Loyer {n:03d}") for n in range(60)]
           + [_row(savings, 100 + n, label=f"Loyer {n:03d} bis") for n in range(5)])
    first = signed_in.get("/bank/lines/", query_string={
        "q": "loyer", "account": main.id, "from": "2026-03-01", "state": "pushed"}).text
    older = _link(first, "next")
    assert "q=loyer" in older and f"account={main.id}" in older
    assert "from=2026-03-01" in older and "state=pushed" in older
    second = signed_in.get(older).text
    assert len(_labels(first)) == 50 and len(_labels(second)) == 10
    assert not any(label.endswith("bis") for label in _labels(first) + _labels(second))


def test_a_line_changed_by_the_sync_upsert_is_found_by_its_new_label_only(signed_in,
                                                                         accounts):
    main, _ = accounts
    _store([_row(main, 1, label="Carte Amazon Marketplace", amount_cents=2599),
            _row(main, 2, label="Carte Fnac", amount_cents=1000)])
    # Qonto renames the first line and corrects its amount; the second comes back unchanged.
    _store([_row(main, 1, label="Carte Leroy Merlin", amount_cents=4599),
            _row(main, 2, label="Carte Fnac", amount_cents=1000)])

    def found(search):
        return _labels(signed_in.get("/bank/lines/", query_string={"q": search}).text)

    assert BankTransaction.select().count() == 2
    assert found("merlin") == ["Carte Leroy Merlin"]
    assert found("45.99") == ["Carte Leroy Merlin"]
    assert found("amazon") == [] and found("25.99") == []
    assert found("fnac") == ["Carte Fnac"]
    # Deleted lines (their account removed) leave the index too.
    BankTransaction.delete().where(BankTransaction.label == "Carte Fnac").execute()
    assert found("fnac") == []
    if bank_line_search.full_text():  # SQLite's FTS5 index: its deleted rows go too
        assert db.execute_sql("SELECT count(*) FROM bank_line_search").fetchone()[0] == 1


@pytest.mark.sqlite_only(reason="migration 0012 builds an FTS5 table only on SQLite")
def test_the_migration_back_fills_existing_lines_and_comes_down(app, accounts):
    _store([_row(accounts[0], 1, label="Before the index", amount_cents=9480)])
    migration = importlib.import_module("migrations.0012_bank_line_search")
    migrator = SchemaMigrator.from_database(db.obj)
    migration.down(migrator, db.obj)
    tables = {row[0] for row in db.execute_sql("SELECT name FROM sqlite_master")}
    assert "bank_line_search" not in tables and "bank_line_search_insert" not in tables
    _store([_row(accounts[0], 2, label="Stored without it", amount_cents=100)])
    migration.up(migrator, db.obj)
    matches = db.execute_sql("SELECT rowid FROM bank_line_search WHERE bank_line_search "
                             "MATCH ?", ['"94,80"*']).fetchall()
    assert matches == [(_id("Before the index"),)]
    assert len(list(bank_line_search.lines(None, "", "without", None, None))) == 1


def _plan(query) -> str:
    sql, params = query.limit(51).sql()
    return " | ".join(row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))


@pytest.mark.sqlite_only(reason="reads SQLite's EXPLAIN QUERY PLAN; PostgreSQL's plans are "
                               "checked by test_the_lists_read_an_index_in_order_on_postgresql")
def test_each_filter_reads_an_index_in_the_lists_order(app, accounts):
    """No filter, an account, a state, both, dates and a search: each is a walk of an index
    in newest-first order, never a sort of every matching line."""
    main, _ = accounts
    cases = {
        "every line": (None, "", "", None, None),
        "an account": (main.id, "", "", None, None),
        "a state": (None, "failed", "", None, None),
        "an account in a state": (main.id, "pushed", "", None, None),
        "an account and dates": (main.id, "", "", DAY, DAY.replace(day=9)),
        "a search": (None, "", "ovh 94", None, None),
        "an account and a search": (main.id, "", "ovh", None, None),
    }
    for name, args in cases.items():
        plan = _plan(bank_line_search.lines(*args))
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, (name, plan)
        assert "TEMP B-TREE" not in plan, (name, plan)
    assert "banktransaction_account_id_booking_date_id" in _plan(
        bank_line_search.lines(main.id, "", "", None, None))
    assert "banktransaction_push_state_booking_date_id" in _plan(
        bank_line_search.lines(None, "failed", "", None, None))


def test_the_lists_read_an_index_in_order_on_postgresql(app, accounts):
    """PostgreSQL's side of the test above: each filter is a walk of one of the same indexes
    in newest-first order, never a sort."""
    if not app.config.get("DATABASE_URL"):
        pytest.skip("the PostgreSQL pass checks PostgreSQL's plans")
    main, _ = accounts
    expected = {
        (main.id, ""): "banktransaction_account_id_booking_date_id",
        (None, "failed"): "banktransaction_push_state_booking_date_id",
    }
    for (account, state), index in expected.items():
        for search in ("", "ovh 94"):
            steps = postgres.plan(db, bank_line_search.lines(account, state, search, None, None)
                                  .limit(51))
            assert f"Index Scan Backward using {index}" in steps or \
                f"Index Scan using {index}" in steps, (account, state, search, steps)
            assert "Sort" not in steps, (account, state, search, steps)


def test_the_sync_history_links_to_every_transaction(signed_in, accounts):
    page = signed_in.get("/bank/").text
    assert 'href="/bank/lines/"' in page and "All transactions" in page


def test_signed_out_visitors_are_sent_to_sign_in(client, app):
    response = client.get("/bank/lines/")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
