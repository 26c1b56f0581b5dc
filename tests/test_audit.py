"""The activity log: in words, its filters, and the CSV export per period."""

import csv
import datetime
import html
import io
import pathlib
import re
import uuid

from models import (
    AuditEvent,
    BankTransaction,
    CategorisationRule,
    Document,
    DocumentStatus,
    PushState,
    QontoAccount,
    Role,
    StoredFile,
    User,
    ZohoAccount,
)
from models.base import utcnow
from services import activity, audit
from tests.conftest import csrf_token


def _text(page: str) -> str:
    """A page's words without its tags (names sit in translate="no" spans), unescaped."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_filters_and_csv_export_per_period(client, auth, admin):
    auth.login()
    audit.record("document.publish", user=admin, subject="ovh.pdf", after={"type": "bill"},
                 zoho_id="460000000000012345")
    old = audit.record("bank.sync", actor="scheduler", subject="schedule")
    AuditEvent.update(at=datetime.datetime(2025, 1, 15, 10, 0)).where(
        AuditEvent.id == old.id).execute()

    page = _text(client.get("/activity/?area=document").text)
    assert "published ovh.pdf to Zoho Books" in page and "synced the bank feed" not in page

    response = client.get("/activity/export.csv?from=2025-01-01&to=2025-01-31")
    assert response.mimetype == "text/csv"
    assert "2025-01-01-2025-01-31" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["action"] for row in rows] == ["bank.sync"]

    rows = list(csv.DictReader(io.StringIO(
        client.get("/activity/export.csv?area=document").get_data(as_text=True))))
    assert rows[0]["zoho_id"] == "460000000000012345"
    assert rows[0]["after"] == '{"type": "bill"}'
    assert rows[0]["actor"] == "admin@example.com"


def test_bad_dates_are_ignored_not_a_crash(client, auth, admin):
    auth.login()
    assert client.get("/activity/?from=yesterday&to=2025-13-45").status_code == 200


def test_the_activity_page_says_in_words_who_changed_what(client, auth, admin):
    """No codes, JSON or escapes: a person's edit reads as a sentence, amounts in units,
    Zoho ids by their names; the CSV export keeps the raw values."""
    User.update(name="Marie Curie").where(User.id == admin.id).execute()
    ZohoAccount.create(organization_id="1", zoho_id="460000000000000361", name="Office Supplies")
    audit.record("document.edit", user=admin, subject="Papeterie Dupont PD-88412",
                 before={"total_cents": 9400}, after={"total_cents": 9480})
    audit.record("document.edit", user=admin, subject="N\u00b0 7 café.pdf",
                 before={"account_id": None, "number": ""},
                 after={"account_id": "460000000000000361", "number": "N° 7"})
    audit.record("bank.rule_fired", actor="worker", subject="Fuel (v2)")
    auth.login()

    page = _text(client.get("/activity/").text)

    assert ("Marie Curie changed the total of Papeterie Dupont PD-88412 from 94.00 to 94.80"
            in page)
    assert "Marie Curie edited N\u00b0 7 café.pdf" in page
    assert "Office Supplies" in page and "460000000000000361" not in page
    assert "Bookbridge categorised a bank line with rule Fuel (v2)" in page
    assert "document.edit" not in page and "total_cents" not in page and "{&#34;" not in page

    rows = list(csv.DictReader(io.StringIO(client.get("/activity/export.csv").get_data(
        as_text=True))))
    edited = [row for row in rows if row["subject"] == "Papeterie Dupont PD-88412"]
    assert edited[0]["action"] == "document.edit"
    assert edited[0]["after"] == '{"total_cents": 9480}'


def test_every_action_the_code_records_has_words_on_the_activity_page():
    """A new audit action without a phrase would show as a code: caught here."""
    root = pathlib.Path(__file__).resolve().parents[1]
    recorded = set()
    for folder in ("services", "views", "jobs"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text()
            recorded |= set(re.findall(r'audit\.record\(\s*"([a-z_.]+)"', text))
            for choice in re.findall(r'audit\.record\(\s*"([a-z_.]+)" if [^"]+ else "([a-z_.]+)"',
                                     text):
                recorded |= set(choice)
            recorded |= set(re.findall(r'_failed\(\s*"(intake\.[a-z_]+)"', text))
            for prefix in re.findall(r'audit\.record\(\s*f"([a-z_.]+)\{', text):
                recorded |= {name for name in activity.PHRASES if name.startswith(prefix)}
    assert len(recorded) > 40
    assert sorted(recorded - set(activity.PHRASES)) == []


def _links(page: str) -> list[tuple[str, str, str]]:
    """(sentence, link path, link text) of each linked subject on the Activity page."""
    found = []
    for sentence in re.findall(r'<p class="activity-what">(.*?)</p>', page, re.S):
        for href, text in re.findall(r'<a href="([^"]*)">(.*?)</a>', sentence):
            found.append((html.unescape(re.sub(r"<[^>]+>", "", sentence)),
                          html.unescape(href), html.unescape(text)))
    return found


def test_each_entry_links_to_the_document_line_rule_or_user_it_is_about(
        client, auth, admin, bookkeeper):
    """Real edits through the app: the Activity page links each subject to its page (which
    opens), not rows without a subject, deleted rules or, for a bookkeeper, the Users page;
    the subject is escaped and the CSV export keeps its columns."""
    User.update(name="Marie Curie").where(User.id == admin.id).execute()
    account = QontoAccount.create(qonto_id="main", name="Compte principal", iban="FR7612345")
    line = BankTransaction.create(
        account=account, qonto_id=uuid.uuid4().hex, transaction_id="t-1", status="completed",
        side="debit", amount_cents=9480, label="PAPETERIE DUPONT", counterparty="Papeterie "
        "Dupont", qonto_updated_at=utcnow(), booking_date=datetime.date(2026, 6, 10),
        push_state=PushState.PUSHED, zoho_status="uncategorized")
    document = Document.create(
        file=StoredFile.create(sha256=uuid.uuid4().hex, media_type="application/pdf", size=1),
        status=DocumentStatus.TO_REVIEW, filename="PD-88412 <b>.pdf",
        supplier_name="Papeterie Dupont", issue_date=datetime.date(2026, 6, 10),
        total_cents=9400, currency="EUR", document_type="receipt")
    audit.record("document.edit", user=admin, subject="old-receipt.pdf",
                 before={"total_cents": 100}, after={"total_cents": 200})  # no link (before)
    auth.login()
    token = csrf_token(client, f"/documents/{document.id}")

    client.post(f"/documents/{document.id}", data={"total_cents": "94.80", "csrf_token": token})
    client.post("/bank/rules/", data={
        "name": "Stationery", "condition_field_0": "label", "condition_op_0": "contains",
        "condition_value_0": "PAPETERIE", "zoho_account_id": "460000000000001",
        "enabled": "yes", "csrf_token": token})
    client.post("/bank/rules/", data={
        "name": "Old fuel", "condition_field_0": "label", "condition_op_0": "contains",
        "condition_value_0": "TOTAL", "zoho_account_id": "460000000000001",
        "enabled": "yes", "csrf_token": token})
    accepted = client.post(f"/matching/documents/{document.id}/accept",
                           data={"line_id": line.id, "csrf_token": token})
    assert accepted.status_code == 303
    client.post(f"/users/{bookkeeper.id}", data={"role": "admin", "active": "yes",
                                                  "csrf_token": token})
    stationery = CategorisationRule.get(CategorisationRule.name == "Stationery")
    fuel = CategorisationRule.get(CategorisationRule.name == "Old fuel")
    client.post(f"/bank/rules/{fuel.id}/delete", data={"csrf_token": token})

    links = _links(client.get("/activity/").text)
    assert ("Marie Curie changed the total of PD-88412 <b>.pdf from 94.00 to 94.80",
            f"/documents/{document.id}", "PD-88412 <b>.pdf") in links
    assert ("Marie Curie saved the bank rule Stationery (v1)", f"/bank/rules/{stationery.id}",
            "Stationery (v1)") in links
    matched = [link for link in links if link[0].startswith("Marie Curie matched ")]
    assert matched and matched[0][1] == f"/matching/lines/{line.id}"
    assert "Papeterie Dupont" in matched[0][2]
    assert ("Marie Curie changed the user books@example.com", f"/users/#user-{bookkeeper.id}",
            "books@example.com") in links
    linked_text = {text for _, _, text in links}
    assert "old-receipt.pdf" not in linked_text  # an old row reads as before, unlinked
    assert "Old fuel (v1)" not in linked_text and "Old fuel" not in linked_text  # deleted
    page = _text(client.get("/activity/").text)
    assert "Marie Curie changed the total of old-receipt.pdf from 1.00 to 2.00" in page
    assert "Marie Curie saved the bank rule Old fuel (v1)" in page
    assert "role from bookkeeper to admin" in page
    assert "<b>.pdf" not in client.get("/activity/").text  # the subject is escaped

    for _, path, _ in links:  # every link opens its page
        assert client.get(path).status_code == 200, path
    assert "PD-88412" in client.get(f"/documents/{document.id}").text

    auth.logout()
    User.update(role=Role.BOOKKEEPER).where(User.id == bookkeeper.id).execute()
    auth.login("books@example.com")  # the Users page is for admins: no link there
    links = _links(client.get("/activity/").text)
    assert f"/documents/{document.id}" in {path for _, path, _ in links}
    assert not [path for _, path, _ in links if path.startswith("/users/")]

    header = client.get("/activity/export.csv").get_data(as_text=True).splitlines()[0]
    assert header == "at_utc,actor,action,subject,zoho_id,before,after,detail"


def test_a_link_leaves_nothing_but_a_path_of_this_app():
    assert activity.safe_path("/documents/12")
    """Even if a page's URL were built from data, a link never leaves the site."""
    for path in ("//evil.example/x", "/\\evil.example", "https://evil.example", "",
                 "javascript:alert(1)"):
        assert not activity.safe_path(path)


# -- in French (issue 11 item 2) ------------------------------------------------------------------

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


def test_the_activity_page_reads_in_french_and_the_export_stays_as_recorded(
        client, auth, admin):
    """Whole French sentences, amounts and dates by the French locale, names left as
    written (translate="no"); the CSV export keeps its codes and raw values."""
    User.update(name="Marie Curie").where(User.id == admin.id).execute()
    audit.record("document.edit", user=admin, subject="Papeterie Dupont PD-88412",
                 before={"total_cents": 123400}, after={"total_cents": 123480})
    audit.record("document.edit", user=admin, subject="facture.pdf",
                 before={"issue_date": "2026-06-01", "number": ""},
                 after={"issue_date": "2026-06-17", "number": "F-7"})
    audit.record("bank.rule_fired", actor="worker", subject="Fuel (v2)")
    audit.record("bank.sync", actor="scheduler", subject="schedule", after={"fetched": 3})
    auth.login()

    raw = client.get("/activity/", headers=FRENCH).text
    page = _text(raw)
    assert ("Marie Curie a modifié le champ «\u00a0total\u00a0» de Papeterie Dupont PD-88412"
            "\u00a0: de 1\u202f234,00 à 1\u202f234,80") in page
    assert "Marie Curie a modifié facture.pdf" in page
    assert "date\u00a0: de 1 juin 2026 à 17 juin 2026" in page
    assert "numéro\u00a0: F-7 (auparavant vide)" in page
    assert "Bookbridge a catégorisé une opération bancaire avec la règle Fuel (v2)" in page
    assert "Bookbridge (planification) a synchronisé le flux bancaire (planifiée)" in page
    assert '<span translate="no">Marie Curie</span>' in raw
    assert "changed the" not in page and "schedule" not in page

    rows = list(csv.DictReader(io.StringIO(
        client.get("/activity/export.csv", headers=FRENCH).get_data(as_text=True))))
    assert {row["action"] for row in rows} >= {"document.edit", "bank.sync"}
    assert any(row["subject"] == "schedule" and row["actor"] == "scheduler" for row in rows)
    assert any(row["after"] == '{"total_cents": 123480}' for row in rows)


def test_the_supplier_rules_area_lists_supplier_rule_events(client, auth, admin):
    """The "Supplier rules" filter names the area its events are recorded under."""
    audit.record("supplier_rule.save", user=admin, subject="OVHcloud (v1)")
    audit.record("bank.sync", actor="scheduler", subject="schedule")
    auth.login()
    raw = client.get("/activity/").text
    area = re.search(r'<option value="([^"]*)"[^>]*>Supplier rules</option>', raw).group(1)
    page = _text(client.get(f"/activity/?area={area}").text)
    assert "saved the supplier rule OVHcloud (v1)" in page and "synced" not in page
