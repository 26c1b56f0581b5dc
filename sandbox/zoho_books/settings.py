"""Organisations, chart of accounts, taxes, currencies and items."""

from flask import g, request

from sandbox import store
from sandbox import zoho_records as records
from sandbox.zoho_books.common import (
    BooksError,
    bp,
    choice_filter,
    fetch,
    listing,
    page_args,
    success,
    timestamp,
)

ASSET_TYPES = (
    "other_asset", "other_current_asset", "intangible_asset", "right_to_use_asset",
    "financial_asset", "contingent_asset", "contract_asset", "cash", "bank", "fixed_asset",
    "accounts_receivable", "stock",
)
LIABILITY_TYPES = (
    "other_current_liability", "contract_liability", "refund_liability", "credit_card",
    "long_term_liability", "loans_and_borrowing", "lease_liability",
    "employee_benefit_liability", "contingent_liability", "financial_liability",
    "other_liability", "accounts_payable",
)
INCOME_TYPES = ("income", "finance_income", "other_comprehensive_income", "other_income")
EXPENSE_TYPES = (
    "expense", "manufacturing_expense", "impairment_expense", "depreciation_expense",
    "employee_benefit_expense", "lease_expense", "finance_expense", "tax_expense",
    "cost_of_goods_sold", "other_expense",
)
CHART_FILTERS = {
    "AccountType.All": [],
    "AccountType.Active": [("status", "=", "active")],
    "AccountType.Inactive": [("status", "=", "inactive")],
    "AccountType.Asset": [("subtype", "in", ASSET_TYPES)],
    "AccountType.Liability": [("subtype", "in", LIABILITY_TYPES)],
    "AccountType.Equity": [("subtype", "in", ("equity",))],
    "AccountType.Income": [("subtype", "in", INCOME_TYPES)],
    "AccountType.Expense": [("subtype", "in", EXPENSE_TYPES)],
}
STATUS_FILTERS = {
    "Status.All": [],
    "Status.Active": [("status", "=", "active")],
    "Status.Inactive": [("status", "=", "inactive")],
}
SORT_COLUMNS = {"account_name": "name", "account_type": "subtype", "name": "name"}


def _sort_order(default_column):
    column = request.args.get("sort_column", default_column)
    if column not in SORT_COLUMNS:
        raise BooksError(400, 2, "Invalid value passed for sort_column.")
    descending = request.args.get("sort_order", "A").upper() == "D"
    return column, (SORT_COLUMNS[column], descending)


def set_active(kind, record_id, entity, is_active, columns):
    """Shared body of the /active and /inactive endpoints."""
    record = fetch(kind, record_id, entity)
    if "is_active" in record:  # accounts
        record["is_active"] = is_active
    if "status" in record:  # contacts and items
        record["status"] = records.status_of(is_active)
    record["last_modified_time"] = timestamp()
    store.update_record(store.get_db(), record_id, record, **columns(record))


def delete_unused(kind, record_id, entity, in_use_field):
    record = fetch(kind, record_id, entity)
    if record.get(in_use_field):
        raise BooksError(400, 1004, f"The {entity.lower()} has transactions and cannot be "
                                    "deleted. Mark it as inactive instead.")
    store.delete_record(store.get_db(), record_id)


@bp.get("/organizations")
def organizations_list():
    db = store.get_db()
    org_ids = [row["org_id"] for row in db.execute(
        "SELECT org_id FROM org_member WHERE user_email = ? ORDER BY org_id", (g.user,))]
    orgs = [records.project(store.get_record(db, "organization", org_id, org_id),
                            records.ORGANIZATION_LIST_FIELDS) for org_id in org_ids]
    # The OAS has no page_context here; clients that expect one on every list get it anyway.
    return listing("organizations", orgs, False, page=1, per_page=len(orgs) or 1,
                   report_name="Organizations", sort_column="name")


@bp.get("/organizations/<organization_id>")
def organization_detail(organization_id):
    if organization_id != g.org_id:
        raise BooksError(401, 6041, "This user is not associated with the organization.")
    return success(organization=g.org)


@bp.get("/chartofaccounts")
def chart_of_accounts_list():
    filter_name, filters = choice_filter(request.args.get("filter_by"), CHART_FILTERS,
                                         "AccountType.Active")
    sort_column, order = _sort_order("account_name")
    page, per_page = page_args()
    rows, has_more = store.find_records(store.get_db(), "account", g.org_id, filters,
                                        order=order, page=page, per_page=per_page)
    rows = [records.project(row, records.CHART_LIST_FIELDS) for row in rows]
    return listing("chartofaccounts", rows, has_more, page=page, per_page=per_page,
                   report_name="Chart of Accounts", applied_filter=filter_name,
                   sort_column=sort_column)


@bp.delete("/chartofaccounts/<account_id>")
def chart_of_accounts_delete(account_id):
    delete_unused("account", account_id, "Account", "is_involved_in_transaction")
    return success("The account has been deleted.")


@bp.post("/chartofaccounts/<account_id>/<any(active, inactive):state>")
def chart_of_accounts_activate(account_id, state):
    set_active("account", account_id, "Account", state == "active", records.account_columns)
    return success(f"The account has been marked as {state}.", 201)


@bp.get("/settings/taxes")
def taxes_list():
    page, per_page = page_args()
    rows, has_more = store.find_records(store.get_db(), "tax", g.org_id, page=page,
                                        per_page=per_page)
    return listing("taxes", rows, has_more, page=page, per_page=per_page, report_name="Taxes",
                   sort_column="tax_name")


@bp.delete("/settings/taxes/<tax_id>")
def taxes_delete(tax_id):
    fetch("tax", tax_id, "Tax")
    store.delete_record(store.get_db(), tax_id)
    return success("The record has been deleted.")


@bp.get("/settings/currencies")
def currencies_list():
    exclude_base = request.args.get("filter_by") == "Currencies.ExcludeBaseCurrency"
    page, per_page = page_args()
    rows, has_more = store.find_records(store.get_db(), "currency", g.org_id, page=page,
                                        per_page=per_page)
    if exclude_base:  # a handful of rows: filtering after the query is simplest
        rows = [row for row in rows if not row["is_base_currency"]]
    return listing("currencies", rows, has_more, page=page, per_page=per_page,
                   report_name="Currencies", sort_column="currency_code")


@bp.get("/items")
def items_list():
    filter_name, filters = choice_filter(request.args.get("filter_by"), STATUS_FILTERS,
                                         "Status.Active")
    filters = [*filters, *name_filters("name")]
    sort_column, order = _sort_order("name")
    page, per_page = page_args()
    rows, has_more = store.find_records(store.get_db(), "item", g.org_id, filters, order=order,
                                        page=page, per_page=per_page)
    rows = [records.project(row, records.ITEM_LIST_FIELDS) for row in rows]
    return listing("items", rows, has_more, page=page, per_page=per_page, report_name="Items",
                   applied_filter=filter_name, sort_column=sort_column)


def name_filters(param):
    """Zoho's <field>, <field>_startswith and <field>_contains search variants."""
    filters = []
    if request.args.get(param):
        filters.append(("name", "=", request.args[param]))
    if request.args.get(f"{param}_startswith"):
        pattern = store.like_pattern(request.args[f"{param}_startswith"], prefix_only=True)
        filters.append(("name", "like", pattern))
    if request.args.get(f"{param}_contains"):
        filters.append(("name", "like", store.like_pattern(request.args[f"{param}_contains"])))
    return filters


@bp.delete("/items/<item_id>")
def items_delete(item_id):
    fetch("item", item_id, "Item")
    store.delete_record(store.get_db(), item_id)
    return success("The item has been deleted.")


@bp.post("/items/<item_id>/<any(active, inactive):state>")
def items_activate(item_id, state):
    set_active("item", item_id, "Item", state == "active", records.item_columns)
    return success(f"The item has been marked as {state}.")
