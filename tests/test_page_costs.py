"""Issue 9: the supplier, rule and connection pages and supplier recognition read what they
need by index, and still answer as before. Real app, real SQLite file, the Zoho sandbox."""

import uuid

from models import (
    BankTransaction,
    CategorisationRule,
    Document,
    DocumentStatus,
    StoredFile,
    SupplierRule,
    ZohoContact,
)
from services import bank_rules, supplier_recognition
from tests.conftest import csrf_token
from tests.zoho_flow import zoho_as_user


def _refresh(client):
    response = client.post("/connections/zoho/refresh",
                           data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303


def _vendor(sandbox, name: str, company: str = "") -> str:
    body = {"contact_name": name, "contact_type": "vendor"}
    if company:
        body["company_name"] = company
    return zoho_as_user(sandbox).post("/contacts", json=body)["contact"]["contact_id"]


def _document(**fields) -> Document:
    stored = StoredFile.create(sha256=uuid.uuid4().hex, media_type="application/pdf", size=1)
    return Document.create(file=stored, **{"status": DocumentStatus.TO_REVIEW,
                                           "filename": "invoice.pdf", **fields})


def _recognised(**fields) -> tuple[str | None, str | None]:
    """(zoho id, how) of the contact a document with these fields is recognised as."""
    contact, how = supplier_recognition.recognise(Document(kind="cost", **fields))
    return (contact.zoho_id if contact else None), how.get("by")


def test_recognition_by_name_uses_the_refreshed_names(client, connected, sandbox):
    imprimerie = _vendor(sandbox, "Imprimerie Dupont", "Dupont Frères SARL")
    atelier = _vendor(sandbox, "Atelier Dupont", "Dupont Freres")
    _refresh(client)

    assert _recognised(supplier_name="IMPRIMERIE DUPONT S.A.R.L.") == (imprimerie, "name")
    assert _recognised(supplier_name="Atelier Dupont  Facture N° 12") == (atelier, "beginning")
    # Two contacts share the company name: it says nothing for sure.
    assert _recognised(supplier_name="Dupont Frères") == (None, None)
    # A supplier rule's alias names its contact.
    SupplierRule.create(name="Atelier Dupont", aliases=["ADP Lyon"], contact_id=atelier)
    assert _recognised(supplier_name="adp lyon") == (atelier, "alias")

    zoho_as_user(sandbox).delete(f"/contacts/{imprimerie}")
    _refresh(client)  # gone from Zoho: no longer recognised
    assert _recognised(supplier_name="Imprimerie Dupont") == (None, None)


def test_an_identifier_learned_from_a_document_recognises_the_next_ones(
        client, connected, sandbox):
    atelier = _vendor(sandbox, "Atelier Dupont")
    other = _vendor(sandbox, "Atelier Martin")
    _refresh(client)
    iban = "FR76 3000 4000 0500 0000 1234 567"
    first = _document(supplier_name="Illisible", supplier_iban=iban)
    client.post(f"/documents/{first.id}", data={
        "contact_id": atelier, "csrf_token": csrf_token(client, "/documents/")})

    assert _recognised(supplier_name="Quelqu'un", supplier_iban=iban) == (atelier, "iban")
    # Another contact cannot take an identifier the first one has.
    contact = ZohoContact.get(ZohoContact.zoho_id == other)
    assert supplier_recognition.learn(Document(kind="cost", supplier_iban=iban), other) == []
    assert ZohoContact.get_by_id(contact.id).identifiers == {}
    # A refresh rewrites the contacts' identifiers and keeps what Bookbridge learned.
    _refresh(client)
    assert _recognised(supplier_name="Quelqu'un", supplier_iban=iban) == (atelier, "iban")


def test_the_supplier_pages_count_the_unpublished_documents(client, connected, sandbox):
    ovh = ZohoContact.get(ZohoContact.name == "OVHcloud")
    rule = SupplierRule.create(name="OVHcloud", aliases=["OVH SAS"], contact_id=ovh.zoho_id)
    _document(supplier_name="OVHcloud")
    _document(supplier_name="O.V.H. sas")  # an alias, compared as recognition does
    _document(supplier_name="Hébergeur du Nord", contact_id=ovh.zoho_id)  # by its contact
    _document(supplier_name="OVHcloud", status=DocumentStatus.PUBLISHED)
    _document(supplier_name="OVHcloud", status=DocumentStatus.READY, publish_state="publishing")
    _document(supplier_name="OVHcloud", kind="sale")

    assert "This rule covers 3 unpublished documents." in client.get(
        f"/suppliers/{rule.id}").text
    page = client.get("/suppliers/").text  # the list counts by name and alias
    row = page[page.index(">OVHcloud</a>"):]
    assert "<td>2</td>" in row[:row.index("</tr>")]


def test_rule_previews_count_each_rule_alone_over_the_latest_lines():
    def line(label, counterparty="", side="debit", amount_cents=-1250):
        return BankTransaction(label=label, counterparty=counterparty, side=side,
                               amount_cents=amount_cents, operation_type="card", category="",
                               reference="", note="")

    def rule(rule_id, conditions, **fields):
        return CategorisationRule(id=rule_id, name=f"rule {rule_id}", conditions=conditions,
                                  **fields)

    lines = [line("CARTE OVH SAS"), line("PRLV Ovh Cloud"), line("Café de Flore"),
             line("VIR SALAIRE", side="credit", amount_cents=250_000),
             line("carte ovh sas ")]
    rules = [
        rule(1, [{"field": "label", "op": "contains", "value": "ovh"}]),
        rule(2, [{"field": "label", "op": "equals", "value": "carte OVH SAS"}]),
        rule(3, [{"field": "label", "op": "matches", "value": r"^(carte|prlv)\s"}],
             side="debit", amount_max_cents=0),
        rule(4, [{"field": "label", "op": "contains", "value": "CAFÉ"}]),
        rule(5, [], side="credit", amount_min_cents=100_000),
        rule(6, [{"field": "label", "op": "matches", "value": r"(a)\1"}]),  # cannot run
        # later rules do not take lines from earlier ones: each preview is the rule alone
        rule(7, [{"field": "label", "op": "contains", "value": "ovh"},
                 {"field": "label", "op": "contains", "value": "cloud"}]),
    ]
    previews = bank_rules.previews(rules, lines)
    assert {rule_id: matching for rule_id, (matching, _) in previews.items()} == {
        1: 3, 2: 2, 3: 3, 4: 1, 5: 1, 6: 0, 7: 1}
    assert {looked_at for _, looked_at in previews.values()} == {5}
    for each in rules:  # the sync's own test agrees line by line
        assert previews[each.id][0] == sum(bank_rules.matches(each, item) for item in lines)


def test_the_connections_page_counts_stay_true_after_a_refresh_removes_a_contact(
        client, connected, sandbox):
    def contacts_shown() -> int:
        page = client.get("/connections/").text
        return int(page.split(" contacts")[0].rsplit(" ", 1)[-1].rsplit(">", 1)[-1])

    before = ZohoContact.usable(connected.organization_id).count()
    assert contacts_shown() == before
    gone = ZohoContact.usable(connected.organization_id).first()
    zoho_as_user(sandbox).delete(f"/contacts/{gone.zoho_id}")
    _refresh(client)
    assert contacts_shown() == before - 1


def test_lists_written_without_the_refresh_get_their_keys_and_counts(client, connected,
                                                                      sandbox):
    from models import ZohoConnection
    from services import lists

    atelier = _vendor(sandbox, "Atelier Dupont")
    _refresh(client)
    # As the scale bench writes them: through the models, not the refresh.
    ZohoContact.update(name_key="", company_key="").execute()
    ZohoContact.update(removed_at=connected.connected_at).where(
        ZohoContact.zoho_id != atelier, ZohoContact.contact_type == "vendor").execute()
    assert _recognised(supplier_name="Atelier Dupont") == (None, None)

    lists.rebuild_derived(connected.organization_id)
    assert _recognised(supplier_name="Atelier Dupont") == (atelier, "name")
    shown = lists.cached_counts(ZohoConnection.current())
    assert shown["Contacts"] == ZohoContact.usable(connected.organization_id).count()
