"""Searchable pickers for the cached Zoho lists: at most LIMIT matches per keystroke.

A page never renders a whole list (5,000 contacts would make it 500 KB): it renders the
chosen value by name (`picker_label`, one query by id) and `templates/_picker.html`'s text
box fetches `GET /pickers/<kind>?q=…` as the person types.
"""

from dataclasses import dataclass

from flask import Blueprint, abort, get_template_attribute, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from peewee import Case

from models import ZohoAccount, ZohoBankAccount, ZohoConnection, ZohoContact, ZohoTax
from services import text_limits

bp = Blueprint("pickers", __name__, url_prefix="/pickers")

LIMIT = 20


@dataclass(frozen=True)
class Kind:
    model: type
    nothing: str  # what the list says when nothing matches
    searched: tuple = ()  # columns matched besides the name
    only: dict | None = None  # column -> value every match must have


KINDS = {
    "contacts": Kind(ZohoContact, _l("No matching contact"),
                     ("company_name", "email", "vat_number")),
    "vendors": Kind(ZohoContact, _l("No matching supplier"),
                    ("company_name", "email", "vat_number"), {"contact_type": "vendor"}),
    "accounts": Kind(ZohoAccount, _l("No matching account"), ("code",)),
    "taxes": Kind(ZohoTax, _l("No matching tax")),
    "bank-accounts": Kind(ZohoBankAccount, _l("No matching bank account"),
                          ("account_number",)),
}


def label(row) -> str:
    """What the text box shows for a row: accounts with their code, as Zoho lists them."""
    code = getattr(row, "code", "")
    return f"{code} {row.name}" if code else row.name


def detail(row) -> str:
    """The small print beside a match that tells two of the same name apart."""
    if isinstance(row, ZohoContact):
        kind = {"vendor": _("supplier"), "customer": _("customer")}.get(row.contact_type,
                                                                      row.contact_type)
        return " · ".join(part for part in (kind, row.email) if part)
    if isinstance(row, ZohoBankAccount):
        return row.account_number
    return ""


def matches(kind: Kind, text: str, limit: int = LIMIT) -> list:
    """Usable rows whose name (or a searched column) contains the text, names starting with
    it first, then by name; ASCII case is ignored (SQLite's LIKE)."""
    model = kind.model
    query = model.usable(ZohoConnection.current().organization_id)
    for column, value in (kind.only or {}).items():
        query = query.where(getattr(model, column) == value)
    if text:
        found = model.name.contains(text)
        for column in kind.searched:
            found |= getattr(model, column).contains(text)
        starts_first = Case(None, [(model.name.startswith(text), 0)], 1)
        query = query.where(found).order_by(starts_first, model.name)
    return list(query.limit(limit))


@bp.app_template_global("picker_label")
def chosen_label(kind_name: str, zoho_id: str | None) -> str:
    """The name of the chosen record, for the page (one query by id); the bare id when the
    cache no longer has it, so the person still sees what is set."""
    if not zoho_id:
        return ""
    model = KINDS[kind_name].model
    row = model.get_or_none(model.organization_id == ZohoConnection.current().organization_id,
                            model.zoho_id == zoho_id)
    return label(row) if row is not None else zoho_id


@bp.get("/<kind_name>")
@login_required
def picker_options(kind_name):
    """The listbox of matches for what was typed (an htmx fragment)."""
    kind = KINDS.get(kind_name) or abort(404)
    text = request.args.get("q", "").strip()[:text_limits.SEARCH]
    # The page's listbox id, so option ids are unique on the page and the swap lands there.
    list_id = request.args.get("list", "picker")[:60]
    listbox = get_template_attribute("_picker.html", "listbox")
    return listbox(list_id, matches(kind, text), kind.nothing, label, detail)
