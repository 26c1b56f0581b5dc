"""The activity log in words: who did what to which thing, and what changed.

Audit rows keep machine-readable codes and before/after values (the CSV export gives them
unchanged); this module turns a page of them into sentences a bookkeeper reads:
"Marie Curie changed the total of invoice-88412.pdf from 94.00 to 94.80". Zoho ids among
the values are named from the cached lists, with one query per list for the whole page.
"""

import datetime
from dataclasses import dataclass, field

from models import User, ZohoAccount, ZohoBankAccount, ZohoContact, ZohoTax

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


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class Described:
    who: str
    sentence: str
    changes: list[Change] = field(default_factory=list)


def describe_page(events) -> list[tuple[object, Described]]:
    """Each event of a page with its description: one query for the people, one per Zoho
    list for the names, whatever the page holds."""
    user_ids = {event.user_id for event in events if event.user_id}
    users = {user.id: user for user in User.select().where(User.id.in_(list(user_ids)))}
    names = _zoho_names(events)
    return [(event, describe(event, names, users)) for event in events]


def describe(event, names: dict | None = None, users: dict | None = None) -> Described:
    names = names or {}
    who = _who(event, users or {})
    subject = event.subject or "something"
    phrase = PHRASES.get(event.action)
    if phrase is None:
        phrase = f"did {event.action.replace('_', ' ').replace('.', ': ')} on {subject}"
    changes = _changes(event.before, event.after, names)
    if event.action == "document.edit" and len(changes) == 1:
        only = changes[0]
        sentence = (f"{who} changed the {only.label} of {subject} "
                    f"from {only.before} to {only.after}")
        return Described(who, sentence, [])
    return Described(who, f"{who} {phrase.format(subject=subject)}", changes[:MAX_SHOWN])


def _who(event, users: dict) -> str:
    user = users.get(event.user_id)
    if user is not None:
        return user.name or user.email
    return {"worker": "Bookbridge", "scheduler": "Bookbridge (schedule)",
            "system": "Bookbridge"}.get(event.actor, event.actor)


def _changes(before, after, names: dict) -> list[Change]:
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    changes = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        changes.append(Change(LABELS.get(key, key.replace("_", " ")),
                              _shown(key, old, names), _shown(key, new, names)))
    return changes


def _shown(key: str, value, names: dict) -> str:
    """A value as a bookkeeper reads it: amounts in units, names for Zoho ids."""
    if value is None or value == "" or value == []:
        return "(empty)"
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
