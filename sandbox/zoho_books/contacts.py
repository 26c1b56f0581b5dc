"""Contacts (customers and vendors)."""

from flask import g, request

from sandbox import store
from sandbox import zoho_records as records
from sandbox.zoho_books.common import (
    BooksError,
    bp,
    choice_filter,
    fetch,
    listing,
    org_currency,
    page_args,
    read_body,
    require,
    success,
    timestamp,
)
from sandbox.zoho_books.settings import (
    STATUS_FILTERS,
    delete_unused,
    name_filters,
    set_active,
)

CONTACT_TYPES = {"customer": "customer", "vendor": "vendor"}
# Fields a client may set at creation; everything else is computed by the server.
WRITABLE_FIELDS = (
    "company_name", "website", "language_code", "contact_number", "payment_terms",
    "payment_terms_label", "currency_id", "billing_address", "shipping_address",
    "contact_persons", "notes", "custom_fields", "vat_reg_no", "vat_treatment",
    "tax_treatment", "tax_id", "legal_name",
)


def _primary_person(body):
    persons = body.get("contact_persons") or []
    primary = next((p for p in persons if p.get("is_primary_contact")), persons[0] if persons
                   else {})
    return {key: primary.get(key, "") for key in ("first_name", "last_name", "email", "phone",
                                                    "mobile")}


def _currency_details(body):
    if not body.get("currency_id"):
        return {}
    currency = store.get_record(store.get_db(), "currency", g.org_id, str(body["currency_id"]))
    if currency is None:
        raise BooksError(400, 4, "Invalid value passed for currency_id.")
    return {key: currency[key] for key in ("currency_id", "currency_code", "currency_symbol")}


def _reject_duplicate(name, contact_type):
    duplicates = store.count_records(store.get_db(), "contact", g.org_id,
                                     [("name", "=", name), ("subtype", "=", contact_type)])
    if duplicates:
        raise BooksError(400, 3062, "A contact with this name already exists.")


@bp.get("/contacts")
def contacts_list():
    filter_name, filters = choice_filter(request.args.get("filter_by"), STATUS_FILTERS,
                                         "Status.Active")
    filters = [*filters, *name_filters("contact_name")]
    if request.args.get("contact_type"):
        _, contact_type = choice_filter(request.args["contact_type"], CONTACT_TYPES, None,
                                        name="contact_type")
        filters.append(("subtype", "=", contact_type))
    if request.args.get("search_text"):
        filters.append(("name", "like", store.like_pattern(request.args["search_text"])))
    page, per_page = page_args()
    descending = request.args.get("sort_order", "A").upper() == "D"
    rows, has_more = store.find_records(store.get_db(), "contact", g.org_id, filters,
                                        order=("name", descending), page=page,
                                        per_page=per_page)
    rows = [records.project(row, records.CONTACT_LIST_FIELDS) for row in rows]
    return listing("contacts", rows, has_more, page=page, per_page=per_page,
                   report_name="Contacts", applied_filter=filter_name,
                   sort_column="contact_name", sort_order="D" if descending else "A")


@bp.post("/contacts")
def contacts_create():
    body = read_body()
    require(body, "contact_name")
    contact_type = body.get("contact_type") or "customer"
    if contact_type not in CONTACT_TYPES:
        raise BooksError(400, 4, "Invalid value passed for contact_type.")
    name = str(body["contact_name"]).strip()
    _reject_duplicate(name, contact_type)
    details = {key: body[key] for key in WRITABLE_FIELDS if key in body}
    details.update(_primary_person(body))
    details.update(_currency_details(body))
    db = store.get_db()
    contact_id = store.new_id(db)
    record = records.contact(contact_id, name, contact_type, org_currency(),
                             created_time=timestamp(), details=details)
    store.insert_record(db, "contact", g.org_id, contact_id, record,
                        **records.contact_columns(record))
    return success("The contact has been added.", 201, contact=record)


@bp.get("/contacts/<contact_id>")
def contacts_detail(contact_id):
    return success(contact=fetch("contact", contact_id, "Contact"))


@bp.delete("/contacts/<contact_id>")
def contacts_delete(contact_id):
    delete_unused("contact", contact_id, "Contact", "has_transaction")
    return success("The contact has been deleted.")


@bp.post("/contacts/<contact_id>/<any(active, inactive):state>")
def contacts_activate(contact_id, state):
    set_active("contact", contact_id, "Contact", state == "active", records.contact_columns)
    return success(f"The contact has been marked as {state}.")
