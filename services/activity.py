"""The activity log in words: who did what to which thing, and what changed.

Audit rows keep machine-readable codes and before/after values (the CSV export gives them
unchanged); this module turns a page of them into sentences a bookkeeper reads:
"Marie Curie changed the total of invoice-88412.pdf from 94.00 to 94.80". Zoho ids among
the values are named from the cached lists, with one query per list for the whole page.
When the row names what it is about (`link_kind`, `link_id`), the subject links to that
document, bank line, rule, supplier rule or user, if it still exists (one query per kind).
"""

import datetime
from dataclasses import dataclass, field

from flask import url_for

from models import (
    BankTransaction,
    CategorisationRule,
    Document,
    SupplierRule,
    User,
    ZohoAccount,
    ZohoBankAccount,
    ZohoContact,
    ZohoTax,
)

# What an action did, as a verb phrase after the actor; "{subject}" is the audit subject.
PHRASES = {
    "document.add": "added {subject}",
    "document.extract": "read {subject}",
    "document.edit": "edited {subject}",
    "document.rule_applied": "applied a supplier rule to {subject}",
    "document.tax_decision": "decided the tax of {subject}",
    "document.duplicate_flagged": "flagged {subject} as a possible duplicate",
    "document.duplicate_cleared": "cleared the duplicate warning of {subject}",
    "document.duplicate_decision": "decided whether {subject} is a duplicate",
    "document.publish_requested": "asked to publish documents",
    "document.publish": "published {subject} to Zoho Books",
    "document.auto_publish_failed": "could not publish {subject} automatically",
    "document.archive": "archived documents",
    "bank.sync": "synced the bank feed ({subject})",
    "bank.sync_failed": "could not sync the bank feed",
    "bank.sync_paused": "paused the bank sync",
    "bank.history_requested": "asked for the history of {subject}",
    "bank.history_import": "imported the history of {subject}",
    "bank.rule_fired": "categorised a bank line with rule {subject}",
    "bank.receipt_attached": "attached the receipt {subject} to its bank line",
    "bank.retry": "retried failed bank lines",
    "bank.link_matched": "linked {subject} to a Zoho bank account",
    "bank.link_created": "created a Zoho bank account for {subject}",
    "bank.link_chosen": "chose the Zoho bank account of {subject}",
    "bank.link_lost": "lost the Zoho bank account of {subject}",
    "bank.account_update": "changed the bank account {subject}",
    "rule.save": "saved the bank rule {subject}",
    "rule.move": "reordered the bank rules",
    "rule.delete": "deleted the bank rule {subject}",
    "supplier_rule.save": "saved the supplier rule {subject}",
    "supplier_rule.delete": "deleted the supplier rule {subject}",
    "supplier_rule.layout_learned": "learned where {subject} prints its values",
    "zoho.connect": "connected Zoho Books ({subject})",
    "zoho.reconnect": "reconnected Zoho Books",
    "zoho.needs_reconnect": "found that Zoho Books needs reconnecting",
    "zoho.disconnect": "disconnected Zoho Books",
    "zoho.contact_create": "created the Zoho contact {subject}",
    "qonto.connect": "connected Qonto",
    "qonto.disconnect": "disconnected Qonto",
    "qonto.broken": "found that Qonto refused the key",
    "lists.refresh": "refreshed the Zoho lists of {subject}",
    "lists.refresh_failed": "could not refresh the Zoho lists",
    "lists.refresh_paused": "paused the list refresh",
    "intake.rejected": "refused a file: {subject}",
    "intake.folder_failed": "could not read the watched folder",
    "intake.mail_failed": "could not read the mailbox",
    "settings.update": "changed {subject}",
    "user.create": "added the user {subject}",
    "user.update": "changed the user {subject}",
    "user.password_change": "changed their password",
    "user.password_reset": "set a new password",
    "user.password_reset_link": "made a password reset link for {subject}",
    "match.accepted": "matched {subject} to a bank line",
    "match.settled": "settled {subject} in Zoho Books",
    "match.failed": "could not settle {subject} in Zoho Books",
    "match.undone": "undid the match of {subject}",
    "match.settings": "changed the match settings",
    "intake.check_requested": "asked to check the {subject} now",
    "match.no_receipt_needed": "marked {subject} as needing no receipt",
    "match.receipt_needed": "put {subject} back among the lines missing a receipt",
    "match.not_bank_payment": "marked {subject} as not paid from the bank",
    "match.bank_payment": "put {subject} back among the documents not paid yet",
    "match.alias_added": "added a bank label as a name of {subject}",
    "match.alias_declined": "declined to add a bank label as a name of {subject}",
}

# Field names as people say them.
LABELS = {
    "supplier_name": "supplier", "supplier_vat": "VAT number", "supplier_iban": "IBAN",
    "supplier_registration": "company number", "contact_id": "Zoho contact",
    "number": "number", "issue_date": "date", "due_date": "due date", "currency": "currency",
    "net_cents": "net amount", "tax_cents": "tax amount", "total_cents": "total",
    "tax_id": "tax", "account_id": "category", "payment": "payment",
    "paid_through_account_id": "paid from", "description": "description", "kind": "kind",
    "document_type": "document type", "zoho_account_id": "Zoho account",
    "default_cost_tax_id": "default tax for costs",
    "default_sales_tax_id": "default tax for sales", "auto_publish": "auto-publishing",
    "warn_new_supplier": "warning before a new supplier", "sync_time": "daily sync time",
    "duplicate_of": "duplicate of", "included": "included", "role": "role",
    "active": "active", "name": "name", "email": "e-mail",
}

# Which cached Zoho list names the ids under each key.
NAMED_BY = {
    "account_id": ZohoAccount, "zoho_account_id": ZohoBankAccount,
    "paid_through_account_id": ZohoAccount, "tax_id": ZohoTax,
    "default_cost_tax_id": ZohoTax, "default_sales_tax_id": ZohoTax,
    "contact_id": ZohoContact,
}

MAX_SHOWN = 8  # changes listed per event; the CSV export has them all
EMPTY = "(empty)"

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
    before: str
    after: str
    # The change after its label, in words: ": 12" (nothing before it), " set to 94.80",
    # " cleared (was 94.80)" or " from 94.00 to 94.80".
    said: str = ""


@dataclass
class Described:
    who: str
    sentence: str
    changes: list[Change] = field(default_factory=list)
    # The sentence in pieces, (text, href): the subject's piece carries its page's path
    # when it has one, "" otherwise. The template escapes the text and the path.
    parts: list[tuple[str, str]] = field(default_factory=list)


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
    names = names or {}
    who = _who(event, users or {})
    subject = event.subject or "something"
    href = (links or {}).get((getattr(event, "link_kind", ""), getattr(event, "link_id", None)),
                             "")
    phrase = PHRASES.get(event.action)
    if event.action == "document.archive" and event.subject:
        phrase = "archived {subject}"  # one document, archived by the worker
    if phrase is None:
        phrase = f"did {event.action.replace('_', ' ').replace('.', ': ')} on {{subject}}"
    changes = _changes(event.before, event.after, names)
    if event.action == "document.edit" and len(changes) == 1:
        only = changes[0]
        parts = [(f"{who} changed the {only.label} of ", ""), (subject, href),
                 (f" from {only.before} to {only.after}", "")]
        return _described(who, parts, [])
    head, mark, tail = phrase.partition("{subject}")
    parts = [(f"{who} {head}", ""), (subject, href), (tail, "")] if mark else [
        (f"{who} {phrase}", "")]
    return _described(who, parts, changes[:MAX_SHOWN])


def _described(who: str, parts: list[tuple[str, str]], changes: list[Change]) -> Described:
    parts = [(text, href) for text, href in parts if text]
    return Described(who, "".join(text for text, _ in parts), changes, parts)


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


def _who(event, users: dict) -> str:
    user = users.get(event.user_id)
    if user is not None:
        return user.name or user.email
    return {"worker": "Bookbridge", "scheduler": "Bookbridge (schedule)",
            "system": "Bookbridge", "cli": "An admin (command line)",
            "qonto_receipt": "Bookbridge (Qonto receipt)",
            "auto": "Bookbridge (automatic match)"}.get(event.actor, event.actor)


def _changes(before, after, names: dict) -> list[Change]:
    had_before = isinstance(before, dict)
    before = before if had_before else {}
    after = after if isinstance(after, dict) else {}
    changes = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        shown_old, shown_new = _shown(key, old, names), _shown(key, new, names)
        if not had_before:
            said = f": {shown_new}"  # a run's totals, a new row's values
        elif shown_old == EMPTY:
            said = f" set to {shown_new}"
        elif shown_new == EMPTY:
            said = f" cleared (was {shown_old})"
        else:
            said = f" from {shown_old} to {shown_new}"
        changes.append(Change(LABELS.get(key, key.replace("_", " ")), shown_old, shown_new,
                              said))
    return changes


def _shown(key: str, value, names: dict) -> str:
    """A value as a bookkeeper reads it: amounts in units, names for Zoho ids."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key.endswith("_cents") and isinstance(value, int):
        return f"{value / 100:,.2f}"
    if key in NAMED_BY and isinstance(value, str):
        return names.get((NAMED_BY[key], value), value)
    if isinstance(value, list):
        return ", ".join(_shown("", item, names) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{LABELS.get(k, k.replace('_', ' '))}: {_shown(k, v, names)}"
                         for k, v in value.items())
    if isinstance(value, str) and len(value) == 10 and value[4:5] == "-":
        try:
            return datetime.date.fromisoformat(value).strftime("%d %b %Y")
        except ValueError:
            pass
    return str(value)


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
