"""French and English (issue 11 item 2): nothing a person reads escapes translation, the
language follows the browser and then the person's choice, and amounts, dates and numbers
are written the way each language writes them."""

import datetime
import importlib.util
import re

import pytest

from services import i18n
from tests.conftest import csrf_token
from tests.factories import DEFAULT_PASSWORD
from tests.translation_checks import (
    ROOT,
    english_in,
    own_text,
    untranslated_python_text,
    untranslated_template_text,
)

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


def _translations_tool():
    spec = importlib.util.spec_from_file_location("translations_tool",
                                                  ROOT / "scripts" / "translations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the code: every message goes through gettext, and has its French ---------------------------

@pytest.mark.no_database
def test_every_template_shows_only_text_given_to_gettext():
    problems = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        problems += untranslated_template_text(path)
    assert not problems, "English text outside _() in templates:\n" + "\n".join(problems)


# The command-line tools (backup, restore, move-database) speak to the person running them in
# English, like the logs; every other message can reach a page, a flash or a mail.
COMMAND_LINE_ONLY = {"services/backup.py", "services/move_database.py"}


@pytest.mark.no_database
def test_every_message_made_in_python_is_given_to_gettext():
    problems = []
    for folder in ("views", "services", "jobs", "integrations", "models"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if str(path.relative_to(ROOT)) not in COMMAND_LINE_ONLY:
                problems += untranslated_python_text(path)
    assert not problems, "English text not given to gettext:\n" + "\n".join(problems)


@pytest.mark.no_database
def test_every_message_has_its_french():
    tool = _translations_tool()
    missing = tool.missing(tool.extract(), tool.read_french())
    assert not missing, (f"{len(missing)} message(s) have no French: run "
                         "`scripts/translations.py update` and translate them in "
                         "translations/fr/LC_MESSAGES/messages.po\n" + "\n".join(missing[:40]))


@pytest.mark.no_database
def test_french_keeps_each_placeholder_of_the_english():
    french = _translations_tool().read_french()
    problems = []
    for message in french:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (
            message.string,)
        wanted = set(re.findall(r"%\((\w+)\)s", ids[-1]))
        for string in strings:
            found = set(re.findall(r"%\((\w+)\)s", string))
            # A plural's singular may say "un" instead of %(num)s.
            if found - wanted or (wanted - found - {"num"}):
                problems.append(f"{ids[0]!r}: {string!r}")
    assert not problems, "\n".join(problems)


# -- a page in French ---------------------------------------------------------------------------

def _pages(app) -> list[str]:
    return sorted(rule.rule for rule in app.url_map.iter_rules()
                  if "GET" in rule.methods and not rule.arguments
                  and rule.endpoint not in {"static", "health.health_show",
                                            "metrics.metrics_show", "connections.zoho_callback",
                                            "auth.home"}
                  and not rule.rule.endswith(".csv"))


def _english_messages() -> list[str]:
    """Messages of three words or more whose French differs: none may show on a French page."""
    french = _translations_tool().read_french()
    return [message.id for message in french
            if isinstance(message.id, str) and isinstance(message.string, str)
            and message.string and message.string != message.id
            and len(message.id.split()) >= 3 and "%(" not in message.id]


def test_every_page_reads_in_french(client, connected):
    english = _english_messages()
    problems = []
    for path in _pages(client.application):
        response = client.get(path, headers=FRENCH)
        if "text/html" not in response.content_type or response.status_code != 200:
            continue
        html = response.get_data(as_text=True)
        if "<main" not in html:
            continue  # a piece htmx asks for
        if '<html lang="fr">' not in html:
            problems.append(f"{path}: not marked as French")
        if i18n.STORED_PREFIX in html:
            problems.append(f"{path}: shows a stored message untranslated")
        texts = own_text(html)
        page_text = " ".join(texts)
        problems += [f"{path}: English message {message!r}" for message in english
                     if message in page_text]
        problems += [f"{path}: {found}" for found in english_in(texts)]
    assert not problems, "\n".join(problems)


def test_the_sign_in_page_reads_in_french_before_signing_in(client):
    html = client.get("/login", headers=FRENCH).get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert "Se connecter" in html
    assert not english_in(own_text(html))


# -- choosing the language ----------------------------------------------------------------------

def _menu_language(client, headers=None) -> str:
    html = client.get("/documents/", headers=headers or {}).get_data(as_text=True)
    return re.search(r'<html lang="(\w+)">', html).group(1)


def test_the_language_follows_the_browser_until_a_person_chooses(client, auth, admin):
    auth.login()
    assert _menu_language(client) == "en"
    assert _menu_language(client, FRENCH) == "fr"
    page = client.get("/documents/", headers=FRENCH).get_data(as_text=True)
    assert "Fournisseurs" in page and "Suppliers" not in page

    response = client.post("/language", data={
        "language": "en", "next": "/documents/", "csrf_token": csrf_token(client)},
        headers=FRENCH)
    assert response.status_code == 303 and response.headers["Location"] == "/documents/"
    assert _menu_language(client, FRENCH) == "en"  # the choice beats the browser

    # The choice is kept on the account: another device, another browser, same language.
    other = client.application.test_client()
    other.post("/login", data={"email": admin.email, "password": DEFAULT_PASSWORD,
                               "csrf_token": csrf_token(other, "/login")})
    assert _menu_language(other, FRENCH) == "en"

    client.post("/language", data={"language": "", "csrf_token": csrf_token(client)})
    assert _menu_language(client, FRENCH) == "fr"  # the browser's again


def test_a_language_chosen_before_signing_in_stays_after_signing_out(client, auth, admin):
    client.post("/language", data={"language": "fr", "next": "/login",
                                   "csrf_token": csrf_token(client, "/login")})
    assert '<html lang="fr">' in client.get("/login").get_data(as_text=True)
    auth.login()
    auth.logout()
    assert "Se connecter" in client.get("/login").get_data(as_text=True)


def test_choosing_a_language_needs_the_form_token_and_goes_nowhere_else(client):
    assert client.post("/language", data={"language": "fr"}).status_code == 400
    response = client.post("/language", data={
        "language": "fr", "next": "//evil.example/", "csrf_token": csrf_token(client, "/login")})
    assert response.headers["Location"] == "/"


# -- formatting ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "amount", "moment", "count"), [
    ("en", "€1,190.00", "17 Jun 2026, 10:05 UTC", "12,345"),
    ("fr", "1\u202f190,00\u00a0€", "17 juin 2026, 10:05 UTC", "12\u202f345"),
])
def test_amounts_dates_and_numbers_follow_the_language(app, language, amount, moment, count):
    with app.test_request_context(headers={"Accept-Language": language}):
        assert i18n.money(119000, "EUR") == amount
        assert i18n.when(datetime.datetime(2026, 6, 17, 10, 5)) == moment
        assert i18n.number(12345) == count
        assert i18n.day("2026-06-17") == moment.split(",")[0]


def test_a_stored_message_is_read_in_the_readers_language(app):
    message = i18n.stored_message("Nothing has been lost.")
    with app.test_request_context(headers=FRENCH):
        assert i18n.shown(message) == "Rien n’a été perdu."
    with app.test_request_context():
        assert i18n.shown(message) == "Nothing has been lost."
    # Outside a request (a job writing its outcome) nothing is translated.
    assert i18n.shown(message) == "Nothing has been lost."
