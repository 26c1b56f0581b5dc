"""French and English (issue 11 item 2): the languages, stored messages, and locale formatting.

Three kinds of text reach a page:

- Template text and messages made during a request: `_()` / `ngettext()` from flask_babel,
  translated at once into the reader's language.
- Messages made where nobody reads them yet (a job's outcome, a sync failure, a refusal from
  a service kept on a row and shown days later): `stored_message("Zoho refused the bill:
  %(reason)s", reason=...)` keeps the English message id and its values, not a translation. Every
  `{{ … }}` in a template passes through `shown()` (the Jinja `finalize` hook set in app.py),
  so a stored message is translated into the language of whoever reads it, when they read it.
  Values may themselves be stored messages, amounts (`money_value`) or dates (`date_value`),
  formatted in the reader's locale too. Text from Zoho or Qonto (their own error messages)
  stays as they wrote it.
- Formatting: `money`, `when`, `day` and `number` are the template filters; Babel formats
  them by locale ("1 190,00 €" in French, "€1,190.00" in English).

Outside a request (a job, a CLI command, a log line) gettext answers in English: what is
stored is never a translation.
"""

import contextlib
import datetime
import json
import logging
import os
import re
from decimal import Decimal
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, has_app_context
from flask_babel import (
    Babel,
    force_locale,
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    gettext,
    ngettext,
)

# The languages offered, by the code kept on a user (BOOKBRIDGE_DEFAULT_LANGUAGE picks the
# default).
LANGUAGES = {"en": "English", "fr": "Français"}
# English is written for Europe: 17 Jun 2026 and €1,190.00, as bookkeepers in Ireland and the
# UK read it, rather than Babel's American "Jun 17, 2026".
BABEL_LOCALES = {"en": "en_GB", "fr": "fr_FR"}

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"

# A stored message is this prefix and a JSON [message id, values]. It never reaches a page:
# `shown` translates it, and the page tests fail if the prefix is ever visible.
STORED_PREFIX = "[[i18n]]"


def stored_message(message: str, **values) -> str:
    """A message to keep on a row and translate when someone reads it.

    `message` is English with `%(name)s` placeholders; pybabel extracts it like `_()`.
    """
    return STORED_PREFIX + json.dumps([message, values], ensure_ascii=False, default=str)


def stored_plural_message(singular: str, plural: str, num: int, **values) -> str:
    """`stored_message` with a count: "1 line" / "%(num)s lines", chosen when read."""
    return STORED_PREFIX + json.dumps([[singular, plural], dict(values, num=num)],
                                      ensure_ascii=False, default=str)


def money_value(cents: int, currency: str = "") -> dict:
    """An amount inside a stored message, formatted in the reader's locale."""
    return {"money": int(cents), "currency": currency}


def date_value(value: datetime.date) -> dict:
    """A date inside a stored message, formatted in the reader's locale."""
    return {"date": value.isoformat()}


def default_language() -> str:
    """The installation's language (BOOKBRIDGE_DEFAULT_LANGUAGE) where nobody chose one."""
    chosen = current_app.config.get("DEFAULT_LANGUAGE", "en") if current_app else "en"
    return chosen if chosen in LANGUAGES else "en"


def language_of(user) -> str:
    """The language to write to `user` in when they are not reading a page: an alert e-mail."""
    return user.language if user.language in LANGUAGES else default_language()


def in_language(language: str):
    """A context for text made outside a request for one reader: `with in_language("fr"):`."""
    return force_locale(BABEL_LOCALES[language])


# The worker's translating app (it has no Flask app of its own), made once per process.
_worker_app: dict = {}


def writing_outside_requests(config):
    """A context in which gettext and the formatting work for text the worker writes for a
    reader (an alert e-mail): the web app's own context when there is one, else a small
    Flask app with Babel, made once per process."""
    if has_app_context():
        return contextlib.nullcontext()
    if "app" not in _worker_app:
        app = Flask("bookbridge-writing")
        app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
        app.config["BABEL_DEFAULT_TIMEZONE"] = "UTC"
        ensure_compiled()
        Babel(app)
        _worker_app["app"] = app
    app = _worker_app["app"]
    app.config["DEFAULT_LANGUAGE"] = config.get("DEFAULT_LANGUAGE", "en")
    return app.app_context()


def is_stored(value) -> bool:
    return isinstance(value, str) and value.startswith(STORED_PREFIX)


def message_id(value) -> str:
    """The English message id of a stored message ("" for anything else): what it says,
    whatever language it will be read in."""
    if not is_stored(value):
        return ""
    try:
        message = json.loads(value[len(STORED_PREFIX):])[0]
    except (ValueError, IndexError, TypeError):
        return ""
    return message if isinstance(message, str) else ""


def shown(value):
    """`value` as the reader should see it: stored messages translated, anything else as is.

    Jinja's `finalize`: it sees every `{{ … }}` of every template.
    """
    if not is_stored(value):
        return value
    try:
        message, values = json.loads(value[len(STORED_PREFIX):])
    except ValueError:
        return value
    values = {name: _shown_value(item) for name, item in values.items()}
    if isinstance(message, list):
        return ngettext(message[0], message[1], values.pop("num"), **values)
    return gettext(message, **values)


def _shown_value(item):
    if isinstance(item, dict) and "money" in item:
        return money(item["money"], item.get("currency") or None)
    if isinstance(item, dict) and "date" in item:
        return day(item["date"])
    if isinstance(item, str):
        # Already-escaped by gettext's Markup handling in templates; plain text here.
        return str(shown(item))
    return item


def in_words(value) -> str:
    """A stored message as plain text for a place that is not a template (a flash, a CSV)."""
    return str(shown(value)) if value else ""


# -- formatting, by the reader's locale ------------------------------------------------------

def money(cents, currency: str | None = None) -> str:
    """Integer cents as an amount: "€94.80" / "94,80 €" with a currency, "94.80" without."""
    if cents is None:
        return ""
    amount = Decimal(int(cents)) / 100
    if currency:
        return format_currency(amount, currency)
    return format_decimal(amount, format="#,##0.00")


def when(value) -> str:
    """A moment, always in UTC (the server's clock): "17 Jun 2026, 10:00 UTC"."""
    if not value:
        return gettext("never")
    return format_datetime(value, "d MMM y, HH:mm") + " UTC"


def day(value) -> str:
    """A date (or an ISO date string): "17 Jun 2026" / "17 juin 2026"."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime.datetime):
        value = value.date()
    return format_date(value, "d MMM y")


# What separates thousands as people type them ("1 500,50"; a French locale's own spaces).
_THOUSANDS_SPACES = str.maketrans("", "", " \u00a0\u202f")
_TYPED_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def typed_amount(text) -> Decimal | None:
    """An amount as a person types it in either language ("1500.50", "1 500,50", "-36,5"),
    or None when the text is empty or not a plain number ("1e5", "abc"). Each form checks
    its own range and decimals."""
    value = (text or "").strip().translate(_THOUSANDS_SPACES).replace(",", ".")
    if not _TYPED_NUMBER.fullmatch(value):
        return None
    return Decimal(value)


def number(value) -> str:
    """A count or a decimal with the locale's separators: "1,234" / "1 234"."""
    if value is None:
        return ""
    return format_decimal(value)


def ensure_compiled(directory: Path = TRANSLATIONS_DIR) -> None:
    """Compile each catalogue (.po) into the .mo gettext reads, when the .mo is missing or older.

    The .mo files are build output (not in git): the Dockerfile compiles them into the image,
    and a checkout compiles them on start, so `make run` and the tests never serve a stale
    catalogue.
    """
    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as source:
            catalog = read_po(source, locale=po_path.parent.parent.name)
        partial = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")
        try:
            with partial.open("wb") as target:
                write_mo(target, catalog)
            partial.replace(mo_path)
        except OSError as error:  # a read-only install: the image compiles at build time
            logging.getLogger(__name__).warning("Cannot compile %s: %s", po_path, error)
