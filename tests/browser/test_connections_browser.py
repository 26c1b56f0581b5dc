"""A person's path through the Connections page, in headless Chromium."""

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, screenshot

# One worker runs the browser tests in order: they drive one launched app together.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

BOOKKEEPER_EMAIL = "books@example.com"
BOOKKEEPER_PASSWORD = "bookkeeper browser pw"


START_PAGES = re.compile(r"^(Connections|Documents)$")


def sign_in(page, email, password, lands_on=START_PAGES):
    """Sign in from the address `make run` prints, land on a start page (Documents for a
    bookkeeper, Connections for an admin until Zoho Books is connected), then open
    Connections, where these tests start."""
    page.goto("/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(lands_on)
    page.get_by_role("link", name="Connections", exact=True).click()
    expect(page.get_by_role("heading", name="Connections", exact=True)).to_be_visible()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Bookbridge")).to_be_visible()


def consent_and_pick(page, button_id, organisation):
    page.locator(f"#{button_id}").click()
    expect(page.get_by_text("Bookbridge wants to access Zoho Books")).to_be_visible()
    page.locator("#accept").click()
    expect(page.get_by_role("heading", name="Pick the Zoho Books organisation")).to_be_visible()
    page.get_by_label(re.compile(organisation)).check()
    page.locator("#finish-button").click()


def disconnect_zoho(page):
    """Leave Zoho disconnected, as the next browser test expects to find it."""
    page.goto("/connections/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#disconnect-button").click()
    expect(page.get_by_text("Zoho Books is disconnected")).to_be_visible()


def wait_for_refresh_banner(page, text):
    banner = page.locator("#refresh-job")
    expect(banner).to_contain_text(text, timeout=30_000)
    return banner


def test_admin_connects_refreshes_reconnects_and_disconnects(page, running_app):
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page.locator("#accounting")).to_contain_text("Not connected")
    screenshot(page, "01-not-connected")

    consent_and_pick(page, "connect-button", "Atelier Lumière SAS")
    expect(page.locator("#zoho-organisation")).to_contain_text("Atelier Lumière SAS")
    wait_for_refresh_banner(page, "Refresh complete")
    screenshot(page, "02-connected")

    finished_before = page.locator("#refresh-job").get_attribute("data-job")
    page.locator("#refresh-button").click()
    # The earlier refresh's banner also reads "Refresh complete": wait for the new job's own.
    banner = page.locator(f"#refresh-job:not([data-job='{finished_before}'])")
    expect(banner).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(banner).to_contain_text("Refresh complete")
    expect(page.locator("#settings-form select").first).to_contain_text("TVA 20")
    screenshot(page, "03-refreshed")

    requests.post(running_app["sandbox"] + "/sandbox/revoke-tokens", json={}, timeout=10)
    page.locator("#refresh-button").click()
    wait_for_refresh_banner(page, "Refresh failed")
    page.reload()
    expect(page.locator("#reconnect-banner")).to_contain_text("needs reconnecting")
    screenshot(page, "04-needs-reconnect")

    consent_and_pick(page, "reconnect-button", "Atelier Lumière SAS")
    expect(page.locator("#reconnect-banner")).to_have_count(0)
    expect(page.locator("#accounting")).to_contain_text("Connected")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#disconnect-button").click()
    expect(page.get_by_text("Zoho Books is disconnected")).to_be_visible()
    expect(page.locator("#accounting")).to_contain_text("Atelier Lumière SAS")
    screenshot(page, "05-disconnected")


def test_bookkeeper_is_refused_admin_actions(page, running_app):
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.get_by_role("link", name="Users").click()
    page.get_by_label("E-mail").fill(BOOKKEEPER_EMAIL)
    page.get_by_label("Initial password").fill(BOOKKEEPER_PASSWORD)
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_text(f"{BOOKKEEPER_EMAIL} can now sign in")).to_be_visible()
    sign_out(page)

    sign_in(page, BOOKKEEPER_EMAIL, BOOKKEEPER_PASSWORD, lands_on="Documents")
    expect(page.get_by_text("Read-only: only admins change settings")).to_be_visible()
    expect(page.locator("#connect-button")).to_have_count(0)
    expect(page.locator("#settings-save")).to_have_count(0)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    screenshot(page, "06-bookkeeper")

    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post("/connections/zoho/connect",
                                form={"csrf_token": token, "data_centre": "eu"},
                                max_redirects=0)
    assert refused.status == 403
    assert "Only an admin can do that" in refused.text()
