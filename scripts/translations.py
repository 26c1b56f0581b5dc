"""Keep the French catalogue in step with the code.

    .venv/bin/python scripts/translations.py update   # extract, merge into fr/messages.po, compile
    .venv/bin/python scripts/translations.py check    # list messages with no French; exit 1 if any

`update` keeps every translation already made, adds the new messages with an empty
translation, and drops the messages no longer in the code. Translate by editing
translations/fr/LC_MESSAGES/messages.po (any PO editor works), then run `update` again, or
just start the app: it compiles a changed catalogue on start.

What is extracted: `_()`, `gettext()`, `ngettext()`, `lazy_gettext()` / `_l()` in Python and
templates, and `stored_message()` / `stored_plural_message()` (services/i18n.py) in Python.
Not extracted:
tests, the sandbox (it stands in for Zoho and Qonto, in English like them), benchmarks,
scripts and migrations.
"""

import fcntl
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
FRENCH = ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po"

KEYWORDS = {
    "_": None, "gettext": None, "lazy_gettext": None, "_l": None,
    "ngettext": (1, 2), "lazy_ngettext": (1, 2),
    "stored_message": None, "stored_plural_message": (1, 2),
}
METHODS = [
    ("**/.venv/**", "ignore"), ("**/node_modules/**", "ignore"), ("tests/**", "ignore"),
    ("sandbox/**", "ignore"), ("bench/**", "ignore"), ("scripts/**", "ignore"),
    ("migrations/**", "ignore"), ("**.py", "python"),
    ("templates/**.html", "jinja2"),
]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}


def extract() -> Catalog:
    """Every message the code can show, with where it comes from."""
    catalog = Catalog(project="Bookbridge", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS,
            comment_tags=("Translators:",), strip_comment_tags=True):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments,
                    context=context)
    return catalog


def read_french(path: Path = FRENCH) -> Catalog:
    if path.exists():
        with path.open("rb") as source:
            catalog = read_po(source, locale="fr")
    else:
        catalog = Catalog(locale="fr", project="Bookbridge")
    # French as gettext has always counted it (0 and 1 singular), not CLDR's third form for
    # millions: two forms per plural message to write.
    catalog._num_plurals, catalog._plural_expr = 2, "(n > 1)"
    catalog.fuzzy = False  # pybabel compile skips a catalogue whose header is fuzzy
    catalog.language_team = "Bookbridge"
    return catalog


def _translated(string) -> bool:
    return all(string) if isinstance(string, tuple | list) else bool(string)


def missing(template: Catalog, french: Catalog) -> list[str]:
    """The messages of `template` that have no French (or only a fuzzy guess)."""
    gaps = []
    for message in template:
        if not message.id:
            continue
        known = french.get(message.id, message.context)
        if not known or not _translated(known.string) or known.fuzzy:
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


def update(extra: list[Path] = ()) -> Catalog:
    """Merge the code's messages into the French catalogue (translations from `extra` files
    fill the gaps) and write it."""
    template = extract()
    french = read_french()
    french.update(template, no_fuzzy_matching=True)
    for path in extra:
        with path.open("rb") as source:
            for message in read_po(source, locale="fr"):
                known = french.get(message.id, message.context) if message.id else None
                # Only messages the code has; a guess (fuzzy) gives way to a translation.
                if known and _translated(message.string) and (
                        known.fuzzy or not _translated(known.string)):
                    known.string = message.string
                    known.flags.discard("fuzzy")
    french.obsolete.clear()
    FRENCH.parent.mkdir(parents=True, exist_ok=True)
    partial = FRENCH.with_suffix(".po.tmp")
    with partial.open("wb") as target:
        write_po(target, french, width=100, sort_output=False, include_previous=False)
    partial.replace(FRENCH)
    return french


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "update":
        # One update at a time: two at once would each write the catalogue they read.
        with (ROOT / "translations" / ".update.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            update([Path(name) for name in argv[2:]])
        sys.path.insert(0, str(ROOT))
        from services.i18n import ensure_compiled

        ensure_compiled()
    gaps = missing(extract(), read_french())
    for message_id in gaps:
        print(f"no French: {message_id!r}")
    print(f"{len(gaps)} message(s) without French in {FRENCH.relative_to(ROOT)}")
    return 1 if gaps and command == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
