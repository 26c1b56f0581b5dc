"""Every field explains itself: where it came from and how far to trust it; and a person's
correction teaches Bookbridge where that supplier prints the value."""

from models import Document, SupplierRule
from tests import documents as samples
from tests.conftest import csrf_token
from tests.test_documents import upload


def _invoice(reference: str, total: str) -> bytes:
    """A supplier that prints its invoice number after an unusual label."""
    return samples.pdf_of_lines([
        "# Papeterie Lemoine", "12 rue des Écoles, 75005 Paris", "",
        "Bon de livraison du 03/04/2026", f"Pièce comptable {reference}", "",
        ("Total TTC", "", "", total)])


def test_sources_and_confidence_are_shown(client, auth, admin):
    auth.login()
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    assert document.confidence and all(0 <= value <= 1 for value in
                                       document.confidence.values())
    page = client.get(f"/documents/{document.id}").text
    trusted = round(document.confidence["total_cents"] * 100)
    assert f"text · {trusted} %" in page


def test_an_unsure_value_is_flagged_for_a_second_look(client, auth, admin):
    auth.login()
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    Document.update(confidence={**document.confidence, "number": 0.4}).where(
        Document.id == document.id).execute()
    page = client.get(f"/documents/{document.id}").text
    assert "source-unsure" in page and "40 %, check it" in page


def test_a_correction_teaches_where_the_supplier_prints_the_number(client, auth, admin):
    auth.login()
    upload(client, ("first.pdf", _invoice("PC-2026-0412", "84,00 €")))
    first = Document.get()
    supplier = first.supplier_name or "Papeterie Lemoine"
    client.post("/suppliers/", data={"name": supplier, "payment": "bill",
                                     "csrf_token": csrf_token(client, "/suppliers/")})
    assert first.number != "PC-2026-0412"  # not read: the label is unusual
    client.post(f"/documents/{first.id}", data={
        "number": "PC-2026-0412", "supplier_name": supplier,
        "csrf_token": csrf_token(client, "/documents/")})
    assert SupplierRule.get().layout_hints == {"number": "Pièce comptable"}

    upload(client, ("second.pdf", _invoice("PC-2026-0507", "126,00 €")))
    second = Document.get(Document.filename == "second.pdf")
    assert second.number == "PC-2026-0507" and second.sources["number"] == "learned"
    assert "learned" in client.get(f"/documents/{second.id}").text
