"""Supplier rules: what Bookbridge knows about a supplier, applied to its unpublished documents.

Precedence, highest first: a person's edit (`Document.edited`), then the supplier rule, then
the default tax settings. Saving a rule applies it again to the supplier's unpublished
documents; a value a person chose is never overwritten.
"""

import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError, fn

from models import ConnectionSettings, Document, DocumentStatus, SupplierRule, db, utcnow
from services import audit, document_taxes, text_limits
from services.document_status import refresh_status
from services.supplier_recognition import fold_name

# Document fields a rule sets, in the order they are shown.
APPLIED = ("contact_id", "account_id", "tax_id", "payment", "paid_through_account_id")
# The choices of the form, named in the reader's language when shown.
PAYMENTS = {"bill": _l("Bill to pay"), "expense": _l("Expense, already paid")}
FROM_THE_DOCUMENT = ("e-invoice", "text", "ocr")
AUTO_PUBLISH_NEEDS_CATEGORY = _l("Choose a category first: auto-publishing needs one, as Dext "
                                 "advises.")


class SupplierRuleError(Exception):
    """A supplier rule that cannot be saved, with the reason in plain words.

    Raised while a person saves a rule and shown to them at once, so translated when raised
    (gettext, in the reader's language)."""


def ordered():
    return SupplierRule.select().order_by(SupplierRule.name)


def _fold(name: str) -> str:
    """How supplier names are compared: without case, accents, punctuation or legal form."""
    return fold_name(name)


def rule_for(supplier_name: str) -> SupplierRule | None:
    """The supplier rule whose name or one of whose aliases is this supplier's name."""
    wanted = _fold(supplier_name)
    if not wanted:
        return None
    for rule in SupplierRule.select():
        if wanted in names_of(rule):
            return rule
    return None


def rule_for_document(document: Document) -> SupplierRule | None:
    """The rule of the document's Zoho contact, else the rule of its supplier's name, else
    the rule named as the contact it was recognised as."""
    if document.contact_id:
        rule = SupplierRule.get_or_none(SupplierRule.contact_id == document.contact_id)
        if rule is not None:
            return rule
    return (rule_for(document.supplier_name)
            or rule_for((document.recognition or {}).get("contact_name", "")))


def names_of(rule: SupplierRule) -> set[str]:
    return {_fold(name) for name in [rule.name, *(rule.aliases or [])] if _fold(name)}


# Statuses named, not excluded, so the database reads the open documents through the
# status index: the backlog, not two years of published history.
OPEN_STATUSES = tuple(status for status in DocumentStatus if status not in (
    DocumentStatus.PROCESSING, DocumentStatus.PUBLISHED, DocumentStatus.ARCHIVED))


def _open_documents():
    """Documents a rule may still change: read, not published, archived or being published."""
    return Document.select().where(
        Document.status.in_(OPEN_STATUSES),
        Document.publish_state.not_in(["publishing", "published"]),
        Document.kind == "cost", Document.supplier_name != "",
    ).order_by(Document.id)


def _open_names_per_supplier():
    """(supplier name as printed, open documents) pairs: the database counts, Python folds
    each distinct name once."""
    return (_open_documents()
            .select(Document.supplier_name, fn.COUNT(Document.id).alias("documents"))
            .group_by(Document.supplier_name).order_by().tuples())


def covered(rule: SupplierRule, names: set[str] | None = None) -> list[Document]:
    """The unpublished documents of this supplier (by its name or an alias, or its contact)."""
    wanted = names_of(rule) if names is None else names
    return [document for document in _open_documents()
            if _fold(document.supplier_name) in wanted
            or (rule.contact_id and document.contact_id == rule.contact_id)]


def covered_count(rule: SupplierRule) -> int:
    """len(covered(rule)), counted by the database without reading the documents."""
    wanted = names_of(rule)
    names = [name for name, _ in _open_names_per_supplier() if _fold(name) in wanted]
    matching = Document.supplier_name.in_(names)
    if rule.contact_id:
        matching |= Document.contact_id == rule.contact_id
    return _open_documents().where(matching).order_by().count()


def coverage(rules) -> dict[int, int]:
    """rule id -> how many unpublished documents it covers, by name or alias.

    One aggregate query over the open documents (through the status index).
    """
    owner = {name: rule.id for rule in rules for name in names_of(rule)}
    counts = dict.fromkeys(owner.values(), 0)
    if not owner:
        return counts
    for supplier_name, documents in _open_names_per_supplier():
        rule_id = owner.get(_fold(supplier_name))
        if rule_id is not None:
            counts[rule_id] += documents
    return counts


# Validation and saving


def _clean(fields: dict, rule: SupplierRule | None) -> dict:
    values = _snapshot(rule) if rule else {
        "name": "", "aliases": [], "contact_id": None, "account_id": None, "tax_id": None,
        "payment": "bill", "paid_through_account_id": None, "payment_terms_days": None,
        "auto_publish": False}
    values.pop("version", None)
    values.update({key: value for key, value in fields.items() if key in values})
    values["name"] = (values["name"] or "").strip()
    for name in ("contact_id", "account_id", "tax_id", "paid_through_account_id"):
        values[name] = (values[name] or "").strip() or None
    values["auto_publish"] = bool(values["auto_publish"])
    aliases = values["aliases"]
    if isinstance(aliases, str) or not isinstance(aliases, list | tuple):
        raise SupplierRuleError(_("Aliases must be a list of names."))
    if any(not isinstance(alias, str) or not alias.strip() for alias in aliases):
        raise SupplierRuleError(_("An alias is blank: remove it or give it a name."))
    values["aliases"] = [alias.strip() for alias in aliases]
    return values


def validate(values: dict, rule: SupplierRule | None = None) -> None:
    if not values["name"]:
        raise SupplierRuleError(_("Give the supplier’s name, as it appears on its documents."))
    too_long = text_limits.problem(_("The name"), values["name"], text_limits.NAME) or next(
        (text_limits.problem(_("The alias “%(alias)s…”", alias=alias[:40]), alias,
                             text_limits.ALIAS)
         for alias in values["aliases"] if len(alias) > text_limits.ALIAS), None)
    if too_long:
        raise SupplierRuleError(str(too_long))
    if len(values["aliases"]) > text_limits.ALIASES:
        raise SupplierRuleError(_("At most %(num)s aliases; keep the names this supplier "
                                  "really prints.", num=text_limits.ALIASES))
    seen = {values["name"].casefold()}
    for alias in values["aliases"]:  # "Scaleway SAS" beside "Scaleway" is harmless, kept
        if alias.casefold() in seen:
            raise SupplierRuleError(_("“%(alias)s” is listed twice (aliases are compared "
                                      "without case): keep it once.", alias=alias))
        seen.add(alias.casefold())
    others = SupplierRule.select()
    if rule is not None and rule.id is not None:
        others = others.where(SupplierRule.id != rule.id)
    for other in others:
        for name in [values["name"], *values["aliases"]]:
            if _fold(name) in names_of(other):
                raise SupplierRuleError(_("“%(name)s” is already a name of the supplier rule "
                                          "“%(rule)s”: a supplier has one rule.",
                                          name=name, rule=other.name))
    if values["payment"] not in PAYMENTS:
        raise SupplierRuleError(_("Choose a bill to pay or an expense already paid."))
    days = values["payment_terms_days"]
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                             or not 0 <= days <= 365):
        raise SupplierRuleError(_("Payment terms are a number of days from 0 to 365."))
    if values["auto_publish"]:
        if not values["account_id"]:
            raise SupplierRuleError(str(AUTO_PUBLISH_NEEDS_CATEGORY))
        if values["payment"] == "expense" and not values["paid_through_account_id"]:
            raise SupplierRuleError(_("Choose the account the expenses are paid from: "
                                      "auto-publishing an expense needs it."))


def save(user, fields: dict, rule: SupplierRule | None = None) -> SupplierRule:
    """Create or change a rule, then apply it again to its supplier's unpublished documents.

    `fields` may be partial when changing a rule. The number of documents changed is left
    on the returned rule as `rule.reapplied`.
    """
    values = _clean(fields, rule)
    validate(values, rule)
    before = _snapshot(rule) if rule else None
    old_names = names_of(rule) if rule else set()
    try:
        with db.atomic():
            if rule is None:
                rule = SupplierRule(version=0, created_by=getattr(user, "id", None))
            for name, value in values.items():
                setattr(rule, name, value)
            rule.version += 1
            rule.updated_at = utcnow()
            rule.save()
    except IntegrityError:
        raise SupplierRuleError(_("There is already a supplier rule named “%(name)s”.",
                                  name=values["name"])) from None
    audit.record("supplier_rule.save", user=user, subject=f"{rule.name} (v{rule.version})",
                 before=before, after=_snapshot(rule), link=rule)
    rule.reapplied = reapply(rule, user, also=old_names - names_of(rule))
    return rule


def delete(user, rule: SupplierRule) -> int:
    """Delete a rule; what it had set on unpublished documents goes back to the defaults."""
    snapshot, names = _snapshot(rule), names_of(rule)
    rule.delete_instance()
    audit.record("supplier_rule.delete", user=user, subject=rule.name, before=snapshot)
    return _apply_to([document for document in _open_documents()
                      if _fold(document.supplier_name) in names], user)


def from_document(document: Document, user) -> SupplierRule:
    """Turn a person's choices on a document into its supplier's rule (new or updated)."""
    name = (document.supplier_name or "").strip()
    if not name:
        raise SupplierRuleError(_("This document has no supplier name: fill it in and save "
                                  "first."))
    fields = {field: getattr(document, field) for field in APPLIED}
    rule = rule_for(name)
    if rule is None:
        fields["name"] = name
    return save(user, fields, rule)


def add_alias(supplier_name: str, alias: str, user) -> SupplierRule:
    """Add `alias` (a bank label, say) to the supplier's rule, creating the rule when the
    supplier has none; nothing changes when the rule already knows that name. Raises
    SupplierRuleError when the alias cannot be added (too long, another rule's name)."""
    alias = (alias or "").strip()[:text_limits.ALIAS]
    rule = rule_for(supplier_name)
    if rule is None:
        return save(user, {"name": supplier_name.strip(), "aliases": [alias]})
    if _fold(alias) in names_of(rule):
        return rule
    return save(user, {"aliases": [*(rule.aliases or []), alias]}, rule)


# Applying


def reapply(rule: SupplierRule, user, also: set[str] = frozenset()) -> int:
    """Apply the rule to its supplier's unpublished documents; how many changed.

    `also` names suppliers the rule no longer covers (a removed alias, a new name): their
    documents lose what this rule had set, or get the rule now matching them.
    """
    return _apply_to(covered(rule, names_of(rule) | set(also)), user)


def _apply_to(documents: list[Document], user) -> int:
    changed = 0
    settings = ConnectionSettings.current()
    with db.atomic():
        for document in documents:
            sources = dict(document.sources or {})
            before, after = apply_rule(document, rule_for_document(document), settings)
            if not after and document.sources == sources:
                continue
            document.updated_at = utcnow()
            document.save(only=[*(getattr(Document, name) for name in after),
                                Document.sources, Document.updated_at])
            if after:  # a value changed, not only where an equal value came from
                audit.record("document.rule_applied", user=user, subject=document.filename,
                             before=before, after=after, link=document)
                changed += 1
            refresh_status(document)
    return changed


def apply_rule(document: Document, rule: SupplierRule | None,
               settings: ConnectionSettings | None = None) -> tuple[dict, dict]:
    """Set the rule's values on the document (not saved), keeping a person's edits.

    Without a rule, values a rule had set go back to the defaults. Returns the changes as
    plain (before, after) dicts; empty when nothing changed.
    """
    edited = set(document.edited or [])
    sources = dict(document.sources or {})
    targets = {}
    for name in APPLIED:
        if name in edited:
            continue
        value = getattr(rule, name) if rule else None
        if value:
            targets[name] = (value, "rule")
        elif sources.get(name) == "rule":
            targets[name] = _fallback(document, name, settings)
    due = _due_date(document, rule, sources, edited)
    if due is not None:
        targets["due_date"] = due
    before, after = {}, {}
    for name, (value, source) in targets.items():
        if source is None:
            sources.pop(name, None)
        else:
            sources[name] = source
        if getattr(document, name) != value:
            before[name], after[name] = _plain(getattr(document, name)), _plain(value)
            setattr(document, name, value)
    document.sources = sources
    return before, after


def _fallback(document: Document, name: str, settings) -> tuple:
    """What a field gets when no rule sets it: the default tax, a bill, or nothing."""
    if name == "payment":
        return "bill", None
    if name == "tax_id":
        shown = document_taxes.matching_tax(document)
        if shown is not None:  # the tax of the rate the document shows
            return shown.zoho_id, document.method or "text"
        settings = settings or ConnectionSettings.current()
        default = (settings.default_cost_tax_id if document.kind == "cost"
                   else settings.default_sales_tax_id)
        if default:
            return default, "default"
    return None, None


def _due_date(document: Document, rule, sources: dict, edited: set) -> tuple | None:
    """The due date from the rule's payment terms, unless the document itself gives one."""
    if "due_date" in edited or sources.get("due_date") in FROM_THE_DOCUMENT:
        return None
    if document.due_date is not None and sources.get("due_date") != "rule":
        return None
    if rule and rule.payment_terms_days is not None and document.issue_date:
        return (document.issue_date + datetime.timedelta(days=rule.payment_terms_days),
                "rule")
    if sources.get("due_date") == "rule":
        return None, None
    return None


def _plain(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


def _snapshot(rule: SupplierRule) -> dict:
    return {"name": rule.name, "aliases": list(rule.aliases or []),
            "contact_id": rule.contact_id, "account_id": rule.account_id,
            "tax_id": rule.tax_id, "payment": rule.payment,
            "paid_through_account_id": rule.paid_through_account_id,
            "payment_terms_days": rule.payment_terms_days,
            "auto_publish": rule.auto_publish, "version": rule.version}


# -- layout hints: where a supplier prints what a person had to correct -------------------

LEARNABLE = ("number",)
LABEL_LENGTH = 30  # the words just before the value, enough to find the place again


def learn_layout(document: Document, rule: SupplierRule | None) -> bool:
    """A person corrected a value the document's text shows: remember the words before it
    on its line as where this supplier prints it. True when the rule learned something."""
    if rule is None or document.method not in ("text", "ocr") or not document.text:
        return False
    hints = dict(rule.layout_hints or {})
    for name in LEARNABLE:
        value = getattr(document, name)
        if name in (document.edited or []) and value:
            label = _label_before(document.text, value)
            if label:
                hints[name] = label
    if hints == (rule.layout_hints or {}):
        return False
    rule.layout_hints = hints
    rule.save(only=[SupplierRule.layout_hints])
    audit.record("supplier_rule.layout_learned", actor="worker", subject=rule.name,
                 after=hints, link=rule)
    return True


def read_with_layout(document: Document, rule: SupplierRule | None) -> None:
    """Read again, where the supplier prints them, the values a person once corrected for
    it (not saved; never over a person's edit, never on an exact e-invoice)."""
    if rule is None or document.method not in ("text", "ocr") or not document.text:
        return
    sources = dict(document.sources or {})
    confidence = dict(document.confidence or {})
    for name, label in (rule.layout_hints or {}).items():
        if name not in LEARNABLE or name in (document.edited or []):
            continue
        value = _value_after(document.text, label)
        if value:
            setattr(document, name, value)
            sources[name], confidence[name] = "learned", 0.9
    document.sources, document.confidence = sources, confidence


def _label_before(text: str, value: str) -> str | None:
    for line in text.splitlines():
        where = line.find(value)
        label = line[:where].rstrip(" \t:#") if where > 0 else ""
        if any(character.isalpha() for character in label):
            return label[-LABEL_LENGTH:].strip()
    return None


def _value_after(text: str, label: str) -> str | None:
    for line in text.splitlines():
        where = line.find(label)
        if where >= 0:
            words = line[where + len(label):].strip(" \t:#").split()
            if words:
                return words[0].strip(".,;")
    return None
