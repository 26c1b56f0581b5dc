"""Editing a bank rule in headless Chromium: the preview follows what one types."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, screenshot
from tests.browser.test_connections_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_the_rule_preview_follows_the_conditions_as_they_are_typed(page):
    """Runs after the bank test, whose history import left lines in the database."""
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/bank/rules/")
    preview = page.locator("#rule-preview")
    form = page.locator("#rule-form")

    form.locator("select[name=side]").select_option("debit")
    expect(preview).to_contain_text("Matches", timeout=15_000)
    expect(page.locator("#rule-preview-lines tbody tr").first).to_be_visible()
    screenshot(page, "30-rule-preview")

    form.get_by_label("Value 1").fill("no such label anywhere")
    expect(preview).to_contain_text("matches these conditions yet")

    form.get_by_label("Operator 1").select_option("matches")
    form.get_by_label("Value 1").fill("(unclosed")
    expect(preview).to_contain_text("No preview:")
    assert page.url.endswith("/bank/rules/")  # nothing was submitted


# Records, in the same dispatch as app.js's own handler (registered earlier, so it runs
# first), whether each table htmx has just put in the page may scroll and can take focus.
RECORD_SWAPPED_TABLES = """() => {
    window.swappedTables = [];
    document.addEventListener("htmx:afterSwap", (event) => {
        event.target.querySelectorAll(".table-scroll").forEach((box) => window.swappedTables.push({
            scrolls: box.scrollWidth > box.clientWidth + 1, focusable: box.tabIndex === 0,
            name: box.getAttribute("aria-label")}));
    });
}"""


def test_a_wide_preview_on_a_phone_is_reachable_by_keyboard_as_soon_as_it_shows(page):
    """A table wider than a phone scrolls inside its box; that box takes focus (so arrow keys
    scroll it) from the moment the preview appears, not a settle delay later."""
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/bank/rules/")
    expect(page.locator("#rule-preview-lines")).to_be_visible()
    page.evaluate(RECORD_SWAPPED_TABLES)
    page.locator("#rule-form select[name=side]").select_option("debit")
    page.wait_for_function("() => window.swappedTables.length > 0")
    swapped = page.evaluate("window.swappedTables")
    assert swapped[0]["scrolls"], "the preview fits a phone: no wide table left to check"
    assert swapped[0]["focusable"], swapped
    assert swapped[0]["name"].endswith("(scrolls sideways)")
