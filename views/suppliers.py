"""Supplier rules (any signed-in user: bookkeepers manage them), and making one from a document."""

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from playhouse.flask_utils import get_object_or_404

from models import (
    Document,
    SupplierRule,
    ZohoAccount,
    ZohoBankAccount,
    ZohoConnection,
    ZohoContact,
    ZohoTax,
)
from services import supplier_rules
from services.document_processing import rule_for
from views.helpers import see_other, whole_number

bp = Blueprint("suppliers", __name__, url_prefix="/suppliers")

PREVIEW_LIMIT = 20  # documents listed by the live preview; the count covers them all


@bp.app_context_processor
def _template_helpers() -> dict:
    """`supplier_rule_for(name)` for the document page's rule offer."""
    return {"supplier_rule_for": rule_for}


def _choices() -> dict:
    """What the form offers. Vendors and accounts (thousands) are pickers that fetch their
    matches (views/pickers.py); taxes and bank accounts are an organisation's few, so they
    stay <select>s."""
    org = ZohoConnection.current().organization_id
    return {
        "zoho_taxes": list(ZohoTax.usable(org)),
        "paid_through": list(ZohoBankAccount.usable(org)),
        "payments": supplier_rules.PAYMENTS,
        "auto_publish_note": supplier_rules.AUTO_PUBLISH_NEEDS_CATEGORY,
    }


def _names(rules) -> dict:
    """zoho id -> name of what these rules refer to, across the cached lists of the current
    organisation (one query per list, whatever the size of the lists)."""
    org = ZohoConnection.current().organization_id
    names = {}
    for model, field in ((ZohoContact, "contact_id"), (ZohoBankAccount, "paid_through_account_id"),
                         (ZohoTax, "tax_id"), (ZohoAccount, "account_id")):
        # Each list is asked only for the ids of its own field (always asked, so a page runs
        # as many queries whatever its rules hold).
        wanted = {getattr(rule, field) for rule in rules} - {None, ""}
        names.update(model.select(model.zoho_id, model.name).where(
            model.organization_id == org, model.zoho_id.in_(wanted)).tuples())
    return names


def _days(value: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    days = whole_number(value, 0, 365)
    if days is None:
        raise supplier_rules.SupplierRuleError(_("Payment terms are a number of days from 0 "
                                                 "to 365."))
    return days


def _naming_fields(form) -> dict:
    """The fields that decide which documents a rule covers (all a preview reads, so it
    never refuses the rest, such as payment terms half typed)."""
    return {"name": form.get("name", "").strip(),
            "aliases": [alias.strip() for alias in form.get("aliases", "").split(",")
                        if alias.strip()],
            "contact_id": form.get("contact_id") or None}


def _fields_from(form) -> dict:
    return {
        **_naming_fields(form),
        "account_id": form.get("account_id") or None,
        "tax_id": form.get("tax_id") or None,
        "payment": form.get("payment", "bill"),
        "paid_through_account_id": form.get("paid_through_account_id") or None,
        "payment_terms_days": _days(form.get("payment_terms_days", "")),
        "auto_publish": form.get("auto_publish") == "yes",
    }


def describe(rule: SupplierRule, names: dict | None = None) -> str:
    """What the rule does to a document, in one sentence in the reader's language: each
    setting is a whole phrase, listed after the supplier's name."""
    names = _names([rule]) if names is None else names
    parts = []
    if rule.account_id:
        parts.append(_("category %(name)s", name=names.get(rule.account_id, rule.account_id)))
    if rule.tax_id:
        parts.append(_("tax %(name)s", name=names.get(rule.tax_id, rule.tax_id)))
    if rule.contact_id:
        parts.append(_("Zoho contact %(name)s",
                       name=names.get(rule.contact_id, rule.contact_id)))
    if rule.payment == "expense":
        if rule.paid_through_account_id in names:
            parts.append(_("an expense already paid from %(account)s",
                           account=names[rule.paid_through_account_id]))
        else:
            parts.append(_("an expense already paid from an account to choose"))
    else:
        parts.append(_("a bill to pay"))
    if rule.payment_terms_days is not None:
        parts.append(ngettext("due %(num)s day after its date", "due %(num)s days after its date",
                              rule.payment_terms_days))
    settings = ", ".join(parts)
    if rule.auto_publish:
        return _("documents from %(supplier)s get %(settings)s; they are published "
                 "automatically once read", supplier=rule.name, settings=settings)
    return _("documents from %(supplier)s get %(settings)s", supplier=rule.name,
             settings=settings)


@bp.get("/")
@login_required
def supplier_list():
    rules = list(supplier_rules.ordered())
    return render_template("suppliers/index.html", rules=rules,
                           coverage=supplier_rules.coverage(rules), names=_names(rules),
                           rule=None,
                           **_choices())


@bp.get("/<int:rule_id>")
@login_required
def supplier_edit(rule_id):
    rule = get_object_or_404(SupplierRule, SupplierRule.id == rule_id)
    return render_template("suppliers/edit.html", rule=rule,
                           covered=supplier_rules.covered_count(rule), **_choices())


@bp.get("/auto-publish")
@login_required
def supplier_auto_publish():
    """The auto-publish checkbox alone, re-rendered by htmx when the category changes."""
    return render_template("suppliers/_auto_publish.html",
                           account_id=request.args.get("account_id", ""),
                           checked=request.args.get("auto_publish") == "yes",
                           auto_publish_note=supplier_rules.AUTO_PUBLISH_NEEDS_CATEGORY)


@bp.post("/preview")
@login_required
def supplier_preview():
    """The unpublished documents the rule being edited would apply to, before it is saved
    (htmx, as one types its name and aliases)."""
    fields = _naming_fields(request.form)
    rule = SupplierRule(name=fields["name"], aliases=fields["aliases"],
                        contact_id=fields["contact_id"])
    documents = supplier_rules.covered(rule) if supplier_rules.names_of(rule) else []
    return render_template("suppliers/_preview.html", documents=documents[:PREVIEW_LIMIT],
                           matching=len(documents), named=bool(supplier_rules.names_of(rule)))


@bp.post("/")
@login_required
def supplier_create():
    return _save(None)


@bp.post("/<int:rule_id>")
@login_required
def supplier_update(rule_id):
    return _save(get_object_or_404(SupplierRule, SupplierRule.id == rule_id))


def _save(rule):
    try:
        saved = supplier_rules.save(current_user, _fields_from(request.form), rule)
    except supplier_rules.SupplierRuleError as error:
        flash(_("The supplier rule was not saved: %(reason)s", reason=str(error)), category="error")
        if rule:
            return see_other("suppliers.supplier_edit", rule_id=rule.id)
        return see_other("suppliers.supplier_list")
    flash(_("Supplier rule '%(name)s' saved (version %(version)s): %(rule)s. %(updated)s",
            name=saved.name, version=saved.version, rule=describe(saved),
            updated=_updated(saved.reapplied)), category="success")
    return see_other("suppliers.supplier_list")


@bp.post("/<int:rule_id>/delete")
@login_required
def supplier_delete(rule_id):
    rule = get_object_or_404(SupplierRule, SupplierRule.id == rule_id)
    changed = supplier_rules.delete(current_user, rule)
    flash(_("Supplier rule '%(name)s' deleted. %(updated)s", name=rule.name,
            updated=_updated(changed)), category="success")
    return see_other("suppliers.supplier_list")


@bp.post("/from-document/<int:document_id>")
@login_required
def supplier_from_document(document_id):
    """Turn the person's corrections on a document into its supplier's rule."""
    document = get_object_or_404(Document, Document.id == document_id)
    try:
        rule = supplier_rules.from_document(document, current_user)
    except supplier_rules.SupplierRuleError as error:
        flash(_("The supplier rule was not saved: %(reason)s", reason=str(error)), category="error")
        return see_other("documents.document_show", document_id=document.id)
    if rule.version == 1:
        flash(_("Supplier rule '%(name)s' created: from now on, %(rule)s. %(updated)s",
                name=rule.name, rule=describe(rule), updated=_updated(rule.reapplied)),
              category="success")
    else:
        flash(_("Supplier rule '%(name)s' updated: from now on, %(rule)s. %(updated)s",
                name=rule.name, rule=describe(rule), updated=_updated(rule.reapplied)),
              category="success")
    return see_other("documents.document_show", document_id=document.id)


def _updated(count: int) -> str:
    if not count:
        return _("No unpublished document needed changing.")
    return ngettext("%(num)s unpublished document updated (what a person chose is kept).",
                    "%(num)s unpublished documents updated (what a person chose is kept).",
                    count)
