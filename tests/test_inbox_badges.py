"""Problems visible in the inbox (issue 11, item 8): each row says "Possible duplicate", "Tax
differs" or "Check: low confidence", and a "Problems" filter lists only those documents."""

import re
from decimal import Decimal

import pytest

from models import Document, SupplierRule, ZohoAccount, ZohoBankAccount, ZohoTax
from tests import documents as samples
from tests.conftest import csrf_token
from tests.test_documents import upload

LEMOINE = samples.text_pdf(supplier_name="Papeterie Lemoine", supplier_vat="FR11223344556",
                          title="Facture N° PL-2026-77")


def _rows(page: str) -> dict[str, str]:
    """Each listed document's row, by its file name."""
    if 'id="documents"' not in page:
        return {}
    body = page[page.index('id="documents"'):]
    body = body[body.index("<tbody>"):body.index("</tbody>")]
    rows = {}
    for row in body.split("</tr>")[:-1]:
        name = re.search(r'aria-label="Select ([^"]*)"', row).group(1)
        rows[name] = row
    return rows


def _badges(row: str) -> list[str]:
    return re.findall(r'<span class="pill pill-error badge-[a-z_]+">([^<]*)</span>', row)


def _listed(client, **args) -> dict[str, list[str]]:
    response = client.get("/documents/", query_string=args)
    assert response.status_code == 200
    return {name: _badges(row) for name, row in _rows(response.text).items()}


@pytest.fixture
def cafe_rule(connected):
    """Café Richard's rule with the 20 % tax, while its receipt shows 10 %."""
    org = connected.organization_id
    taxes = {Decimal(tax.percentage).normalize(): tax for tax in ZohoTax.usable(org)}
    account = ZohoAccount.usable(org).where(ZohoAccount.account_type == "expense").first()
    return SupplierRule.create(name="Café Richard", account_id=account.zoho_id,
                               tax_id=taxes[Decimal(20)].zoho_id, payment="expense",
                               paid_through_account_id=ZohoBankAccount.usable(org).first()
                               .zoho_id)


def test_each_problem_shows_as_a_badge_on_its_row_and_the_filter_keeps_those(client,
                                                                          cafe_rule):
    upload(client, ("ovh.pdf", samples.text_pdf()))
    upload(client, ("ovh-again.pdf", samples.text_pdf()))  # the same file: a duplicate
    upload(client, ("cafe.pdf", samples.cafe_receipt_pdf()))  # 10 % read, the rule says 20 %
    upload(client, ("lemoine.pdf", LEMOINE))
    _unsure_of_the_number("lemoine.pdf")

    listed = _listed(client)
    assert "Possible duplicate" in listed["ovh-again.pdf"]
    assert "Possible duplicate" not in listed["ovh.pdf"]  # the original
    assert "Tax differs" in listed["cafe.pdf"]
    assert listed["lemoine.pdf"] == ["Check: low confidence"]
    assert [name for name, badges in listed.items() if "Tax differs" in badges] == ["cafe.pdf"]

    assert list(_listed(client, problem="duplicates")) == ["ovh-again.pdf"]
    assert list(_listed(client, problem="tax")) == ["cafe.pdf"]
    unsure = _listed(client, problem="low_confidence")
    assert "lemoine.pdf" in unsure and all("Check: low confidence" in badges
                                           for badges in unsure.values())
    assert set(unsure) == {name for name, badges in listed.items()
                           if "Check: low confidence" in badges}
    assert len(_listed(client, problem="")) == 4
    assert len(_listed(client, problem="unknown")) == 4  # as an unknown status: everything
    page = client.get("/documents/", query_string={"problem": "tax"}).text
    assert '<option value="tax" selected>Tax differences</option>' in page


def _unsure_of_the_number(filename: str) -> Document:
    """Extraction trusted every value of the document but its number (40 %)."""
    document = Document.get(Document.filename == filename)
    confidence = {name: 0.95 for name in document.confidence}
    Document.update(confidence={**confidence, "number": 0.4}).where(
        Document.id == document.id).execute()
    return Document.get_by_id(document.id)


def test_a_problem_settled_by_a_person_loses_its_badge(client, cafe_rule):
    upload(client, ("cafe.pdf", samples.cafe_receipt_pdf()))
    upload(client, ("lemoine.pdf", LEMOINE))
    cafe = Document.get(Document.filename == "cafe.pdf")
    lemoine = _unsure_of_the_number("lemoine.pdf")
    assert "Tax differs" in _listed(client)["cafe.pdf"]

    # Keeping the tax code on purpose answers the difference.
    kept = client.post(f"/documents/{cafe.id}/tax", data={
        "decision": "confirm", "csrf_token": csrf_token(client, "/documents/")},
        follow_redirects=True)
    assert kept.status_code == 200
    assert "Tax differs" not in _listed(client)["cafe.pdf"]
    assert _listed(client, problem="tax") == {}
    page = client.get("/documents/", query_string={"problem": "tax"}).text
    assert "No document matches." in page

    # A value a person typed is theirs: its extraction confidence no longer flags it.
    Document.update(sources={**lemoine.sources, "number": "person"}).where(
        Document.id == lemoine.id).execute()
    assert _listed(client)["lemoine.pdf"] == []


def test_the_problem_filter_is_kept_across_pages(client, auth, admin):
    auth.login()
    upload(client, ("ovh.pdf", samples.text_pdf()))
    original = Document.get()
    # 55 more copies of the same invoice, each flagged as a possible duplicate of it.
    for n in range(55):
        copy = Document.create(file=original.file, status=original.status,
                               filename=f"ovh-{n:02d}.pdf", supplier_name="OVHcloud",
                               number=original.number, total_cents=original.total_cents,
                               duplicate_of=original, duplicate_reason="same file")
        assert copy.duplicate_of_id == original.id
    first = client.get("/documents/", query_string={"problem": "duplicates"}).text
    assert len(_rows(first)) == 50
    older = re.search(r'<a href="([^"]+)" rel="next">Older</a>', first).group(1)
    assert "problem=duplicates" in older
    second = client.get(older.replace("&amp;", "&")).text
    assert len(_rows(second)) == 5 and "ovh.pdf" not in second.split('id="documents"')[-1]


def test_a_per_row_filter_fills_its_page_from_older_candidates(client, auth, admin):
    """The low-confidence filter is settled row by row: behind 60 newer candidates that are
    sure of everything, the page still finds the unsure ones instead of showing none."""
    auth.login()
    upload(client, ("lemoine.pdf", LEMOINE))
    unsure = _unsure_of_the_number("lemoine.pdf")
    sure = {name: 0.95 for name in unsure.confidence}
    for n in range(60):
        Document.create(file=unsure.file, status=unsure.status, filename=f"sure-{n:02d}.pdf",
                        supplier_name="Papeterie Lemoine", number=f"PL-{n}",
                        confidence=sure, sources=unsure.sources)
    first = client.get("/documents/", query_string={"problem": "low_confidence"}).text
    assert list(_rows(first)) == ["lemoine.pdf"]
    assert 'rel="next">Older</a>' not in first  # every candidate was looked at

    # Beyond ten pages of candidates the page stops, says so and links on.
    for n in range(500):
        Document.create(file=unsure.file, status=unsure.status, filename=f"new-{n:03d}.pdf",
                        supplier_name="Papeterie Lemoine", number=f"PN-{n}",
                        confidence=sure, sources=unsure.sources)
    capped = client.get("/documents/", query_string={"problem": "low_confidence"}).text
    assert _rows(capped) == {}
    assert "No document matches among the 500 looked at: the links below look further." \
        in capped
    older = re.search(r'<a href="([^"]+)" rel="next">Older</a>', capped).group(1)
    assert "problem=low_confidence" in older
    second = client.get(older.replace("&amp;", "&")).text
    assert list(_rows(second)) == ["lemoine.pdf"]
    newer = re.search(r'<a href="([^"]+)" rel="prev">Newer</a>', second).group(1)
    back = client.get(newer.replace("&amp;", "&")).text
    assert _rows(back) == {} and 'rel="next">Older</a>' in back and ">Newest</a>" in back
