"""Every page on a phone (375 px) and a desktop (1280 px): nothing scrolls sideways and axe-core
finds no serious or critical accessibility problem. Runs after the other browser tests of the
same app in file order (bank, connections, documents), so the lists hold lines, documents and
rules to open."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from services.i18n import STORED_PREFIX
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SCREENSHOTS
from tests.browser.test_connections_browser import sign_in
from tests.translation_checks import VISIBLE_OWN_TEXT, english_in

# One worker runs the browser tests in order: they drive one launched app together.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The suite's screenshots folder (not in git); `make screenshots` points it at docs/screenshots.
SHOTS = Path(os.environ.get("BOOKBRIDGE_SCREENSHOTS_DIR") or SCREENSHOTS)
WIDTHS = (375, 1280)
# Each language, and the browser locale that asks for it.
LANGUAGES = (("en", "en-GB"), ("fr", "fr-FR"))

# GET addresses without parameters that are not pages a person opens.
NOT_PAGES = {
    "auth.home",  # redirects to the start page, checked below
    "auth.login",  # checked signed out
    "connections.zoho_callback",  # where Zoho sends people back, with its own parameters
    "health.health_show", "metrics.metrics_show", "static",
}
# One record of each kind, found through the first link of that shape on its list.
RECORD_PAGES = (
    ("/documents/", r"^/documents/\d+$"),
    ("/matching/lines/", r"^/matching/lines/\d+$"),
    ("/bank/rules/", r"^/bank/rules/\d+$"),
    ("/suppliers/", r"^/suppliers/\d+$"),
)
# The elements that stick out past the window's right edge, not counting those inside a box
# that scrolls or clips them: where to look when a page scrolls sideways.
WIDEST = """() => Array.from(document.querySelectorAll('body *')).filter(e => {
    if (e.getBoundingClientRect().right <= window.innerWidth + 1) return false;
    for (let up = e.parentElement; up && up !== document.body; up = up.parentElement) {
        if (getComputedStyle(up).overflowX !== 'visible') return false;
    }
    return true;
}).slice(0, 5).map(e => e.outerHTML.slice(0, 80))"""
# No htmx request in flight, swapping or settling: what a page loads after it opens (previews,
# banners) is in place and enhanced before axe reads it and the screenshot is taken.
HTMX_IDLE = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"


def _axe_source() -> str:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm ci` (make test does) to install "
                    "node_modules/axe-core from package-lock.json")
    return AXE.read_text()


def _page_paths(app) -> list[str]:
    paths = sorted(rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments
                   and rule.endpoint not in NOT_PAGES and not rule.rule.endswith(".csv"))
    assert "/documents/" in paths and "/connections/" in paths
    return paths


def _record_paths(page) -> list[str]:
    found = []
    for list_path, pattern in RECORD_PAGES:
        page.goto(list_path)
        hrefs = page.eval_on_selector_all("main a[href]",
                                          "links => links.map(a => a.getAttribute('href'))")
        match = next((href for href in hrefs if re.match(pattern, href)), None)
        if match:
            found.append(match)
    return found


def _problems(page, axe_source: str, path: str, width: int) -> list[str]:
    """What is wrong on the open page: sideways scrolling, and axe's serious or critical
    violations with the elements they concern."""
    problems = []
    scroll_width, window_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll_width > window_width:
        wide = page.evaluate(WIDEST)
        problems.append(f"{path} at {width}px scrolls sideways: {scroll_width}px wide ({wide})")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)  # evaluated by the browser itself: the page's CSP allows it
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact,
                        targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")
    problems += [f"{path} at {width}px: {v['impact']} {v['id']} on {v['targets']}" for v in result]
    return problems


def _untranslated(page, path: str) -> list[str]:
    """On a page read in French: a stored message shown as stored, or English own text."""
    problems = []
    if page.evaluate("document.documentElement.lang") != "fr":
        problems.append(f"{path} in French: not marked lang=fr")
    if STORED_PREFIX in page.content():
        problems.append(f"{path} in French: shows a stored message untranslated")
    problems += [f"{path} in French: {found}"
                 for found in english_in(page.evaluate(VISIBLE_OWN_TEXT))]
    return problems


def _sign_in_any_language(page) -> None:
    """Sign in by the form's field names, whatever language its labels are in."""
    page.goto("/login")
    page.locator("main input[name=email]").fill(ADMIN_EMAIL)
    page.locator("main input[name=password]").fill(ADMIN_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main h1")).not_to_have_text(re.compile("Bookbridge"))


def _shot(page, language: str, width: int, path: str) -> None:
    name = path.strip("/").replace("/", "-") or "home"
    page.screenshot(path=str(SHOTS / f"{language}-{width}-{name}.png"), full_page=True)


# The same pages on either database: the PostgreSQL pass renders them in its own tests
# (test_fuzz, test_query_counts, the other browser flows), and this walk takes ~45 s.
@pytest.mark.sqlite_pass_only("layout, accessibility and language, whatever the engine")
def test_every_page_fits_a_phone_passes_axe_and_reads_in_french(browser, running_app, app):
    """Every page in English and in French (the browser asks for French; the admin has not
    chosen a language, so the browser's is used), at both widths."""
    axe_source = _axe_source()
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for language, locale in LANGUAGES:
        for width in WIDTHS:
            context = browser.new_context(base_url=running_app["url"], locale=locale,
                                          viewport={"width": width, "height": 800})
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto("/login")
            problems += _problems(page, axe_source, f"/login (signed out, {language})", width)
            if language == "fr":
                problems += _untranslated(page, "/login")
            _shot(page, language, width, "login")
            context.close()

        context = browser.new_context(base_url=running_app["url"], locale=locale,
                                      viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(15_000)
        _sign_in_any_language(page)
        paths = _page_paths(app) + _record_paths(page)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            for path in paths:
                response = page.goto(path)
                if "text/html" not in (response.headers.get("content-type") or ""):
                    continue  # a CSV, JSON or metrics
                page.wait_for_load_state("load")
                if not page.locator("main").count():
                    continue  # a piece of a page that htmx asks for
                page.wait_for_function(HTMX_IDLE)
                problems += _problems(page, axe_source, f"{path} ({language})", width)
                if language == "fr" and width == WIDTHS[-1]:
                    problems += _untranslated(page, path)
                _shot(page, language, width, path)
        context.close()
    assert not problems, "\n".join(problems)


def test_the_menu_folds_behind_a_button_on_a_phone_and_works_by_keyboard(browser, running_app):
    context = browser.new_context(base_url=running_app["url"], viewport={"width": 1280,
                                                                          "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_hidden()  # a desktop shows the links themselves
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/documents/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")

    # The first Tab offers the skip link; the next ones reach the menu button.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the page content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    page.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Documents")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible
    _shot(page, "en", 375, "menu-open")
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()

    # The upload offers the camera on a phone, beside the box that takes saved PDFs.
    photo = page.get_by_label("Or take a photo of a receipt")
    expect(photo).to_have_attribute("capture", "environment")
    assert "image/" in (photo.get_attribute("accept") or "")
    expect(page.locator("#upload-files")).not_to_have_attribute("capture", "environment")
    context.close()


def test_without_javascript_the_menu_links_stay_in_view(browser, running_app):
    context = browser.new_context(base_url=running_app["url"], java_script_enabled=False,
                                  viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login")
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/documents/")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Documents")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
