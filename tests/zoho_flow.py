"""Driving the Zoho consent over real HTTP, as a browser would, for tests without one."""

import re
import time
from contextlib import contextmanager
from html.parser import HTMLParser
from urllib.parse import urlsplit

import requests

from integrations.zoho_books import ZohoBooksClient
from models import ZohoConnection
from tests.conftest import csrf_token


class _ConsentForm(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")


def answer_consent(consent_url: str, decision: str = "accept") -> str:
    """Open Zoho's consent page, press Accept or Reject, return the redirect back to us."""
    page = requests.get(consent_url, timeout=10)
    assert page.status_code == 200, page.text
    form = _ConsentForm()
    form.feed(page.text)
    action = requests.compat.urljoin(consent_url, form.action)
    answer = requests.post(action, data={**form.fields, "decision": decision},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def start_consent(client, data_centre: str = "eu") -> str:
    response = client.post("/connections/zoho/connect", data={
        "data_centre": data_centre, "csrf_token": csrf_token(client)})
    assert response.status_code == 303, response.text
    return response.location


def organisations_on_page(html: str) -> dict[str, str]:
    """name -> organization_id, from the organisation picker."""
    found = re.findall(r'value="(\d+)"[^>]*>\s*<span><strong[^>]*>([^<]+)</strong>', html)
    return {name: org_id for org_id, name in found}


def connect(client, organisation: str | None = None, *, confirm_switch: bool = False):
    """Connect (or reconnect) through consent and the picker; returns the final response."""
    callback = answer_consent(start_consent(client))
    picker = client.get(local_path(callback))
    assert picker.status_code == 302, picker.text
    page = client.get(picker.location)
    choices = organisations_on_page(page.text)
    org_id = choices[organisation] if organisation else next(iter(choices.values()))
    data = {"organization_id": org_id, "csrf_token": csrf_token(client, picker.location)}
    if confirm_switch:
        data["confirm_switch"] = "yes"
    return client.post(picker.location, data=data)


class FixedToken:
    """A token provider around one access token (no refresh)."""

    def __init__(self, token):
        self.token = token

    def access_token(self):
        return self.token

    refreshed_access_token = access_token


def zoho_as_user(sandbox) -> ZohoBooksClient:
    """Someone working in Zoho Books itself, with full access (not through Bookbridge)."""
    token = sandbox.self_client_tokens()["access_token"]
    return ZohoBooksClient(sandbox.url, ZohoConnection.current().organization_id,
                           FixedToken(token))


@contextmanager
def zoho_write_times_out(app, sandbox, call: str):
    """Zoho applies `call` ("POST /bills") but answers after our client gave up waiting."""
    app.config["ZOHO_TIMEOUT"] = 1.0
    sandbox.admin("POST", "/sandbox/faults", timeout_rate=1.0, timeout_sleep_s=1.5,
                  fault_path=call)
    try:
        yield
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")
        app.config["ZOHO_TIMEOUT"] = 30.0
        # As in production (where an unknown outcome is looked up three minutes later),
        # the late write has landed before anyone looks for it.
        deadline = time.monotonic() + 15
        while sandbox.admin("GET", "/sandbox/in-flight")["calls"] and \
                time.monotonic() < deadline:
            time.sleep(0.05)


def known_vendor(connection):
    """A supplier Zoho Books (and the cached lists) already know."""
    from models import ZohoContact

    return ZohoContact.usable(connection.organization_id).where(
        ZohoContact.contact_type == "vendor").first()
