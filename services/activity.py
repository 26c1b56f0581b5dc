"""The activity log in words: who did what to which thing, and what changed.

Audit rows keep machine-readable codes and before/after values (the CSV export gives them
unchanged); this module turns a page of them into sentences a bookkeeper reads, in the
reader's language: "Marie Curie changed the total of invoice-88412.pdf from 94.00 to 94.80".
Each sentence is one message with placeholders (`%(who)s`, `%(subject)s`), translated when
the page is shown. Zoho ids among the values are named from the cached lists, with one query
per list for the whole page. When the row names what it is about (`link_kind`, `link_id`),
the subject links to that document, bank line, rule, supplier rule or user, if it still
exists (one query per kind). Names and values written by people, Zoho or Qonto are marked
`translate="no"`.
"""

from dataclasses import dataclass, field

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from models import (
    BankTransaction,
    CategorisationRule,
    Document,
    Role,
    SupplierRule,
    User,
    ZohoAccount,
    ZohoBankAccount,
    ZohoContact,
    ZohoTax,
)
from services import i18n

# What an action did, as a whole sentence: "%(who)s" is who acted, "%(subject)s" the audit
# subject (the thing it is about). Translated when the page is shown.
PHRASES = {
    "document.add": _l("%(who)s added %(subject)s"),
    "document.extract": _l("%(who)s read %(subject)s"),
    "document.edit": _l("%(who)s edited %(subject)s"),
    "document.rule_applied": _l("%(who)s applied a supplier rule to %(subject)s"),
    "document.tax_decision": _l("%(who)s decided the tax of %(subject)s"),
    "document.duplicate_flagged": _l("%(who)s flagged %(subject)s as a possible duplicate"),
    "document.duplicate_cleared": _l("%(who)s cleared the duplicate warning of %(subject)s"),
    "document.duplicate_decision": _l("%(who)s decided whether %(subject)s is a duplicate"),
    "document.publish_requested": _l("%(who)s asked to publish documents"),
    "document.publish_paused": _l("%(who)s paused publishing until Zoho's daily reset"),
    "document.publish": _l("%(who)s published %(subject)s to Zoho Books"),
    "document.auto_publish_failed": _l("%(who)s could not publish %(subject)s automatically"),
    "document.archive": _l("%(who)s archived documents"),
    "bank.sync": _l("%(who)s synced the bank feed (%(subject)s)"),
    "bank.sync_failed": _l("%(who)s could not sync the bank feed"),
    "bank.sync_paused": _l("%(who)s paused the bank sync"),
    "bank.history_requested": _l("%(who)s asked for the history of %(subject)s"),
    "bank.history_import": _l("%(who)s imported the history of %(subject)s"),
    "bank.rule_fired": _l("%(who)s categorised a bank line with rule %(subject)s"),
    "bank.receipt_attached": _l("%(who)s attached the receipt %(subject)s to its bank line"),
    "bank.retry": _l("%(who)s retried failed bank lines"),
    "bank.link_matched": _l("%(who)s linked %(subject)s to a Zoho bank account"),
    "bank.link_created": _l("%(who)s created a Zoho bank account for %(subject)s"),
    "bank.link_chosen": _l("%(who)s chose the Zoho bank account of %(subject)s"),
    "bank.link_lost": _l("%(who)s lost the Zoho bank account of %(subject)s"),
    "bank.account_update": _l("%(who)s changed the bank account %(subject)s"),
    "rule.save": _l("%(who)s saved the bank rule %(subject)s"),
    "rule.move": _l("%(who)s reordered the bank rules"),
    "rule.delete": _l("%(who)s deleted the bank rule %(subject)s"),
    "supplier_rule.save": _l("%(who)s saved the supplier rule %(subject)s"),
    "supplier_rule.delete": _l("%(who)s deleted the supplier rule %(subject)s"),
    "supplier_rule.layout_learned": _l("%(who)s learned where %(subject)s prints its values"),
    "zoho.connect": _l("%(who)s connected Zoho Books (%(subject)s)"),
    "zoho.reconnect": _l("%(who)s reconnected Zoho Books"),
    "zoho.needs_reconnect": _l("%(who)s found that Zoho Books needs reconnecting"),
    "zoho.disconnect": _l("%(who)s disconnected Zoho Books"),
    "zoho.contact_create": _l("%(who)s created the Zoho contact %(subject)s"),
    "qonto.connect": _l("%(who)s connected Qonto"),
    "qonto.disconnect": _l("%(who)s disconnected Qonto"),
    "qonto.broken": _l("%(who)s found that Qonto refused the key"),
    "lists.refresh": _l("%(who)s refreshed the Zoho lists of %(subject)s"),
    "lists.refresh_failed": _l("%(who)s could not refresh the Zoho lists"),
    "lists.refresh_paused": _l("%(who)s paused the list refresh"),
    "intake.rejected": _l("%(who)s refused a file: %(subject)s"),
    "intake.folder_failed": _l("%(who)s could not read the watched folder"),
    "intake.mail_failed": _l("%(who)s could not read the mailbox"),
    "settings.update": _l("%(who)s changed %(subject)s"),
    "user.create": _l("%(who)s added the user %(subject)s"),
    "user.update": _l("%(who)s changed the user %(subject)s"),
    "user.password_change": _l("%(who)s changed their password"),
    "user.password_reset": _l("%(who)s set a new password"),
    "user.password_reset_link": _l("%(who)s made a password reset link for %(subject)s"),
    "match.accepted": _l("%(who)s matched %(subject)s to a bank line"),
    "match.settled": _l("%(who)s settled %(subject)s in Zoho Books"),
    "match.failed": _l("%(who)s could not settle %(subject)s in Zoho Books"),
    "match.undone": _l("%(who)s undid the match of %(subject)s"),
    "match.settings": _l("%(who)s changed the match settings"),
    "intake.check_requested": _l("%(who)s asked to check %(subject)s now"),
    "match.no_receipt_needed": _l("%(who)s marked %(subject)s as needing no receipt"),
    "match.receipt_needed": _l("%(who)s put %(subject)s back among the lines missing a "
                               "receipt"),
    "match.not_bank_payment": _l("%(who)s marked %(subject)s as not paid from the bank"),
    "match.bank_payment": _l("%(who)s put %(subject)s back among the documents not paid yet"),
    "match.alias_added": _l("%(who)s added a bank label as a name of %(subject)s"),
    "match.alias_declined": _l("%(who)s declined to add a bank label as a name of "
                               "%(subject)s"),
}

# Subjects that are our own words or codes, not names: said in the reader's language
# (by action, then the subject as recorded). The CSV export keeps them as recorded.
SUBJECT_WORDS = {
    "bank.sync": {"schedule": _l("on schedule"), "follow-up": _l("follow-up run"),
                  "user": _l("asked by a person"), "manual": _l("asked by a person")},
    "intake.check_requested": {"folder": _l("the watched folder"),
                               "mail": _l("the mailbox")},
    "settings.update": {
        "Connection settings": _l("the connection settings"),
        "Daily bank sync time": _l("the daily bank sync time"),
        "E-mail alerts": _l("the e-mail alerts"),
        "Default taxes cleared (new organisation)": _l(
            "the default taxes (cleared for a new organisation)"),
    },
}

# Field names as people say them.
LABELS = {
    "supplier_name": _l("supplier"), "supplier_vat": _l("VAT number"), "supplier_iban": "IBAN",
    "supplier_registration": _l("company number"), "contact_id": _l("Zoho contact"),
    "number": _l("number"), "issue_date": _l("date"), "due_date": _l("due date"),
    "currency": _l("currency"), "net_cents": _l("net amount"),
    "tax_cents": _l("tax amount"), "total_cents": _l("total"),
    "tax_id": _l("tax"), "account_id": _l("category"), "payment": _l("payment"),
    "paid_through_account_id": _l("paid from"), "description": _l("description"),
    "kind": _l("kind"), "document_type": _l("document type"),
    "zoho_account_id": _l("Zoho account"),
    "default_cost_tax_id": _l("default tax for costs"),
    "default_sales_tax_id": _l("default tax for sales"), "auto_publish": _l("auto-publishing"),
    "warn_new_supplier": _l("warning before a new supplier"),
    "sync_time": _l("daily sync time"), "duplicate_of": _l("duplicate of"),
    "included": _l("included"), "role": _l("role"), "active": _l("active"),
    "name": _l("name"), "email": _l("e-mail"), "aliases": _l("aliases"),
    "version": _l("version"), "payment_terms_days": _l("payment terms (days)"),
    "status": _l("status"), "fetched": _l("fetched"), "new": _l("new"),
    "removed": _l("removed"), "items": _l("items"), "currencies": _l("currencies"),
    "bank_accounts": _l("bank accounts"), "organization_id": _l("organisation id"),
    "organization_name": _l("organisation"), "data_centre": _l("data centre"),
    "pushed": _l("pushed to Zoho Books"), "categorised": _l("categorised"),
    "receipts": _l("receipts attached"), "failed": _l("failed"),
    "held_back": _l("held back"), "documents": _l("documents"), "lines": _l("bank lines"),
    "alias": _l("alias"), "type": _l("type"), "method": _l("reading method"),
    "warnings": _l("warnings"), "decision": _l("decision"), "match": _l("similar document"),
    "from": _l("start of the period"), "to": _l("end of the period"), "login": _l("login"),
    "accounts": _l("accounts"),
    "settlement": _l("settlement"), "origin": _l("origin"), "line": _l("bank line"),
    "found_again": _l("found again in Zoho Books"), "media_type": _l("file type"),
    "size": _l("size (bytes)"), "reason": _l("reason"), "sha256": "SHA-256",
}

# Codes among the values, in words (by field, then the value as recorded).
VALUE_WORDS = {
    "payment": {"bill": _l("bill to pay"), "expense": _l("expense, already paid")},
    "kind": {"cost": _l("cost"), "sale": _l("sale"), "sales": _l("sale"),
             "expense": _l("expense"), "vendor_payment": _l("vendor payment"),
             "match": _l("match with a published expense")},
    "type": {"bill": _l("bill"), "expense": _l("expense"), "invoice": _l("sales invoice"),
             "vendorcredit": _l("vendor credit"), "creditnote": _l("credit note")},
    "origin": {"person": _l("a person"), "auto": _l("auto-accept"),
               "qonto_receipt": _l("a receipt attached in Qonto")},
    "status": {"connected": _l("connected"), "disconnected": _l("disconnected")},
}

# Who acted, when it was not a person.
ACTORS = {
    "worker": _l("Bookbridge"), "system": _l("Bookbridge"),
    "scheduler": _l("Bookbridge (schedule)"), "cli": _l("An admin (command line)"),
    "qonto_receipt": _l("Bookbridge (Qonto receipt)"),
    "auto": _l("Bookbridge (automatic match)"),
    "folder": _l("Bookbridge (watched folder)"), "mail": _l("Bookbridge (mailbox)"),
    "upload": _l("Bookbridge (upload)"),
}

# Which cached Zoho list names the ids under each key.
NAMED_BY = {
    "account_id": ZohoAccount, "zoho_account_id": ZohoBankAccount,
    "paid_through_account_id": ZohoAccount, "tax_id": ZohoTax,
    "default_cost_tax_id": ZohoTax, "default_sales_tax_id": ZohoTax,
    "contact_id": ZohoContact,
}

MAX_SHOWN = 8  # changes listed per event; the CSV export has them all

# The page an audit link opens, by its kind: (model, endpoint, the argument taking the id).
# People have no page of their own: a user opens the Users list at their row (admins only).
LINK_PAGES = {
    "document": (Document, "documents.document_show", "document_id"),
    "line": (BankTransaction, "matching.line_show", "line_id"),
    "rule": (CategorisationRule, "rules.rule_edit", "rule_id"),
    "supplier_rule": (SupplierRule, "suppliers.supplier_edit", "rule_id"),
    "user": (User, "users.user_list", None),
}


@dataclass
class Change:
    label: str
    before: str  # "" when there was no value
    after: str
    # The whole change as shown, its label in bold: "<strong>total</strong>: 12",
    # "… set to 94.80", "… cleared (was 94.80)" or "… from 94.00 to 94.80".
    said: Markup = Markup("")


@dataclass
class Described:
    who: str
    # The sentence as plain text, and as HTML (the subject linked to its page when it has
    # one; names marked translate="no"; everything escaped).
    sentence: str
    changes: list[Change] = field(default_factory=list)
    html: Markup = Markup("")


def describe_page(events, *, show_users: bool = False) -> list[tuple[object, Described]]:
    """Each event of a page with its description: one query for the people, one per Zoho
    list for the names and one per kind of link, whatever the page holds. `show_users`:
    the viewer may open the Users page (admins), so people's names link there."""
    user_ids = {event.user_id for event in events if event.user_id}
    users = {user.id: user for user in User.select().where(User.id.in_(list(user_ids)))}
    names = _zoho_names(events)
    links = _links(events, show_users)
    return [(event, describe(event, names, users, links)) for event in events]


def describe(event, names: dict | None = None, users: dict | None = None,
             links: dict | None = None) -> Described:
    """The event in the reader's language (gettext: call it while a page is made)."""
    names = names or {}
    who, who_is_data = _who(event, users or {})
    href = (links or {}).get((getattr(event, "link_kind", ""), getattr(event, "link_id", None)),
                             "")
    subject, subject_is_data = _subject(event)
    phrase = PHRASES.get(event.action)
    if event.action == "document.archive" and event.subject:
        phrase = _l("%(who)s archived %(subject)s")  # one document, archived by the worker
    if phrase is None:
        phrase = _l("%(who)s did %(action)s on %(subject)s")
    changes = _changes(event.before, event.after, names)
    values = {"who": (who, who_is_data, ""), "subject": (subject, subject_is_data, href),
              "action": (event.action.replace("_", " ").replace(".", ": "), True, "")}
    if event.action == "document.edit" and len(changes) == 1:
        only = changes[0]
        phrase = _l("%(who)s changed the %(field)s of %(subject)s from %(before)s to "
                    "%(after)s")
        values.update({"field": (only.label, False, ""), "before": (only.before, True, ""),
                       "after": (only.after, True, "")})
        changes = []
    return Described(who, _plain(phrase, values), changes[:MAX_SHOWN], _html(phrase, values))


def _plain(message, values: dict) -> str:
    return str(message) % {name: text for name, (text, _, _) in values.items()}


def _html(message, values: dict) -> Markup:
    """The translated sentence with its values escaped; data in translate="no", the subject
    linked to its page (the link outermost inside the data span)."""
    shown = {}
    for name, (text, is_data, href) in values.items():
        piece = Markup('<a href="%s">%s</a>') % (href, text) if href else escape(text)
        shown[name] = Markup('<span translate="no">%s</span>') % piece if is_data else piece
    return escape(str(message)) % shown


def _data(text: str) -> Markup:
    return Markup('<span translate="no">%s</span>') % text


def _subject(event) -> tuple[str, bool]:
    """The subject, and whether it is data (a name) rather than our own words."""
    words = SUBJECT_WORDS.get(event.action, {}).get(event.subject or "")
    if words is not None:
        return str(words), False
    if not event.subject:
        return _("something"), False
    if i18n.is_stored(event.subject):
        return i18n.in_words(event.subject), False
    return event.subject, True


def _links(events, show_users: bool) -> dict:
    """(kind, id) -> the path of that row's page, for the rows of the page that still
    exist (a deleted rule's page would only say "not found")."""
    wanted: dict = {}
    for event in events:
        kind, row_id = getattr(event, "link_kind", ""), getattr(event, "link_id", None)
        if kind in LINK_PAGES and row_id is not None and (kind != "user" or show_users):
            wanted.setdefault(kind, set()).add(row_id)
    links = {}
    for kind, ids in wanted.items():
        model, endpoint, argument = LINK_PAGES[kind]
        for (row_id,) in model.select(model.id).where(model.id.in_(list(ids))).tuples():
            if argument:
                path = url_for(endpoint, **{argument: row_id})
            else:
                path = url_for(endpoint, _anchor=f"user-{row_id}")
            if safe_path(path):
                links[(kind, row_id)] = path
    return links


def safe_path(path: str) -> bool:
    """A path of this app: "/..." but not "//host" or "/\\host" (both leave the site)."""
    return path.startswith("/") and not path.startswith(("//", "/\\"))


def _who(event, users: dict) -> tuple[str, bool]:
    """Who acted, and whether that is data (a person's name or address)."""
    user = users.get(event.user_id)
    if user is not None:
        return user.name or user.email, True
    if event.actor in ACTORS:
        return str(ACTORS[event.actor]), False
    return event.actor, True


def _changes(before, after, names: dict) -> list[Change]:
    had_before = isinstance(before, dict)
    before = before if had_before else {}
    after = after if isinstance(after, dict) else {}
    changes = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        label = _label(key)
        if _shown(key, old, names)[0] == _shown(key, new, names)[0] == "":
            continue
        (shown_old, old_is_data), (shown_new, new_is_data) = (
            _shown(key, old, names), _shown(key, new, names))
        values = {"field": Markup("<strong>%s</strong>") % label,
                  "before": _data(shown_old) if old_is_data else shown_old,
                  "after": _data(shown_new) if new_is_data else shown_new}
        if not had_before:
            said = _("%(field)s: %(after)s")  # a run's totals, a new row's values
        elif not shown_old:
            said = _("%(field)s set to %(after)s")
        elif not shown_new:
            said = _("%(field)s cleared (was %(before)s)")
        else:
            said = _("%(field)s from %(before)s to %(after)s")
        if not shown_new and not had_before:
            values["after"] = _("(empty)")
        changes.append(Change(label, shown_old, shown_new, escape(said) % values))
    return changes


def _label(key: str) -> str:
    label = LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ")


def _shown(key: str, value, names: dict) -> tuple[str, bool]:
    """A value as a bookkeeper reads it, in the reader's language: amounts in units, names
    for Zoho ids, dates by the locale; "" for no value. Second: whether it is data (a name,
    text someone wrote) rather than our words, numbers or dates."""
    if value is None or value == "" or value == []:
        return "", False
    if i18n.is_stored(value):  # one of our messages (a reason, a warning): in words
        return i18n.in_words(value), False
    if isinstance(value, bool):
        return (_("yes") if value else _("no")), False
    if key.endswith("_cents") and isinstance(value, int):
        return i18n.money(value), False
    if key == "role" and value in {role.value for role in Role}:
        return Role(value).label.lower(), False
    if isinstance(value, str) and value in VALUE_WORDS.get(key, {}):
        return str(VALUE_WORDS[key][value]), False
    if key in NAMED_BY and isinstance(value, str):
        return names.get((NAMED_BY[key], value), value), True
    if isinstance(value, list):
        return ", ".join(_shown("", item, names)[0] or _("(empty)") for item in value), True
    if isinstance(value, dict):  # our labels, with the values in words
        return "; ".join(_("%(field)s: %(value)s", field=_label(k),
                           value=_shown(k, v, names)[0] or _("(empty)"))
                         for k, v in value.items()), False
    if isinstance(value, int | float):
        return i18n.number(value), False
    if isinstance(value, str) and len(value) == 10 and value[4:5] == "-":
        shown = i18n.day(value)
        if shown != value:
            return shown, False
    return str(value), True


def _zoho_names(events) -> dict:
    """(list model, zoho id) -> name, for the Zoho ids the page's changes mention."""
    wanted: dict = {}
    for event in events:
        for values in (event.before, event.after):
            if not isinstance(values, dict):
                continue
            for key, value in values.items():
                if key in NAMED_BY and isinstance(value, str) and value:
                    wanted.setdefault(NAMED_BY[key], set()).add(value)
    names = {}
    for model, ids in wanted.items():
        for zoho_id, name in (model.select(model.zoho_id, model.name)
                              .where(model.zoho_id.in_(list(ids))).tuples()):
            names[(model, zoho_id)] = name
    return names
