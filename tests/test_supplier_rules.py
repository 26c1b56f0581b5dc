"""Supplier rules: a person's edit, then the rule, then the default tax; pages and validation."""

import datetime
import uuid

import pytest
from flask import render_template

from models import (
    AuditEvent,
    ConnectionSettings,
    Document,
    DocumentStatus,
    StoredFile,
    SupplierRule,
    ZohoAccount,
    ZohoBankAccount,
    ZohoTax,
)
from services import supplier_rules
from tests import documents as samples
from tests.conftest import csrf_token
from tests.test_documents import upload

DAY = datetime.date(2026, 3, 12)


@pytest.fixture
def lists(connected):
    org = connected.organization_id
    accounts = list(ZohoAccount.usable(org).where(ZohoAccount.account_type == "expense"))
    taxes = list(ZohoTax.usable(org))
    return {"accounts": accounts[:2], "taxes": taxes[:2],
            "bank": ZohoBankAccount.usable(org).first()}


def make_document(**fields) -> Document:
    stored = StoredFile.create(sha256=uuid.uuid4().hex, media_type="application/pdf", size=1)
    values = {"status": DocumentStatus.TO_REVIEW, "filename": "invoice.pdf",
              "supplier_name": "OVHcloud", "issue_date": DAY, "total_cents": 12000, **fields}
    return Document.create(file=stored, **values)


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/suppliers/"), **data},
                       follow_redirects=True)


def test_person_edit_survives_a_rule_change_and_the_rule_beats_the_default_tax(
        client, connected, lists):
    (default_tax, rule_tax), (chosen, ruled) = lists["taxes"], lists["accounts"]
    ConnectionSettings.update(default_cost_tax_id=default_tax.zoho_id).execute()
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    assert document.sources["tax_id"] == "default"
    client.post(f"/documents/{document.id}", data={
        "account_id": chosen.zoho_id, "csrf_token": csrf_token(client, "/documents/")})

    page = post(client, "/suppliers/", name="OVHcloud", account_id=ruled.zoho_id,
                tax_id=rule_tax.zoho_id, payment="bill").text
    assert "Supplier rule &#39;OVHcloud&#39; saved (version 1)" in page
    assert "1 unpublished document updated" in page
    document = Document.get_by_id(document.id)
    assert document.account_id == chosen.zoho_id and document.sources["account_id"] == "person"
    assert document.tax_id == rule_tax.zoho_id and document.sources["tax_id"] == "rule"
    assert AuditEvent.get(AuditEvent.action == "document.rule_applied").after == {
        "tax_id": rule_tax.zoho_id}

    rule = SupplierRule.get()
    post(client, f"/suppliers/{rule.id}", name="OVHcloud", account_id=ruled.zoho_id,
         tax_id="", payment="bill")
    document = Document.get_by_id(document.id)
    assert document.tax_id == default_tax.zoho_id and document.sources["tax_id"] == "default"
    assert document.account_id == chosen.zoho_id
    assert SupplierRule.get().version == 2
    saved = AuditEvent.select().where(AuditEvent.action == "supplier_rule.save").order_by(
        AuditEvent.id.desc()).first()
    assert saved.before["tax_id"] == rule_tax.zoho_id and saved.after["tax_id"] is None


def test_reapply_counts_changes_and_matches_aliases(app, admin):
    make_document(supplier_name="ovhcloud ")
    alias = make_document(supplier_name="OVH SAS")
    make_document(supplier_name="OVH SAS", status=DocumentStatus.PUBLISHED)
    make_document(supplier_name="OVH SAS", status=DocumentStatus.ARCHIVED)
    make_document(supplier_name="Scaleway")
    rule = supplier_rules.save(admin, {"name": "OVHcloud", "aliases": ["OVH SAS"],
                                       "account_id": "acc-1", "payment": "bill"})
    assert rule.reapplied == 2 and rule.version == 1
    assert Document.get_by_id(alias.id).account_id == "acc-1"
    assert supplier_rules.reapply(rule, admin) == 0  # nothing left to change
    assert supplier_rules.coverage([rule]) == {rule.id: 2}

    rule = supplier_rules.save(admin, {"aliases": []}, rule)  # the alias is dropped
    assert rule.reapplied == 1 and Document.get_by_id(alias.id).account_id is None
    assert "account_id" not in Document.get_by_id(alias.id).sources


def test_payment_terms_set_a_due_date_only_when_the_document_gives_none(app, admin):
    without = make_document()
    printed = make_document(due_date=DAY, sources={"due_date": "text"})
    supplier_rules.save(admin, {"name": "OVHcloud", "payment_terms_days": 30})
    assert Document.get_by_id(without.id).due_date == DAY + datetime.timedelta(days=30)
    assert Document.get_by_id(without.id).sources["due_date"] == "rule"
    assert Document.get_by_id(printed.id).due_date == DAY


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": " "}, "Give the supplier"),
    ({"aliases": ["OVH", "ovh"]}, "listed twice"),
    ({"aliases": ["OVH", " "]}, "blank"),
    ({"aliases": ["Scaleway SAS"]}, "already a name of the supplier rule “Scaleway”"),
    ({"payment_terms_days": 400}, "0 to 365"),
    ({"auto_publish": True}, "Choose a category first: auto-publishing needs one, as Dext "
                             "advises"),
])
def test_validation_in_plain_words(app, admin, fields, message):
    supplier_rules.save(admin, {"name": "Scaleway", "aliases": ["Scaleway SAS"]})
    with pytest.raises(supplier_rules.SupplierRuleError, match=message):
        supplier_rules.save(admin, {"name": "OVHcloud", **fields})
    assert SupplierRule.select().count() == 1


def test_auto_publish_is_refused_without_a_category(client, connected, lists):
    page = post(client, "/suppliers/", name="OVHcloud", auto_publish="yes").text
    assert "Choose a category first: auto-publishing needs one, as Dext advises" in page
    assert SupplierRule.select().count() == 0
    post(client, "/suppliers/", name="OVHcloud", auto_publish="yes",
         account_id=lists["accounts"][0].zoho_id)
    assert SupplierRule.get().auto_publish is True


def test_a_correction_becomes_the_suppliers_rule(client, connected, lists):
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    account, tax, bank = lists["accounts"][0], lists["taxes"][1], lists["bank"]
    client.post(f"/documents/{document.id}", data={
        "account_id": account.zoho_id, "tax_id": tax.zoho_id, "payment": "expense",
        "paid_through_account_id": bank.zoho_id,
        "csrf_token": csrf_token(client, "/documents/")})
    later = make_document(supplier_name="OVHCLOUD")

    response = post(client, f"/suppliers/from-document/{document.id}")
    assert response.request.path == f"/documents/{document.id}"
    assert "Supplier rule &#39;OVHcloud&#39; created: from now on, documents from OVHcloud " \
           f"get category {account.name}" in response.text
    rule = SupplierRule.get()
    assert (rule.name, rule.account_id, rule.tax_id, rule.payment,
            rule.paid_through_account_id) == ("OVHcloud", account.zoho_id, tax.zoho_id,
                                              "expense", bank.zoho_id)
    later = Document.get_by_id(later.id)
    assert (later.account_id, later.payment, later.sources["account_id"]) == (
        account.zoho_id, "expense", "rule")

    document = Document.get_by_id(document.id)
    with client.application.test_request_context():
        offer = render_template("documents/_rule_offer.html", document=document)
    assert "Remember this for OVHcloud" in offer and "Update the supplier rule" in offer
    post(client, f"/suppliers/from-document/{document.id}")
    assert SupplierRule.get().version == 2 and SupplierRule.select().count() == 1


def test_a_bookkeeper_uses_the_pages(client, auth, connected, bookkeeper, lists):
    auth.logout()
    auth.login("books@example.com")
    account = lists["accounts"][0]
    make_document(supplier_name="OVH SAS")
    listing = client.get("/suppliers/")
    assert listing.status_code == 200 and "No supplier rules yet" in listing.text
    assert 'href="/suppliers/"' in listing.text and "Suppliers" in listing.text
    assert "Choose a category first" in listing.text  # auto-publish shown disabled

    post(client, "/suppliers/", name="OVHcloud", aliases="OVH SAS, OVH Hosting",
         account_id=account.zoho_id, payment_terms_days="30")
    rule = SupplierRule.get()
    assert rule.aliases == ["OVH SAS", "OVH Hosting"] and rule.payment_terms_days == 30
    assert rule.created_by_id == bookkeeper.id
    listing = client.get("/suppliers/").text
    assert "also OVH SAS, OVH Hosting" in listing and account.name in listing
    assert "<td>1</td>" in listing  # covers one unpublished document
    edit = client.get(f"/suppliers/{rule.id}").text
    assert "covers 1 unpublished document." in edit and 'value="OVH SAS, OVH Hosting"' in edit

    fragment = client.get("/suppliers/auto-publish", query_string={
        "account_id": account.zoho_id}, headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and "disabled" not in fragment

    page = post(client, f"/suppliers/{rule.id}/delete").text
    assert "Supplier rule &#39;OVHcloud&#39; deleted" in page
    assert SupplierRule.select().count() == 0
    assert Document.get().account_id is None  # what the rule set is undone
