"""Supplier rules: a person's edit, then the rule, then the default tax; pages and validation."""

import datetime
import html
import re
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


def _text(page: str) -> str:
    """The words of a page or fragment without its tags (names sit in translate="no" spans)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def post(client, path, headers=None, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/suppliers/"), **data},
                       follow_redirects=True, headers=headers or {})


def test_person_edit_survives_a_rule_change_and_the_rule_beats_the_default_tax(
        client, connected, lists):
    (default_tax, rule_tax), (chosen, ruled) = lists["taxes"], lists["accounts"]
    ConnectionSettings.update(default_cost_tax_id=default_tax.zoho_id).execute()
    # An invoice printing no VAT rate: the default tax applies (a rate would choose).
    upload(client, ("ovh.pdf", samples.text_pdf(vat="TVA")))
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
    offer = _text(offer)  # the name sits in a translate="no" span
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
    assert "also OVH SAS, OVH Hosting" in _text(listing) and account.name in listing
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


# Recognising the supplier among the Zoho contacts (issue 7, item 4)


def test_names_are_compared_without_case_accents_punctuation_or_legal_form():
    from services.supplier_recognition import fold_id, fold_name

    assert fold_name("Papeterie Martin S.A.R.L.") == fold_name("papeterie  martin") \
        == "papeterie martin"
    assert fold_name("WÜRTH France GmbH") == fold_name("Wurth-France") == "wurth france"
    assert fold_name("OVH, SAS") == "ovh"
    assert fold_name("Ferrari S.p.A.") == fold_name("Ferrari SpA") == "ferrari"
    assert fold_name("SAS") == "sas"  # a name that is only a legal form stays a name
    assert fold_id("registration", "424 761 419 00045") == "424761419"  # SIRET -> SIREN
    assert fold_id("iban", "fr76 3000-6000") == "FR7630006000"


def _ovh(connected):
    from models import ZohoContact

    return ZohoContact.usable(connected.organization_id).where(
        ZohoContact.name == "OVHcloud").get()


def test_a_name_glued_to_the_invoice_title_is_recognised_and_its_rule_fires(
        client, connected, lists):
    account = lists["accounts"][0]
    SupplierRule.create(name="OVHcloud", account_id=account.zoho_id)
    upload(client, ("ovh.pdf", samples.text_pdf(
        supplier_name="OVHcloud  FACTURE N° FR-2026-1107")))
    document = Document.get()
    assert document.contact_id == _ovh(connected).zoho_id
    assert document.supplier_name == "OVHcloud"
    assert document.account_id == account.zoho_id and document.sources["account_id"] == "rule"
    page = client.get(f"/documents/{document.id}").text
    assert "Recognised by" in page and "as the Zoho contact OVHcloud" in page


def test_the_vat_number_recognises_a_supplier_whatever_name_it_prints(
        client, connected, lists):
    ovh, account = _ovh(connected), lists["accounts"][0]
    SupplierRule.create(name="OVHcloud", contact_id=ovh.zoho_id, account_id=account.zoho_id)
    # A first invoice whose name nobody could match: a person picks the Zoho contact.
    upload(client, ("first.pdf", samples.text_pdf(supplier_name="Hébergeur du Nord")))
    first = Document.get()
    assert first.contact_id is None and first.recognition == {}
    client.post(f"/documents/{first.id}", data={
        "contact_id": ovh.zoho_id, "csrf_token": csrf_token(client, "/documents/")})
    # The next one prints yet another name: its VAT number says who it is.
    upload(client, ("next.pdf", samples.text_pdf(supplier_name="OVH Groupe Roubaix",
                                                 title="Facture N° FR-2026-0999")))
    second = Document.get(Document.filename == "next.pdf")
    assert second.contact_id == ovh.zoho_id
    assert second.recognition["by"] == "vat"
    assert second.account_id == account.zoho_id  # the contact's rule applies
    page = client.get(f"/documents/{second.id}").text
    assert "Recognised by VAT number FR22424761419 as the Zoho contact OVHcloud." in page
    assert "OVH Groupe Roubaix" in page  # what was printed stays visible


def test_correcting_the_supplier_name_applies_the_contact_and_its_rule(
        client, connected, lists):
    account = lists["accounts"][1]
    SupplierRule.create(name="OVHcloud", account_id=account.zoho_id)
    upload(client, ("ovh.pdf", samples.text_pdf(supplier_name="Hébergeur du Nord")))
    document = Document.get()
    assert document.contact_id is None and document.account_id is None
    client.post(f"/documents/{document.id}", data={
        "supplier_name": "OVHCLOUD S.A.S.", "csrf_token": csrf_token(client, "/documents/")})
    document = Document.get_by_id(document.id)
    assert document.contact_id == _ovh(connected).zoho_id
    assert document.supplier_name == "OVHCLOUD S.A.S."  # the person's spelling is kept
    assert document.account_id == account.zoho_id and document.sources["account_id"] == "rule"
    assert "Recognised by name as the Zoho contact OVHcloud." in client.get(
        f"/documents/{document.id}").text


def test_the_list_refresh_keeps_a_vat_number_when_zoho_gives_one():
    from services.lists import _contact

    record = {"contact_id": "460000000000000164", "contact_name": "Brighton Glassworks Ltd",
              "contact_type": "vendor", "status": "active", "vat_reg_no": "GB123456789"}
    assert _contact(record)["vat_number"] == "GB123456789"
    assert _contact({**record, "vat_reg_no": ""})["vat_number"] == ""


# -- in French (issue 11 item 2) ------------------------------------------------------------------

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


def test_supplier_rules_read_in_french_with_french_amounts_and_dates(
        client, auth, connected, bookkeeper, lists):
    auth.logout()
    auth.login("books@example.com")
    make_document(supplier_name="OVH SAS", number="FR-1", total_cents=123450, currency="EUR")
    listing = client.get("/suppliers/", headers=FRENCH).text
    assert "Aucune règle fournisseur pour l’instant." in listing
    assert "Choisissez d’abord une catégorie" in listing  # auto-publish shown disabled
    assert "Délai de paiement (jours)" in listing and ">Facture d’achat à payer</option>" in listing

    preview = client.post("/suppliers/preview", headers=FRENCH, data={
        "csrf_token": csrf_token(client, "/suppliers/"), "name": "OVH SAS"}).text
    assert "Fournisseur tel qu’imprimé" in preview
    assert "S’applique à 1 document non publié</strong>\u00a0:" in preview
    assert "1\u202f234,50\u00a0€" in preview and "12 mars 2026" in preview
    assert "€1,234.50" in client.post("/suppliers/preview", data={
        "csrf_token": csrf_token(client, "/suppliers/"), "name": "OVH SAS"}).text

    refused = post(client, "/suppliers/", name="OVHcloud", aliases="OVH SAS, ovh sas",
                   headers=FRENCH)
    assert "La règle fournisseur n’a pas été enregistrée\u00a0: «\u00a0ovh sas\u00a0» figure " \
           "deux fois" in refused.text
    saved = post(client, "/suppliers/", name="OVHcloud", aliases="OVH SAS",
                 account_id=lists["accounts"][0].zoho_id, payment_terms_days="30",
                 headers=FRENCH)
    assert "Règle fournisseur «\u00a0OVHcloud\u00a0» enregistrée (version 1)" in saved.text
    assert "les documents de OVHcloud reçoivent\u00a0: catégorie" in html.unescape(saved.text)
    assert "échéance 30 jours après sa date" in html.unescape(saved.text)
    assert "1 document non publié mis à jour" in saved.text
    rule = SupplierRule.get()
    assert "Cette règle couvre 1 document non publié." in client.get(
        f"/suppliers/{rule.id}", headers=FRENCH).text
