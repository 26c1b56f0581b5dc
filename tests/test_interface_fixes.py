"""The small fixes of issue 11, item 11: taxes by rate, plurals, a favicon, demo links that
open the record, "Settings saved." where the person is, a refused Qonto connect that keeps
what was typed, the account checkbox read as a choice, the sandbox's faults from a page."""

import re
from decimal import Decimal

import requests

from models import QontoAccount, ZohoConnection, ZohoTax
from tests.bank_flow import connect_qonto, qonto_info
from tests.conftest import csrf_token
from tests.test_documents import _ready_bill
from tests.zoho_flow import known_vendor


def test_taxes_are_offered_by_rate_not_as_text(client, connected):
    rates = [tax.percentage for tax in ZohoTax.usable(connected.organization_id)]
    assert rates == sorted(rates) and len(set(rates)) > 2
    page = client.get("/connections/").text
    select = re.search(r'<select[^>]*name="default_cost_tax_id".*?</select>', page, re.S).group(0)
    shown = [Decimal(rate.replace(",", "."))
             for rate in re.findall(r"([\d.,]+) %</option>", select)]
    assert shown == sorted(shown) and shown  # 2.1, 5.5, 10, 20: not 10, 2.1, 20, 5.5


def test_counts_never_read_one_bank_accounts(client, connected):
    # As the refresh leaves them for an organisation with a single bank account and tax.
    stored = connected.list_counts
    stored["counts"].update({"Bank accounts": 1, "Taxes": 1, "Contacts": 2})
    ZohoConnection.update(list_counts=stored).execute()
    page = client.get("/connections/").text
    cached = re.search(r'id="cached-lists">(.*?)</dd>', page, re.S).group(1)
    assert "1 bank account" in cached and "1 tax ·" in cached and "2 contacts ·" in cached
    assert not re.search(r"\b1 (bank accounts|duplicates|receipts|taxes)\b", page)
    assert re.search(r"\b\d+ bank accounts?\b", page)


def test_every_page_has_a_favicon(client, auth, admin):
    page = client.get("/login").text
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    response = client.get(icon)
    assert response.status_code == 200 and b"<svg" in response.data


def test_in_demo_mode_a_published_bill_opens_itself_in_the_sandbox(client, connected, sandbox):
    document = _ready_bill(client, connected, supplier=known_vendor(connected).name)
    page = client.post(f"/documents/{document.id}/publish",
                       data={"csrf_token": csrf_token(client, "/documents/")},
                       follow_redirects=True).text
    link = re.search(r'Published as <a href="([^"]+)"', page).group(1)
    assert link != sandbox.url + "/"
    assert link.startswith(sandbox.url + "/sandbox/records/bill/")
    record = requests.get(link, timeout=10)
    assert record.status_code == 200 and "FR-2026-0193" in record.text
    assert requests.get(sandbox.url + "/sandbox/records/bill/1", timeout=10).status_code == 404


def test_settings_saved_is_said_next_to_the_form(client, connected):
    page = client.post("/connections/settings/", data={
        "warn_new_supplier": "y", "default_cost_tax_id": "", "default_sales_tax_id": "",
        "csrf_token": csrf_token(client)}, follow_redirects=True).text
    form = re.search(r'<form[^>]*id="settings-form".*?</form>', page, re.S).group(0)
    messages = re.search(r'<div id="messages".*?</div>', page, re.S).group(0)
    assert "Settings saved." in form or "Nothing to save" in form
    assert "Settings saved." not in messages
    # Said once: the next visit does not say it again.
    assert 'id="settings-notice"' not in client.get("/connections/").text


def test_a_refused_qonto_connect_keeps_what_was_typed_but_not_the_key(client, connected,
                                                                      sandbox):
    login = qonto_info(sandbox)["login"]
    page = connect_qonto(client, sandbox, secret_key="not-the-key-42").text
    form = re.search(r'<form[^>]*id="qonto-connect-form".*?</form>', page, re.S).group(0)
    assert 'id="qonto-connect-error"' in form
    assert f'value="{login}"' in form
    assert 'id="qonto-consent" checked' in form
    assert "not-the-key-42" not in page
    # Once only: loading the page again starts from an empty form.
    assert f'value="{login}"' not in client.get("/connections/").text


def test_the_account_checkbox_reads_as_a_choice(client, connected, sandbox):
    connect_qonto(client, sandbox)
    page = client.get("/connections/").text
    assert QontoAccount.select().count()
    assert "Send this account to Zoho Books</label>" in page
    assert "> synced</label>" not in page


def test_sandbox_fault_switches_from_its_home_page(sandbox):
    home = requests.get(sandbox.url + "/", timeout=10).text
    assert 'id="faults-form"' in home and 'name="error_rate"' in home
    try:
        saved = requests.post(sandbox.url + "/sandbox/faults",
                              data={"error_rate": "0.25", "latency_ms": "", "quota_headers": "no"},
                              timeout=10)
        assert saved.status_code == 200 and "Fault switches saved." in saved.text
        faults = sandbox.admin("GET", "/sandbox/faults")
        assert faults["error_rate"] == 0.25 and faults["quota_headers"] is False
        refused = requests.post(sandbox.url + "/sandbox/faults", data={"latency_ms": "slow"},
                                timeout=10)
        assert refused.status_code == 400 and "latency_ms must be a number" in refused.text
        reset = requests.post(sandbox.url + "/sandbox/faults", data={"action": "reset"},
                              timeout=10)
        assert "back to their defaults" in reset.text
        assert sandbox.admin("GET", "/sandbox/faults")["error_rate"] == 0.0
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")


def test_zoho_card_says_the_bank_feed_is_paused_when_qonto_is_broken(client, connected,
                                                                      sandbox):
    from models import QontoConnection
    connect_qonto(client, sandbox)
    assert 'id="zoho-bank-feed"' not in client.get("/connections/").text
    QontoConnection.update(status="broken", problem="Qonto refused the key.").execute()
    page = client.get("/connections/").text
    assert "Paused: Qonto needs a new key." in page
    assert ZohoConnection.current().is_connected
