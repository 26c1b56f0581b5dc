"""Messages that stay true (issue 11, item 9): finished-job banners can be dismissed and go
away on their own, agree with the counts beside them, say "paused" when the other side is
down, and what Bookbridge itself creates in Zoho shows in the cached lists at once."""

import re

import pytest

import clock
from models import (
    ConnectionSettings,
    Document,
    Job,
    QontoAccount,
    ZohoBankAccount,
    ZohoConnection,
    ZohoContact,
)
from services import lists
from tests.bank_flow import connect_qonto, sync_now
from tests.conftest import csrf_token
from tests.test_documents import _ready_bill
from tests.zoho_flow import connect


def later(monkeypatch, minutes: float) -> None:
    """Move Bookbridge's clock on (the pinned test clock, shifted like the real one)."""
    monkeypatch.setenv(clock.OFFSET_VARIABLE, str(clock.offset_seconds() + minutes * 60))


# How one record of each list is said in English (services.lists.count_phrase).
SINGULAR = {"Chart of accounts": "account in the chart", "Taxes": "tax", "Contacts": "contact",
            "Items": "item", "Currencies": "currency", "Bank accounts": "bank account"}


def _said(phrases: list[str]) -> dict[str, int]:
    """{"bank accounts": 3} from ["3 bank accounts", ...]; "1 bank account" counts as
    "bank accounts" (with its singular checked)."""
    found = {}
    for phrase in phrases:
        count, words = phrase.strip().split(" ", 1)
        plural = next((label.lower() for label, one in SINGULAR.items()
                       if words in (one, label.lower())), words)
        assert (words == plural) == (count != "1"), phrase
        found[plural] = int(count)
    return found


def card_counts(page: str) -> dict[str, int]:
    """The Connections card's "Cached lists", list -> count."""
    text = re.search(r'id="cached-lists">(.*?)</dd>', page, re.S).group(1)
    return _said(text.split(" · "))


def banner_counts(page: str) -> dict[str, int]:
    banner = re.search(r'id="refresh-job".*?</div>', page, re.S).group(0)
    return _said(re.findall(r"<li>(\d+ [^<(]+?)(?: \(|</li>)", banner))


def dismiss(client, job: Job, **headers):
    return client.post(f"/jobs/{job.id}/dismiss", headers=headers,
                       data={"csrf_token": csrf_token(client)})


def test_refresh_banner_counts_are_the_cards_and_the_banner_goes_away(client, connected,
                                                                       monkeypatch):
    page = client.get("/connections/").text
    assert "Refresh complete." in page
    assert banner_counts(page) == card_counts(page)
    assert card_counts(page)["taxes"] == ZohoTax_count(connected)

    later(monkeypatch, 11)
    page = client.get("/connections/").text
    assert "Refresh complete." not in page
    assert card_counts(page)["taxes"] == ZohoTax_count(connected)  # the facts stay


def test_a_paused_banner_stays_while_the_pause_lasts(client, connected, monkeypatch):
    """A pause ends its job (a finished job's banner goes after ten minutes), but it is
    still true for hours: its banner stays until the pause is over, unless dismissed."""
    import datetime

    from models.base import utcnow
    from services import jobs, zoho_quota

    job = jobs.latest("refresh_lists")
    pause = zoho_quota.QuotaPause(connected.organization_id,
                                  utcnow() + datetime.timedelta(hours=3), "spent")
    jobs.pause(job, pause.message(), pause.resumes_at)
    later(monkeypatch, 120)
    assert "Paused:" in client.get("/connections/").text
    later(monkeypatch, 61)  # the pause is over: the next run says what happens now
    assert "Paused:" not in client.get("/connections/").text


def ZohoTax_count(connection) -> int:  # noqa: N802 - reads as the list it counts
    return lists.cached_counts(connection)["Taxes"]


def test_a_finished_banner_is_dismissed_with_or_without_javascript(client, connected):
    job = Job.get(Job.kind == "refresh_lists")
    response = dismiss(client, job, Referer="http://localhost/connections/")
    assert response.status_code == 303 and response.location.endswith("/connections/")
    assert "Refresh complete." not in client.get("/connections/").text

    # With htmx the banner is swapped for nothing.
    second, _ = lists_refresh_again(client)
    response = dismiss(client, second, **{"HX-Request": "true"})
    assert response.status_code == 200 and response.text == ""
    assert 'id="refresh-job"' not in client.get("/connections/").text


def lists_refresh_again(client):
    response = client.post("/connections/zoho/refresh", data={"csrf_token": csrf_token(client)},
                           follow_redirects=True)
    assert "Refresh complete." in response.text
    return Job.select().where(Job.kind == "refresh_lists").order_by(Job.id.desc()).get(), response


def test_a_dismiss_from_another_site_is_refused(client, connected):
    job = Job.get(Job.kind == "refresh_lists")
    response = client.post(f"/jobs/{job.id}/dismiss", data={"csrf_token": "forged"})
    assert response.status_code in (303, 400)
    assert "Refresh complete." in client.get("/connections/").text


@pytest.fixture
def bank_connected(client, connected, sandbox):
    page = connect_qonto(client, sandbox).text
    assert "Qonto is connected" in page
    return QontoAccount.select().order_by(QontoAccount.id)


def test_qonto_card_says_paused_while_zoho_is_disconnected(client, bank_connected):
    assert "Next daily sync" in client.get("/connections/").text
    client.post("/connections/zoho/disconnect", data={"csrf_token": csrf_token(client)})
    page = client.get("/connections/").text
    next_sync = re.search(r'id="next-bank-sync">(.*?)</dd>', page, re.S).group(1)
    assert "Paused: Zoho Books is not connected." in next_sync
    assert "(" not in next_sync.split("</strong>")[0]  # no time announced


def test_a_sync_failure_for_want_of_zoho_is_gone_once_zoho_is_reconnected(
        client, bank_connected):
    client.post("/connections/zoho/disconnect", data={"csrf_token": csrf_token(client)})
    page = sync_now(client).text
    failed = Job.select().where(Job.kind == "bank_sync").order_by(Job.id.desc()).get()
    assert failed.status.value == "failed" and "Zoho Books is not connected" in failed.error
    assert "Sync failed." in page

    connect(client, "Atelier Lumière SAS")
    page = client.get("/connections/").text
    assert "Sync failed." not in page and "Zoho Books is not connected" not in page
    assert "Paused:" not in re.search(r'id="next-bank-sync">(.*?)</dd>', page, re.S).group(1)


def test_bank_accounts_the_sync_creates_are_listed_and_counted_at_once(client, connected,
                                                                       sandbox):
    org = connected.organization_id
    before = card_counts(client.get("/connections/").text)["bank accounts"]
    connect_qonto(client, sandbox)
    linked = [a.zoho_account_id for a in QontoAccount.select() if a.zoho_account_id]
    assert linked
    usable = {a.zoho_id for a in ZohoBankAccount.usable(org)}
    assert set(linked) <= usable  # "Paid from" offers them without a refresh
    created = {a.zoho_account_id for a in QontoAccount.select() if a.link_origin == "created"}
    page = client.get("/connections/").text
    assert card_counts(page)["bank accounts"] == before + len(created) == len(usable)
    # The account pickers of the Banks card name them too.
    for account in QontoAccount.select():
        assert account.zoho_account_name in page


def test_a_supplier_created_on_publishing_is_the_documents_zoho_contact(client, connected):
    ConnectionSettings.update(warn_new_supplier=False).execute()
    name = "Imprimerie Nouvelle Vague"
    assert not ZohoContact.select().where(ZohoContact.name == name).exists()
    document = _ready_bill(client, connected, supplier=name)
    assert 'id="contact_id-search" name="q" value=""' in client.get(
        f"/documents/{document.id}").text  # "New or not chosen"
    page = client.post(f"/documents/{document.id}/publish",
                       data={"csrf_token": csrf_token(client, "/documents/")},
                       follow_redirects=True).text
    document = Document.get_by_id(document.id)
    assert "Published as" in page and document.contact_id
    contact = ZohoContact.get(ZohoContact.zoho_id == document.contact_id)
    assert contact.name == name and contact.contact_type == "vendor"
    shown = client.get(f"/documents/{document.id}").text
    assert re.search(r'id="contact_id-search" name="q" value="' + name, shown)
    counts = ZohoConnection.current().list_counts["counts"]
    assert counts["Contacts"] == lists.cached_counts(ZohoConnection.current())["Contacts"]
