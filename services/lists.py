"""Refreshing the lists cached from Zoho Books (accounts, taxes, contacts, ...).

Each page of 200 from Zoho is one API call and one batch upsert. Records that Zoho no
longer returns are marked removed, never deleted, so documents and rules that refer to
them keep working and can say what is gone.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext, ngettext
from peewee import chunked

from models import (
    ZohoAccount,
    ZohoBankAccount,
    ZohoConnection,
    ZohoContact,
    ZohoCurrency,
    ZohoItem,
    ZohoTax,
    db,
    utcnow,
)
from services import i18n
from services.i18n import stored_message
from services.supplier_recognition import fold_name, index_identifiers


def _decimal(value):
    return None if value in (None, "") else Decimal(str(value))


def _account(record):
    return {"zoho_id": record["account_id"], "name": record.get("account_name", ""),
            "code": record.get("account_code") or "",
            "account_type": record.get("account_type", ""),
            "is_active": record.get("is_active", True)}


def _tax(record):
    return {"zoho_id": record["tax_id"], "name": record.get("tax_name", ""),
            "percentage": _decimal(record.get("tax_percentage")),
            "tax_type": record.get("tax_type", ""),
            "is_default": bool(record.get("is_default_tax")),
            "is_active": record.get("status", "active") != "inactive"}


# Where a contact's VAT or tax registration number lives, by Zoho edition (contacts.yml):
# vat_reg_no (UK, Avalara), tax_reg_no (GCC, Mexico, Kenya, South Africa), gst_no (India).
# Zoho's list documents none of them, so they are read when a list happens to carry one.
VAT_FIELDS = ("vat_reg_no", "tax_reg_no", "gst_no")


def _contact(record):
    vat = next((str(record[name]) for name in VAT_FIELDS if record.get(name)), "")
    name, company_name = record.get("contact_name", ""), record.get("company_name") or ""
    return {"zoho_id": record["contact_id"], "name": name,
            "contact_type": record.get("contact_type", ""),
            "company_name": company_name, "email": record.get("email") or "",
            "currency_code": record.get("currency_code") or "", "vat_number": vat[:64],
            "is_active": record.get("status", "active") == "active",
            # as supplier recognition compares names, for its index look-ups
            "name_key": fold_name(name), "company_key": fold_name(company_name)}


def _index_contacts(organization_id: str, zoho_ids: list[str]) -> None:
    """The stored page's contacts are known by their (maybe new) VAT numbers: rewrite their
    identifier rows, with what Bookbridge learned of them, for supplier recognition."""
    index_identifiers(ZohoContact.select(ZohoContact.id, ZohoContact.vat_number,
                                         ZohoContact.identifiers)
                      .where(ZohoContact.organization_id == organization_id,
                             ZohoContact.zoho_id.in_(zoho_ids)))


def _item(record):
    return {"zoho_id": record["item_id"], "name": record.get("name", ""),
            "rate": _decimal(record.get("rate")), "tax_id": record.get("tax_id") or None,
            "is_active": record.get("status", "active") == "active"}


def _currency(record):
    code = record.get("currency_code", "")
    return {"zoho_id": record["currency_id"], "name": record.get("currency_name") or code,
            "code": code, "is_base": bool(record.get("is_base_currency")), "is_active": True}


def _bank_account(record):
    return {"zoho_id": record["account_id"], "name": record.get("account_name", ""),
            "account_type": record.get("account_type", ""),
            "account_number": record.get("account_number") or "",
            "bank_name": record.get("bank_name") or "",
            "currency_code": record.get("currency_code") or "",
            "is_active": record.get("is_active", True)}


@dataclass(frozen=True)
class CachedList:
    key: str
    label: str
    model: type
    pages: Callable  # client -> iterator of pages
    to_row: Callable  # Zoho record -> row fields
    # (organization_id, zoho ids) -> None: keeps what is derived from a stored page
    after_page: Callable | None = None


CACHED_LISTS = (
    CachedList("accounts", "Chart of accounts", ZohoAccount,
               lambda client: client.iter_chart_of_accounts(), _account),
    CachedList("taxes", "Taxes", ZohoTax, lambda client: client.iter_taxes(), _tax),
    CachedList("contacts", "Contacts", ZohoContact,
               lambda client: client.iter_contacts(), _contact, _index_contacts),
    CachedList("items", "Items", ZohoItem, lambda client: client.iter_items(), _item),
    CachedList("currencies", "Currencies", ZohoCurrency,
               lambda client: client.iter_currencies(), _currency),
    CachedList("bank_accounts", "Bank accounts", ZohoBankAccount,
               lambda client: client.iter_bank_accounts(), _bank_account),
)


# The refresh's step while it reads each list (shown later in the banner: stored).
STEPS = {
    "accounts": stored_message("Chart of accounts"),
    "taxes": stored_message("Taxes"),
    "contacts": stored_message("Contacts"),
    "items": stored_message("Items"),
    "currencies": stored_message("Currencies"),
    "bank_accounts": stored_message("Bank accounts"),
}


def list_label(key: str) -> str:
    """A list's name by its key ("bank_accounts"), in the reader's language."""
    labels = {c.key: c.label for c in CACHED_LISTS}
    return gettext(labels[key]) if key in labels else key.replace("_", " ").capitalize()


def refresh(client, organization_id: str, report: Callable[[str, dict, int], None]) -> dict:
    """Refresh every cached list; `report(step, counts, percent)` is called after each page."""
    counts = {}
    for index, cached in enumerate(CACHED_LISTS):
        step_counts = counts.setdefault(cached.key, {"fetched": 0, "new": 0, "removed": 0})
        started = utcnow()
        percent = int(100 * index / len(CACHED_LISTS))
        report(STEPS[cached.key], counts, percent)
        for page in cached.pages(client):
            step_counts["new"] += _store_page(cached, organization_id, page, started)
            step_counts["fetched"] += len(page)
            report(STEPS[cached.key], counts, percent)
        step_counts["removed"] = _mark_removed(cached.model, organization_id, started)
        _store_count(organization_id, cached)
    return counts


def _store_page(cached: CachedList, organization_id: str, page: list[dict], seen_at) -> int:
    """Upsert one page in a single statement; return how many records were new."""
    if not page:
        return 0
    model = cached.model
    rows = []
    for record in page:
        row = cached.to_row(record)
        row.update(organization_id=organization_id, data=record, refreshed_at=seen_at,
                   removed_at=None)
        rows.append(row)
    ids = [row["zoho_id"] for row in rows]
    with db.atomic():
        known = (model.select(model.zoho_id)
                 .where(model.organization_id == organization_id, model.zoho_id.in_(ids))
                 .count())
        update_fields = [name for name in rows[0] if name not in ("organization_id", "zoho_id")]
        (model.insert_many(rows)
         .on_conflict(conflict_target=[model.organization_id, model.zoho_id],
                      preserve=[model._meta.fields[name] for name in update_fields])
         .execute())
        if cached.after_page is not None:
            cached.after_page(organization_id, ids)
    return len(rows) - known


def remember(key: str, organization_id: str, record: dict) -> None:
    """Store one record Bookbridge itself just created or found in Zoho Books (a bank
    account, a contact), with its list's count, so lists and counts show it at once
    instead of after the next refresh."""
    if not organization_id:
        return
    cached = next(c for c in CACHED_LISTS if c.key == key)
    _store_page(cached, organization_id, [record], utcnow())
    _store_count(organization_id, cached)


def _mark_removed(model, organization_id: str, seen_at) -> int:
    return (model.update(removed_at=utcnow())
            .where(model.organization_id == organization_id,
                   model.refreshed_at < seen_at,
                   model.removed_at.is_null())
            .execute())


def count_phrase(label: str, count: int) -> str:
    """'3 bank accounts', '1 bank account', '148 chart of accounts' for a list's count, in
    the reader's language (shown during a request). `label` is the list's key in the
    counts (CachedList.label), never shown as it is."""
    shown = i18n.number(count)
    if label == "Chart of accounts":
        return ngettext("%(count)s account in the chart", "%(count)s chart of accounts", count,
                        count=shown)
    if label == "Taxes":
        return ngettext("%(count)s tax", "%(count)s taxes", count, count=shown)
    if label == "Contacts":
        return ngettext("%(count)s contact", "%(count)s contacts", count, count=shown)
    if label == "Items":
        return ngettext("%(count)s item", "%(count)s items", count, count=shown)
    if label == "Currencies":
        return ngettext("%(count)s currency", "%(count)s currencies", count, count=shown)
    if label == "Bank accounts":
        return ngettext("%(count)s bank account", "%(count)s bank accounts", count,
                        count=shown)
    return f"{shown} {label.lower()}"


def summary(counts: dict) -> str:
    """What a refresh read, as the job's outcome (a stored message)."""
    fetched = {key: value.get("fetched", 0) for key, value in counts.items()}
    return stored_message(
        "Refresh complete: %(accounts)s accounts, %(taxes)s taxes, %(contacts)s contacts, "
        "%(items)s items, %(currencies)s currencies, %(bank_accounts)s bank accounts.",
        **{c.key: fetched.get(c.key, 0) for c in CACHED_LISTS})


def rebuild_derived(organization_id: str) -> None:
    """Compute again what the refresh derives from the lists it stores (the contacts' name
    keys and identifier rows, the lists' counts), for rows written another way: the scale
    bench fills the lists through the models."""
    contacts = list(ZohoContact.select().where(ZohoContact.organization_id == organization_id))
    for contact in contacts:
        contact.name_key, contact.company_key = (fold_name(contact.name),
                                                 fold_name(contact.company_name))
    with db.atomic():
        ZohoContact.bulk_update(contacts, [ZohoContact.name_key, ZohoContact.company_key],
                                batch_size=200)
        for page in chunked(contacts, 200):
            index_identifiers(page)
    for cached in CACHED_LISTS:
        _store_count(organization_id, cached)


def _count(organization_id: str, cached: CachedList) -> int:
    return cached.model.usable(organization_id).count()


def _store_count(organization_id: str, cached: CachedList) -> None:
    """Keep the list's usable count on the connection, once the refresh has stored its pages
    and marked what Zoho no longer returns (so a removal lowers it)."""
    connection = ZohoConnection.current()
    stored = connection.list_counts or {}
    if stored.get("organization_id") != organization_id:
        stored = {"organization_id": organization_id, "counts": {}}
    stored["counts"][cached.label] = _count(organization_id, cached)
    ZohoConnection.update(list_counts=stored).where(
        ZohoConnection.id == connection.id).execute()


def cached_counts(connection: ZohoConnection) -> dict:
    """How many usable records each list holds, for the Connections page: as the last
    refresh stored them, counted only for a list no refresh of this organisation has."""
    stored = connection.list_counts or {}
    counts = (stored.get("counts", {})
              if stored.get("organization_id") == connection.organization_id else {})
    return {c.label: counts[c.label] if c.label in counts
            else _count(connection.organization_id, c) for c in CACHED_LISTS}
