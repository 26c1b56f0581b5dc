"""Fast at any size: duplicate keys, full-text search, indexed filters and keyset pages."""

import csv
import datetime
import html
import io
import re

import pytest
from peewee import SqliteDatabase
from playhouse.migrations import Runner

from models import AuditEvent, Document, DocumentStatus, SupplierRule, db
from services import document_search, duplicates
from services.migrations import MIGRATIONS_DIR
from tests import postgres
from tests.test_duplicates import flagged, make_document
from views import audit as audit_view
from views.helpers import older_than

START = datetime.datetime(2026, 3, 1, 9, 0)


# -- duplicate keys -----------------------------------------------------------------------------


def test_duplicate_keys_follow_the_fields_whatever_saves_the_document(app):
    document = make_document(supplier_name="  OVH Cloud ", number="fr 2026\t0193")
    stored = Document.get_by_id(document.id)
    assert (stored.supplier_key, stored.number_key) == ("ovhcloud", "fr20260193")

    document.number = "FR-2026-0200"
    document.save(only=[Document.number])  # a partial save still keeps its key
    assert Document.get_by_id(document.id).number_key == "fr-2026-0200"


def test_a_supplier_known_by_an_alias_is_one_supplier(app):
    SupplierRule.create(name="OVHcloud", aliases=["OVH SAS"])
    first = make_document(supplier_name="OVH SAS", number="A-7")
    second = flagged(make_document(supplier_name="ovhcloud", number=" a-7", total_cents=1))
    assert second.duplicate_of_id == first.id
    assert second.duplicate_reason == duplicates.SAME_NUMBER
    stranger = flagged(make_document(supplier_name="OVH Telecom", number="A-7", total_cents=1))
    assert stranger.duplicate_of is None


def test_not_a_duplicate_stays_remembered_with_the_keys(app):
    first = make_document()
    second = flagged(make_document())
    assert second.duplicate_of_id == first.id
    duplicates.decide(second, "not_duplicate", None)
    assert flagged(Document.get_by_id(second.id)).duplicate_of is None


def test_the_migration_fills_keys_areas_and_search_for_existing_rows(tmp_path):
    database = SqliteDatabase(str(tmp_path / "old.db"), pragmas={"foreign_keys": 1})
    runner = Runner(database, str(MIGRATIONS_DIR))
    runner.up(target="0008_publish_requests")
    database.execute_sql("INSERT INTO stored_file (sha256, media_type, size, created_at) "
                         "VALUES ('abc', 'application/pdf', 1, '2026-03-01 09:00:00')")
    database.execute_sql(
        "INSERT INTO document (file_id, status, source, source_detail, filename, created_at, "
        "updated_at, method, document_type, text, warnings, kind, supplier_name, supplier_vat, "
        "supplier_iban, recognition, number, currency, total_cents, vat_breakdown, payment, "
        "description, lines, sources, edited, extraction_error, duplicate_reason, "
        "duplicate_decision, publish_state, publish_error, zoho_type, zoho_number, confidence,"
        " supplier_registration, tax_confirmed) VALUES (1, 'to_review', 'upload', '', "
        "'facture.pdf', '2026-03-01 09:00:00', '2026-03-01 09:00:00', 'text', 'invoice', '', "
        "'[]', 'cost', 'Société Générale', '', '', '{}', 'FR 0193', 'EUR', 9480, '[]', 'bill',"
        " '', '[]', '{}', '[]', '', '', '', '', '', '', '', '{}', '', '')")
    database.execute_sql("INSERT INTO audit_event (at, actor, action, subject, detail) "
                         "VALUES ('2026-03-01 09:00:00', 'worker', 'document.extract', '', '')")
    runner.up()
    keys = database.execute_sql("SELECT supplier_key, number_key FROM document").fetchone()
    assert keys == ("sociétégénérale", "fr0193")
    assert database.execute_sql("SELECT area FROM audit_event").fetchone() == ("document",)
    found = database.execute_sql("SELECT rowid FROM document_search WHERE document_search "
                                 "MATCH ?", [document_search.fts_query("societe 94,80")])
    assert found.fetchall() == [(1,)]


# -- search ------------------------------------------------------------------------------------


def listed(client, query: str) -> list[int]:
    """The ids of the documents the inbox lists for this query string."""
    page = client.get("/documents/" + query)
    assert page.status_code == 200, page.text
    return [int(found) for found in re.findall(r'href="/documents/(\d+)"', page.text)]


def test_search_finds_supplier_number_file_and_total_by_what_is_typed(client, auth, admin):
    auth.login()
    ovh = make_document(supplier_name="OVHcloud", number="FR-2026-0193", total_cents=9480,
                        filename="facture-mars.pdf")
    bank = make_document(supplier_name="Société Générale", number="SG-77", total_cents=1250,
                         filename="releve.pdf")
    assert listed(client, "?q=ovh") == [ovh.id]
    assert listed(client, "?q=FR-2026-01") == [ovh.id]  # a number still being typed
    assert listed(client, "?q=94.80") == [ovh.id]
    assert listed(client, "?q=94,80") == [ovh.id]
    assert listed(client, "?q=facture") == [ovh.id]
    assert listed(client, "?q=societe+gen") == [bank.id]  # accents and case do not matter
    assert listed(client, "?q=ovh+sg") == []  # every word must match
    document = Document.get_by_id(bank.id)
    document.supplier_name = "Qonto"
    document.save()  # the index follows edits
    assert listed(client, "?q=qonto") == [bank.id] and listed(client, "?q=societe") == []


@pytest.mark.parametrize("typed", [
    '"', '"ovh', "(", "ovh)", "((((", "*", "ovh*", "AND", "ovh OR", "NOT ovh", "NEAR(ovh",
    "supplier:ovh", "number : 1", "^ovh", "-", "'; DROP TABLE document; --", "ovh\x00",
    "{supplier number}: ovh", "ovh + ", "%", "_",
])
def test_hostile_search_text_is_plain_text(client, auth, admin, typed):
    auth.login()
    ovh = make_document(supplier_name="OVHcloud", number="1")
    page = client.get("/documents/", query_string={"q": typed})
    assert page.status_code == 200
    found = [int(found) for found in re.findall(r'href="/documents/(\d+)"', page.text)]
    assert found in ([], [ovh.id])
    assert Document.select().count() == 1


# -- indexes -----------------------------------------------------------------------------------


def plan(query) -> str:
    sql, params = query.sql()
    rows = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return "\n".join(row[-1] for row in rows)


@pytest.mark.sqlite_only(reason="reads SQLite's EXPLAIN QUERY PLAN; PostgreSQL's plans are "
                               "checked by test_the_lists_read_an_index_in_order_on_postgresql")
def test_the_status_filter_and_the_activity_list_read_an_index_in_order(app):
    published = document_search.documents("published", "")
    steps = plan(published.where(older_than(Document.created_at, START, 10)).limit(51))
    assert "USING INDEX document_status_created_at_id" in steps, steps
    assert "TEMP B-TREE" not in steps, steps
    searched = plan(document_search.documents("published", "ovh fr").limit(51))
    assert "USING INDEX document_status_created_at_id" in searched, searched
    assert "document_search VIRTUAL TABLE" in searched and "TEMP B-TREE" not in searched

    for args in ({}, {"area": "document"}, {"from": "2026-01-01", "to": "2026-01-31"}):
        steps = plan(audit_view.filtered(args).where(older_than(AuditEvent.at, START, 10))
                     .limit(51))
        assert "USING INDEX audit_event_" in steps, (args, steps)
        assert "TEMP B-TREE" not in steps, (args, steps)


def test_the_lists_read_an_index_in_order_on_postgresql(app):
    """PostgreSQL's side of the test above: the status filter (with or without a search) and
    the activity list walk their indexes in newest-first order, never a sort."""
    if not app.config.get("DATABASE_URL"):
        pytest.skip("the PostgreSQL pass checks PostgreSQL's plans")
    for search in ("", "ovh fr"):
        steps = postgres.plan(db, document_search.documents("published", search)
                              .where(older_than(Document.created_at, START, 10)).limit(51))
        assert "using document_status_created_at_id" in steps, (search, steps)
        assert "Sort" not in steps, (search, steps)
    for args in ({}, {"area": "document"}, {"from": "2026-01-01", "to": "2026-01-31"}):
        steps = postgres.plan(db, audit_view.filtered(args)
                              .where(older_than(AuditEvent.at, START, 10)).limit(51))
        assert "using audit_event_" in steps and "Sort" not in steps, (args, steps)


# -- keyset pages ------------------------------------------------------------------------------


def links(page_text: str) -> dict[str, str]:
    """The pager's links by their text (Newest, Newer, Older)."""
    pager = re.search(r'<nav class="pager">(.*?)</nav>', page_text, re.S).group(1)
    return {text: html.unescape(href)
            for href, text in re.findall(r'<a href="([^"]+)"[^>]*>(\w+)</a>', pager)}


def test_inbox_pages_by_key_with_the_filter_kept(client, auth, admin):
    auth.login()
    ids = []
    for n in range(120):  # some share their time: the id breaks the tie
        document = make_document(number=f"N-{n}", supplier_name=f"Supplier {n}",
                                 status=DocumentStatus.PUBLISHED if n % 3 else
                                 DocumentStatus.TO_REVIEW)
        Document.update(created_at=START + datetime.timedelta(minutes=n // 4)).where(
            Document.id == document.id).execute()
        ids.append(document.id)
    published = [i for n, i in enumerate(ids) if n % 3][::-1]  # newest first

    seen, path, pages = [], "/documents/?status=published", []
    while path:
        page = client.get(path)
        assert page.status_code == 200
        pages.append(path)
        seen += [int(i) for i in re.findall(r'href="/documents/(\d+)"', page.text)]
        path = links(page.text).get("Older")
        assert path is None or "status=published" in path
    assert seen == published and len(pages) == 2  # 80 documents, 50 a page

    back = links(client.get(pages[-1]).text)["Newer"]
    newer = client.get(back).text
    assert [int(i) for i in re.findall(r'href="/documents/(\d+)"', newer)] == published[:50]
    assert "Newer" not in links(newer)


def test_a_bad_or_unknown_page_link_is_answered_plainly(client, auth, admin):
    auth.login()
    for path in ("/documents/", "/activity/"):
        assert client.get(path + "?before=abc").status_code == 400
        assert client.get(path + "?after=" + "9" * 30).status_code == 400
        gone = client.get(path + "?before=999999")
        assert gone.status_code == 404 and "no longer exists" in gone.text


def add_events(count: int) -> list[int]:
    """`count` activity rows, several to a second, oldest first; returns their ids."""
    rows = [{"at": START + datetime.timedelta(seconds=n // 3), "actor": "worker",
             "action": "bank.sync" if n % 2 else "document.extract",
             "area": "bank" if n % 2 else "document", "subject": f"event {n}", "detail": ""}
            for n in range(count)]
    with db.atomic():
        for start in range(0, count, 200):
            AuditEvent.insert_many(rows[start:start + 200]).execute()
    return [row.id for row in AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id)]


def test_activity_pages_by_key_and_the_export_streams_every_row_once(client, auth, admin):
    auth.login()
    ids = add_events(1_203)  # more than two export batches

    seen, path = [], "/activity/?area=document"
    while path:
        page = client.get(path)
        seen += re.findall(r'read (?:<span translate="no">)?event (\d+)<', page.text)
        path = links(page.text).get("Older")
    assert len(seen) == len(ids[::2]) == 602
    assert [int(n) for n in seen] == list(range(0, 1_203, 2))[::-1]

    export = client.get("/activity/export.csv?who=worker")  # not the sign-in's row
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [row["subject"] for row in rows] == [f"event {n}" for n in range(1_203)][::-1]


def test_what_is_typed_becomes_quoted_prefix_words():
    assert document_search.fts_query('ovh "FR-20') == '"ovh"* """FR-20"*'
    assert document_search.fts_query("NOT (ovh OR x") == '"NOT"* "(ovh"* "OR"* "x"*'
    assert document_search.fts_query("( ) * -\x00") == ""
