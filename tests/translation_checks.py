"""What "untranslated" means, for the template and Python checks and for pages read in French.

- A template's visible text (text between tags, and the attributes a person reads: title,
  placeholder, aria-label, alt, an input button's value) must come from `_()` / `ngettext()`;
  what is left once the Jinja parts are taken out must hold no word but a brand.
- A page read in French must show no stored message as stored, no English message of the
  catalogue, and no English function word outside what is marked as data (`translate="no"`:
  names, labels and messages written by Zoho, Qonto or a person).
"""

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Names and abbreviations that are the same in French.
BRANDS = {"Bookbridge", "Zoho", "Books", "Qonto", "IBAN", "CSV", "PDF", "OAuth", "UTC",
          "IMAP", "SMTP", "API", "URL", "ID", "TVA", "VAT", "HT", "TTC", "SIRET", "BIC",
          "UBL", "CII", "XML", "JSON", "htmx", "OK", "EUR", "PNG", "JPEG", "HEIC", "WebP",
          "Factur", "ZUGFeRD", "Peppol"}
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "hx-confirm", "data-confirm"}
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
JINJA_TRANS = re.compile(r"\{%-?\s*trans\b.*?%\}.*?\{%-?\s*endtrans\s*-?%\}", re.S)
JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
JINJA_STATEMENT = re.compile(r"\{%.*?%\}", re.S)
WORD = re.compile(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'’-]+")


class _VisibleText(HTMLParser):
    """Text a person reads in a template with its Jinja parts blanked: (line, text) pairs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        attributes = dict(attrs)
        for name, value in attrs:
            if not value:
                continue
            # An input button shows its value; a <button>'s value is only posted.
            if name in READ_ATTRIBUTES or (
                    name == "value" and tag == "input"
                    and attributes.get("type") in ("submit", "button", "reset")):
                self.found.append((self.getpos()[0], value))

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.found.append((self.getpos()[0], data))


def blank_jinja(source: str) -> str:
    """The template with its Jinja parts replaced by spaces (line numbers kept)."""
    def spaces(match):
        return re.sub(r"[^\n]", " ", match.group(0))

    for pattern in (JINJA_COMMENT, JINJA_TRANS, JINJA_EXPRESSION, JINJA_STATEMENT):
        source = pattern.sub(spaces, source)
    return source


def untranslated_template_text(path: Path) -> list[str]:
    """Lines of a template that show words not given to gettext."""
    parser = _VisibleText()
    parser.feed(blank_jinja(path.read_text(encoding="utf-8")))
    parser.close()
    problems = []
    for line, text in parser.found:
        words = [word for word in WORD.findall(text) if word not in BRANDS]
        if words:
            problems.append(f"{path.relative_to(ROOT)}:{line}: {' '.join(text.split())[:80]!r}")
    return problems


# -- Python: messages a person reads must be given to gettext ---------------------------------

# Exceptions that name a programming mistake, never shown to a person.
PROGRAMMER_ERRORS = {"ValueError", "TypeError", "RuntimeError", "AssertionError", "KeyError",
                     "NotImplementedError", "AttributeError", "LookupError", "SystemExit",
                     "click.ClickException", "ClickException", "click.UsageError"}
TRANSLATING_CALLS = {"_", "gettext", "ngettext", "lazy_gettext", "_l", "stored_message",
                     "stored_plural_message"}


def _is_literal_text(node) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORD.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.Constant) and WORD.search(str(part.value))
                   for part in node.values)
    if isinstance(node, ast.BinOp):  # "…" + "…" or "…" % (…)
        return _is_literal_text(node.left)
    return False


def _name(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def untranslated_python_text(path: Path) -> list[str]:
    """flash() and render_error() with literal text, form labels and validator messages not
    given to gettext, and exceptions a person reads raised with literal text."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = []
    where = path.relative_to(ROOT)
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            name = _name(node.exc.func)
            if name.split(".")[-1] not in PROGRAMMER_ERRORS and name not in PROGRAMMER_ERRORS \
                    and node.exc.args and _is_literal_text(node.exc.args[0]):
                problems.append(f"{where}:{node.lineno}: raise {name}(<English text>)")
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func).split(".")[-1]
        texts = []
        if name == "flash":
            texts = node.args[:1]  # the second is the category
        elif name in ("render_error", "abort", "refuse"):
            texts = list(node.args)
        elif name.endswith("Field") and node.args:
            texts = [node.args[0]]
        texts += [keyword.value for keyword in node.keywords
                  if keyword.arg in ("message", "label", "description")]
        for text in texts:
            if _is_literal_text(text):
                problems.append(f"{where}:{node.lineno}: {name}(<English text>)")
    return problems


# -- a page read in French --------------------------------------------------------------------

# English words that are not French words, so finding one in a French page's own text means a
# message escaped translation.
ENGLISH_ONLY = {"the", "and", "with", "your", "this", "that", "from", "has", "have", "been",
                "will", "is", "are", "was", "were", "of", "to", "in", "for", "by", "at",
                "not", "yet", "no", "any", "all", "when", "which", "who", "it", "its", "there",
                "here", "than", "then", "after", "before", "into", "only", "also", "each",
                "every", "none", "nothing", "please", "should", "would", "could", "can",
                "cannot", "does", "did", "done", "new", "open", "save", "saved", "show", "see",
                "back", "next", "last", "first", "add", "edit", "delete", "cancel", "sign",
                "settings", "line", "lines", "supplier", "bank",
                "account", "accounts", "rule", "rules", "waiting", "failed", "error"}
# (Not "document", "page", "date", "message", "transactions": French words too.)

# The text of the page's own words: everything visible but data (translate="no"), what a person
# typed in a field, option lists (names from Zoho) and code.
VISIBLE_OWN_TEXT = """() => {
    const skip = 'script, style, [translate="no"], option, textarea, code, pre, [hidden]';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const parts = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        if (!parent || parent.closest(skip)) continue;
        if (node.textContent.trim()) parts.push(node.textContent.trim());
    }
    for (const el of document.querySelectorAll('[title], [placeholder], [aria-label], [alt]')) {
        if (el.closest(skip)) continue;
        for (const name of ['title', 'placeholder', 'aria-label', 'alt']) {
            const value = el.getAttribute(name);
            if (value) parts.push(value);
        }
    }
    return parts;
}"""


def english_in(texts: list[str]) -> list[str]:
    """The pieces of a French page's own text that read as English."""
    found = []
    for text in texts:
        words = {word.lower() for word in WORD.findall(text)}
        english = sorted(words & ENGLISH_ONLY)
        if english:
            found.append(f"{text[:90]!r} (English: {', '.join(english)})")
    return found


class _OwnText(HTMLParser):
    """VISIBLE_OWN_TEXT for a page fetched without a browser."""

    SKIPPED = {"script", "style", "option", "textarea", "code", "pre", "title"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[bool] = []  # per open element: is its content skipped?

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        skipped = bool(self._stack and self._stack[-1]) or tag in self.SKIPPED \
            or attributes.get("translate") == "no" or "hidden" in attributes
        if not skipped:
            self.parts += [attributes[name] for name in ("title", "placeholder", "aria-label",
                                                         "alt") if attributes.get(name)]
        if tag not in self.VOID:
            self._stack.append(skipped)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID and self._stack:
            self._stack.pop()

    def handle_endtag(self, tag):
        if tag not in self.VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if data.strip() and not (self._stack and self._stack[-1]):
            self.parts.append(" ".join(data.split()))


def own_text(html: str) -> list[str]:
    """A page's own words (not its data), as VISIBLE_OWN_TEXT finds them in a browser."""
    parser = _OwnText()
    parser.feed(html)
    parser.close()
    return parser.parts
