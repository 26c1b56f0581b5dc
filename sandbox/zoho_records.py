"""Shapes of Zoho Books records: builders, indexed columns and list projections.

Records are stored whole (the detail shape of NOTES §3 and the OAS); list endpoints
return the narrower projection Zoho shows in lists. Field names follow the OAS.
"""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

ORGANIZATION_LIST_FIELDS = (
    "organization_id", "name", "contact_name", "email", "is_default_org", "plan_type",
    "tax_group_enabled", "plan_name", "plan_period", "language_code", "fiscal_year_start_month",
    "account_created_date", "account_created_date_formatted", "time_zone", "is_org_active",
    "currency_id", "currency_code", "currency_symbol", "currency_format", "price_precision",
)
CHART_LIST_FIELDS = (
    "account_id", "account_name", "account_code", "account_type", "is_user_created",
    "is_system_account", "is_standalone_account", "is_active", "can_show_in_ze",
    "is_involved_in_transaction", "current_balance", "parent_account_id", "parent_account_name",
    "depth", "has_attachment", "is_child_present", "child_count", "documents", "created_time",
    "last_modified_time",
)
BANK_ACCOUNT_LIST_FIELDS = (
    "account_id", "account_name", "account_code", "currency_id", "currency_code",
    "account_type", "account_number", "uncategorized_transactions", "total_unprinted_checks",
    "is_active", "balance", "bank_balance", "bcy_balance", "bank_name", "routing_number",
    "is_primary_account", "is_paypal_account",
)
BANK_ACCOUNT_FIELDS = BANK_ACCOUNT_LIST_FIELDS + (
    "currency_symbol", "price_precision", "is_feeds_subscribed", "is_feeds_active",
    "description", "refresh_status_code", "feeds_last_refresh_date", "service_id",
    "is_system_account", "is_show_warning_for_feeds_refresh",
)
CONTACT_LIST_FIELDS = (
    "contact_id", "contact_name", "company_name", "contact_type", "status", "payment_terms",
    "payment_terms_label", "currency_id", "currency_code", "outstanding_receivable_amount",
    "unused_credits_receivable_amount", "first_name", "last_name", "email", "phone", "mobile",
    "created_time", "last_modified_time",
)
ITEM_LIST_FIELDS = (
    "item_id", "name", "status", "description", "rate", "unit", "tax_id", "purchase_tax_rule_id",
    "sales_tax_rule_id", "tax_name", "tax_percentage", "tax_type", "sku", "product_type",
    "custom_fields",
)
BANK_TRANSACTION_LIST_FIELDS = (
    "transaction_id", "date", "amount", "transaction_type", "status", "source", "account_id",
    "account_name", "account_type", "price_precision", "customer_id", "payee",
    "is_paid_via_print_check", "description", "currency_id", "currency_code", "currency_symbol",
    "debit_or_credit", "offset_account_name", "is_offsetaccount_matched", "reference_number",
    "imported_transaction_id", "is_rule_exist", "rule_details", "statement_transaction_id",
)
BILL_LIST_FIELDS = (
    "bill_id", "vendor_id", "vendor_name", "status", "bill_number", "reference_number", "date",
    "due_date", "due_days", "currency_id", "currency_code", "price_precision", "exchange_rate",
    "total", "balance", "location_id", "location_name", "created_time", "last_modified_time",
    "attachment_name", "has_attachment", "is_tds_applied", "is_abn_quoted",
)
EXPENSE_LIST_FIELDS = (
    "expense_id", "date", "account_name", "description", "currency_id", "currency_code",
    "bcy_total", "bcy_total_without_tax", "total", "total_without_tax", "is_billable",
    "reference_number", "customer_id", "customer_name", "status", "location_id", "location_name",
    "created_time", "last_modified_time", "expense_receipt_name", "expense_type",
)
INVOICE_LIST_FIELDS = (
    "invoice_id", "ach_payment_initiated", "customer_name", "customer_id", "status",
    "invoice_number", "reference_number", "date", "due_date", "due_days", "currency_id",
    "currency_code", "is_viewed_by_client", "has_attachment", "client_viewed_time", "total",
    "balance", "created_time", "last_modified_time", "is_emailed", "reminders_sent",
    "last_reminder_sent_date", "payment_expected_date", "last_payment_date", "custom_fields",
    "location_id", "location_name", "salesperson_id", "salesperson_name", "shipping_charge",
    "adjustment", "write_off_amount", "exchange_rate",
)


def project(record, fields):
    return {name: record[name] for name in fields if name in record}


def to_decimal(value):
    """Parse an amount sent by a client (number or numeric string) without float drift."""
    return Decimal(str(value))


def money(value):
    """Round to cents and hand JSON a number (Zoho sends amounts as JSON numbers)."""
    return float(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def status_of(is_active):
    return "active" if is_active else "inactive"


def organization(org_id, spec, created_date):
    currency = spec["currency"]
    return {
        "organization_id": org_id,
        "name": spec["name"],
        "contact_name": spec["contact_name"],
        "email": spec["email"],
        "is_default_org": spec["is_default_org"],
        "plan_type": 2,
        "tax_group_enabled": True,
        "plan_name": "Professional",
        "plan_period": "yearly",
        "language_code": spec["language_code"],
        "fiscal_year_start_month": 0,
        "account_created_date": created_date,
        "account_created_date_formatted": created_date,
        "time_zone": spec["time_zone"],
        "date_format": "yyyy-MM-dd",
        "field_separator": "-",
        "is_org_active": True,
        "currency_id": currency["currency_id"],
        "currency_code": currency["currency_code"],
        "currency_symbol": currency["currency_symbol"],
        "currency_format": currency["currency_format"],
        "price_precision": 2,
        "industry_type": spec["industry_type"],
        "industry_size": "",
        "company_id_label": spec["company_id_label"],
        "company_id_value": spec["company_id_value"],
        "tax_id_label": "VAT",
        "tax_id_value": spec["vat_number"],
        "org_address": spec["address"]["street_address1"],
        "remit_to_address": "",
        "phone": spec["phone"],
        "fax": "",
        "website": spec["website"],
        "address": spec["address"],
        "custom_fields": [],
    }


def currency(currency_id, code, name, symbol, *, is_base, exchange_rate, effective_date):
    return {
        "currency_id": currency_id,
        "currency_code": code,
        "currency_name": f"{code}- {name}",
        "currency_symbol": symbol,
        "price_precision": 2,
        "currency_format": "1,234,567.89",
        "is_base_currency": is_base,
        "exchange_rate": exchange_rate,
        "effective_date": effective_date,
    }


def tax(tax_id, name, percentage, *, is_default, tax_account_id, purchase_tax_account_id):
    return {
        "tax_id": tax_id,
        "tax_name": name,
        "tax_percentage": percentage,
        "tax_type": "tax",
        "tax_factor": "",
        "tax_specific_type": "",
        "tax_authority_id": "",
        "tax_authority_name": "",
        "is_value_added": True,
        "is_default_tax": is_default,
        "is_editable": True,
        "output_tax_account_name": "Output VAT",
        "purchase_tax_account_name": "Input VAT",
        "tax_account_id": tax_account_id,
        "purchase_tax_account_id": purchase_tax_account_id,
    }


def account(account_id, name, code, account_type, *, is_active, created_time, description=""):
    return {
        "account_id": account_id,
        "account_name": name,
        "account_code": code,
        "account_type": account_type,
        "description": description,
        "is_user_created": True,
        "is_system_account": False,
        "is_standalone_account": False,
        "is_active": is_active,
        "can_show_in_ze": False,
        "is_involved_in_transaction": False,
        "current_balance": 0.0,
        # The OAS types these four as strings; we follow the contract.
        "parent_account_id": "",
        "parent_account_name": "",
        "depth": "0",
        "is_child_present": "false",
        "child_count": "",
        "has_attachment": False,
        "documents": [],
        "created_time": created_time,
        "last_modified_time": created_time,
    }


def add_bank_details(record, org_currency, details):
    """Bank and credit-card accounts are chart-of-accounts rows with bank fields on top."""
    record.update({
        "bank_name": details.get("bank_name", ""),
        "account_number": details.get("account_number", ""),
        "routing_number": details.get("routing_number", ""),
        "currency_id": org_currency["currency_id"],
        "currency_code": org_currency["currency_code"],
        "currency_symbol": org_currency["currency_symbol"],
        "price_precision": 2,
        "balance": 0.0,
        "bcy_balance": 0.0,
        # No bank feed in the sandbox, so the feed balance stays 0 (typed integer in the OAS).
        "bank_balance": 0,
        "uncategorized_transactions": 0,
        "total_unprinted_checks": 0,
        "is_primary_account": bool(details.get("is_primary_account", False)),
        "is_paypal_account": bool(details.get("is_paypal_account", False)),
        "is_feeds_subscribed": False,
        "is_feeds_active": False,
        "refresh_status_code": "",
        "feeds_last_refresh_date": "",
        "service_id": "",
        "is_show_warning_for_feeds_refresh": False,
    })
    return record


def account_columns(record):
    return {
        "name": record["account_name"],
        "subtype": record["account_type"],
        "status": status_of(record["is_active"]),
    }


def address(street="", city="", zip_code="", country=""):
    return {
        "attention": "", "address": street, "street2": "", "city": city, "state": "",
        "state_code": "", "zip": zip_code, "country": country, "fax": "", "phone": "",
    }


def contact(contact_id, name, contact_type, org_currency, *, created_time, details=None):
    details = details or {}
    return {
        "contact_id": contact_id,
        "contact_name": name,
        "company_name": details.get("company_name", name),
        "has_transaction": False,
        "contact_type": contact_type,
        "customer_sub_type": "business",
        "credit_limit": 0.0,
        "is_portal_enabled": False,
        "language_code": details.get("language_code", ""),
        "is_taxable": True,
        "tax_id": details.get("tax_id", ""),
        "tax_name": "",
        "tax_percentage": 0.0,
        "vat_reg_no": details.get("vat_reg_no", ""),
        "vat_treatment": details.get("vat_treatment", ""),
        "tax_treatment": details.get("tax_treatment", ""),
        "legal_name": details.get("legal_name", name),
        "is_linked_with_zohocrm": False,
        "website": details.get("website", ""),
        "owner_id": "",
        "primary_contact_id": "",
        "pricebook_id": "",
        "contact_number": details.get("contact_number", ""),
        "ignore_auto_number_generation": False,
        "payment_terms": int(details.get("payment_terms", 30)),
        "payment_terms_label": details.get("payment_terms_label", "Net 30"),
        "currency_id": details.get("currency_id", org_currency["currency_id"]),
        "currency_code": details.get("currency_code", org_currency["currency_code"]),
        "currency_symbol": details.get("currency_symbol", org_currency["currency_symbol"]),
        "opening_balances": [],
        "outstanding_receivable_amount": 0.0,
        "outstanding_receivable_amount_bcy": 0.0,
        "unused_credits_receivable_amount": 0.0,
        "unused_credits_receivable_amount_bcy": 0.0,
        "status": "active",
        "payment_reminder_enabled": True,
        "custom_fields": details.get("custom_fields", []),
        "billing_address": details.get("billing_address", address()),
        "shipping_address": details.get("shipping_address", address()),
        "first_name": details.get("first_name", ""),
        "last_name": details.get("last_name", ""),
        "email": details.get("email", ""),
        "phone": details.get("phone", ""),
        "mobile": details.get("mobile", ""),
        "facebook": "",
        "twitter": "",
        "contact_persons": details.get("contact_persons", []),
        "default_templates": {},
        "notes": details.get("notes", ""),
        "created_time": created_time,
        "last_modified_time": created_time,
    }


def contact_columns(record):
    return {
        "name": record["contact_name"],
        "subtype": record["contact_type"],
        "status": record["status"],
    }


def item(item_id, name, rate, tax_record, *, sku, product_type, unit, description=""):
    return {
        "item_id": item_id,
        "name": name,
        "status": "active",
        "description": description,
        "rate": rate,
        "unit": unit,
        "tax_id": tax_record["tax_id"],
        "purchase_tax_rule_id": "",
        "sales_tax_rule_id": "",
        "tax_name": tax_record["tax_name"],
        # Typed string in the OAS items list; we follow the contract.
        "tax_percentage": str(tax_record["tax_percentage"]),
        "tax_type": "tax",
        "sku": sku,
        "product_type": product_type,
        "custom_fields": [],
    }


def item_columns(record):
    return {"name": record["name"], "status": record["status"]}
