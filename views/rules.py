"""Categorisation rules for bank lines (bookkeepers and admins)."""


from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from playhouse.flask_utils import get_object_or_404

from models import CategorisationRule, ZohoAccount, ZohoConnection, ZohoTax
from services import bank_rules, i18n
from services.i18n import stored_message
from views.helpers import see_other

bp = Blueprint("rules", __name__, url_prefix="/bank/rules")

CONDITION_SLOTS = 3


def _choices() -> dict:
    """What the form offers. Accounts and contacts (thousands) are pickers that fetch their
    matches (views/pickers.py); taxes are an organisation's few, so they stay a <select>."""
    org = ZohoConnection.current().organization_id
    return {
        "zoho_taxes": list(ZohoTax.usable(org)),
        "text_fields": bank_rules.TEXT_FIELDS,
        "operators": bank_rules.OPERATORS,
        "slots": range(CONDITION_SLOTS),
    }


def _cents(value: str) -> int | None:
    """An amount as typed: "1500.50", "1 500,50" (French) or "1500,5"; None when empty."""
    typed = (value or "").strip()
    if not typed:
        return None
    amount = i18n.typed_amount(typed)
    if amount is None or abs(amount) >= 10**12:
        raise bank_rules.RuleError(stored_message("“%(value)s” is not an amount.", value=typed))
    return int((amount * 100).to_integral_value())


def _fields_from(form) -> dict:
    conditions = []
    for slot in range(CONDITION_SLOTS):
        value = form.get(f"condition_value_{slot}", "").strip()
        if value:
            conditions.append({"field": form.get(f"condition_field_{slot}", "label"),
                               "op": form.get(f"condition_op_{slot}", "contains"),
                               "value": value})
    return {
        "name": form.get("name", "").strip(),
        "enabled": form.get("enabled") == "yes",
        "stop_processing": form.get("stop_processing") == "yes",
        "conditions": conditions,
        "side": form.get("side", "") if form.get("side") in ("debit", "credit") else "",
        "amount_min_cents": _cents(form.get("amount_min", "")),
        "amount_max_cents": _cents(form.get("amount_max", "")),
        "operation_type": form.get("operation_type", "").strip(),
        "qonto_category": form.get("qonto_category", "").strip(),
        "zoho_account_id": form.get("zoho_account_id", ""),
        "tax_id": form.get("tax_id") or None,
        "contact_id": form.get("contact_id") or None,
    }


@bp.get("/")
@login_required
def rule_list():
    rules = list(bank_rules.ordered())
    previews = bank_rules.previews(rules)
    names = _account_names({rule.zoho_account_id for rule in rules})
    return render_template("rules/index.html", rules=rules, previews=previews,
                           account_names=names, tax_names=_tax_names(rules), rule=None,
                           pattern_problem=_pattern_problem, **_choices())


def _pattern_problem(pattern: str) -> str:
    """Why a saved pattern never matches, in the reader's language ("" when it runs)."""
    return i18n.in_words(bank_rules.pattern_problem(pattern))


def _account_names(zoho_ids: set[str]) -> dict:
    """zoho id -> name of the accounts the rules use (not the whole chart of accounts)."""
    org = ZohoConnection.current().organization_id
    query = (ZohoAccount.select(ZohoAccount.zoho_id, ZohoAccount.name)
             .where(ZohoAccount.organization_id == org, ZohoAccount.zoho_id.in_(zoho_ids)))
    return {account.zoho_id: account.name for account in query}


def _tax_names(rules) -> dict:
    """zoho id -> name of the taxes the rules use."""
    org = ZohoConnection.current().organization_id
    wanted = {rule.tax_id for rule in rules if rule.tax_id}
    query = (ZohoTax.select(ZohoTax.zoho_id, ZohoTax.name)
             .where(ZohoTax.organization_id == org, ZohoTax.zoho_id.in_(wanted)))
    return {tax.zoho_id: tax.name for tax in query}


@bp.get("/<int:rule_id>")
@login_required
def rule_edit(rule_id):
    rule = get_object_or_404(CategorisationRule, CategorisationRule.id == rule_id)
    return render_template("rules/edit.html", rule=rule, preview=bank_rules.preview(rule),
                           **_choices())


@bp.post("/")
@login_required
def rule_create():
    return _save(None)


@bp.post("/<int:rule_id>")
@login_required
def rule_update(rule_id):
    return _save(get_object_or_404(CategorisationRule, CategorisationRule.id == rule_id))


def _save(rule):
    try:
        saved = bank_rules.save(current_user, _fields_from(request.form), rule)
    except bank_rules.RuleError as error:
        flash(_("The rule was not saved: %(reason)s", reason=i18n.in_words(str(error))), "error")
        if rule:
            return see_other("rules.rule_edit", rule_id=rule.id)
        return see_other("rules.rule_list")
    matching, looked_at = bank_rules.preview(saved)
    flash(ngettext("Rule “%(name)s” saved (version %(version)s). It matches %(matching)s of the "
                   "last transaction; it applies from the next sync.",
                   "Rule “%(name)s” saved (version %(version)s). It matches %(matching)s of the "
                   "last %(num)s transactions; it applies from the next sync.", looked_at,
                   name=saved.name, version=saved.version, matching=i18n.number(matching)),
          "success")
    return see_other("rules.rule_list")


@bp.post("/preview")
@login_required
def rule_preview():
    """The lines the rule being edited would match, before it is saved (htmx, as one types)."""
    try:
        lines, matching, looked_at = bank_rules.preview_lines(_fields_from(request.form))
    except bank_rules.RuleError as error:
        return render_template("rules/_preview.html", problem=i18n.in_words(str(error)))
    return render_template("rules/_preview.html", lines=lines, matching=matching,
                           looked_at=looked_at)


@bp.post("/<int:rule_id>/move")
@login_required
def rule_move(rule_id):
    rule = get_object_or_404(CategorisationRule, CategorisationRule.id == rule_id)
    bank_rules.move(current_user, rule, -1 if request.form.get("direction") == "up" else 1)
    return see_other("rules.rule_list")


@bp.post("/<int:rule_id>/delete")
@login_required
def rule_delete(rule_id):
    rule = get_object_or_404(CategorisationRule, CategorisationRule.id == rule_id)
    bank_rules.delete(current_user, rule)
    flash(_("Rule “%(name)s” deleted.", name=rule.name), "success")
    return see_other("rules.rule_list")
