"""Duplicates: flagged with the reason and the match, and a person's decision kept for good."""

import datetime
import uuid

from flask import render_template

from models import (
    AuditEvent,
    Document,
    DocumentStatus,
    DuplicateDecision,
    StoredFile,
    ZohoAccount,
)
from services import duplicates, i18n
from tests import documents as samples
from tests.conftest import csrf_token
from tests.test_documents import upload
from tests.zoho_flow import known_vendor

DAY = datetime.date(2026, 3, 12)


def make_document(**fields) -> Document:
    """A read document without going through extraction; its own file unless given one."""
    stored = fields.pop("file", None) or StoredFile.create(
        sha256=uuid.uuid4().hex, media_type="application/pdf", size=1)
    values = {"status": DocumentStatus.TO_REVIEW, "filename": "invoice.pdf",
              "supplier_name": "OVHcloud", "number": "FR-2026-0193", "issue_date": DAY,
              "total_cents": 12000, **fields}
    return Document.create(file=stored, **values)


def flagged(document: Document) -> Document:
    duplicates.flag(document)
    return Document.get_by_id(document.id)


def decide(client, document, decision, **kwargs):
    return client.post(f"/documents/{document.id}/duplicate", data={
        "decision": decision, "csrf_token": csrf_token(client, "/suppliers/")}, **kwargs)


def test_the_same_file_twice_is_flagged(client, auth, admin):
    auth.login()
    pdf = samples.text_pdf()
    upload(client, ("ovh.pdf", pdf))
    upload(client, ("ovh-again.pdf", pdf))
    first = Document.get(Document.filename == "ovh.pdf")
    second = flagged(Document.get(Document.filename == "ovh-again.pdf"))
    assert second.duplicate_of_id == first.id
    assert i18n.in_words(second.duplicate_reason) == "same file"
    assert flagged(first).duplicate_of is None  # the earlier one is the original
    event = AuditEvent.get(AuditEvent.action == "document.duplicate_flagged")
    assert event.after["duplicate_of"] == first.id
    assert i18n.in_words(event.after["reason"]) == "same file"

    duplicates.flag(second)  # flagging again records nothing new
    assert AuditEvent.select().where(
        AuditEvent.action == "document.duplicate_flagged").count() == 1


def test_same_supplier_and_number_is_flagged_whatever_the_case_and_spaces(app):
    first = make_document(total_cents=12000)
    second = make_document(supplier_name="  ovh CLOUD ", number="fr-2026-0193",
                           total_cents=99900, issue_date=DAY + datetime.timedelta(days=40))
    second = flagged(second)
    assert second.duplicate_of_id == first.id
    assert i18n.in_words(second.duplicate_reason) == "same supplier and number"
    other_supplier = flagged(make_document(supplier_name="Scaleway SAS", total_cents=1))
    assert other_supplier.duplicate_of is None


def test_same_supplier_date_and_total_within_three_days(app):
    first = make_document(number="A-1")
    near = flagged(make_document(number="", issue_date=DAY + datetime.timedelta(days=3)))
    assert near.duplicate_of_id == first.id
    assert i18n.in_words(near.duplicate_reason) == "same supplier, date and total within 3 days"
    far = flagged(make_document(number="", issue_date=DAY - datetime.timedelta(days=5)))
    assert far.duplicate_of is None
    other_total = flagged(make_document(number="", total_cents=12001))
    assert other_total.duplicate_of is None


def test_blank_fields_never_make_documents_look_alike(app):
    make_document(number="", issue_date=None, total_cents=None)
    blank_number = flagged(make_document(number="", total_cents=5000))
    assert blank_number.duplicate_of is None
    make_document(supplier_name="", number="X-9", total_cents=700)
    blank_supplier = flagged(make_document(supplier_name="", number="X-9", total_cents=700))
    assert blank_supplier.duplicate_of is None
    make_document(supplier_name="Free", number="", issue_date=None, total_cents=100)
    assert flagged(make_document(supplier_name="Free", number="", issue_date=None,
                                 total_cents=100)).duplicate_of is None


def test_archived_documents_are_not_matched_and_a_flag_clears_when_fields_change(app):
    make_document(status=DocumentStatus.ARCHIVED)
    assert flagged(make_document()).duplicate_of is None
    first = make_document(number="B-2")
    second = flagged(make_document(number="B-2", total_cents=1))
    assert second.duplicate_of_id == first.id
    second.number = "B-3"
    second.save()
    assert flagged(second).duplicate_of is None


def test_not_a_duplicate_is_remembered_and_publishing_is_then_allowed(client, connected):
    vendor = known_vendor(connected)
    account = ZohoAccount.usable(connected.organization_id).where(
        ZohoAccount.account_type == "expense").first()
    upload(client, ("ovh.pdf", samples.text_pdf(supplier_name=vendor.name)))
    upload(client, ("ovh-2.pdf", samples.text_pdf(supplier_name=vendor.name,
                                                  issue_date="20/06/2026")))
    first = Document.get(Document.filename == "ovh.pdf")
    second = Document.get(Document.filename == "ovh-2.pdf")
    client.post(f"/documents/{second.id}", data={
        "account_id": account.zoho_id, "csrf_token": csrf_token(client, "/documents/")})
    second = flagged(Document.get_by_id(second.id))
    assert second.duplicate_of_id == first.id
    assert i18n.in_words(second.duplicate_reason) == "same supplier and number"
    refused = client.post(f"/documents/{second.id}/publish", data={
        "csrf_token": csrf_token(client, "/documents/")}, follow_redirects=True)
    assert "decide whether it is one first" in refused.text

    page = decide(client, second, "not_duplicate", follow_redirects=True).text
    assert "not a duplicate" in page
    second = flagged(Document.get_by_id(second.id))
    assert second.duplicate_of is None and second.duplicate_decision == "not_duplicate"
    row = DuplicateDecision.get()
    assert (row.document_id, row.other_id, row.decision) == (second.id, first.id,
                                                             "not_duplicate")
    event = AuditEvent.get(AuditEvent.action == "document.duplicate_decision")
    assert event.before["duplicate_of"] == first.id and event.after["duplicate_of"] is None
    published = client.post(f"/documents/{second.id}/publish", data={
        "csrf_token": csrf_token(client, "/documents/")}, follow_redirects=True)
    assert "Published as Bill" in published.text


def test_same_document_archives_this_copy(client, auth, admin):
    auth.login()
    first = make_document()
    second = flagged(make_document(filename="copy.pdf", total_cents=1))
    response = decide(client, second, "same_document")
    assert response.status_code == 303
    assert response.location.endswith(f"/documents/{first.id}")
    second = Document.get_by_id(second.id)
    assert second.status is DocumentStatus.ARCHIVED
    assert second.duplicate_decision == "same_document" and second.duplicate_of_id == first.id
    assert DuplicateDecision.get().decision == "same_document"
    event = AuditEvent.get(AuditEvent.action == "document.duplicate_decision")
    assert event.before["status"] == "to_review" and event.after["status"] == "archived"
    assert flagged(second).status is DocumentStatus.ARCHIVED  # settled: left alone


def test_a_decision_needs_a_flag_and_a_known_answer(client, auth, admin):
    auth.login()
    document = make_document()
    page = decide(client, document, "not_duplicate", follow_redirects=True).text
    assert "not marked as a possible duplicate" in page
    make_document()
    second = flagged(make_document(total_cents=1))
    page = decide(client, second, "maybe", follow_redirects=True).text
    assert "Choose" in page and DuplicateDecision.select().count() == 0


def test_duplicate_banner_offers_both_decisions(app, client, auth, admin):
    auth.login()
    first = make_document()
    second = flagged(make_document(filename="copy.pdf", total_cents=1))
    with app.test_request_context():
        html = render_template("documents/_duplicate.html", document=second)
    assert "Possible duplicate of" in html and f"/documents/{first.id}" in html
    assert "same supplier and number" in html
    assert 'value="not_duplicate"' in html and "Same document (archive this one)" in html
    assert 'name="csrf_token"' in html
    with app.test_request_context():
        assert "Possible duplicate" not in render_template("documents/_duplicate.html",
                                                           document=first)


def test_duplicates_and_supplier_rules_are_leaves_of_document_processing():
    """document_processing orchestrates; the two services never import it nor each other."""
    import ast
    from pathlib import Path

    services = Path(__file__).resolve().parents[1] / "services"
    for name, forbidden in (("duplicates", {"document_processing", "supplier_rules"}),
                            ("supplier_rules", {"document_processing", "duplicates"})):
        tree = ast.parse((services / f"{name}.py").read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module.split(".")[-1], *(a.name for a in node.names)}
            elif isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[-1] for alias in node.names}
        assert not imported & forbidden, f"services/{name}.py imports {imported & forbidden}"


def test_the_duplicate_banner_reads_in_french(app, client, auth, admin):
    auth.login()
    make_document()
    second = flagged(make_document(filename="copy.pdf", total_cents=1))
    html = client.get(f"/documents/{second.id}",
                      headers={"Accept-Language": "fr-FR,fr;q=0.9"}).text
    assert "Doublon possible de" in html
    assert "Motif\u00a0: même fournisseur et même numéro." in html
    assert "Pas un doublon" in html and "Même document (archiver celui-ci)" in html
    assert i18n.STORED_PREFIX not in html
