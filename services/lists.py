"""Refreshing the lists cached from Zoho Books (accounts, taxes, contacts, ...).

Each page of 200 from Zoho is one API call and one batch upsert. Records that Zoho no
longer returns are marked removed, never deleted, so documents and rules that refer to
them keep working and can say what is gone.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from models import (
    ZohoAccount,
    ZohoBankAccount,
    ZohoContact,
    ZohoCurrency,
    ZohoItem,
    ZohoTax,
    db,
    utcnow,
)


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
    return {"zoho_id": record["contact_id"], "name": record.get("contact_name", ""),
            "contact_type": record.get("contact_type", ""),
            "company_name": record.get("company_name") or "", "email": record.get("email") or "",
            "currency_code": record.get("currency_code") or "", "vat_number": vat[:64],
            "is_active": record.get("status", "active") == "active"}


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


CACHED_LISTS = (
    CachedList("accounts", "Chart of accounts", ZohoAccount,
               lambda client: client.iter_chart_of_accounts(), _account),
    CachedList("taxes", "Taxes", ZohoTax, lambda client: client.iter_taxes(), _tax),
    CachedList("contacts", "Contacts", ZohoContact,
               lambda client: client.iter_contacts(), _contact),
    CachedList("items", "Items", ZohoItem, lambda client: client.iter_items(), _item),
    CachedList("currencies", "Currencies", ZohoCurrency,
               lambda client: client.iter_currencies(), _currency),
    CachedList("bank_accounts", "Bank accounts", ZohoBankAccount,
               lambda client: client.iter_bank_accounts(), _bank_account),
)


def refresh(client, organization_id: str, report: Callable[[str, dict, int], None]) -> dict:
    """Refresh every cached list; `report(step, counts, percent)` is called after each page."""
    counts = {}
    for index, cached in enumerate(CACHED_LISTS):
        step_counts = counts.setdefault(cached.key, {"fetched": 0, "new": 0, "removed": 0})
        started = utcnow()
        percent = int(100 * index / len(CACHED_LISTS))
        report(f"{cached.label}", counts, percent)
        for page in cached.pages(client):
            step_counts["new"] += _store_page(cached, organization_id, page, started)
            step_counts["fetched"] += len(page)
            report(f"{cached.label}", counts, percent)
        step_counts["removed"] = _mark_removed(cached.model, organization_id, started)
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
    return len(rows) - known


def _mark_removed(model, organization_id: str, seen_at) -> int:
    return (model.update(removed_at=utcnow())
            .where(model.organization_id == organization_id,
                   model.refreshed_at < seen_at,
                   model.removed_at.is_null())
            .execute())


def summary(counts: dict) -> str:
    """'150 accounts, 5 taxes, ...' for the banner."""
    labels = {c.key: c.label.lower() for c in CACHED_LISTS}
    return ", ".join(f"{value['fetched']} {labels[key]}" for key, value in counts.items())


def cached_counts(organization_id: str) -> dict:
    """How many usable records each list holds, for the Connections page."""
    return {c.label: c.model.usable(organization_id).count() for c in CACHED_LISTS}
